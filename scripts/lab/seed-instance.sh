#!/usr/bin/env bash
# seed-instance.sh — seed a Dolibarr-like instance on a lab hosting host.
# Runs INSIDE the host (as root), e.g.:
#   lxc-attach -n lab-host-ovh-rbx -- bash -s -- acme-erp /var/www/acme/htdocs /var/lib/dolibarr/acme/documents dolibarr_acme < seed-instance.sh
#
#   seed-instance.sh [--force] INSTANCE CODE_ROOT DOCUMENTS_DIR DATABASE
#
# Creates:
#   CODE_ROOT (= htdocs/): PHP files, custom/agefodd/ module, conf/conf.php (root:www-data 0440)
#   DOCUMENTS_DIR: a few hundred files (www-data), names with spaces, apostrophes,
#     UTF-8 accents and emoji, one hard link, one 2 MiB binary, install.lock
#   DATABASE: utf8mb4 InnoDB llx_ tables with rows (accents, emoji), a trigger,
#     a stored procedure, a view, a LONGBLOB; a DB user named like the database.
# Idempotent: an instance already seeded is left as it is (marker in
# /var/lib/dolibarr-lab/seeded/) unless --force, which drops and recreates it.
# shellcheck disable=SC2016  # PHP sources below are single-quoted on purpose
set -Eeuo pipefail
trap 'echo "seed-instance.sh: ERROR: command failed (exit $?) at line $LINENO: ${BASH_COMMAND%%$'"'"'\n'"'"'*}" >&2' ERR

force=0
if [[ ${1:-} == --force ]]; then force=1; shift; fi
(($# == 4)) || { echo "usage: seed-instance.sh [--force] INSTANCE CODE_ROOT DOCUMENTS_DIR DATABASE" >&2; exit 2; }
inst=$1 code=$2 docs=$3 db=$4
[[ $inst =~ ^[a-z0-9][a-z0-9-]*$ ]] || { echo "seed-instance.sh: bad instance name '$inst'" >&2; exit 2; }
[[ $db =~ ^[a-z0-9_]+$ ]] || { echo "seed-instance.sh: bad database name '$db'" >&2; exit 2; }
[[ $code == /*/htdocs && $docs == /*/documents ]] \
  || { echo "seed-instance.sh: CODE_ROOT must be /…/htdocs and DOCUMENTS_DIR /…/documents" >&2; exit 2; }

marker=/var/lib/dolibarr-lab/seeded/$inst
if [[ -f $marker && $force -eq 0 ]]; then
  echo "already seeded ($(cat "$marker"))"
  exit 0
fi
export LANG=C.UTF-8

for _ in $(seq 1 100); do mariadb-admin --silent ping >/dev/null 2>&1 && break; sleep 0.2; done
mariadb-admin --silent ping >/dev/null 2>&1 || { echo "seed-instance.sh: mariadb is not running" >&2; exit 1; }

# not seeded (or --force): start from scratch, also after a seed that failed half-way
rm -rf --one-file-system "$code" "$docs"
mariadb -e "DROP DATABASE IF EXISTS \`$db\`"

# Size of the instance: acme-erp is the big one.
case $inst in
  acme-erp) nsoc=200 nfac=600 ;;
  *) nsoc=60 nfac=150 ;;
esac
dbuser=${db:0:80}
dbpass=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
uniq=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

# ---------------------------------------------------------------- code (htdocs)
put() { # put PATH  (content on stdin)
  mkdir -p "$(dirname "$1")"
  cat >"$1"
}
mkdir -p "$code"
# A front that boots as Dolibarr does (so a restore drill fails here for Dolibarr's reasons): it
# reads conf/conf.php, logs in to its database with those credentials (an error is PHP's uncaught
# mysqli exception: HTTP 500 and the PHP error log), reads MAIN_VERSION_LAST_INSTALL from llx_const
# and counts the documents under $dolibarr_main_data_root (an unreadable directory is a warning).
put "$code/index.php" <<'EOF'
<?php
/* Copyright (C) 2001-2024 Dolibarr contributors — lab stand-in */
define('NOCSRFCHECK', 1);
require 'main.inc.php';
$res = $db->query("SELECT value FROM ".MAIN_DB_PREFIX."const WHERE name = 'MAIN_VERSION_LAST_INSTALL'");
$row = $res->fetch_row();
$version = $row ? $row[0] : '';
$documents = 0;
$walk = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($dolibarr_main_data_root, FilesystemIterator::SKIP_DOTS));
foreach ($walk as $file) { if ($file->isFile()) $documents++; }
$h = function ($s) { return htmlspecialchars((string) $s, ENT_QUOTES, 'UTF-8'); };
header('Content-Type: text/html; charset=UTF-8');
print '<!DOCTYPE html><html><head><title>Login @ '.$h(DOL_VERSION).'</title></head><body>';
print '<h1>'.$h(DOL_APPLICATION_TITLE).' '.$h($version).'</h1>';
print '<p class="documents">'.$documents.' documents</p></body></html>';
$db->close();
EOF
put "$code/main.inc.php" <<'EOF'
<?php
// Dolibarr main include (lab stand-in)
require_once 'master.inc.php';
if (!defined('NOLOGIN')) { /* authentication would happen here */ }
EOF
put "$code/master.inc.php" <<'EOF'
<?php
require_once 'filefunc.inc.php';
define('MAIN_DB_PREFIX', isset($dolibarr_main_db_prefix) ? $dolibarr_main_db_prefix : 'llx_');
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
$db = new mysqli($dolibarr_main_db_host, $dolibarr_main_db_user, $dolibarr_main_db_pass, $dolibarr_main_db_name, (int) $dolibarr_main_db_port);
$db->set_charset('utf8mb4');
EOF
put "$code/filefunc.inc.php" <<'EOF'
<?php
if (!defined('DOL_APPLICATION_TITLE')) define('DOL_APPLICATION_TITLE', 'Dolibarr');
if (!defined('DOL_VERSION')) define('DOL_VERSION', '18.0.4');
$conffile = "conf/conf.php";
$conffiletoshow = "htdocs/conf/conf.php";
include_once $conffile;
EOF
put "$code/robots.txt" <<<$'User-agent: *\nDisallow: /'
put "$code/.htaccess" <<<$'Options -Indexes\n<Files "*.lock">\n  Require all denied\n</Files>'
put "$code/core/lib/functions.lib.php" <<'EOF'
<?php
/** Return a translated, HTML-escaped string — « Société », « Été » */
function dol_escape_htmltag($s) { return htmlspecialchars($s, ENT_COMPAT, 'UTF-8'); }
function dol_now() { return time(); }
EOF
put "$code/core/lib/date.lib.php" <<<'<?php function dol_print_date($t, $f = "day") { return date("Y-m-d", $t); }'
put "$code/core/class/commonobject.class.php" <<<'<?php abstract class CommonObject { public $db; public $id; public $ref; }'
put "$code/core/db/mysqli.class.php" <<<'<?php class DoliDBMysqli { public $type = "mysqli"; public $forcecharset = "utf8"; public $forcecollate = "utf8mb4_unicode_ci"; }'
put "$code/societe/card.php" <<<'<?php require "../main.inc.php"; require_once DOL_DOCUMENT_ROOT."/societe/class/societe.class.php";'
put "$code/societe/list.php" <<<'<?php require "../main.inc.php"; $sql = "SELECT s.rowid, s.nom FROM ".MAIN_DB_PREFIX."societe as s";'
put "$code/societe/class/societe.class.php" <<<'<?php class Societe extends CommonObject { public $table_element = "societe"; }'
put "$code/compta/facture/card.php" <<<'<?php require "../../main.inc.php"; require_once DOL_DOCUMENT_ROOT."/compta/facture/class/facture.class.php";'
put "$code/compta/facture/class/facture.class.php" <<<'<?php class Facture extends CommonObject { public $table_element = "facture"; public $table_element_line = "facturedet"; }'
put "$code/comm/propal/card.php" <<<'<?php require "../../main.inc.php";'
put "$code/admin/modules.php" <<<'<?php require "../main.inc.php"; /* module activation page */'
put "$code/langs/fr_FR/main.lang" <<'EOF'
DIRECTION=ltr
HomeArea=Espace accueil
ThirdParty=Tiers
Invoice=Facture
Summer=Été
Training=Formation — « présentiel »
EOF
put "$code/langs/en_US/main.lang" <<<$'DIRECTION=ltr\nHomeArea=Home\nThirdParty=Third party\nInvoice=Invoice'
put "$code/theme/eldy/style.css.php" <<<'<?php header("Content-type: text/css"); ?> body { font-family: sans-serif; }'
head -c 1150 /dev/urandom | put "$code/theme/eldy/img/logo.png"
head -c 318 /dev/urandom | put "$code/favicon.ico"
put "$code/install/index.php" <<<'<?php /* install wizard — locked by documents/install.lock */'
put "$code/conf/conf.php.example" <<'EOF'
<?php
// Copy this file into conf.php and fill in the values
$dolibarr_main_url_root='http://localhost';
$dolibarr_main_document_root='/var/www/dolibarr/htdocs';
$dolibarr_main_data_root='/var/lib/dolibarr/documents';
$dolibarr_main_db_host='localhost';
$dolibarr_main_db_name='dolibarr';
EOF
# the agefodd module (custom/)
put "$code/custom/agefodd/core/modules/modAgefodd.class.php" <<'EOF'
<?php
include_once DOL_DOCUMENT_ROOT.'/core/modules/DolibarrModules.class.php';
/** Agefodd — gestion des formations (stand-in) */
class modAgefodd extends DolibarrModules {
  public function __construct($db) { $this->db = $db; $this->numero = 103000; $this->rights_class = 'agefodd'; $this->version = '7.1.12'; }
}
EOF
put "$code/custom/agefodd/class/agsession.class.php" <<<'<?php class Agsession extends CommonObject { public $table_element = "agefodd_session"; }'
put "$code/custom/agefodd/class/agefodd_stagiaire.class.php" <<<'<?php class Agefodd_stagiaire extends CommonObject { public $table_element = "agefodd_stagiaire"; }'
put "$code/custom/agefodd/session/card.php" <<<'<?php require "../../../main.inc.php"; dol_include_once("/agefodd/class/agsession.class.php");'
put "$code/custom/agefodd/session/list.php" <<<'<?php require "../../../main.inc.php";'
put "$code/custom/agefodd/langs/fr_FR/agefodd.lang" <<<$'Module103000Name=Agefodd\nAgfSessionDetail=Détail de la session\nAgfAttestation=Attestation de présence'
put "$code/custom/agefodd/sql/llx_agefodd_session.sql" <<<'CREATE TABLE llx_agefodd_session (rowid integer AUTO_INCREMENT PRIMARY KEY, ref varchar(30), intitule varchar(255), dated datetime, datef datetime) ENGINE=innodb;'
put "$code/custom/agefodd/sql/llx_agefodd_session.key.sql" <<<'ALTER TABLE llx_agefodd_session ADD UNIQUE INDEX uk_agefodd_session_ref (ref);'
put "$code/custom/agefodd/README.md" <<<$'# Agefodd\nModule de gestion des organismes de formation pour Dolibarr.'
put "$code/custom/agefodd/COPYING" <<<'GNU GENERAL PUBLIC LICENSE Version 3 (stand-in)'
head -c 900 /dev/urandom | put "$code/custom/agefodd/img/object_agefodd.png"
# conf.php — where Dolibarr keeps it, readable by root and the web server only
put "$code/conf/conf.php" <<EOF
<?php
//
// File generated by Dolibarr installer 18.0.4 on $(date -u +%F) (dolibarr-backup lab seed)
//
\$dolibarr_main_url_root='https://$inst.lab.example';
\$dolibarr_main_document_root='$code';
\$dolibarr_main_url_root_alt='/custom';
\$dolibarr_main_document_root_alt='$code/custom';
\$dolibarr_main_data_root='$docs';
\$dolibarr_main_db_host='localhost';
\$dolibarr_main_db_port='3306';
\$dolibarr_main_db_name='$db';
\$dolibarr_main_db_prefix='llx_';
\$dolibarr_main_db_user='$dbuser';
\$dolibarr_main_db_pass='$dbpass';
\$dolibarr_main_db_type='mysqli';
\$dolibarr_main_db_character_set='utf8';
\$dolibarr_main_db_collation='utf8mb4_unicode_ci';
\$dolibarr_main_authentication='dolibarr';
\$dolibarr_main_prod='1';
\$dolibarr_main_force_https='1';
\$dolibarr_main_restrict_os_commands='mariadb-dump, mysqldump, mysql, pg_dump, pgrestore';
\$dolibarr_nocsrfcheck='0';
\$dolibarr_main_instance_unique_id='$uniq';
\$dolibarr_mailing_limit_sendbyweb='0';
EOF
chown -R root:root "$code"
find "$code" -type d -exec chmod 755 {} +
find "$code" -type f -exec chmod 644 {} +
chown root:www-data "$code/conf/conf.php"
chmod 440 "$code/conf/conf.php"

# ---------------------------------------------------------------- documents
mkdir -p "$docs"
cd "$docs"
fake_pdf() { # fake_pdf PATH TITLE
  mkdir -p "$(dirname "$1")"
  { printf '%%PDF-1.4\n%% %s\n' "$2"; head -c $((600 + RANDOM % 4000)) /dev/urandom; printf '\n%%%%EOF\n'; } >"$1"
}
names=("Société Générale de Café ☕" "Crème Brûlée & Fils" "L'Atelier d'Émilie" "Boulangerie Ça Marche 🥖" \
  "Zażółć Gęślą SARL" "Øresund Tech" "Müller Küchen GmbH" "Niño Café" "Hôtel du Lac 🏨" "ACME Corp")
touch install.lock
mkdir -p mycompany/logos/thumbs admin/temp
printf 'Logo de la société\n' >"mycompany/logos/README.txt"
head -c 2200 /dev/urandom >"mycompany/logos/logo entreprise.png"
head -c 700 /dev/urandom >"mycompany/logos/thumbs/logo entreprise_small.png"
# third parties: 40 dirs × 3 files
for i in $(seq 1 40); do
  nm=${names[i % ${#names[@]}]}
  fake_pdf "societe/$i/Kbis $nm.pdf" "Kbis $nm"
  fake_pdf "societe/$i/contrat signé $i.pdf" "Contrat"
  printf 'Notes sur le client %s — rappel ☎️ à faire\n' "$nm" >"societe/$i/notes réunion.txt"
done
# invoices: 100 dirs, one PDF each, some with an extra file
for i in $(seq 1 100); do
  ref=$(printf 'FA2401-%04d' "$i")
  fake_pdf "facture/$ref/$ref.pdf" "$ref"
  if ((i % 10 == 0)); then fake_pdf "facture/$ref/$ref relance n°1 — $(printf '%s' "${names[i % ${#names[@]}]}").pdf" "Relance"; fi
  if ((i % 25 == 0)); then fake_pdf "facture/$ref/Facture d'acompte $ref.pdf" "Acompte"; fi
done
# proposals
for i in $(seq 1 40); do ref=$(printf 'PR2401-%04d' "$i"); fake_pdf "propale/$ref/$ref.pdf" "$ref"; done
# ECM (free documents), agefodd sessions
mkdir -p "ecm/Procédures qualité" "ecm/Dossier avec espaces" "ecm/Archives 2023" "ecm/Été 2024 ☀️"
printf 'Manuel qualité — version été\n' >"ecm/Procédures qualité/Manuel qualité v2.odt"
printf 'Réunion du lundi 📅\n- café ☕\n- budget €\n' >"ecm/Été 2024 ☀️/Notes réunion 📅.txt"
printf 'fichier avec espaces\n' >"ecm/Dossier avec espaces/fichier avec  deux espaces.txt"
printf 'leading space\n' >"ecm/Dossier avec espaces/ commence par un espace.txt"
printf 'emoji only\n' >"ecm/Été 2024 ☀️/🚀.txt"
head -c $((2 * 1024 * 1024)) /dev/urandom >"ecm/Archives 2023/scan complet (gros fichier).pdf"
for i in $(seq 1 30); do
  fake_pdf "agefodd/session/$i/Attestation de présence – session $i.pdf" "Attestation"
  printf 'Émargement session %d\nNom;Prénom;Signature\nDurand;Zoé;✔\n' "$i" >"agefodd/session/$i/émargement.csv"
done
# a hard link (Dolibarr ECM sometimes indexes the same file twice)
ln "facture/FA2401-0001/FA2401-0001.pdf" "ecm/Archives 2023/FA2401-0001 (copie liée).pdf"
# a private file
printf 'secret token for %s\n' "$inst" >"admin/backup token.txt"
chmod 600 "admin/backup token.txt"   # admin/temp stays an empty dir
chown -R www-data:www-data "$docs"
nfiles=$(find "$docs" -type f | wc -l)

# ---------------------------------------------------------------- database
mariadb <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE OR REPLACE USER '$dbuser'@'localhost' IDENTIFIED BY '$dbpass';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$dbuser'@'localhost';
FLUSH PRIVILEGES;
SQL

mariadb "$db" <<SQL
SET NAMES utf8mb4;
CREATE TABLE llx_const (
  rowid int NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name varchar(180) NOT NULL, entity int NOT NULL DEFAULT 1,
  value text NOT NULL, type varchar(64) DEFAULT 'string', visible tinyint NOT NULL DEFAULT 1, note text,
  tms timestamp DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uk_const (name, entity)
) ENGINE=InnoDB;
CREATE TABLE llx_societe (
  rowid int NOT NULL AUTO_INCREMENT PRIMARY KEY,
  nom varchar(128), name_alias varchar(128), entity int NOT NULL DEFAULT 1,
  code_client varchar(24), address varchar(255), zip varchar(25), town varchar(50),
  fk_pays int DEFAULT 1, email varchar(128), note_public text,
  client tinyint DEFAULT 1, fournisseur tinyint DEFAULT 0,
  datec datetime, tms timestamp DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uk_societe_code_client (code_client, entity)
) ENGINE=InnoDB;
CREATE TABLE llx_product (
  rowid int NOT NULL AUTO_INCREMENT PRIMARY KEY, ref varchar(128) NOT NULL, label varchar(255),
  description text, price double(24,8) DEFAULT 0, tva_tx double(7,4) DEFAULT 20,
  UNIQUE KEY uk_product_ref (ref)
) ENGINE=InnoDB;
CREATE TABLE llx_facture (
  rowid int NOT NULL AUTO_INCREMENT PRIMARY KEY, ref varchar(30) NOT NULL, entity int NOT NULL DEFAULT 1,
  fk_soc int NOT NULL, datef date, total_ht double(24,8) DEFAULT 0, total_tva double(24,8) DEFAULT 0,
  total_ttc double(24,8) DEFAULT 0, paye smallint DEFAULT 0, fk_statut smallint DEFAULT 1, note_public text,
  tms timestamp DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uk_facture_ref (ref, entity),
  CONSTRAINT fk_facture_fk_soc FOREIGN KEY (fk_soc) REFERENCES llx_societe (rowid)
) ENGINE=InnoDB;
CREATE TABLE llx_facturedet (
  rowid int NOT NULL AUTO_INCREMENT PRIMARY KEY, fk_facture int NOT NULL, fk_product int,
  description text, qty real, subprice double(24,8), tva_tx double(7,4),
  total_ht double(24,8), total_tva double(24,8), total_ttc double(24,8),
  CONSTRAINT fk_facturedet_fk_facture FOREIGN KEY (fk_facture) REFERENCES llx_facture (rowid)
) ENGINE=InnoDB;
CREATE TABLE llx_agefodd_session (
  rowid int NOT NULL AUTO_INCREMENT PRIMARY KEY, ref varchar(30), intitule varchar(255),
  fk_soc int, dated datetime, datef datetime, nb_stagiaire int DEFAULT 0,
  UNIQUE KEY uk_agefodd_session_ref (ref)
) ENGINE=InnoDB;
CREATE TABLE llx_agefodd_certificate (
  rowid int NOT NULL AUTO_INCREMENT PRIMARY KEY, fk_session int NOT NULL, filename varchar(255),
  content longblob, sha256 char(64),
  CONSTRAINT fk_agefodd_certificate_session FOREIGN KEY (fk_session) REFERENCES llx_agefodd_session (rowid)
) ENGINE=InnoDB;

INSERT INTO llx_const (name, value, note) VALUES
  ('MAIN_VERSION_LAST_INSTALL', '18.0.4', NULL),
  ('MAIN_INFO_SOCIETE_NOM', 'ACME Société Générale 🚀', 'nom affiché — accents + emoji'),
  ('MAIN_INFO_SOCIETE_TOWN', 'Roubaix', NULL),
  ('MAIN_MODULE_AGEFODD', '1', NULL),
  ('MAIN_LANG_DEFAULT', 'fr_FR', NULL),
  ('LAB_INSTANCE', '$inst', 'dolibarr-backup lab seed');

INSERT INTO llx_societe (nom, name_alias, code_client, address, zip, town, email, note_public, datec)
SELECT CONCAT(ELT(1 + seq % 10, 'Société Générale de Café ☕', 'Crème Brûlée & Fils', 'L''Atelier d''Émilie',
                  'Boulangerie Ça Marche 🥖', 'Zażółć Gęślą SARL', 'Øresund Tech', 'Müller Küchen GmbH',
                  'Niño Café', 'Hôtel du Lac 🏨', '日本料理 さくら'), ' #', seq),
       IF(seq % 7 = 0, 'alias « spécial » 😀', NULL),
       CONCAT('CU2401-', LPAD(seq, 5, '0')),
       CONCAT(seq, ' rue de l''Église'), LPAD(59100 + seq % 50, 5, '0'),
       ELT(1 + seq % 4, 'Roubaix', 'Lille', 'Besançon', 'Saint-Étienne'),
       CONCAT('contact', seq, '@exemple.fr'),
       IF(seq % 5 = 0, 'Client fidèle — paie à 30 jours ✅', NULL),
       '2024-01-01' + INTERVAL seq HOUR
FROM seq_1_to_$nsoc;

INSERT INTO llx_product (ref, label, description, price)
SELECT CONCAT('PRD-', LPAD(seq, 3, '0')),
       ELT(1 + seq % 5, 'Café en grains 1 kg ☕', 'Formation « Excel avancé »', 'Crème fraîche épaisse',
                        'Licence annuelle', 'Journée de conseil 🚀'),
       'Description avec accents : é è à ù ç œ — et un emoji 🎉', 10 + seq * 3.5
FROM seq_1_to_25;

INSERT INTO llx_facture (ref, fk_soc, datef, paye, fk_statut, note_public)
SELECT CONCAT('FA2401-', LPAD(seq, 4, '0')), 1 + seq % $nsoc, '2024-01-01' + INTERVAL (seq % 365) DAY,
       seq % 3 = 0, IF(seq % 3 = 0, 2, 1), IF(seq % 11 = 0, 'Réglé par chèque 🧾', NULL)
FROM seq_1_to_$nfac;

DELIMITER //
CREATE DEFINER='$dbuser'@'localhost' TRIGGER llx_facturedet_after_insert
AFTER INSERT ON llx_facturedet FOR EACH ROW
BEGIN
  UPDATE llx_facture
     SET total_ht = total_ht + NEW.total_ht, total_tva = total_tva + NEW.total_tva, total_ttc = total_ttc + NEW.total_ttc
   WHERE rowid = NEW.fk_facture;
END//
CREATE DEFINER='$dbuser'@'localhost' PROCEDURE llx_recompute_facture_totals(IN p_fk_facture int)
  COMMENT 'recalcule les totaux — lab'
BEGIN
  UPDATE llx_facture f
     SET f.total_ht  = (SELECT COALESCE(SUM(d.total_ht), 0)  FROM llx_facturedet d WHERE d.fk_facture = f.rowid),
         f.total_tva = (SELECT COALESCE(SUM(d.total_tva), 0) FROM llx_facturedet d WHERE d.fk_facture = f.rowid),
         f.total_ttc = (SELECT COALESCE(SUM(d.total_ttc), 0) FROM llx_facturedet d WHERE d.fk_facture = f.rowid)
   WHERE p_fk_facture IS NULL OR f.rowid = p_fk_facture;
END//
DELIMITER ;

INSERT INTO llx_facturedet (fk_facture, fk_product, description, qty, subprice, tva_tx, total_ht, total_tva, total_ttc)
SELECT 1 + l.seq DIV 3, 1 + l.seq % 25, CONCAT('Ligne ', 1 + l.seq % 3, ' — prestation « été » ✨'),
       1 + l.seq % 3, 12.5 * (1 + l.seq % 3), 20, 12.5 * POW(1 + l.seq % 3, 2), 2.5 * POW(1 + l.seq % 3, 2),
       15 * POW(1 + l.seq % 3, 2)
FROM seq_0_to_$((3 * nfac - 1)) l;  -- 3 lines per invoice (rowids 1..$nfac); the trigger updates the totals

CALL llx_recompute_facture_totals(NULL);

CREATE DEFINER='$dbuser'@'localhost' SQL SECURITY INVOKER VIEW llx_v_facture_impayee AS
  SELECT f.ref, s.nom, f.total_ttc FROM llx_facture f JOIN llx_societe s ON s.rowid = f.fk_soc WHERE f.paye = 0;

INSERT INTO llx_agefodd_session (ref, intitule, fk_soc, dated, datef, nb_stagiaire)
SELECT CONCAT('SES-', LPAD(seq, 4, '0')), ELT(1 + seq % 3, 'Sécurité incendie 🔥', 'Management d''équipe', 'Hygiène HACCP'),
       1 + seq % $nsoc, '2024-03-01' + INTERVAL seq DAY, '2024-03-01' + INTERVAL seq DAY + INTERVAL 7 HOUR, 5 + seq % 8
FROM seq_1_to_30;

-- BLOBs: every byte value (0x00, quote, backslash…) then random bytes
INSERT INTO llx_agefodd_certificate (fk_session, filename, content)
SELECT s.rowid, CONCAT('Attestation ', s.ref, ' – é.pdf'),
       CONCAT((SELECT UNHEX(GROUP_CONCAT(LPAD(HEX(seq), 2, '0') ORDER BY seq SEPARATOR '')) FROM seq_0_to_255),
              RANDOM_BYTES(1024), RANDOM_BYTES(1024))
FROM llx_agefodd_session s;
UPDATE llx_agefodd_certificate SET sha256 = SHA2(content, 256);
SQL

nsoc_db=$(mariadb -N -e "SELECT COUNT(*) FROM \`$db\`.llx_societe")
mkdir -p "$(dirname "$marker")"
printf 'seeded %s: %s files, %s societe rows, db %s\n' "$(date -u +%FT%TZ)" "$nfiles" "$nsoc_db" "$db" >"$marker"
echo "seeded: $nfiles files in $docs, code in $code, db $db ($nsoc_db llx_societe rows)"

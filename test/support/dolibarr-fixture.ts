// Dolibarr-like fixtures for the server-jobs tests, the lab and the benches: an htdocs tree
// (custom/ modules, conf/conf.php 0640 www-data), a documents dir (thousands of files, hard
// links, symlinks, odd UTF-8 names, foreign numeric owners) and an llx_ database (InnoDB,
// utf8mb4 text with accents and emoji, blobs, a trigger, a procedure, an event). Plus the
// manifests used to prove two trees or two databases identical.
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { mustRun } from "./jobs-exec";

/** Debian's www-data. */
export const WWW_DATA = 33;

/** Small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) b.writeUInt32LE(Math.floor(rand() * 4294967296) >>> 0, i);
  for (; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

function write(file: string, content: string | Buffer, mode = 0o664, uid = WWW_DATA, gid = WWW_DATA): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.chmodSync(file, mode);
  fs.chownSync(file, uid, gid);
}

export interface TreeOptions {
  /** Number of generated documents (besides the special ones). Default 3000. */
  documents?: number;
  /** Number of php files in htdocs. Default 400. */
  codeFiles?: number;
  /** Large documents (for interrupted transfers): count and size in MiB. */
  bigFiles?: number;
  bigFileMb?: number;
  seed?: number;
}

export interface DolibarrTree {
  codeRoot: string;
  documentsDir: string;
}

const ODD_NAMES = [
  "Contrat signé – été 2024.pdf",
  "Facture n°42 (copie).pdf",
  "📄 notes café.txt",
  "l'équipe & co.odt",
  "espace  double.txt",
  "ÉLÈVES Ærø ß.csv",
  "-commence-par-un-tiret.txt",
  "quote\"dans'le nom.txt",
];

/** Creates <root>/htdocs and <root>/documents. */
export function createDolibarrTree(root: string, opts: TreeOptions = {}): DolibarrTree {
  const rand = prng(opts.seed ?? 42);
  const codeRoot = path.join(root, "htdocs");
  const documentsDir = path.join(root, "documents");
  fs.mkdirSync(codeRoot, { recursive: true });
  fs.mkdirSync(documentsDir, { recursive: true });
  // --- htdocs ---
  const modules = ["core/lib", "core/modules", "compta/facture", "societe", "product", "projet", "langs/fr_FR", "theme/eldy/img"];
  const nCode = opts.codeFiles ?? 400;
  for (let i = 0; i < nCode; i++) {
    const dir = modules[i % modules.length]!;
    const ext = dir.startsWith("langs") ? "lang" : dir.includes("img") ? "png" : "php";
    const body = ext === "png" ? bytes(rand, 200 + Math.floor(rand() * 3000)) : `<?php\n// Dolibarr ${dir} ${i} — généré\n${"$x = 'é';\n".repeat(5 + Math.floor(rand() * 60))}`;
    write(path.join(codeRoot, dir, `file${i}.${ext}`), body, 0o644, 0, 0);
  }
  write(path.join(codeRoot, "index.php"), "<?php\nrequire 'main.inc.php';\n", 0o644, 0, 0);
  write(path.join(codeRoot, "main.inc.php"), "<?php\n// main\n", 0o644, 0, 0);
  // custom module with an inner relative symlink
  const agefodd = path.join(codeRoot, "custom", "agefodd");
  write(path.join(agefodd, "core/modules/modAgefodd.class.php"), "<?php\nclass modAgefodd {}\n", 0o644, WWW_DATA, WWW_DATA);
  for (let i = 0; i < 30; i++) {
    write(path.join(agefodd, "class", `agsession${i}.class.php`), `<?php\n// session ${i} formation été\n`, 0o644, WWW_DATA, WWW_DATA);
  }
  write(path.join(agefodd, "langs/fr_FR/agefodd.lang"), "Module103000Name=Agefodd\nFormation=Formation ☕\n", 0o644, WWW_DATA, WWW_DATA);
  fs.symlinkSync("../../theme/eldy/img", path.join(agefodd, "img"));
  fs.lchownSync(path.join(agefodd, "img"), WWW_DATA, WWW_DATA);
  // conf.php: 0640 www-data, as Dolibarr's installer leaves it
  write(
    path.join(codeRoot, "conf/conf.php"),
    "<?php\n$dolibarr_main_url_root='https://erp.example.fr';\n$dolibarr_main_document_root='/var/www/dolibarr/htdocs';\n$dolibarr_main_data_root='/var/lib/dolibarr/documents';\n$dolibarr_main_db_name='dolibarr';\n$dolibarr_main_db_pass='s3cr3t-é';\n",
    0o640,
    WWW_DATA,
    WWW_DATA,
  );
  write(path.join(codeRoot, "conf/conf.php.example"), "<?php\n// example\n", 0o644, 0, 0);
  // --- documents ---
  const areas = ["facture", "propale", "commande", "societe", "produit", "ecm/Répertoire partagé", "users", "mycompany/logos"];
  const nDocs = opts.documents ?? 3000;
  const docs: string[] = [];
  for (let i = 0; i < nDocs; i++) {
    const area = areas[i % areas.length]!;
    const sub = `${area}/REF${String(Math.floor(i / 7)).padStart(5, "0")}`;
    const name = i % 97 === 0 ? ODD_NAMES[(i / 97) % ODD_NAMES.length]! : `doc-${i}.${["pdf", "odt", "jpg", "txt"][i % 4]}`;
    const f = path.join(documentsDir, sub, name);
    write(f, bytes(rand, 100 + Math.floor(rand() * 6000)));
    docs.push(f);
  }
  // hard links (same inode twice in documents)
  fs.mkdirSync(path.join(documentsDir, "ecm/liens"), { recursive: true });
  for (let i = 0; i < 20; i++) {
    const src = docs[(i * 53) % docs.length]!;
    fs.linkSync(src, path.join(documentsDir, "ecm/liens", `lien-${i}-${path.basename(src)}`));
  }
  // a symlink, an empty dir, an empty file, a foreign numeric owner, a 0600 file
  fs.symlinkSync("../mycompany/logos", path.join(documentsDir, "ecm/logos-raccourci"));
  fs.mkdirSync(path.join(documentsDir, "admin/temp"), { recursive: true });
  write(path.join(documentsDir, "admin/vide.txt"), "");
  write(path.join(documentsDir, "admin/notes-privées.txt"), "privé\n", 0o600, 12345, 12345);
  for (let i = 0; i < (opts.bigFiles ?? 0); i++) {
    const f = path.join(documentsDir, "ecm/gros", `archive-${i}.bin`);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    const mb = opts.bigFileMb ?? 32;
    const fd = fs.openSync(f, "w");
    for (let m = 0; m < mb; m++) fs.writeSync(fd, randomBytes(1024 * 1024));
    fs.closeSync(fd);
    fs.chownSync(f, WWW_DATA, WWW_DATA);
  }
  // directories as Dolibarr makes them
  for (const d of walkDirs(documentsDir)) {
    fs.chmodSync(d, 0o775);
    fs.chownSync(d, WWW_DATA, WWW_DATA);
  }
  return { codeRoot, documentsDir };
}

function walkDirs(dir: string): string[] {
  const out = [dir];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...walkDirs(path.join(dir, e.name)));
  }
  return out;
}

/** Regular files under dir (not following symlinks). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/**
 * Changes a share of the documents like a day of use: rewrites some files, adds new ones,
 * removes a few. Returns what it did.
 */
export function touchDocuments(documentsDir: string, share: number, seed = 7): { changed: number; added: number; removed: number } {
  const rand = prng(seed);
  const files = listFiles(documentsDir).filter((f) => !f.includes(`${path.sep}liens${path.sep}`) && !f.includes(`${path.sep}gros${path.sep}`));
  const n = Math.max(1, Math.round(files.length * share));
  let changed = 0;
  let removed = 0;
  for (let i = 0; i < n; i++) {
    const f = files[Math.floor(rand() * files.length)]!;
    if (!fs.existsSync(f)) continue;
    if (i % 10 === 9) {
      fs.rmSync(f);
      removed++;
    } else {
      write(f, bytes(rand, 100 + Math.floor(rand() * 6000)));
      changed++;
    }
  }
  const added = Math.max(1, Math.round(n / 5));
  for (let i = 0; i < added; i++) write(path.join(documentsDir, "facture/NOUVEAU", `new-${seed}-${i}.pdf`), bytes(rand, 2000));
  fs.chmodSync(path.join(documentsDir, "facture/NOUVEAU"), 0o775);
  fs.chownSync(path.join(documentsDir, "facture/NOUVEAU"), WWW_DATA, WWW_DATA);
  return { changed, added, removed };
}

// --- manifests ------------------------------------------------------------------------------

/** path → "type mode uid:gid size mtime content-hash|link-target [=hardlink-group]". */
export type Manifest = Map<string, string>;

export function treeManifest(root: string, opts: { mtimes?: boolean } = {}): Manifest {
  const m: Manifest = new Map();
  const inodes = new Map<string, string>();
  const visit = (rel: string): void => {
    const abs = rel ? path.join(root, rel) : root;
    const st = fs.lstatSync(abs);
    const mode = (st.mode & 0o7777).toString(8);
    const own = `${st.uid}:${st.gid}`;
    const mtime = opts.mtimes === false || st.isDirectory() ? "" : String(Math.floor(st.mtimeMs / 1000));
    if (st.isSymbolicLink()) {
      m.set(rel || ".", `l ${own} -> ${fs.readlinkSync(abs)}`);
    } else if (st.isDirectory()) {
      m.set(rel || ".", `d ${mode} ${own}`);
      for (const name of fs.readdirSync(abs).sort()) visit(rel ? path.join(rel, name) : name);
    } else if (st.isFile()) {
      const hash = createHash("sha256").update(fs.readFileSync(abs)).digest("hex");
      let link = "";
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = inodes.get(key);
        if (first === undefined) inodes.set(key, rel);
        else link = ` =${first}`;
      }
      m.set(rel, `f ${mode} ${own} ${st.size} ${mtime} ${hash}${link}`);
    } else {
      m.set(rel, `other ${mode} ${own}`);
    }
  };
  visit("");
  return m;
}

/** Human-readable differences (at most `max`), empty when identical. */
export function diffManifests(a: Manifest, b: Manifest, max = 20): string[] {
  const out: string[] = [];
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined) out.push(`only in first: ${k} (${v})`);
    else if (w !== v) out.push(`differs: ${k}\n   ${v}\n   ${w}`);
    if (out.length >= max) return out;
  }
  for (const [k, v] of b) {
    if (!a.has(k)) out.push(`only in second: ${k} (${v})`);
    if (out.length >= max) return out;
  }
  return out;
}

/** The POSIX ACLs of a tree (numeric ids), path → entries; files with base entries only are skipped. */
export async function aclManifest(root: string): Promise<Map<string, string>> {
  const r = await mustRun("bash", ["-c", 'cd "$1" && getfacl -R -n -p -s . 2>/dev/null || true', "x", root]);
  const m = new Map<string, string>();
  for (const block of r.stdout.split("\n\n")) {
    const lines = block.split("\n").filter((l) => l.length > 0);
    const file = lines.find((l) => l.startsWith("# file: "));
    if (!file) continue;
    m.set(file.slice(8), lines.filter((l) => !l.startsWith("#")).join(","));
  }
  return m;
}

// --- database -------------------------------------------------------------------------------

export interface Sql {
  query(sql: string, database?: string): Promise<string>;
}

export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\0/g, "\\0")}'`;
}

const NOMS = [
  "Société Générale des Eaux",
  "L'Atelier d'Émilie",
  "Café ☕ & Croissants 🥐",
  "Ünïcödé GmbH — Zürich",
  'Guillemets "doubles" et \\ antislash',
  "Multi\nligne\r\nsociété",
  "Parenthèses ),( piégeuses",
  "日本語の会社",
  "Emoji 😀🎉👩‍💻",
];

export interface DatabaseOptions {
  societes?: number;
  invoices?: number;
  blobs?: number;
  seed?: number;
}

/** Creates database `name` with Dolibarr-like llx_ tables, a trigger, a procedure and an event. */
export async function createDolibarrDatabase(db: Sql, name: string, opts: DatabaseOptions = {}): Promise<void> {
  const rand = prng(opts.seed ?? 1);
  const societes = opts.societes ?? 500;
  const invoices = opts.invoices ?? 2000;
  const blobs = opts.blobs ?? 100;
  const ddl = `
DROP DATABASE IF EXISTS \`${name}\`;
CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE \`${name}\`;
CREATE TABLE llx_societe (rowid INT AUTO_INCREMENT PRIMARY KEY, nom VARCHAR(128) NOT NULL, name_alias VARCHAR(128) NULL,
  town VARCHAR(50), note_private MEDIUMTEXT, datec DATETIME, tms TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  KEY idx_societe_nom (nom)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE llx_facture (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30) NOT NULL, fk_soc INT NOT NULL, datef DATE,
  total_ht DECIMAL(24,8), total_ttc DECIMAL(24,8), note_public TEXT, UNIQUE KEY uk_facture_ref (ref),
  CONSTRAINT fk_facture_fk_soc FOREIGN KEY (fk_soc) REFERENCES llx_societe (rowid)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE llx_actioncomm (id INT AUTO_INCREMENT PRIMARY KEY, label VARCHAR(255), fk_soc INT, datep DATETIME) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE llx_ecm_files (rowid INT AUTO_INCREMENT PRIMARY KEY, filename VARCHAR(255) NOT NULL, filepath VARCHAR(255), content MEDIUMBLOB, share CHAR(32)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE llx_const (rowid INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(180) NOT NULL, value TEXT NOT NULL, type VARCHAR(64) DEFAULT 'string', UNIQUE KEY uk_const (name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE llx_agefodd_session (rowid INT AUTO_INCREMENT PRIMARY KEY, intitule VARCHAR(255), dated DATE, nb_stagiaire INT, extra JSON) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE llx_vide (rowid INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TRIGGER llx_facture_after_insert AFTER INSERT ON llx_facture FOR EACH ROW
  INSERT INTO llx_actioncomm (label, fk_soc, datep) VALUES (CONCAT('Facture ', NEW.ref, ' créée'), NEW.fk_soc, '2024-01-01 00:00:00');
CREATE PROCEDURE llx_total_client(IN soc INT, OUT total DECIMAL(24,8))
  SELECT COALESCE(SUM(total_ttc), 0) INTO total FROM llx_facture WHERE fk_soc = soc;
CREATE EVENT llx_purge_actioncomm ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM llx_actioncomm WHERE datep < '2000-01-01';
`;
  const parts: string[] = [ddl];
  const batch = (table: string, cols: string, rows: string[]): void => {
    for (let i = 0; i < rows.length; i += 200) parts.push(`INSERT INTO ${table} (${cols}) VALUES ${rows.slice(i, i + 200).join(",")};`);
  };
  batch(
    "llx_societe",
    "nom, name_alias, town, note_private, datec, tms",
    Array.from({ length: societes }, (_, i) => {
      const nom = `${NOMS[i % NOMS.length]} ${i}`;
      return `(${sqlString(nom)}, ${i % 3 === 0 ? "NULL" : sqlString(`alias ${i} ñ`)}, ${sqlString(["Paris", "Lyon", "Besançon", "Orléans"][i % 4]!)}, ${sqlString(`Note privée ${i}: l'été \\o/ 🚀 ${"x".repeat(Math.floor(rand() * 400))}`)}, '2024-0${1 + (i % 9)}-1${i % 10} 10:00:00', '2024-06-01 12:00:00')`;
    }),
  );
  batch(
    "llx_facture",
    "ref, fk_soc, datef, total_ht, total_ttc, note_public",
    Array.from({ length: invoices }, (_, i) => {
      const ht = Math.round(rand() * 1e8) / 100;
      return `('FA2401-${String(i).padStart(5, "0")}', ${1 + (i % societes)}, '2024-0${1 + (i % 9)}-2${i % 8}', ${ht}, ${Math.round(ht * 120) / 100}, ${sqlString(`Merci ! ${NOMS[i % NOMS.length]}`)})`;
    }),
  );
  batch(
    "llx_ecm_files",
    "filename, filepath, content, share",
    Array.from({ length: blobs }, (_, i) => {
      const content = bytes(rand, 1 + Math.floor(rand() * 16000));
      content[0] = 0;
      content[content.length - 1] = 0x27;
      return `(${sqlString(`pièce-${i}.pdf`)}, 'facture/FA2401', X'${content.toString("hex")}', ${i % 2 ? "NULL" : `'${createHash("md5").update(String(i)).digest("hex")}'`})`;
    }),
  );
  batch(
    "llx_const",
    "name, value, type",
    ["MAIN_INFO_SOCIETE_NOM", "MAIN_MONNAIE", "MAIN_LANG_DEFAULT", "MAIN_MODULE_AGEFODD"].map((k, i) => `('${k}', ${sqlString(["Société ☕", "EUR", "fr_FR", "1"][i]!)}, 'chaine')`),
  );
  batch(
    "llx_agefodd_session",
    "intitule, dated, nb_stagiaire, extra",
    Array.from({ length: 50 }, (_, i) => `(${sqlString(`Formation sécurité n°${i} 🦺`)}, '2024-03-0${1 + (i % 9)}', ${i % 12}, '{"salle": "Bâtiment ${i}", "ok": true}')`),
  );
  await db.query(parts.join("\n"));
}

/** Adds a bulk table to reach about `mb` MiB of table data (half random blobs, half text), via the Sequence engine. */
export async function growDatabase(db: Sql, name: string, mb: number, table = "llx_bench_blob"): Promise<void> {
  const rows = Math.ceil((mb * 1024 * 1024) / 1024);
  await db.query(
    `CREATE TABLE IF NOT EXISTS ${table} (id INT PRIMARY KEY, label VARCHAR(64), note TEXT, payload BLOB) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO ${table} SELECT seq, CONCAT('ligne é ', seq), REPEAT(CONCAT(MD5(seq), ' facture été ☕ '), 11), RANDOM_BYTES(512) FROM seq_1_to_${rows};`,
    name,
  );
}

/** CHECKSUM TABLE of every base table, "table checksum" lines sorted. */
export async function tableChecksums(db: Sql, name: string): Promise<string> {
  const tables = (await db.query(`SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='${name}' AND TABLE_TYPE='BASE TABLE' ORDER BY TABLE_NAME`))
    .split("\n")
    .filter(Boolean);
  if (tables.length === 0) return "";
  const out = await db.query(`CHECKSUM TABLE ${tables.map((t) => `\`${name}\`.\`${t}\``).join(", ")} EXTENDED`);
  return out
    .split("\n")
    .filter(Boolean)
    .map((l) => l.replace(`${name}.`, ""))
    .sort()
    .join("\n");
}

/** Triggers, routines and events of a database, names only, sorted. */
export async function databaseObjects(db: Sql, name: string): Promise<string> {
  return (
    await db.query(
      `SELECT CONCAT('trigger ', TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='${name}'
       UNION ALL SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='${name}'
       UNION ALL SELECT CONCAT('event ', EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA='${name}'`,
    )
  )
    .split("\n")
    .filter(Boolean)
    .sort()
    .join("\n");
}

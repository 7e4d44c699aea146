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

/**
 * Regular files under dir (not following symlinks). Names that are no valid UTF-8 (addRawNames)
 * cannot be JS strings: they are left out, with what is below them.
 */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, encoding: "buffer" })) {
    const name = e.name.toString("utf8");
    if (!Buffer.from(name, "utf8").equals(e.name)) continue;
    const p = path.join(dir, name);
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

// --- a realistic schema and hostile trees (exact-restore tests) -----------------------------

/** Strings that broke naive dump parsers and escapers. */
const HOSTILE_TEXT = [
  "),(",
  "'); INSERT INTO `llx_log` VALUES (1,'x'),(2,'y'); --",
  "ligne 1\nINSERT INTO `llx_gen_0` VALUES (9,9);\nligne 3",
  "\\ antislash \\\\ double",
  "tab\tet\rretour",
  "Café ☕ 😀 日本語 Ærø",
  "",
  "NULL",
  "quote ' et \" et `",
];

export interface SchemaOptions {
  seed?: number;
  /** Generated llx_gen_<i> tables. Default 40. */
  tables?: number;
  /** Rows per generated table at most. Default 40. */
  rows?: number;
  /** Size of the one large BLOB row, MiB (its hex form must exceed a default 16M max_allowed_packet). Default 12. */
  bigBlobMb?: number;
  /** The database's default collation (utf8mb4). Default utf8mb4_unicode_520_ci (not a server default). */
  collation?: string;
}

/** A number as a DOUBLE literal (always with an exponent). */
function dbl(x: number): string {
  const t = String(x);
  return /e/i.test(t) ? t : `${t}e0`;
}

/** A float32 value as the shortest decimal that loads back into FLOAT as exactly that value. */
function randomFloat32(rand: () => number): string {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (;;) {
    u[0] = Math.floor(rand() * 4294967296) >>> 0;
    const v = f[0]!;
    if (Number.isFinite(v) && Math.abs(v) < 1e30 && (v === 0 || Math.abs(v) > 1e-30)) return String(v);
  }
}

/**
 * Creates database `name` shaped like Dolibarr with modules: many llx_ tables with generated
 * (virtual and stored) and invisible columns, FLOAT and DOUBLE columns with random bit patterns,
 * ON UPDATE timestamps, hostile utf8mb4 text, a table without primary key, triggers and a
 * procedure and an event whose bodies hold multi-row INSERTs with column lists, views, and one
 * BLOB row of bigBlobMb MiB. The database has a non-default collation.
 */
export async function createDolibarrSchema(db: Sql, name: string, opts: SchemaOptions = {}): Promise<{ tables: string[]; views: string[] }> {
  const rand = prng(opts.seed ?? 5);
  const nTables = opts.tables ?? 40;
  const maxRows = opts.rows ?? 40;
  const collation = opts.collation ?? "utf8mb4_unicode_520_ci";
  const parts: string[] = [
    `DROP DATABASE IF EXISTS \`${name}\`;`,
    `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE ${collation};`,
    `USE \`${name}\`;`,
    "CREATE TABLE llx_log (rowid INT AUTO_INCREMENT PRIMARY KEY, fk INT, msg VARCHAR(255), hidden_note VARCHAR(20) INVISIBLE DEFAULT 'invisible') ENGINE=InnoDB;",
    "CREATE TABLE llx_nokey_measure (label VARCHAR(40), value FLOAT, precise DOUBLE) ENGINE=InnoDB;",
    "CREATE TABLE llx_ecm_blob (rowid INT PRIMARY KEY, filename VARCHAR(255), content LONGBLOB) ENGINE=InnoDB;",
  ];
  const tables = ["llx_log", "llx_nokey_measure", "llx_ecm_blob"];
  for (let t = 0; t < nTables; t++) {
    const tn = `llx_gen_${t}`;
    tables.push(tn);
    parts.push(`CREATE TABLE ${tn} (
  rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30) NOT NULL, label VARCHAR(255), qty INT NOT NULL DEFAULT 0,
  price DOUBLE, weight FLOAT, ratio FLOAT(7,3), total DOUBLE AS (qty * price) STORED, label_len INT AS (CHAR_LENGTH(label)) VIRTUAL,
  note MEDIUMTEXT, ${t % 3 === 0 ? "extra JSON," : ""} payload ${t % 4 === 0 ? "BLOB" : "VARBINARY(64)"},
  tms TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, KEY idx_${tn}_ref (ref)
) ENGINE=${t % 7 === 6 ? "Aria" : "InnoDB"} ${t % 5 === 4 ? "COLLATE utf8mb4_bin" : ""};`);
    const n = Math.floor(rand() * maxRows);
    const rows: string[] = [];
    for (let r = 0; r < n; r++) {
      const text = HOSTILE_TEXT[Math.floor(rand() * HOSTILE_TEXT.length)]!;
      const payload = bytes(rand, 1 + Math.floor(rand() * (t % 4 === 0 ? 3000 : 60))).toString("hex");
      rows.push(
        `('${tn.toUpperCase()}-${r}', ${rand() < 0.1 ? "NULL" : sqlString(`${text} ${r}`)}, ${Math.floor(rand() * 1000)}, ${rand() < 0.1 ? "NULL" : dbl((rand() - 0.5) * 1e6)}, ${rand() < 0.1 ? "NULL" : randomFloat32(rand)}, ${(rand() * 9999).toFixed(3)}, ${sqlString(`Note ${text}`.repeat(1 + Math.floor(rand() * 5)))}, ${t % 3 === 0 ? `'{"k": ${r}, "s": "é"}',` : ""} X'${payload}', '2024-05-0${1 + (r % 9)} 10:00:00')`,
      );
    }
    const cols = `ref, label, qty, price, weight, ratio, note, ${t % 3 === 0 ? "extra, " : ""}payload, tms`;
    for (let i = 0; i < rows.length; i += 50) parts.push(`INSERT INTO ${tn} (${cols}) VALUES ${rows.slice(i, i + 50).join(",")};`);
  }
  parts.push(
    `INSERT INTO llx_nokey_measure VALUES ${Array.from({ length: 30 }, (_, i) => `('m${i}', ${randomFloat32(rand)}, ${dbl(rand() * 1e-5)})`).join(",")};`,
    // Bodies with statements that look like dump data (column lists, several tuples, line starts).
    `CREATE TRIGGER llx_gen_0_ai AFTER INSERT ON llx_gen_0 FOR EACH ROW
INSERT INTO llx_log (fk, msg) VALUES (NEW.rowid, CONCAT('créé ', NEW.ref)), (NEW.rowid, '),(');`,
    `CREATE TRIGGER llx_gen_1_bu BEFORE UPDATE ON llx_gen_1 FOR EACH ROW SET NEW.qty = NEW.qty + 1000;`,
    "DELIMITER ;;",
    `CREATE PROCEDURE llx_purge(IN keep_days INT)
BEGIN
INSERT INTO \`llx_log\` VALUES (NULL, 0, 'purge'),(NULL, 0, 'purge 2');
INSERT INTO llx_log (fk, msg) VALUES (keep_days, 'jours');
END;;`,
    `CREATE FUNCTION llx_ttc(ht DOUBLE) RETURNS DOUBLE DETERMINISTIC RETURN ht * 1.2;;`,
    `CREATE EVENT llx_nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 03:00:00' DISABLE DO
BEGIN
INSERT INTO llx_log (fk, msg) VALUES (-1, 'nuit'), (-2, 'nuit 2');
END;;`,
    "DELIMITER ;",
    "CREATE VIEW llx_v_totals AS SELECT ref, qty, total, label_len FROM llx_gen_0 WHERE qty > 10;",
    "CREATE VIEW llx_v_logs AS SELECT l.fk, l.msg, g.ref FROM llx_log l LEFT JOIN llx_gen_0 g ON g.rowid = l.fk;",
  );
  // The mariadb client runs the DELIMITER lines; the big BLOB goes in its own statement.
  await db.query(parts.join("\n"));
  const big = Math.round((opts.bigBlobMb ?? 12) * 1024 * 1024);
  if (big > 0) {
    const chunk = 1024 * 1024;
    await db.query(`INSERT INTO llx_ecm_blob VALUES (1, 'gros.pdf', '');`, name);
    for (let off = 0; off < big; off += chunk) {
      await db.query(`UPDATE llx_ecm_blob SET content = CONCAT(content, X'${bytes(rand, Math.min(chunk, big - off)).toString("hex")}') WHERE rowid = 1;`, name);
    }
  }
  return { tables: tables.sort(), views: ["llx_v_logs", "llx_v_totals"] };
}

/** FLOAT and DOUBLE columns of a database as exact text (the float widened to double), for bit-exact comparison. */
export async function floatValues(db: Sql, name: string): Promise<string> {
  const cols = (
    await db.query(`SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='${name}' AND DATA_TYPE IN ('float','double') AND TABLE_NAME IN (SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='${name}' AND TABLE_TYPE='BASE TABLE') ORDER BY 1, 2`)
  )
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t") as [string, string]);
  const out: string[] = [];
  for (const [t, c] of cols) {
    // One value per line, sorted here: the server's ORDER BY of NULLs and zeros was not stable.
    const v = await db.query(`SELECT COALESCE(CAST(\`${c}\` AS DOUBLE), 'NULL') FROM \`${t}\``, name);
    out.push(`${t}.${c}: ${v.split("\n").filter(Boolean).sort().join(" ")}`);
  }
  return out.join("\n");
}

export interface HostileTreeResult {
  /** Paths (relative) of the sparse files. */
  sparse: string[];
  /** Paths (relative) of files with a user xattr. */
  xattrs: string[];
  /** Paths (relative) of files with an extended ACL (group bits are then the mask). */
  acls: string[];
}

/**
 * Adds, under `dir`, a generated hostile tree: names with newlines, leading dashes, NFD accents,
 * 255-byte names, names of rsync's working dirs (.rsync-partial, .~tmp~) and temp files, hard
 * links, symlinks out of the tree (absolute and relative), sparse files, files owned by other
 * users, extended ACLs with a wide mask, user xattrs. Deterministic for a seed.
 */
export async function addHostileTree(dir: string, seed: number, count = 60): Promise<HostileTreeResult> {
  const rand = prng(seed);
  const res: HostileTreeResult = { sparse: [], xattrs: [], acls: [] };
  const nfd = "Ete\u0301 Noe\u0308l cafe\u0301"; // NFD: e + combining accents
  const long = (prefix: string): string => {
    let n = prefix;
    while (Buffer.byteLength(n) < 250) n += "é";
    while (Buffer.byteLength(n) > 255) n = n.slice(0, -1);
    return n + "x".repeat(255 - Buffer.byteLength(n));
  };
  const dirs = [".rsync-partial", ".~tmp~", "-dash dir", nfd, "new\nline dir", long("d"), ".work", ".snapshots", "ok"];
  const fileNames = (i: number): string =>
    [`-rf ${i}`, `--delete-${i}`, `with\nnewline ${i}`, `${nfd} ${i}`, long(`f${i}-`).slice(0, 255), `.facture.pdf.${i}Ab3xZ`, `.~tmp~${i}`, `back\\slash ${i}`, `star*?[${i}]`, ` space ${i} `][i % 10] ?? `plain ${i}`;
  const made: string[] = [];
  const xattrSets: Array<[string, string]> = [];
  for (let i = 0; i < count; i++) {
    const sub = dirs[Math.floor(rand() * dirs.length)]!;
    const rel = path.join(sub, fileNames(i));
    const abs = path.join(dir, rel);
    if (Buffer.byteLength(path.basename(abs)) > 255 || fs.existsSync(abs)) continue;
    const kind = Math.floor(rand() * 8);
    const uid = [0, WWW_DATA, 12345, 54321][Math.floor(rand() * 4)]!;
    const mode = [0o600, 0o640, 0o644, 0o664, 0o400, 0o4755 & 0o777][Math.floor(rand() * 6)]!;
    if (kind === 0 && made.length > 0) {
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.linkSync(path.join(dir, made[Math.floor(rand() * made.length)]!), abs); // hard link
      continue;
    }
    if (kind === 1) {
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.symlinkSync(rand() < 0.5 ? "/etc/passwd" : "../../../../outside/of/the/tree", abs);
      fs.lchownSync(abs, uid, uid);
      continue;
    }
    if (kind === 2) {
      // sparse: a hole of several MiB between small data blocks
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      const fd = fs.openSync(abs, "w");
      fs.writeSync(fd, bytes(rand, 4096), 0, 4096, 0);
      fs.writeSync(fd, bytes(rand, 4096), 0, 4096, (4 + Math.floor(rand() * 8)) * 1024 * 1024);
      fs.closeSync(fd);
      fs.chownSync(abs, uid, uid);
      fs.chmodSync(abs, mode);
      res.sparse.push(rel);
      made.push(rel);
      continue;
    }
    write(abs, bytes(rand, Math.floor(rand() * 5000)), mode, uid, uid);
    made.push(rel);
    if (kind === 3) xattrSets.push([rel, `v${i}-é`]);
    if (kind === 4) res.acls.push(rel);
  }
  // xattrs through python3 (no attr package needed), ACLs with setfacl: a named user with rwx
  // makes the mask rwx, which stat shows as the group bits.
  if (xattrSets.length > 0) {
    await mustRun("python3", ["-c", "import os,sys,json\nfor p,v in json.load(sys.stdin): os.setxattr(p, 'user.dolibarr', v.encode())"], {
      input: JSON.stringify(xattrSets.map(([r, v]) => [path.join(dir, r), v])),
    });
    res.xattrs.push(...xattrSets.map(([r]) => r));
  }
  for (const rel of res.acls) await mustRun("setfacl", ["-m", "u:23456:rwx", "--", path.join(dir, rel)]);
  for (const d of [dir, ...walkDirs(dir)]) fs.chmodSync(d, 0o775);
  return res;
}

/**
 * Adds, under `dir`, files whose names only a byte-exact tool gets right: bytes that are no UTF-8
 * (0xff, latin1 accents), control characters (newline, tab, ESC), a backslash before "#ooo" (rsync's
 * own escape in its logs), leading dashes, names holding " => " and " -> " (rsync's %L separators),
 * one of them hard-linked under another such name. Returns their paths relative to `dir`, as bytes.
 * Deterministic for a seed (the contents; the names are fixed).
 */
export function addRawNames(dir: string, seed: number): Buffer[] {
  const rand = prng(seed);
  const names = [
    Buffer.from([0xff, 0xfe, 0x20, 0x6e, 0x6f, 0x74, 0x20, 0x55, 0x54, 0x46, 0x2d, 0x38]),
    Buffer.from("caf\xe9 latin1.txt", "latin1"),
    Buffer.from("with\nnewline.pdf"),
    Buffer.from("tab\tand\x1b[31mescape"),
    Buffer.from("hash\\#101 looks escaped"),
    Buffer.from("-rf --delete-after"),
    Buffer.from("a => b.pdf"),
    Buffer.from("c -> d.pdf"),
    Buffer.from(" spaces around "),
  ];
  const sub = Buffer.from("raw \xff dir", "latin1");
  const base = Buffer.concat([Buffer.from(dir), Buffer.from("/"), sub]);
  fs.mkdirSync(base, { recursive: true });
  const out: Buffer[] = [];
  for (const n of names) {
    const rel = Buffer.concat([sub, Buffer.from("/"), n]);
    const abs = Buffer.concat([Buffer.from(dir), Buffer.from("/"), rel]);
    fs.writeFileSync(abs, bytes(rand, 10 + Math.floor(rand() * 3000)));
    fs.chmodSync(abs, 0o644);
    out.push(rel);
  }
  // a hard link whose name and target both hold rsync's " => "
  const link = Buffer.concat([sub, Buffer.from("/link => a => b.pdf")]);
  fs.linkSync(Buffer.concat([Buffer.from(dir), Buffer.from("/"), sub, Buffer.from("/a => b.pdf")]), Buffer.concat([Buffer.from(dir), Buffer.from("/"), link]));
  out.push(link);
  fs.chmodSync(base, 0o775);
  return out;
}

/** user.* xattrs of a tree (path → "name=value" list), via python3. */
export async function xattrManifest(root: string): Promise<Map<string, string>> {
  const r = await mustRun("python3", [
    "-c",
    `import os,sys,json
root=sys.argv[1]; out={}
for d,ds,fs in os.walk(root):
  for n in ds+fs:
    p=os.path.join(d,n)
    if os.path.islink(p): continue
    a=sorted(x+'='+os.getxattr(p,x).decode('utf8','replace') for x in os.listxattr(p) if x.startswith('user.'))
    if a: out[os.path.relpath(p,root)]=','.join(a)
print(json.dumps(out))`,
    root,
  ]);
  return new Map(Object.entries(JSON.parse(r.stdout) as Record<string, string>));
}

/** Allocated bytes of a file (st_blocks x 512). */
export function allocatedBytes(file: string): number {
  return fs.statSync(file).blocks * 512;
}

/**
 * A digest of every base table's rows, independent of the engine and the server (CHECKSUM TABLE
 * of an Aria table differs between two servers holding the same rows): per table the row count
 * and a XOR of per-row MD5s over every column (FLOAT/DOUBLE widened exactly, others as the MD5
 * of their bytes: a HEX() of a large BLOB would exceed a default max_allowed_packet).
 */
export async function tableDigests(db: Sql, name: string): Promise<string> {
  const cols = (
    await db.query(
      `SELECT c.TABLE_NAME, GROUP_CONCAT(CONCAT(c.COLUMN_NAME, ':', c.DATA_TYPE) ORDER BY c.ORDINAL_POSITION SEPARATOR ',') FROM information_schema.COLUMNS c
       JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE'
       WHERE c.TABLE_SCHEMA = '${name}' GROUP BY c.TABLE_NAME ORDER BY c.TABLE_NAME`,
    )
  )
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t") as [string, string]);
  const out: string[] = [];
  for (const [t, spec] of cols) {
    const exprs = spec.split(",").map((cs) => {
      const [c, type] = cs.split(":") as [string, string];
      const v = type === "float" || type === "double" ? `CAST(\`${c}\` AS DOUBLE)` : `MD5(CAST(\`${c}\` AS BINARY))`;
      return `COALESCE(${v}, '\\\\N')`;
    });
    const r = await db.query(`SELECT COUNT(*), COALESCE(BIT_XOR(CONV(LEFT(MD5(CONCAT_WS('|', ${exprs.join(", ")})), 15), 16, 10)), 0) FROM \`${t}\``, name);
    out.push(`${t} ${r.trim()}`);
  }
  return out.join("\n");
}

// --- every MariaDB column type at its limits (exact-restore tests) -----------------------------

/** A float32's bits as the shortest double literal that converts back to exactly that float. */
function float32Literal(bits: number): string {
  const f = new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0]!;
  return dbl(f);
}

/** A random finite float32 (any exponent, subnormals included) or a random finite double, as literals. */
function randomFloatBits(rand: () => number): string {
  for (;;) {
    const bits = Math.floor(rand() * 4294967296) >>> 0;
    if (((bits >>> 23) & 0xff) !== 0xff) return float32Literal(bits);
  }
}
function randomDoubleBits(rand: () => number): string {
  const b = Buffer.alloc(8);
  for (;;) {
    b.writeUInt32LE(Math.floor(rand() * 4294967296) >>> 0, 0);
    b.writeUInt32LE(Math.floor(rand() * 4294967296) >>> 0, 4);
    const v = b.readDoubleLE(0);
    if (Number.isFinite(v)) return dbl(v);
  }
}

interface ColumnType {
  sql: string;
  /** Literal values: the type's limits and edge cases (always used), then random ones. */
  extremes: string[];
  random: (rand: () => number, row: number) => string;
  /** May be (part of) a primary key: `key(row)` gives a value unique per row. */
  key?: (row: number) => string;
}

const hexOf = (b: Buffer): string => (b.length === 0 ? "''" : `X'${b.toString("hex")}'`);
const FLOAT_EXTREMES = [
  "3.4028234663852886e38", // FLT_MAX
  "-3.4028234663852886e38",
  "1.1754943508222875e-38", // FLT_MIN (smallest normal)
  "1.1754942106924411e-38", // largest subnormal
  "1.401298464324817e-45", // smallest subnormal
  "-1.401298464324817e-45",
  "16777217e0", // 2^24 + 1: rounds to 16777216, text 1.67772e7
  "0.1e0",
  "0e0",
  float32Literal(0x3f800001), // 1 + 1 ulp: text "1"
  float32Literal(0x3eaaaaab), // 1/3
];

/** The type catalogue: every MariaDB column type, with its limits. */
export const COLUMN_TYPES: ColumnType[] = [
  { sql: "TINYINT", extremes: ["-128", "127", "0"], random: (r) => String(Math.floor(r() * 256) - 128) },
  { sql: "TINYINT UNSIGNED", extremes: ["0", "255"], random: (r) => String(Math.floor(r() * 256)) },
  { sql: "SMALLINT", extremes: ["-32768", "32767"], random: (r) => String(Math.floor(r() * 65536) - 32768) },
  { sql: "MEDIUMINT UNSIGNED", extremes: ["0", "16777215"], random: (r) => String(Math.floor(r() * 16777216)) },
  { sql: "INT", extremes: ["-2147483648", "2147483647"], random: (r) => String(Math.floor(r() * 4294967296) - 2147483648), key: (i) => String(i * 7919 - 2147483000) },
  { sql: "INT(8) ZEROFILL", extremes: ["0", "4294967295", "1"], random: (r) => String(Math.floor(r() * 1e8)) },
  { sql: "BIGINT", extremes: ["-9223372036854775808", "9223372036854775807"], random: (r) => String(BigInt(Math.floor(r() * 2 ** 53)) * 1024n - 4611686018427387904n) },
  { sql: "BIGINT UNSIGNED", extremes: ["0", "18446744073709551615"], random: (r) => String(BigInt(Math.floor(r() * 2 ** 53)) * 2048n), key: (i) => String(18446744073709551615n - BigInt(i)) },
  {
    sql: "DECIMAL(65,30)",
    extremes: ["-99999999999999999999999999999999999.999999999999999999999999999999", "99999999999999999999999999999999999.999999999999999999999999999999", "0.000000000000000000000000000001", "0"],
    random: (r) => `${Math.floor(r() * 1e15)}.${String(Math.floor(r() * 1e15)).padStart(15, "0")}`,
    key: (i) => `${i}.000000000000000000000000000001`,
  },
  { sql: "DECIMAL(65,0)", extremes: ["99999999999999999999999999999999999999999999999999999999999999999", "-99999999999999999999999999999999999999999999999999999999999999999"], random: (r) => String(Math.floor(r() * 1e15)) },
  { sql: "FLOAT", extremes: FLOAT_EXTREMES, random: randomFloatBits },
  { sql: "FLOAT UNSIGNED", extremes: ["0e0", "3.4028234663852886e38", "1.401298464324817e-45"], random: (r) => randomFloatBits(r).replace(/^-/, "") },
  { sql: "FLOAT(7,3)", extremes: ["9999.999", "-9999.999", "0.001"], random: (r) => ((r() - 0.5) * 19998).toFixed(3) },
  {
    sql: "DOUBLE",
    extremes: ["1.7976931348623157e308", "-1.7976931348623157e308", "2.2250738585072014e-308", "2.225073858507201e-308", "4.9406564584124654e-324", "-4.9406564584124654e-324", "0.30000000000000004e0", "0e0"],
    random: randomDoubleBits,
  },
  { sql: "DOUBLE(30,10)", extremes: ["99999999999999999999.9999999999", "0.0000000001"], random: (r) => ((r() - 0.5) * 1e12).toFixed(10) },
  { sql: "BIT(1)", extremes: ["b'0'", "b'1'"], random: (r) => (r() < 0.5 ? "b'0'" : "b'1'") },
  { sql: "BIT(64)", extremes: [`b'${"1".repeat(64)}'`, "b'0'", `b'1${"0".repeat(62)}1'`], random: (r) => `b'${Array.from({ length: 64 }, () => (r() < 0.5 ? "0" : "1")).join("")}'` },
  { sql: "DATE", extremes: ["'0000-00-00'", "'1000-01-01'", "'9999-12-31'", "'2024-00-00'", "'2024-02-00'"], random: (r) => `'${1000 + Math.floor(r() * 9000)}-0${1 + Math.floor(r() * 9)}-1${Math.floor(r() * 9)}'` },
  {
    sql: "DATETIME(6)",
    extremes: ["'0000-00-00 00:00:00.000000'", "'1000-01-01 00:00:00.000000'", "'9999-12-31 23:59:59.999999'"],
    random: (r) => `'2${String(Math.floor(r() * 1000)).padStart(3, "0")}-05-06 07:08:09.${String(Math.floor(r() * 1e6)).padStart(6, "0")}'`,
    key: (i) => `'2024-01-01 00:00:00.${String(i).padStart(6, "0")}'`,
  },
  { sql: "TIMESTAMP(6) NULL", extremes: ["'0000-00-00 00:00:00.000000'", "'1970-01-01 00:00:01.000000'", "'2038-01-19 03:14:07.999999'"], random: (r) => `'20${10 + Math.floor(r() * 20)}-03-31 01:30:00.${String(Math.floor(r() * 1e6)).padStart(6, "0")}'` },
  { sql: "TIME(6)", extremes: ["'-838:59:59.999999'", "'838:59:59.999999'", "'00:00:00.000001'", "'-00:00:00.000001'"], random: (r) => `'${Math.floor(r() * 838)}:${10 + Math.floor(r() * 49)}:00.${String(Math.floor(r() * 1e6)).padStart(6, "0")}'` },
  { sql: "YEAR", extremes: ["1901", "2155", "0000"], random: (r) => String(1901 + Math.floor(r() * 254)) },
  { sql: "CHAR(10)", extremes: ["''", "'é  '", "'☕😀'"], random: (r) => sqlString(HOSTILE_TEXT[Math.floor(r() * HOSTILE_TEXT.length)]!.slice(0, 10)), key: (i) => `'c${i}'` },
  {
    sql: "VARCHAR(300)",
    extremes: ["''", `'${"☕".repeat(300)}'`, "'trailing   '", sqlString("nul\0inside")],
    random: (r) => sqlString(`${HOSTILE_TEXT[Math.floor(r() * HOSTILE_TEXT.length)]} ${Math.floor(r() * 1000)}`),
    key: (i) => sqlString(`clé ${i}\nligne 'deux'\r\\`),
  },
  { sql: "TINYTEXT", extremes: ["''", `'${"x".repeat(255)}'`], random: (r) => sqlString(HOSTILE_TEXT[Math.floor(r() * HOSTILE_TEXT.length)]!) },
  { sql: "LONGTEXT", extremes: ["''", `'${"😀".repeat(2000)}'`], random: (r) => sqlString(HOSTILE_TEXT[Math.floor(r() * HOSTILE_TEXT.length)]!.repeat(1 + Math.floor(r() * 20))) },
  { sql: "VARCHAR(40) CHARACTER SET latin1", extremes: [`X'${Buffer.from(Array.from({ length: 40 }, (_, i) => 0xa0 + i)).toString("hex")}'`, "''", "X'81'"], random: (r) => sqlString(`Ærø ${Math.floor(r() * 99)}`) },
  { sql: "VARCHAR(20) CHARACTER SET ucs2", extremes: ["'ωx'", "''"], random: (r) => sqlString(`ü${Math.floor(r() * 99)}`) },
  { sql: "BINARY(8)", extremes: ["X'0000000000000000'", "X'FFFFFFFFFFFFFFFF'", "X'00'", "''"], random: (r) => hexOf(bytes(r, 8)), key: (i) => `X'${i.toString(16).padStart(16, "0")}'` },
  { sql: "VARBINARY(64)", extremes: ["''", "X'00'", `X'${"00ff".repeat(32)}'`], random: (r) => hexOf(bytes(r, Math.floor(r() * 64))) },
  { sql: "BLOB", extremes: ["''", "X'0000'", hexOf(Buffer.alloc(65535, 0xab))], random: (r) => hexOf(bytes(r, Math.floor(r() * 3000))) },
  { sql: "LONGBLOB", extremes: ["''", "X'00'"], random: (r) => hexOf(bytes(r, Math.floor(r() * 5000))) },
  { sql: "ENUM('a','b','')", extremes: ["'a'", "''", "'b'"], random: (r) => (r() < 0.5 ? "'a'" : "'b'") },
  { sql: "SET('x','y','z')", extremes: ["''", "'x,y,z'"], random: (r) => ["'x'", "'y,z'", "'x,z'"][Math.floor(r() * 3)]! },
  { sql: "JSON", extremes: ["'{\"a\": [1, 2.50, \"é\\\\u0000\"], \"b\": null}'", "'[]'", "'null'", "'1e308'"], random: (r) => `'{"k": ${Math.floor(r() * 1000)}, "s": "été ☕"}'` },
  { sql: "GEOMETRY", extremes: ["ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))')"], random: (r) => `ST_GeomFromText('POINT(${r()} ${r()})')` },
  { sql: "POINT", extremes: ["ST_GeomFromText('POINT(-1.7976931348623157e308 5e-324)')"], random: (r) => `ST_GeomFromText('POINT(${r() * 100} ${r()})')` },
  { sql: "INET6", extremes: ["'::'", "'::ffff:1.2.3.4'", "'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'"], random: (r) => `'fd00::${Math.floor(r() * 65535).toString(16)}'` },
  { sql: "UUID", extremes: ["'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'"], random: (r) => `'${bytes(r, 16).toString("hex").replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-")}'` },
];

export interface ExtremeTablesOptions {
  seed: number;
  tables: number;
  /** Random rows per table at most (besides the rows holding every extreme). */
  rows?: number;
  /** One table gets a row of this many MiB (a LONGBLOB), beside a FLOAT. */
  bigRowMb?: number;
}

/**
 * Creates database `name` with `tables` generated tables over COLUMN_TYPES: each takes a random
 * subset of the types (FLOAT always among them), nullable or not, a key in any position (one or
 * two columns, a UNIQUE key only, or no key at all), INVISIBLE and generated (VIRTUAL, STORED,
 * from a FLOAT too) columns, InnoDB or Aria; rows hold every extreme of each of their types, then
 * random values and NULLs. Inserted under a permissive sql_mode (zero dates). Deterministic per seed.
 */
export async function createExtremeTables(db: Sql, name: string, opts: ExtremeTablesOptions): Promise<{ tables: string[]; innodb: string[] }> {
  const rand = prng(opts.seed);
  const parts = [`DROP DATABASE IF EXISTS \`${name}\`;`, `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`, `USE \`${name}\`;`, "SET SESSION sql_mode = '', time_zone = '+00:00';"];
  const tables: string[] = [];
  const innodb: string[] = [];
  const floatType = COLUMN_TYPES.find((t) => t.sql === "FLOAT")!;
  for (let t = 0; t < opts.tables; t++) {
    const tn = `x_${opts.seed}_${t}`;
    tables.push(tn);
    const chosen = COLUMN_TYPES.filter((c) => c === floatType || rand() < 0.45);
    for (let i = chosen.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
    }
    const keyable = chosen.map((c, i) => (c.key ? i : -1)).filter((i) => i >= 0);
    const keyKind = keyable.length === 0 ? "none" : (["none", "pk1", "pk2", "unique"] as const)[Math.floor(rand() * 4)]!;
    const keyCols = keyKind === "none" ? [] : keyKind === "pk2" && keyable.length > 1 ? [keyable[0]!, keyable[1]!] : [keyable[Math.floor(rand() * keyable.length)]!];
    const cols = chosen.map((c, i) => {
      const notNull = keyCols.includes(i) || rand() < 0.3;
      return `c${i} ${c.sql}${notNull ? " NOT NULL" : " NULL"}${!notNull && rand() < 0.2 ? " INVISIBLE" : ""}`; // an INVISIBLE column needs a default
    });
    const fi = chosen.indexOf(floatType);
    cols.push(`g_float DOUBLE AS (c${fi} * 2) ${rand() < 0.5 ? "STORED" : "VIRTUAL"}`, `g_len INT AS (LENGTH(c0)) VIRTUAL`, "inv INT INVISIBLE DEFAULT 7");
    const big = opts.bigRowMb && t === 0;
    if (big) cols.push("big LONGBLOB NULL");
    if (keyKind === "pk1" || keyKind === "pk2") cols.push(`PRIMARY KEY (${keyCols.map((i) => `c${i}`).join(", ")})`);
    if (keyKind === "unique") cols.push(`UNIQUE KEY uk (${keyCols.map((i) => `c${i}`).join(", ")})`);
    const engine = rand() < 0.8 ? "InnoDB" : "Aria";
    if (engine === "InnoDB") innodb.push(tn);
    parts.push(`CREATE TABLE ${tn} (\n  ${cols.join(",\n  ")}\n) ENGINE=${engine};`);
    const nExt = Math.max(...chosen.map((c) => c.extremes.length));
    const nRows = nExt + Math.floor(rand() * ((opts.rows ?? 20) + 1));
    const rows: string[] = [];
    for (let r = 0; r < nRows; r++) {
      const vals = chosen.map((c, i) => {
        if (keyCols.includes(i)) return c.key!(r);
        if (r < nExt) return c.extremes[r % c.extremes.length]!;
        if (!cols[i]!.includes("NOT NULL") && rand() < 0.2) return "NULL";
        return c.random(rand, r);
      });
      rows.push(`(${vals.join(", ")})`);
    }
    // Without a key, duplicate rows too (same text, other FLOAT bits: 1 and 1 + 1 ulp).
    if (keyKind === "none") {
      const dup = chosen.map((c, i) => (i === fi ? float32Literal(0x3f800001) : c.extremes[0]!));
      rows.push(`(${dup.join(", ")})`, `(${dup.join(", ")})`, `(${chosen.map((c, i) => (i === fi ? "1e0" : c.extremes[0]!)).join(", ")})`);
    }
    const names = chosen.map((_, i) => `c${i}`).join(", ");
    for (let i = 0; i < rows.length; i += 20) parts.push(`INSERT INTO ${tn} (${names}) VALUES ${rows.slice(i, i + 20).join(",\n")};`);
  }
  await db.query(parts.join("\n"));
  if (opts.bigRowMb) {
    // Built on the server from 1 MiB of random bytes (a statement of that size would not pass the client).
    const mb = Math.round(opts.bigRowMb);
    await db.query(`SET SESSION sql_mode = ''; UPDATE ${tables[0]} SET big = REPEAT(RANDOM_BYTES(1024), 1024) LIMIT 1; UPDATE ${tables[0]} SET big = CONCAT(REPEAT(big, ${mb}), RANDOM_BYTES(1000)) WHERE big IS NOT NULL;`, name);
  }
  return { tables: tables.sort(), innodb: innodb.sort() };
}

// Exact restores and mirrors that survive bad days (issue 11), on the real thing: a private
// MariaDB (source) plus a second one with Debian's default settings (restore target), rsync
// over a private sshd through rrsync, bind mounts, ACLs, xattrs, tmpfs and ramfs mounts (root).
// Each test names the failure class it covers; see docs/server-jobs.md.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  aclManifest,
  addHostileTree,
  allocatedBytes,
  createDolibarrSchema,
  createExtremeTables,
  databaseObjects,
  diffManifests,
  floatValues,
  listFiles,
  prng,
  touchDocuments,
  tableChecksums,
  tableDigests,
  treeManifest,
  xattrManifest,
} from "../support/dolibarr-fixture";
import { mustRun, run, sh, sleep, waitFor } from "../support/jobs-exec";
import { JobsLab, type LabInstance, labUnavailable } from "../support/jobs-lab";
import { type MariaDb, startMariaDb } from "../support/jobs-mariadb";
import { skipUnlessCi } from "../support/prerequisites";

const skip = skipUnlessCi(labUnavailable(), "exact restores on a one-machine lab");

function ok(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-3000)}`);
}

function assertSameTree(a: string, b: string, what: string): void {
  const d = diffManifests(treeManifest(a), treeManifest(b));
  assert.deepEqual(d, [], `${what}: ${a} and ${b} differ:\n${d.join("\n")}`);
}

async function assertSameAttrs(a: string, b: string, what: string): Promise<void> {
  assert.deepEqual(await aclManifest(b), await aclManifest(a), `${what}: ACLs differ`);
  assert.deepEqual(await xattrManifest(b), await xattrManifest(a), `${what}: xattrs differ`);
}

/** Modes a tree must have without ACLs: the group bits are what the group may really do (group:: within the mask), never the mask alone. */
async function baseModes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [rel, st] of listAll(root)) out.set(rel, (st.mode & 0o7777).toString(8));
  const r = await mustRun("bash", ["-c", 'cd "$1" && getfacl -R -p -n . 2>/dev/null || true', "x", root]);
  for (const block of r.stdout.split("\n\n")) {
    const file = /^# file: (.*)$/m.exec(block);
    const group = /^group::([r-])([w-])([x-])/m.exec(block);
    const mask = /^mask::([r-])([w-])([x-])/m.exec(block);
    if (!file || !group) continue;
    const rel = file[1]!.replace(/\\([0-7]{3}|\\)/g, (_, c: string) => (c === "\\" ? "\\" : String.fromCharCode(parseInt(c, 8)))).replace(/^\.\/?/, "");
    const bytes = Buffer.from(rel, "latin1").toString("utf8"); // getfacl escapes bytes, not characters
    const key = out.has(rel) ? rel : bytes;
    const st = fs.lstatSync(path.join(root, key));
    if (st.isSymbolicLink()) continue;
    const bits = (m: RegExpExecArray | null): number => (m ? (m[1] === "r" ? 4 : 0) + (m[2] === "w" ? 2 : 0) + (m[3] === "x" ? 1 : 0) : 7);
    const g = bits(group) & bits(mask); // what the group may really do
    out.set(key, ((st.mode & 0o7707) | (g << 3)).toString(8));
  }
  return out;
}

function listAll(root: string): Array<[string, fs.Stats]> {
  const out: Array<[string, fs.Stats]> = [];
  const visit = (rel: string): void => {
    const st = fs.lstatSync(path.join(root, rel));
    if (st.isSymbolicLink()) return;
    out.push([rel, st]);
    if (st.isDirectory()) for (const n of fs.readdirSync(path.join(root, rel))) visit(rel ? path.join(rel, n) : n);
  };
  visit("");
  return out;
}

function modesOf(root: string): Map<string, string> {
  return new Map(listAll(root).map(([rel, st]) => [rel, (st.mode & 0o7777).toString(8)]));
}

/** A tree manifest without modes (compared apart when ACLs are dropped). */
function withoutModes(root: string): string[] {
  return [...treeManifest(root)].map(([k, v]) => `${k} ${v.split(" ").filter((_, i) => i !== 1 || v.startsWith("l ")).join(" ")}`);
}

function setEnv(lab: JobsLab, instance: string, changes: Record<string, string>): () => void {
  const file = path.join(lab.backup.etc, "instances", `${instance}.env`);
  const before = fs.readFileSync(file, "utf8");
  let text = before;
  for (const [k, v] of Object.entries(changes)) {
    text = new RegExp(`^${k}=`, "m").test(text) ? text.replace(new RegExp(`^${k}=.*$`, "m"), `${k}='${v}'`) : `${text}${k}='${v}'\n`;
  }
  fs.writeFileSync(file, text);
  return () => fs.writeFileSync(file, before);
}

function snapshotsOf(li: LabInstance): string[] {
  const dir = path.join(li.mirror, ".snapshots");
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((s) => /^\d{8}T\d{6}Z$/.test(s)).sort() : [];
}

function stampOf(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** Independent model of the retention: which snapshots survive. */
function expectedKept(stamps: string[], nowMs: number, r: { hours: number; days: number; weeks: number; min: number }, pins: string[]): string[] {
  const sorted = [...stamps].sort().reverse();
  const day = new Set<string>();
  const week = new Set<string>();
  const keep: string[] = [];
  sorted.forEach((s, i) => {
    const t = Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(9, 11), +s.slice(11, 13), +s.slice(13, 15));
    const age = (nowMs - t) / 1000;
    let k = i < r.min || pins.includes(s) || age <= r.hours * 3600;
    const d = s.slice(0, 8);
    if (age <= r.days * 86400 && !day.has(d)) {
      day.add(d);
      k = true;
    }
    // ISO week: Thursday of the week decides the year
    const date = new Date(t);
    const dow = (date.getUTCDay() + 6) % 7;
    const thu = new Date(t - dow * 86400000 + 3 * 86400000);
    const jan4 = new Date(Date.UTC(thu.getUTCFullYear(), 0, 4));
    const wk = `${thu.getUTCFullYear()}-${1 + Math.round((thu.getTime() - jan4.getTime()) / 86400000 / 7 - ((jan4.getUTCDay() + 6) % 7) / 7 + 3 / 7)}`;
    if (age <= r.weeks * 7 * 86400 && !week.has(wk)) {
      week.add(wk);
      k = true;
    }
    if (k) keep.push(s);
  });
  return keep.sort();
}

describe("exact restores, resilient mirrors (issue 11)", { skip, timeout: 1_200_000 }, () => {
  let lab: JobsLab;
  let target: MariaDb;

  before(async () => {
    lab = await JobsLab.create();
    target = await startMariaDb(path.join(lab.root, "target-mariadb"), { serverDefaults: true, bufferPoolMb: 64 });
  });

  after(async () => {
    if (target) await target.stop();
    if (lab) await lab.close();
  });

  it("database: every table, view, routine and event identical on a default server; charset, collation, a 12 MiB row and FLOATs exact", async () => {
    const li = await lab.addInstance("exact", { tree: { documents: 30, codeFiles: 10 }, database: false });
    const schema = await createDolibarrSchema(lab.db, li.dbName, { tables: 40, bigBlobMb: 12, seed: 3 });
    ok(await lab.dump("exact"), "dump");
    const manifest = fs.readFileSync(path.join(li.dumpDir, fs.readdirSync(li.dumpDir).find((f) => f.endsWith(".manifest"))!), "utf8");
    assert.match(manifest, /^collation\tutf8mb4_unicode_520_ci$/m);
    assert.match(manifest, /^float-table\tllx_gen_0\trowid\tweight,ratio\trowid\t\d+\t\d+\t\d+\t\d+$/m);
    ok(await lab.replicate("exact"), "replicate");
    assert.equal((await target.query("SELECT @@GLOBAL.max_allowed_packet")).trim(), "16777216", "the target runs with the default limit");

    const r = await lab.restore(["--only", "db", "--database", "exact_r", "--mysql-option-file", target.optionFile, "exact"]);
    ok(r, "restore onto a default server");
    for (const t of schema.tables) assert.match(r.stdout, new RegExp(`^table ${t}: identical`, "m"), `report for ${t}`);
    for (const v of schema.views) assert.match(r.stdout, new RegExp(`^view ${v}: identical`, "m"));
    assert.match(r.stdout, /^routines: identical/m);
    assert.match(r.stdout, /^events: identical/m);
    assert.match(r.stdout, /^database charset\/collation: identical \(utf8mb4 utf8mb4_unicode_520_ci\)/m);
    assert.match(r.stdout, /^floats llx_gen_0: identical \(\d+ row\(s\), weight, ratio compared exactly/m);
    assert.match(r.stdout, /^floats llx_nokey_measure: identical \(30 row\(s\), value compared exactly, [1-9]\d* row\(s\) set back/m, "a table without a key gets its exact FLOATs too");
    assert.doesNotMatch(r.stdout, /DIFFERS|WARNING/);

    // Independent checks, not the script's: checksums, exact float bits, objects, collations.
    assert.equal(await tableDigests(target, "exact_r"), await tableDigests(lab.db, li.dbName));
    assert.equal(await floatValues(target, "exact_r"), await floatValues(lab.db, li.dbName));
    assert.equal(await databaseObjects(target, "exact_r"), await databaseObjects(lab.db, li.dbName));
    const coll = "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=";
    assert.equal((await target.query(`${coll}'exact_r'`)).trim(), "utf8mb4_unicode_520_ci");
    const routineColl = (db: string): string => `SELECT GROUP_CONCAT(DATABASE_COLLATION) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='${db}'`;
    assert.equal((await target.query(routineColl("exact_r"))).trim(), (await lab.db.query(routineColl(li.dbName))).trim());
    assert.equal((await target.query("SELECT LENGTH(content) FROM llx_ecm_blob", "exact_r")).trim(), String(12 * 1024 * 1024));
    assert.equal((await target.query("SELECT @@GLOBAL.max_allowed_packet")).trim(), "16777216", "the limit is put back");
    assert.equal((await target.query("SELECT COUNT(*) FROM llx_log", "exact_r")).trim(), (await lab.db.query("SELECT COUNT(*) FROM llx_log", li.dbName)).trim(), "no trigger fired during the load");

    // The check can fail: a table that is not in the dump is reported, and the restore fails.
    await target.query("CREATE TABLE exact_r.llx_extra (id INT PRIMARY KEY); UPDATE exact_r.llx_gen_3 SET qty = qty + 1 LIMIT 1");
    const again = await lab.restore(["--only", "db", "--force", "--database", "exact_r", "--mysql-option-file", target.optionFile, "exact"]);
    assert.equal(again.code, 1);
    assert.match(again.stdout, /^table llx_extra: DIFFERS \(structure not in the dump, data not in the dump\)/m);
    assert.match(again.stdout, /^table llx_gen_3: identical/m, "a reloaded table is identical again");
  });

  it("database, generated cases: schemas of several seeds restore identical, table by table", async () => {
    for (const seed of [11, 12, 13]) {
      const name = `gen${seed}`;
      const li = await lab.addInstance(name, { tree: { documents: 10, codeFiles: 5 }, database: false });
      const schema = await createDolibarrSchema(lab.db, li.dbName, { tables: 8 + (seed % 5), rows: 60, bigBlobMb: 0.2, seed, collation: seed % 2 ? "utf8mb4_general_ci" : "utf8mb4_bin" });
      ok(await lab.dump(name), `dump ${seed}`);
      ok(await lab.replicate(name), `replicate ${seed}`);
      const r = await lab.restore(["--only", "db", "--database", `${name}_r`, "--mysql-option-file", target.optionFile, name]);
      ok(r, `restore ${seed}`);
      const reported = r.stdout.split("\n").filter((l) => /^table \S+: identical/.test(l)).length;
      assert.equal(reported, schema.tables.length, `seed ${seed}: one identical line per table`);
      assert.equal(await tableDigests(target, `${name}_r`), await tableDigests(lab.db, li.dbName), `seed ${seed}`);
      assert.equal(await floatValues(target, `${name}_r`), await floatValues(lab.db, li.dbName), `seed ${seed}`);
    }
  });

  it("a dump written by a compromised hosting server cannot run the client's commands on the server that loads it (\\! shell, \\. file)", async () => {
    const name = "hostiledump";
    const li = await lab.addInstance(name, { tree: { documents: 3, codeFiles: 3 }, database: false });
    await createDolibarrSchema(lab.db, li.dbName, { tables: 3, rows: 5, bigBlobMb: 0, seed: 31, collation: "utf8mb4_general_ci" });
    ok(await lab.dump(name), "dump");
    ok(await lab.replicate(name), "replicate");
    const dumps = path.join(li.mirror, "dumps");
    const dump = path.join(dumps, fs.readdirSync(dumps).filter((f) => f.endsWith(".sql.zst")).sort().pop()!);
    const marks = [0, 1, 2].map((k) => path.join(os.tmpdir(), `dbk-hostile-${process.pid}-${k}`));
    const text = spawnSync("zstd", ["-dc", dump], { encoding: "utf8", maxBuffer: 1 << 28 }).stdout;
    // at the start, between two statements, and inside the data section; without the sandbox line
    // that mariadb-dump writes first (an attacker writing the dump leaves it out)
    const lines = text.split("\n").filter((l) => !/enable the sandbox mode/.test(l));
    assert.notEqual(lines.length, text.split("\n").length, "the dump had its sandbox line");
    lines.splice(1, 0, `\\! touch ${marks[0]}`);
    lines.splice(Math.floor(lines.length / 2), 0, `\\! touch ${marks[1]}`, `system touch ${marks[2]}`);
    fs.writeFileSync(dump, spawnSync("zstd", ["-q", "-c"], { input: lines.join("\n"), maxBuffer: 1 << 28 }).stdout);
    const r = await lab.restore(["--only", "db", "--force", "--database", `${name}_r`, "--mysql-option-file", target.optionFile, name]);
    for (const m of marks) assert.ok(!fs.existsSync(m), `${m}: a command of the dump ran (restore exit ${r.code})`);
    assert.notEqual(r.code, 0, "the altered dump does not load as if nothing happened");
  });

  it("database, every column type at its limits: generated tables (seeded: types, NULLs, keys in every position, no key, duplicates, a 64 MiB row) restore bit-exact onto a default server, and the check says so", async () => {
    for (const [seed, bigRowMb] of [[21, 64], [22, 0], [23, 0]] as const) {
      const name = `lim${seed}`;
      const li = await lab.addInstance(name, { tree: { documents: 5, codeFiles: 3 }, database: false });
      const { tables, innodb } = await createExtremeTables(lab.db, li.dbName, { seed, tables: seed === 21 ? 4 : 10, bigRowMb });
      ok(await lab.dump(name), `dump ${seed}`);
      ok(await lab.replicate(name), `replicate ${seed}`);
      const r = await lab.restore(["--only", "db", "--database", `${name}_r`, "--mysql-option-file", target.optionFile, name]);
      ok(r, `restore ${seed}`);
      assert.doesNotMatch(r.stdout, /DIFFERS|WARNING/, `seed ${seed}`);
      for (const t of tables) {
        assert.match(r.stdout, new RegExp(`^table ${t}: identical`, "m"), `seed ${seed}: ${t}`);
        assert.match(r.stdout, new RegExp(`^floats ${t}: identical \\(\\d+ row\\(s\\), .* compared exactly`, "m"), `seed ${seed}: ${t}'s FLOATs`);
      }
      // Independent of the script: CHECKSUM TABLE EXTENDED (meaningful for InnoDB: same server
      // version and engine), per-row digests over exact encodings, every FLOAT and DOUBLE's bits.
      const sums = async (db: MariaDb, n: string): Promise<string> => (await tableChecksums(db, n)).split("\n").filter((l) => innodb.includes(l.split("\t")[0]!)).join("\n");
      assert.equal(await sums(target, `${name}_r`), await sums(lab.db, li.dbName), `seed ${seed}: checksums`);
      assert.equal((await sums(lab.db, li.dbName)).split("\n").length, innodb.length);
      assert.equal((await target.query("SELECT @@GLOBAL.max_allowed_packet")).trim(), "16777216", "the target's limit is put back");
      // The digests read a 64 MiB value whole (a default 16M limit would make it NULL).
      await target.query("SET GLOBAL max_allowed_packet = 1073741824");
      try {
        assert.equal(await tableDigests(target, `${name}_r`), await tableDigests(lab.db, li.dbName), `seed ${seed}: digests`);
      } finally {
        await target.query("SET GLOBAL max_allowed_packet = 16777216");
      }
      assert.equal(await floatValues(target, `${name}_r`), await floatValues(lab.db, li.dbName), `seed ${seed}: float bits`);
      if (bigRowMb) assert.equal((await target.query(`SELECT MAX(LENGTH(big)) FROM ${tables[0]}`, `${name}_r`)).trim(), String(bigRowMb * 1024 * 1024 + 1000));
    }
  });

  it("the check sees a FLOAT one ulp off that the re-dump's text cannot (--verify-only), and FLOATs whose fix-ups are lost", async () => {
    const name = "ulp";
    const li = await lab.addInstance(name, { tree: { documents: 5, codeFiles: 3 }, database: false });
    await lab.db.query(
      `DROP DATABASE IF EXISTS ${li.dbName}; CREATE DATABASE ${li.dbName}; USE ${li.dbName};
       CREATE TABLE llx_expedition (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30), weight FLOAT NULL, size FLOAT NULL, tms TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
       INSERT INTO llx_expedition (ref, weight, size, tms) SELECT CONCAT('EXP', seq), IF(seq % 5 = 0, NULL, seq / 3), IF(seq % 7 = 0, NULL, 1 + seq * 1.1920928955078125e-7), '2024-05-06 07:08:09' FROM seq_1_to_200;`,
    );
    ok(await lab.dump(name), "dump");
    ok(await lab.replicate(name), "replicate");
    const restore = (db: string, extra: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      lab.restore(["--only", "db", "--database", db, "--mysql-option-file", target.optionFile, ...extra, name]);
    // The fix-ups lost on the way (an emptied .floats.sql): the FLOATs keep 6 digits, and it is said.
    const fixups = fs.readdirSync(path.join(li.mirror, "dumps")).find((n) => n.endsWith(".floats.sql"))!;
    const kept = fs.readFileSync(path.join(li.mirror, "dumps", fixups));
    assert.ok(kept.length > 0);
    fs.writeFileSync(path.join(li.mirror, "dumps", fixups), "");
    let r = await restore("ulp_r2");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^floats llx_expedition: DIFFERS/m);
    assert.notEqual(await tableChecksums(target, "ulp_r2"), await tableChecksums(lab.db, li.dbName), "the table is not the source's");
    fs.writeFileSync(path.join(li.mirror, "dumps", fixups), kept);

    ok(await restore("ulp_r"), "restore");
    r = await restore("ulp_r", ["--verify-only"]);
    ok(r, "--verify-only on the restored database");
    assert.match(r.stdout, /^floats llx_expedition: identical \(200 row\(s\), weight, size compared exactly/m);

    // One FLOAT one ulp off, its 6-digit text unchanged.
    const v = Number((await target.query("SELECT CAST(weight AS DOUBLE) FROM llx_expedition WHERE rowid = 11", "ulp_r")).trim());
    const f = new Float32Array([v]);
    new Uint32Array(f.buffer)[0]! += 1;
    const next = f[0]!;
    assert.notEqual(next, v);
    assert.equal(next.toPrecision(6), v.toPrecision(6), "the texts are equal: the re-dump cannot see it");
    await target.query(`UPDATE llx_expedition SET weight = ${next}, tms = tms WHERE rowid = 11`, "ulp_r");
    r = await restore("ulp_r", ["--verify-only"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^table llx_expedition: identical/m, "the text comparison is blind to it");
    assert.match(r.stdout, /^floats llx_expedition: DIFFERS \(FLOAT values differ from the source's/m);
  });

  it("files: generated hostile trees are mirrored and restored exactly (with ACLs, --no-acls, and onto a file system without ACLs)", async () => {
    const li = await lab.addInstance("hostile", { tree: { documents: 120, codeFiles: 20 }, database: { societes: 5, invoices: 5, blobs: 1 } });
    const made = [];
    for (const seed of [1, 2, 3, 4]) made.push(await addHostileTree(path.join(li.tree.documentsDir, `hostile-${seed}`), seed, 70));
    made.push(await addHostileTree(path.join(li.tree.codeRoot, "custom", "hostile"), 9, 40));
    const sparse = made.flatMap((m, i) => m.sparse.map((s) => path.join(i < 4 ? `hostile-${i + 1}` : "", s))).filter((s) => s.startsWith("hostile-"));
    assert.ok(sparse.length > 0 && made.some((m) => m.acls.length > 0) && made.some((m) => m.xattrs.length > 0), "the generator made every kind");
    await lab.exportCmd("refresh", "hostile");
    ok(await lab.dump("hostile"), "dump");
    ok(await lab.replicate("hostile"), "replicate");
    for (const part of ["code", "documents"] as const) {
      const src = part === "code" ? li.tree.codeRoot : li.tree.documentsDir;
      assertSameTree(src, path.join(li.mirror, part), `mirror ${part}`);
      await assertSameAttrs(src, path.join(li.mirror, part), `mirror ${part}`);
    }
    for (const s of sparse) {
      const f = path.join(li.mirror, "documents", s);
      assert.ok(allocatedBytes(f) < fs.statSync(f).size / 2, `${s} stays sparse in the mirror`);
    }
    assert.ok(fs.existsSync(path.join(li.mirror, "documents", "hostile-1", ".rsync-partial")) || fs.existsSync(path.join(li.mirror, "documents", "hostile-2", ".rsync-partial")), "a client dir named like rsync's partial dir is copied");

    // with ACLs
    const t1 = path.join(lab.root, "restore-hostile", "acl");
    let r = await lab.restore(["--only", "files", "--code-dir", `${t1}/htdocs`, "--documents-dir", `${t1}/documents`, "hostile"]);
    ok(r, "restore with ACLs");
    assert.match(r.stdout, /^tree code: identical/m);
    assert.match(r.stdout, /^tree documents: identical/m);
    assertSameTree(li.tree.documentsDir, `${t1}/documents`, "restored documents");
    assertSameTree(li.tree.codeRoot, `${t1}/htdocs`, "restored code");
    await assertSameAttrs(li.tree.documentsDir, `${t1}/documents`, "restored documents");
    for (const s of sparse) assert.ok(allocatedBytes(path.join(t1, "documents", s)) < fs.statSync(path.join(t1, "documents", s)).size / 2, `${s} restored sparse`);

    // --no-acls: modes from the ACLs' base entries, never wider
    const want = await baseModes(li.tree.documentsDir);
    const statModes = modesOf(li.tree.documentsDir);
    const widened = [...want].filter(([k, m]) => statModes.get(k) !== m);
    assert.ok(widened.length >= 1, `the export's ACL masks widen the stat modes of the source (the trap): ${widened.length} of ${want.size}`);
    assert.equal(statModes.get("admin/notes-privées.txt"), "640", "a 0600 file shows 0640 while exported");
    assert.equal(want.get("admin/notes-privées.txt"), "600");
    const t2 = path.join(lab.root, "restore-hostile", "noacl");
    r = await lab.restore(["--only", "files", "--no-acls", "--code-dir", `${t2}/htdocs`, "--documents-dir", `${t2}/documents`, "hostile"]);
    ok(r, "restore --no-acls");
    assert.match(r.stdout, /^tree documents: identical \(\d+ entries, without ACLs\)/m);
    assert.deepEqual(modesOf(`${t2}/documents`), want, "modes without ACLs");
    assert.deepEqual(await aclManifest(`${t2}/documents`), new Map());
    assert.deepEqual(await xattrManifest(`${t2}/documents`), await xattrManifest(li.tree.documentsDir));
    assert.deepEqual(withoutModes(`${t2}/documents`), withoutModes(li.tree.documentsDir));

    // a target file system without ACL support (ramfs): detected, same modes as --no-acls
    const t3 = path.join(lab.root, "restore-hostile", "ramfs");
    fs.mkdirSync(t3, { recursive: true });
    await mustRun("mount", ["-t", "ramfs", "ramfs", t3]);
    try {
      r = await lab.restore(["--only", "files", "--code-dir", `${t3}/htdocs`, "--documents-dir", `${t3}/documents`, "hostile"]);
      ok(r, "restore onto ramfs");
      assert.match(r.stdout, /^tree documents: WARNING .* has no ACL support/m);
      assert.match(r.stdout, /^tree documents: identical/m);
      assert.deepEqual(modesOf(`${t3}/documents`), want, "modes without ACL support");
      assert.deepEqual(withoutModes(`${t3}/documents`), withoutModes(li.tree.documentsDir));
    } finally {
      await run("umount", ["-l", t3]);
    }
  });

  it("a failed replication keeps the previous mirror and its marker; a killed one leaves .last-good, and restore picks that snapshot", async () => {
    const li = await lab.addInstance("resil", { tree: { documents: 200, bigFiles: 3, bigFileMb: 24 }, database: { societes: 10, invoices: 10, blobs: 1 }, snapshotsKeep: 1 });
    ok(await lab.dump("resil"), "dump");
    ok(await lab.replicate("resil"), "first replication");
    const marker = fs.readFileSync(path.join(li.mirror, ".complete"), "utf8");
    const good = snapshotsOf(li);
    assert.equal(good.length, 1);
    assert.match(fs.readFileSync(path.join(li.mirror, ".last-good"), "utf8"), new RegExp(`"snapshot":"${good[0]}"`));

    // the source becomes unreachable (the day the hosting server is gone)
    const restoreEnv = setEnv(lab, "resil", { SOURCE_PORT: "1" });
    let r = await lab.replicate("resil");
    restoreEnv();
    assert.equal(r.code, 1);
    assert.equal(fs.readFileSync(path.join(li.mirror, ".complete"), "utf8"), marker, "the previous marker is back");
    assertSameTree(li.tree.documentsDir, path.join(li.mirror, "documents"), "mirror as before");
    const t0 = path.join(lab.root, "restore-resil", "after-failure");
    r = await lab.restore(["--code-dir", `${t0}/htdocs`, "--documents-dir", `${t0}/documents`, "--database", "resil_r0", "resil"]);
    ok(r, "default restore after a failed replication");
    assert.match(r.stderr, new RegExp(`restoring from ${li.mirror.replace(/[.]/g, "\\.")}$`, "m"));

    // killed mid-transfer: no .complete, .last-good names the snapshot, restore uses it
    for (const f of listFiles(path.join(li.tree.documentsDir, "ecm/gros"))) await sh(`head -c 25165824 /dev/urandom > '${f}'`);
    const job = lab.startReplicate("resil", [], { RSYNC_EXTRA_ARGS: "--bwlimit=16m" });
    await waitFor(() => !fs.existsSync(path.join(li.mirror, ".complete")), 20_000, "the marker to go");
    await sleep(1500);
    job.kill("SIGKILL");
    await job.done;
    assert.equal(fs.existsSync(path.join(li.mirror, ".complete")), false);
    const t1 = path.join(lab.root, "restore-resil", "after-kill");
    r = await lab.restore(["--code-dir", `${t1}/htdocs`, "--documents-dir", `${t1}/documents`, "--database", "resil_r1", "resil"]);
    ok(r, "default restore after a killed replication");
    assert.match(r.stderr, new RegExp(`restoring from the last good snapshot ${good[0]}`));
    assertSameTree(path.join(li.mirror, ".snapshots", good[0]!, "documents"), `${t1}/documents`, "restored the last good snapshot");
    assert.match(r.stdout, /^tree documents: identical/m);

    // the next run converges by itself (rewriting the big files is itself a suspicious change: 3)
    r = await lab.replicate("resil");
    assert.equal(r.code, 3, r.stderr.slice(-2000));
    assert.match(lab.replicateStatus("resil").suspicious as string, /bytes \(9\d%\)/);
    assertSameTree(li.tree.documentsDir, path.join(li.mirror, "documents"), "converged");
  });

  it("a pull killed at generated moments (whole run, rsync or ssh alone, KILL or TERM): the next run converges, every directory's mtime and every entry as on the source", async () => {
    const li = await lab.addInstance("killpts", { tree: { documents: 300, codeFiles: 30, bigFiles: 2, bigFileMb: 8 }, database: { societes: 5, invoices: 5, blobs: 1 } });
    ok(await lab.dump("killpts"), "dump");
    ok(await lab.replicate("killpts"), "first replication");
    const dirTimes = (root: string): Map<string, string> => {
      const out = new Map<string, string>();
      const visit = (rel: string): void => {
        const abs = rel ? path.join(root, rel) : root;
        const st = fs.lstatSync(abs, { bigint: true });
        if (!st.isDirectory()) return;
        out.set(rel || ".", String(st.mtimeNs));
        for (const n of fs.readdirSync(abs)) visit(rel ? path.join(rel, n) : n);
      };
      visit("");
      return out;
    };
    // Processes of this run only (by pid, from /proc): the job's rsync or its ssh.
    const pidsOf = (prog: string, arg: string): number[] =>
      fs
        .readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .filter((d) => {
          try {
            const cmd = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
            return path.basename(cmd[0] ?? "") === prog && cmd.some((a) => a.includes(arg));
          } catch {
            return false;
          }
        })
        .map(Number);
    const rand = prng(3);
    const sources = { code: li.tree.codeRoot, documents: li.tree.documentsDir, dumps: li.dumpDir };
    let killedMidway = 0;
    for (let it = 0; it < 12; it++) {
      // A day of changes: documents rewritten, added, removed; big files rewritten; directories
      // made and removed; a file that becomes a directory and back; a new code module.
      touchDocuments(li.tree.documentsDir, 0.05, it + 100);
      for (const f of listFiles(path.join(li.tree.documentsDir, "ecm/gros"))) await sh(`head -c 8388608 /dev/urandom > '${f}'`);
      fs.mkdirSync(path.join(li.tree.documentsDir, `neuf-${it}`, "sous"), { recursive: true });
      fs.writeFileSync(path.join(li.tree.documentsDir, `neuf-${it}`, "sous", "f.txt"), String(it));
      if (it > 0) fs.rmSync(path.join(li.tree.documentsDir, `neuf-${it - 1}`), { recursive: true });
      const changing = path.join(li.tree.documentsDir, "change-de-type");
      fs.rmSync(changing, { recursive: true, force: true });
      if (it % 2) {
        fs.mkdirSync(changing);
        fs.writeFileSync(path.join(changing, "dedans.txt"), "d");
      } else fs.writeFileSync(changing, "fichier");
      fs.mkdirSync(path.join(li.tree.codeRoot, "custom", `module${it}`, "class"), { recursive: true });
      fs.writeFileSync(path.join(li.tree.codeRoot, "custom", `module${it}`, "class", "a.php"), `<?php // ${it}\n`);
      if (it > 0) fs.rmSync(path.join(li.tree.codeRoot, "custom", `module${it - 1}`), { recursive: true });

      const delay = Math.floor(rand() * 3500);
      const signal = rand() < 0.5 ? "SIGKILL" : "SIGTERM";
      const what = (["run", "rsync", "ssh"] as const)[Math.floor(rand() * 3)]!;
      const job = lab.startReplicate("killpts", [], { RSYNC_EXTRA_ARGS: "--bwlimit=3m" });
      await sleep(delay);
      if (what === "run") job.kill(signal);
      else for (const pid of what === "rsync" ? pidsOf("rsync", li.mirror) : pidsOf("ssh", lab.backupKey)) process.kill(pid, signal);
      const killed = await job.done;
      if (killed.code !== 0 && killed.code !== 3) killedMidway++;
      const r = await lab.replicate("killpts");
      const at = `kill point ${it}: ${what} ${signal} after ${delay} ms (killed run: ${killed.code ?? killed.signal})`;
      assert.ok(r.code === 0 || r.code === 3, `${at}: the next run failed (${r.code}):\n${r.stderr.slice(-2000)}`);
      for (const [part, src] of Object.entries(sources)) {
        assertSameTree(src, path.join(li.mirror, part), `${at}: ${part}`);
        const want = dirTimes(src);
        const got = dirTimes(path.join(li.mirror, part));
        const wrong = [...want].filter(([k, v]) => got.get(k) !== v).map(([k, v]) => `${k}: source ${v}, mirror ${got.get(k)}`);
        assert.deepEqual(wrong, [], `${at}: directory mtimes of ${part}\n--- killed run\n${killed.stderr.slice(-1500)}\n--- next run\n${r.stderr.slice(-1500)}`);
      }
    }
    assert.ok(killedMidway >= 6, `most kill points came before the end of their run (${killedMidway} of 12)`);
  });

  it("disk full on the mirror converges by itself once the big source file is gone (no manual clean-up)", async () => {
    const li = await lab.addInstance("dfull", { tree: { documents: 100 }, database: { societes: 5, invoices: 5, blobs: 1 }, snapshotsKeep: 1 });
    const small = path.join(lab.root, "backup", "small-disk");
    fs.mkdirSync(small, { recursive: true });
    await mustRun("mount", ["-t", "tmpfs", "-o", "size=40m,mode=0700", "tmpfs", small]);
    const restoreEnv = setEnv(lab, "dfull", { MIRROR_ROOT: small });
    try {
      const mirror = path.join(small, "dfull");
      ok(await lab.dump("dfull"), "dump");
      ok(await lab.replicate("dfull"), "first replication");
      const marker = fs.readFileSync(path.join(mirror, ".complete"), "utf8");
      const big = path.join(li.tree.documentsDir, "ecm", "énorme.bin");
      await sh(`head -c 52428800 /dev/urandom > '${big}'`);
      let r = await lab.replicate("dfull");
      assert.equal(r.code, 1, r.stderr.slice(-2000));
      assert.match(r.stderr, /No space left on device/);
      assert.equal(fs.readFileSync(path.join(mirror, ".complete"), "utf8"), marker, "previous state and marker kept");
      fs.rmSync(big);
      await sh(`head -c 12582912 /dev/urandom > '${path.join(li.tree.documentsDir, "ecm", "nouveau.bin")}'`);
      r = await lab.replicate("dfull");
      ok(r, "the next run converges");
      assertSameTree(li.tree.documentsDir, path.join(mirror, "documents"), "converged mirror");
      assert.deepEqual(fs.readdirSync(path.join(mirror, ".work", "partial")), [], "no partial file holds space");
    } finally {
      restoreEnv();
      await run("umount", ["-l", small]);
    }
  });

  it("ransomware rewriting documents in place pins the last good snapshot (exit 3) until released; retention by age on generated snapshot sets", async () => {
    const li = await lab.addInstance("ransom", { tree: { documents: 300 }, database: { societes: 10, invoices: 10, blobs: 1 }, snapshotsKeep: 1 });
    ok(await lab.dump("ransom"), "dump");
    ok(await lab.replicate("ransom"), "first replication");
    const [good] = snapshotsOf(li);
    // Generated older snapshots (hard-link copies of the good one), away from window edges.
    const rand = prng(77);
    const now = Date.now();
    const fake = new Set<string>();
    while (fake.size < 60) {
      const ageH = 1 + rand() * 24 * 120;
      const edges = [48, 14 * 24, 8 * 7 * 24];
      if (edges.some((e) => Math.abs(ageH - e) < 2)) continue;
      fake.add(stampOf(now - ageH * 3600_000));
    }
    for (const s of fake) await mustRun("cp", ["-al", path.join(li.mirror, ".snapshots", good!), path.join(li.mirror, ".snapshots", s)]);
    const before = snapshotsOf(li);

    // encryption in place: same names, same sizes, 60% of the documents
    const files = listFiles(li.tree.documentsDir);
    const victims = files.filter((_, i) => i % 5 < 3);
    victims.forEach((f) => fs.writeFileSync(f, Buffer.from(fs.readFileSync(f).map((b) => b ^ 0x5a))));
    await sleep(1100);
    let r = await lab.replicate("ransom");
    assert.equal(r.code, 3, `suspicious change exits 3:\n${r.stderr.slice(-2000)}`);
    const st = lab.replicateStatus("ransom");
    assert.equal(st.result, "suspicious");
    assert.equal(st.pinnedSnapshot, good);
    // hard links count once per path in the trash: at least every rewritten path
    assert.ok((st.changedFiles as number) >= victims.length - 20, `${st.changedFiles} of ${victims.length}`);
    assert.ok((st.changedBytesPercent as number) > 30, String(st.changedBytesPercent));
    // measured per tree: 60% of the documents, not diluted by the (larger) code tree
    assert.ok((st.changedFilesPercent as number) >= 50, String(st.changedFilesPercent));
    assert.match(st.suspicious as string, /files \(\d+%\) and \d+ of \d+ bytes \(\d+%\) of documents\//);
    assertSameTree(li.tree.documentsDir, path.join(li.mirror, "documents"), "the mirror still follows the source");
    const after1 = snapshotsOf(li);
    const newest = after1[after1.length - 1]!;
    assert.deepEqual(after1, expectedKept([...before, newest], Date.now(), { hours: 48, days: 14, weeks: 8, min: 1 }, [good!]), "retention by age");
    assert.ok(after1.length < before.length, "old snapshots went");
    r = await run(lab.script("dolibarr-replicate"), ["--pins", "ransom"], { env: lab.backup.env });
    assert.match(r.stdout, new RegExp(`^${good} .*changed or deleted`, "m"));

    // A retention that keeps nothing old still keeps the pin; released, it goes.
    const restoreEnv = setEnv(lab, "ransom", { SNAPSHOT_KEEP_HOURS: "0", SNAPSHOT_KEEP_DAYS: "0", SNAPSHOT_KEEP_WEEKS: "0", SNAPSHOT_KEEP_MIN: "1" });
    try {
      await sleep(1100);
      ok(await lab.replicate("ransom"), "quiet run");
      const kept = snapshotsOf(li);
      assert.equal(kept.length, 2, kept.join(" "));
      assert.ok(kept.includes(good!), "the pinned snapshot survives retention");
      ok(await run(lab.script("dolibarr-replicate"), ["--release-pin", good!, "ransom"], { env: lab.backup.env }), "release");
      await sleep(1100);
      ok(await lab.replicate("ransom"), "run after release");
      assert.deepEqual(snapshotsOf(li).includes(good!), false, "released: retention applies");
    } finally {
      restoreEnv();
    }

    // dumps that collapse in size, or stop decompressing, are suspicious too
    await sh(`echo '-- Dump completed' | zstd -q > '${path.join(li.dumpDir, `${li.dbName}-${stampOf(Date.now() + 60_000)}.sql.zst`)}'`);
    r = await lab.replicate("ransom");
    assert.equal(r.code, 3);
    assert.match(lab.replicateStatus("ransom").suspicious as string, /less than half of the previous newest dump/);
    fs.writeFileSync(path.join(li.dumpDir, `${li.dbName}-${stampOf(Date.now() + 120_000)}.sql.zst`), "not zstd at all");
    await sleep(1100);
    r = await lab.replicate("ransom");
    assert.equal(r.code, 3);
    assert.match(lab.replicateStatus("ransom").suspicious as string, /does not decompress/);
  });
});

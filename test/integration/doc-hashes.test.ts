// The received-hash manifest (issue 21): dolibarr-replicate writes MIRROR/.sha256 after each accepted
// run (the SHA-256 of every file as received), dolibarr-drill compares its restored copy with it.
// 1. On the one-machine lab (real rsync over SSH through rrsync, root): the first run lists every
//    file with its right hash, size and mtime; a steady run hashes only what it received (a file
//    changed in place in the mirror, same size and mtime, keeps its received hash, and the check of
//    a restore of the snapshot sees it); hostile and non-UTF-8 names round-trip; a refused run leaves
//    the manifest as it was; each snapshot holds the manifest of its own time.
// 2. The drill's sample-and-compare (dbk_manifest_check, dbk_check_documents of
//    dolibarr-backup-common.sh) on generated trees and faults, against an independent model.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { addHostileTree, addRawNames, listFiles, touchDocuments } from "../support/dolibarr-fixture";
import { mustRun, run, type RunResult, waitFor } from "../support/jobs-exec";
import { JobsLab, type LabInstance, labUnavailable } from "../support/jobs-lab";
import { skipUnlessCi } from "../support/prerequisites";
import { rng } from "../support/rng";
import { serverScriptPath } from "../../infra/render/repo";

const COMMON = serverScriptPath("dolibarr-backup-common.sh");

interface Entry {
  sha: string;
  size: number;
  mtimeNs: bigint;
}

/** Mirror-relative paths as latin1 strings: one character per byte, any name. */
type Tree = Map<string, Entry>;

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const sameEntry = (a: Entry | undefined, b: Entry | undefined): boolean => !!a && !!b && a.sha === b.sha && a.size === b.size && a.mtimeNs === b.mtimeNs;

/** Sets a file's times to the nanosecond (byte paths: python's os.utime, as node's utimes has no ns). */
async function setTimesNs(file: Buffer, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
  await mustRun("python3", ["-c", "import os,sys; os.utime(bytes.fromhex(sys.argv[1]), ns=(int(sys.argv[2]), int(sys.argv[3])), follow_symlinks=False)", file.toString("hex"), String(atimeNs), String(mtimeNs)]);
}
const B = (s: string): Buffer => Buffer.from(s, "latin1");

/** A manifest file, parsed independently of the script: header, records, end record, nothing else. */
function readManifest(file: string): Tree {
  const buf = fs.readFileSync(file);
  assert.equal(buf[buf.length - 1], 0, `${file} ends with a NUL`);
  const recs = buf.subarray(0, buf.length - 1).toString("latin1").split("\0");
  assert.equal(recs[0], "#dolibarr-backup sha256 manifest 1");
  const end = recs.pop()!;
  const out: Tree = new Map();
  for (const r of recs.slice(1)) {
    const m = /^([0-9a-f]{64}) (\d+) (\d+) ((?:code|documents|dumps)\/[\s\S]+)$/.exec(r);
    assert.ok(m, `a record of ${file}: ${JSON.stringify(r)}`);
    assert.ok(!out.has(m[4]!), `${JSON.stringify(m[4])} listed once`);
    out.set(m[4]!, { sha: m[1]!, size: Number(m[2]), mtimeNs: BigInt(m[3]!) });
  }
  assert.equal(end, `#end ${out.size}`);
  const keys = [...out.keys()];
  assert.deepEqual(keys, [...keys].sort((a, b) => Buffer.compare(B(a), B(b))), "sorted by bytes");
  return out;
}

/** Every regular file below root/<part> (no link followed), walked with byte names: size, mtime (ns), SHA-256. */
function walkRaw(root: string, parts: readonly string[]): Tree {
  const out: Tree = new Map();
  const visit = (abs: Buffer, rel: Buffer): void => {
    for (const name of fs.readdirSync(abs, { encoding: "buffer" })) {
      const a = Buffer.concat([abs, B("/"), name]);
      const r = Buffer.concat([rel, B("/"), name]);
      const st = fs.lstatSync(a, { bigint: true });
      if (st.isDirectory()) visit(a, r);
      else if (st.isFile()) out.set(r.toString("latin1"), { sha: sha256(fs.readFileSync(a)), size: Number(st.size), mtimeNs: st.mtimeNs });
    }
  };
  for (const p of parts) if (fs.existsSync(path.join(root, p))) visit(B(path.join(root, p)), B(p));
  return out;
}

/** What a replication tells the manifest update (itemized_names manifest, then its trash): "R path" received, "T path" replaced or deleted, "D dir" changed. */
function runList(records: ReadonlyArray<readonly ["R" | "R?" | "T" | "D", string]>): Buffer {
  return Buffer.concat(records.map(([k, p]) => Buffer.concat([B(`${k} ${p}`), Buffer.from([0])])));
}

/** The manifest's path escaping undone: "\xHH" is a byte, nothing else is escaped. */
function unescapePath(quoted: string): string {
  assert.match(quoted, /^"[^"]*"$/, "a quoted path");
  assert.doesNotMatch(quoted, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, "no control character in a reported path");
  const body = Buffer.from(quoted.slice(1, -1), "utf8").toString("latin1");
  return body.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Runs a function of dolibarr-backup-common.sh: bash, the lib sourced, the arguments as given. */
function common(script: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return run("bash", ["-c", `set -euo pipefail; source "$0"; ${script}`, COMMON, ...args], { env });
}

interface CheckOutput {
  code: number | null;
  values: Record<string, number>;
  mismatch: Map<string, { expected: string; found: string }>;
  missing: Set<string>;
  extra: Set<string>;
  other: string[];
  stderr: string;
}

function parseCheck(r: RunResult): CheckOutput {
  const out: CheckOutput = { code: r.code, values: {}, mismatch: new Map(), missing: new Set(), extra: new Set(), other: [], stderr: r.stderr };
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const [kind, a, b, c] = line.split("\t");
    if (kind === "mismatch") out.mismatch.set(unescapePath(a!), { expected: b!, found: c! });
    else if (kind === "missing") out.missing.add(unescapePath(a!));
    else if (kind === "extra") out.extra.add(unescapePath(a!));
    else if (/^\d+$/.test(a ?? "") && b === undefined) out.values[kind!] = Number(a);
    else out.other.push(line);
  }
  return out;
}

async function manifestCheck(args: readonly string[]): Promise<CheckOutput> {
  return parseCheck(await common('dbk_manifest_check "$@"', args));
}

interface DocumentsCheck {
  rc: number;
  lines: string[];
  fields: Record<string, string>;
  failure: string;
  stderr: string;
}

async function documentsCheck(args: readonly string[]): Promise<DocumentsCheck> {
  const r = await common(
    `rc=0; dbk_check_documents "$@" || rc=$?; printf 'rc\\t%s\\n' "$rc"; for l in "\${DBK_CHECK_LINES[@]}"; do printf 'line\\t%s\\n' "$l"; done; for f in "\${DBK_CHECK_FIELDS[@]}"; do printf 'field\\t%s\\n' "$f"; done; printf 'failure\\t%s\\n' "$DBK_CHECK_FAILURE"`,
    args,
  );
  assert.equal(r.code, 0, r.stderr);
  const out: DocumentsCheck = { rc: -1, lines: [], fields: {}, failure: "", stderr: r.stderr };
  for (const line of r.stdout.split("\n")) {
    const [k, ...rest] = line.split("\t");
    const v = rest.join("\t");
    if (k === "rc") out.rc = Number(v);
    else if (k === "line") out.lines.push(v);
    else if (k === "field") out.fields[v.split("=")[0]!] = v.slice(v.indexOf("=") + 1);
    else if (k === "failure") out.failure = v;
  }
  return out;
}

/** Flips the first byte of a file in place (same inode, same size) and puts its times back to the nanosecond. */
async function alterInPlace(file: string): Promise<{ before: Buffer; after: Buffer }> {
  const ref = `${file}.dbk-ref`;
  await mustRun("touch", ["-r", file, ref]);
  const before = fs.readFileSync(file);
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, Buffer.from([before[0]! ^ 0xff]), 0, 1, 0);
  fs.closeSync(fd);
  await mustRun("touch", ["-r", ref, file]);
  fs.rmSync(ref);
  return { before, after: fs.readFileSync(file) };
}

/** Writes bytes back into a file in place (same inode), its times put back. */
async function putBack(file: string, content: Buffer): Promise<void> {
  const ref = `${file}.dbk-ref`;
  await mustRun("touch", ["-r", file, ref]);
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, content, 0, content.length, 0);
  fs.closeSync(fd);
  await mustRun("touch", ["-r", ref, file]);
  fs.rmSync(ref);
}

function ok(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-3000)}`);
}

const PARTS = ["code", "documents", "dumps"] as const;

const skip = skipUnlessCi(labUnavailable(), "received-hash manifest on a one-machine lab");

describe("received-hash manifest: written by the replication (issue 21)", { skip, timeout: 900_000 }, () => {
  let lab: JobsLab;
  let li: LabInstance;
  let raw: Buffer[] = [];
  /** The manifest's bytes after each accepted run, by the snapshot that run made. */
  const bySnapshot = new Map<string, Buffer>();
  const manifestFile = () => path.join(li.mirror, ".sha256");
  const replicate = async (what: string, args: string[] = []): Promise<Record<string, unknown>> => {
    ok(await lab.replicate("hashes", args), what);
    const s = lab.replicateStatus("hashes");
    bySnapshot.set(String(s.snapshot), fs.readFileSync(manifestFile()));
    return s;
  };
  const newestSnapshot = (): string => fs.readdirSync(path.join(li.mirror, ".snapshots")).filter((s) => /^\d{8}T\d{6}Z$/.test(s)).sort().pop()!;

  before(async () => {
    lab = await JobsLab.create();
    li = await lab.addInstance("hashes", { tree: { documents: 600, codeFiles: 80 }, database: { societes: 5, invoices: 5, blobs: 1 }, snapshotsKeep: 3 });
    await addHostileTree(path.join(li.tree.documentsDir, "hostile"), 21, 60);
    await addHostileTree(path.join(li.tree.codeRoot, "custom", "hostile"), 22, 30);
    raw = addRawNames(li.tree.documentsDir, 23).map((r) => Buffer.concat([B("documents/"), r]));
    fs.mkdirSync(path.join(li.tree.documentsDir, "tamper"), { recursive: true });
    fs.writeFileSync(path.join(li.tree.documentsDir, "tamper", "contrat signé.pdf"), createHash("sha512").update("contract").digest());
    await lab.exportCmd("refresh", "hashes");
    ok(await lab.dump("hashes"), "dump");
  });

  after(async () => {
    if (lab) await lab.close();
  });

  it("first run: every regular file of code/, documents/ and dumps/ listed with its SHA-256, size and mtime (ns); hostile and non-UTF-8 names included", async () => {
    const s = await replicate("first replication");
    const m = readManifest(manifestFile());
    const real = walkRaw(li.mirror, PARTS);
    assert.deepEqual([...m.keys()].sort(), [...real.keys()].sort(), "the manifest lists exactly the mirror's regular files");
    for (const [p, e] of real) assert.deepEqual(m.get(p), e, `entry of ${JSON.stringify(p)}`);
    for (const r of raw) assert.ok(m.has(r.toString("latin1")), `raw name ${JSON.stringify(r.toString("latin1"))} listed`);
    assert.ok([...m.keys()].some((k) => k.includes("\n")) && [...m.keys()].some((k) => /^code\//.test(k)) && [...m.keys()].some((k) => /^dumps\//.test(k)));
    assert.ok([...m.values()].some((e) => e.size >= 1 << 20), "a file of 1 MiB or more (the openssl path) among them");
    assert.equal(s.manifestFiles, m.size);
    assert.equal(s.manifestHashedFiles, m.size, "first run: every file hashed");
    assert.equal(fs.statSync(manifestFile()).mode & 0o777 & 0o002, 0, "not world-writable");
  });

  it("a steady run hashes only what it received: a file changed in place in the mirror (same size and mtime) keeps its received hash, and the check of its restored copy names it", async () => {
    const before = readManifest(manifestFile());
    // deletions on the source, a hostile name among them: their entries must go (the run's trash lists them)
    const deleted = [...listFiles(path.join(li.tree.documentsDir, "facture")).slice(0, 2), listFiles(path.join(li.tree.documentsDir, "hostile")).find((f) => f.includes("\n"))!];
    for (const f of deleted) fs.rmSync(f);
    const deletedKeys = deleted.map((f) => Buffer.from(`documents/${path.relative(li.tree.documentsDir, f)}`).toString("latin1"));
    touchDocuments(li.tree.documentsDir, 0.01, 31);
    // hostile names received again: new content on the source (the hard link's group too)
    const changedRaw = raw.filter((_, i) => i % 2 === 0);
    for (const r of changedRaw) fs.writeFileSync(Buffer.concat([B(li.tree.documentsDir), B("/"), r.subarray("documents/".length)]), createHash("sha256").update(r).digest());
    // the tampering, on the backup server: the mirror's file (and every snapshot's link to it)
    const target = path.join(li.mirror, "documents", "tamper", "contrat signé.pdf");
    const { before: original, after: altered } = await alterInPlace(target);
    const keyBytes = Buffer.from("documents/tamper/contrat signé.pdf").toString("latin1");
    await lab.exportCmd("refresh", "hashes");
    const s = await replicate("steady replication");
    const m = readManifest(manifestFile());
    const real = walkRaw(li.mirror, PARTS);
    // the tampered file: rsync saw nothing (same size and mtime as the source), its entry is the received one
    assert.equal(m.get(keyBytes)!.sha, sha256(original), "the entry keeps the hash of what was received");
    assert.equal(real.get(keyBytes)!.sha, sha256(altered));
    const changed = [...m].filter(([p, e]) => !sameEntry(before.get(p), e)).map(([p]) => p);
    assert.ok(changed.length >= 6, `files received: ${changed.length}`);
    assert.equal(s.manifestHashedFiles, changed.length, "hashed: exactly the files received (new or changed entries)");
    assert.ok((s.manifestHashedFiles as number) < m.size / 10, "a steady run hashes a small share");
    for (const p of changed) assert.deepEqual(m.get(p), real.get(p), `received ${JSON.stringify(p)}: its new hash`);
    for (const r of changedRaw) assert.equal(m.get(r.toString("latin1"))!.sha, real.get(r.toString("latin1"))!.sha);
    for (const [p, e] of m) if (!changed.includes(p)) assert.deepEqual(e, before.get(p), `kept as it was: ${JSON.stringify(p)}`);
    for (const p of before.keys()) if (!real.has(p)) assert.ok(!m.has(p), `gone from the mirror, gone from the manifest: ${JSON.stringify(p)}`);
    for (const k of deletedKeys) assert.ok(before.has(k) && !real.has(k) && !m.has(k), `deleted on the source: ${JSON.stringify(k)} dropped`);

    // the restore compares the copy with the snapshot it came from: identical, blind to it
    const snap = newestSnapshot();
    const t = path.join(lab.root, "restore-tampered");
    const r = await lab.restore(["--snapshot", snap, "--only", "files", "--code-dir", `${t}/htdocs`, "--documents-dir", `${t}/documents`, "hashes"]);
    ok(r, "restore");
    assert.match(r.stdout, /^tree documents: identical/m);
    // the drill's check against what was received is not
    fs.mkdirSync(`${t}/work`);
    const d = await documentsCheck(["--label", `snapshot ${snap}`, "--work", `${t}/work`, "--manifest", path.join(li.mirror, ".snapshots", snap, ".sha256"), "--percent", "100", `code=${t}/htdocs`, `documents=${t}/documents`]);
    assert.equal(d.rc, 1, JSON.stringify(d));
    assert.equal(
      d.failure,
      `documents: "documents/tamper/contrat signé.pdf": SHA-256 expected ${sha256(original)} (as received), found ${sha256(altered)} in the restored copy: the copy on this backup server (snapshot ${snap}) differs from what the replication received (bit rot, or a change made on this server)`,
    );
    assert.equal(d.fields.hashedFiles, String(m.size - [...m.keys()].filter((k) => k.startsWith("dumps/")).length), "100 %: every file of code/ and documents/");
    // a sample that does not hold it, and no file changed since a last drill: not seen (the sample is what finds it)
    const miss = await documentsCheck(["--label", `snapshot ${snap}`, "--work", `${t}/work`, "--manifest", path.join(li.mirror, ".snapshots", snap, ".sha256"), "--percent", "0", "--min", "0", `code=${t}/htdocs`, `documents=${t}/documents`]);
    assert.equal(miss.rc, 0, miss.failure);
    assert.match(miss.lines[0]!, /^documents: 0 of \d+ files \(sample 0; no earlier drill here to compare with\) equal their SHA-256 as received$/);
    fs.rmSync(t, { recursive: true, force: true });

    // put back: the bytes in place (the mirror and the snapshots sharing the inode)
    await putBack(target, original);
    assert.equal(sha256(fs.readFileSync(target)), m.get(keyBytes)!.sha);
  });

  it("hostile names round-trip: every entry's path, decoded from rsync's itemize log, is the file's, and its hash the file's", async () => {
    // a second round of changes to the hostile trees, so that their names go through the itemize log
    // (the small ones: rewriting the sparse files of several MiB would be a suspicious share of the bytes)
    for (const f of listFiles(path.join(li.tree.documentsDir, "hostile")).filter((f, i) => i % 3 === 0 && fs.statSync(f).size < 65536)) fs.appendFileSync(f, "changed");
    for (const r of raw) fs.appendFileSync(Buffer.concat([B(li.tree.documentsDir), B("/"), r.subarray("documents/".length)]), "again");
    await lab.exportCmd("refresh", "hashes");
    const before = readManifest(manifestFile());
    const s = await replicate("replication of changed hostile names");
    const m = readManifest(manifestFile());
    const real = walkRaw(li.mirror, PARTS);
    assert.deepEqual([...m.keys()].sort(), [...real.keys()].sort());
    for (const [p, e] of real) assert.deepEqual(m.get(p), e, `entry of ${JSON.stringify(p)}`);
    const changed = [...m].filter(([p, e]) => before.get(p)?.sha !== e.sha).length;
    assert.ok(changed > raw.length, `${changed} hostile files received`);
    assert.equal(s.manifestHashedFiles, [...m].filter(([p, e]) => !sameEntry(before.get(p), e)).length, "hashed: the files received");

    // Files received whose new size and mtime equal their old entry (the source rewrote them keeping
    // both, over mirror copies whose mtime had moved, so rsync sent them): only the itemize log says
    // they were received. Their names go through it: \#ooo escapes, and a hard link's " => ".
    const sneaky = raw.filter((r) => /with\nnewline|^documents\/raw \xff dir\/a => b\.pdf$/.test(r.toString("latin1")));
    assert.equal(sneaky.length, 2);
    const link = raw.find((r) => r.toString("latin1").endsWith("/link => a => b.pdf"))!;
    for (const r of sneaky) {
      const src = Buffer.concat([B(li.tree.documentsDir), B("/"), r.subarray("documents/".length)]);
      const st = fs.statSync(src, { bigint: true });
      const b = fs.readFileSync(src);
      for (let i = 0; i < b.length; i++) b[i] = b[i]! ^ 0xa5;
      fs.writeFileSync(src, b); // in place: the hard link's group changes with it
      await setTimesNs(src, st.atimeNs, st.mtimeNs);
      const mir = Buffer.concat([B(li.mirror), B("/"), r]);
      const ms = fs.statSync(mir, { bigint: true });
      await setTimesNs(mir, ms.atimeNs, ms.mtimeNs - 7_000_000_000n);
    }
    // New files, one hard-linked under a name holding " => ", in a directory whose time is then put
    // back: no directory line in the log, only the files' own lines (">f", "hf ... => TARGET") say so.
    const rawDir = Buffer.concat([B(li.tree.documentsDir), B("/"), raw[0]!.subarray("documents/".length, raw[0]!.lastIndexOf(B("/")))]);
    const dirTimes = fs.statSync(rawDir, { bigint: true });
    const added = [B("new => x.pdf"), B("link2 => new => x.pdf")].map((n) => Buffer.concat([raw[0]!.subarray(0, raw[0]!.lastIndexOf(B("/")) + 1), n]));
    fs.writeFileSync(Buffer.concat([B(li.tree.documentsDir), B("/"), added[0]!.subarray("documents/".length)]), createHash("sha256").update("new").digest());
    fs.linkSync(Buffer.concat([B(li.tree.documentsDir), B("/"), added[0]!.subarray("documents/".length)]), Buffer.concat([B(li.tree.documentsDir), B("/"), added[1]!.subarray("documents/".length)]));
    await setTimesNs(rawDir, dirTimes.atimeNs, dirTimes.mtimeNs);
    await lab.exportCmd("refresh", "hashes");
    const mid = readManifest(manifestFile());
    await replicate("replication of files rewritten with their size and mtime kept");
    const m2 = readManifest(manifestFile());
    const real2 = walkRaw(li.mirror, PARTS);
    for (const a of added) {
      const k = a.toString("latin1");
      assert.ok(real2.has(k), `${JSON.stringify(k)} replicated`);
      assert.deepEqual(m2.get(k), real2.get(k), `${JSON.stringify(k)}: new, named by its own log line only`);
    }
    for (const r of [...sneaky, link]) {
      const k = r.toString("latin1");
      assert.equal(m2.get(k)!.size, mid.get(k)!.size, `${JSON.stringify(k)}: same size`);
      assert.equal(m2.get(k)!.mtimeNs, mid.get(k)!.mtimeNs, `${JSON.stringify(k)}: same mtime`);
      assert.notEqual(m2.get(k)!.sha, mid.get(k)!.sha, `${JSON.stringify(k)}: received, so hashed anew`);
      assert.equal(m2.get(k)!.sha, real2.get(k)!.sha, `${JSON.stringify(k)}: the hash of what was received`);
    }
  });

  it("a refused run (the deletion guard, a guard on what was received) leaves the manifest as it was: same bytes, same inode", async () => {
    const file = manifestFile();
    const bytes = fs.readFileSync(file);
    const ino = fs.statSync(file).ino;
    const docs = li.tree.documentsDir;
    const gone = path.join(lab.root, "gone");
    fs.mkdirSync(gone);
    const victims = listFiles(docs).filter((_, i) => i % 3 !== 0);
    victims.forEach((f, i) => fs.renameSync(f, path.join(gone, String(i))));
    try {
      const r = await lab.replicate("hashes");
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /would delete \d+ of the mirror's \d+ entries/);
      assert.deepEqual(fs.readFileSync(file), bytes, "same bytes");
      assert.equal(fs.statSync(file).ino, ino, "same inode");
      assert.ok(!fs.existsSync(path.join(li.mirror, ".work", "sha256.new")), "no new manifest left");
    } finally {
      victims.forEach((f, i) => fs.renameSync(path.join(gone, String(i)), f));
    }
    // refused after the transfer, by a guard on what was received (no conf.php), with files received too
    const conf = path.join(li.tree.codeRoot, "conf", "conf.php");
    fs.renameSync(conf, `${conf}.aside`);
    touchDocuments(li.tree.documentsDir, 0.01, 41);
    try {
      const r = await lab.replicate("hashes");
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /has no code\/conf\/conf\.php/);
      assert.deepEqual(fs.readFileSync(file), bytes, "same bytes");
      assert.equal(fs.statSync(file).ino, ino, "same inode");
    } finally {
      fs.renameSync(`${conf}.aside`, conf);
    }
    await replicate("replication after the refused ones");
  });

  it("an older mirror without a manifest gets one at its next run; a damaged one is rebuilt, and the status says so", async () => {
    fs.rmSync(manifestFile());
    let s = await replicate("replication without a manifest");
    const m = readManifest(manifestFile());
    assert.equal(s.manifestHashedFiles, m.size, "no entry yet: every file hashed");
    assert.equal(s.warnings, "");
    // damaged: cut (a new inode: the snapshots keep theirs)
    const cut = fs.readFileSync(manifestFile()).subarray(0, 500);
    fs.writeFileSync(`${manifestFile()}.cut`, cut);
    fs.renameSync(`${manifestFile()}.cut`, manifestFile());
    s = await replicate("replication over a damaged manifest");
    assert.equal(s.result, "ok");
    assert.match(String(s.warnings), /received-hash manifest rebuilt: the previous manifest is cut \([^)]*\): rebuilt from the mirror's files as they are/);
    assert.equal(s.manifestHashedFiles, readManifest(manifestFile()).size);
  });

  it("a run killed mid-way: the next one walks the trees (what the dead run received is in no log), and its manifest is every file as it is", async () => {
    const big = await lab.addInstance("hashkill", { tree: { documents: 200, codeFiles: 20, bigFiles: 3, bigFileMb: 24 }, database: { societes: 5, invoices: 5, blobs: 1 } });
    ok(await lab.dump("hashkill"), "dump");
    ok(await lab.replicate("hashkill"), "first replication");
    // small new documents first in the transfer's order, then the big ones rewritten
    const fresh = path.join(big.tree.documentsDir, "aaa-nouveaux");
    fs.mkdirSync(fresh);
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(fresh, `devis-${i}.pdf`), createHash("sha256").update(`devis ${i}`).digest());
    for (const f of listFiles(path.join(big.tree.documentsDir, "ecm/gros"))) await mustRun("bash", ["-c", 'head -c 25165824 /dev/urandom > "$1"', "x", f]);
    await lab.exportCmd("refresh", "hashkill");
    const job = lab.startReplicate("hashkill", [], { RSYNC_EXTRA_ARGS: "--bwlimit=16m" });
    const arrived = path.join(big.mirror, "documents", "aaa-nouveaux", "devis-39.pdf");
    await waitFor(() => fs.existsSync(arrived), 60_000, "the new documents in the mirror");
    job.kill("SIGKILL");
    const killed = await job.done;
    assert.notEqual(killed.code, 0, "killed before its end (raise the big files' size if this fails)");
    assert.equal(fs.existsSync(path.join(big.mirror, ".complete")), false);
    const r = await lab.replicate("hashkill");
    assert.ok(r.code === 0 || r.code === 3, r.stderr.slice(-2000)); // (the big files rewritten: a suspicious change)
    assert.match(r.stderr, /received-hash manifest updated \(the trees walked\)/);
    const m = readManifest(path.join(big.mirror, ".sha256"));
    const real = walkRaw(big.mirror, PARTS);
    assert.deepEqual([...m.keys()].sort(), [...real.keys()].sort(), "every file, those the dead run received included");
    for (const [p, e] of real) assert.deepEqual(m.get(p), e, `entry of ${JSON.stringify(p)}`);
    // and the next steady run goes by its log again
    fs.writeFileSync(path.join(fresh, "devis-40.pdf"), "one more");
    await lab.exportCmd("refresh", "hashkill");
    const again = await lab.replicate("hashkill");
    ok(again, "steady replication");
    assert.match(again.stderr, /received-hash manifest updated \(from this run's log and trash\): \d+ file\(s\), 1 hashed/);
  });

  it("each snapshot holds the manifest of its own run (a hard link of it), which its own trees match", async () => {
    const snaps = fs.readdirSync(path.join(li.mirror, ".snapshots")).filter((s) => /^\d{8}T\d{6}Z$/.test(s)).sort();
    assert.ok(snaps.length >= 6, `snapshots: ${snaps.join(" ")}`);
    assert.equal(fs.statSync(path.join(li.mirror, ".snapshots", snaps.at(-1)!, ".sha256")).ino, fs.statSync(manifestFile()).ino, "the newest: the mirror's manifest, linked");
    for (const s of snaps) {
      const f = path.join(li.mirror, ".snapshots", s, ".sha256");
      assert.deepEqual(fs.readFileSync(f), bySnapshot.get(s), `${s}: the manifest of its run`);
      const dir = path.join(li.mirror, ".snapshots", s);
      const c = await manifestCheck(["--percent", "100", f, `code=${dir}/code`, `documents=${dir}/documents`, `dumps=${dir}/dumps`]);
      assert.equal(c.code, 0, `${s}: ${c.other.join(" ")} ${[...c.mismatch.keys()].join(" ")} ${[...c.missing].join(" ")} ${[...c.extra].join(" ")} ${c.stderr}`);
      assert.equal(c.values.hashed, c.values.files);
    }
    const inodes = snaps.map((s) => fs.statSync(path.join(li.mirror, ".snapshots", s, ".sha256")).ino);
    assert.equal(new Set(inodes).size, snaps.length, "each run wrote a manifest of its own (a new file renamed into place), which its snapshot keeps");
  });
});

// --- the drill's sample-and-compare on generated cases (no lab: any user, perl and find) ---------

interface GenCase {
  root: string;
  mirror: string;
  copy: string;
  m0: string;
  m1: string;
  /** Entries of the copy's manifest (m1) in code/ and documents/. */
  universe: Tree;
  /** Entries that differ from m0's (the files received since the "last drill"). */
  changed: Set<string>;
  /** Files of the copy whose content differs from their entry. */
  corrupt: Set<string>;
  /** Files of the copy whose size or mtime differ from their entry (not changed). */
  statdiff: Set<string>;
  missing: Set<string>;
  extra: Set<string>;
}

const NAME_BYTES = [..."abcXYZ019 -_.#=>\\\"'`$*?[]{}~%"].map((c) => c.charCodeAt(0)).concat([0x0a, 0x09, 0x1b, 0x7f, 0x80, 0xff, 0xc3, 0xa9, 0xe2, 0x80, 0xae]);

function genName(rand: () => number): Buffer {
  for (;;) {
    const n = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 12) }, () => NAME_BYTES[Math.floor(rand() * NAME_BYTES.length)]!));
    const s = n.toString("latin1");
    if (s !== "." && s !== "..") return n;
  }
}

/** Builds a generated case: a mirror, its manifests before (m0) and after (m1) a replication, a restored copy with faults. */
async function genCase(seed: number, base: string): Promise<GenCase> {
  const rand = rng(seed);
  const root = path.join(base, `case-${seed}`);
  const mirror = path.join(root, "mirror");
  const files = new Set<string>();
  const write = (rel: string, content: Buffer): void => {
    const abs = B(path.join(mirror, rel));
    fs.mkdirSync(B(path.dirname(path.join(mirror, rel))), { recursive: true });
    fs.writeFileSync(abs, content);
    files.add(rel);
  };
  const content = (): Buffer => Buffer.from(Array.from({ length: Math.floor(rand() * 400) }, () => Math.floor(rand() * 256)));
  const n = 20 + Math.floor(rand() * 100);
  for (let i = 0; i < n; i++) {
    const tree = rand() < 0.3 ? "code" : "documents";
    const dir = rand() < 0.5 ? "" : `${genName(rand).toString("latin1")}/`;
    const rel = `${tree}/${dir}${genName(rand).toString("latin1")}`;
    if (![...files].some((k) => k === rel || k.startsWith(`${rel}/`) || rel.startsWith(`${k}/`))) write(rel, content());
  }
  write("dumps/db-20260101T000000Z.sql.zst", content());
  const m0 = path.join(root, "m0.sha256");
  const m1 = path.join(root, "m1.sha256");
  const list0 = path.join(root, "listed-0");
  fs.writeFileSync(list0, ""); // no manifest yet: the trees are walked
  ok(await common('dbk_manifest_update "$1" "$2" "$3"', [mirror, list0, m0]), "manifest 0");
  fs.copyFileSync(m0, path.join(mirror, ".sha256"));
  // a replication: files changed (received), added, removed
  const received: string[] = [];
  const trashed: string[] = [];
  for (const k of [...files].filter((f) => !f.startsWith("dumps/"))) {
    const x = rand();
    if (x < 0.15) {
      write(k, content());
      received.push(k);
      trashed.push(k);
    } else if (x < 0.2) {
      fs.rmSync(B(path.join(mirror, k)));
      files.delete(k);
      trashed.push(k);
    }
  }
  for (let i = 0; i < 1 + Math.floor(rand() * 5); i++) {
    const rel = `documents/new-${i}-${genName(rand).toString("latin1")}`;
    if (!files.has(rel)) {
      write(rel, content());
      received.push(rel);
    }
  }
  const list1 = path.join(root, "listed-1");
  fs.writeFileSync(list1, runList([...received.map((r) => ["R", r] as const), ...trashed.map((t) => ["T", t] as const)]));
  ok(await common('dbk_manifest_update "$1" "$2" "$3"', [mirror, list1, m1]), "manifest 1");
  const e0 = readManifest(m0);
  const universe: Tree = new Map([...readManifest(m1)].filter(([k]) => !k.startsWith("dumps/")));
  const changed = new Set([...universe].filter(([k, e]) => !sameEntry(e0.get(k), e)).map(([k]) => k));
  // the restored copy, then the faults
  const copy = path.join(root, "copy");
  fs.mkdirSync(copy);
  await mustRun("cp", ["-a", path.join(mirror, "code"), path.join(copy, "htdocs")]);
  await mustRun("cp", ["-a", path.join(mirror, "documents"), path.join(copy, "documents")]);
  const copyPath = (k: string): Buffer => B(k.startsWith("code/") ? path.join(copy, "htdocs", k.slice(5)) : path.join(copy, k));
  const corrupt = new Set<string>();
  const statdiff = new Set<string>();
  const missing = new Set<string>();
  const extra = new Set<string>();
  for (const [k, e] of universe) {
    const x = rand();
    const f = copyPath(k);
    const st = fs.statSync(f, { bigint: true });
    if (x < 0.08 && e.size > 0) {
      // bit rot: a byte changed, same size, same mtime to the nanosecond
      const b = fs.readFileSync(f);
      const at = Math.floor(rand() * b.length);
      b[at] = b[at]! ^ (1 + Math.floor(rand() * 255));
      fs.writeFileSync(f, b);
      await setTimesNs(f, st.atimeNs, st.mtimeNs);
      corrupt.add(k);
    } else if (x < 0.12) {
      fs.rmSync(f);
      missing.add(k);
    } else if (x < 0.16) {
      // another mtime, the same content: hashed, and found equal
      await setTimesNs(f, st.atimeNs, st.mtimeNs - BigInt(1 + Math.floor(rand() * 1e12)));
      if (!changed.has(k)) statdiff.add(k);
    } else if (x < 0.19 && e.size > 0) {
      // content and mtime changed, size kept
      const b = fs.readFileSync(f);
      b[0] = b[0]! ^ 0x5a;
      fs.writeFileSync(f, b);
      await setTimesNs(f, st.atimeNs, st.mtimeNs + 1_000_000n);
      corrupt.add(k);
      if (!changed.has(k)) statdiff.add(k);
    }
  }
  for (let i = 0; i < Math.floor(rand() * 3); i++) {
    const rel = `documents/extra-${i}-${genName(rand).toString("latin1")}`;
    if (!universe.has(rel)) {
      fs.writeFileSync(copyPath(rel), content());
      extra.add(rel);
    }
  }
  return { root, mirror, copy, m0, m1, universe, changed, corrupt, statdiff, missing, extra };
}

const genSkip = skipUnlessCi(["perl", "find", "python3"].every((c) => spawnSync("bash", ["-c", `command -v ${c}`]).status === 0) ? undefined : "perl, find or python3 missing", "the drill's sample-and-compare");

describe("the drill's sample-and-compare (dbk_manifest_check, dbk_check_documents) on generated cases", { skip: genSkip, timeout: 600_000 }, () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-doc-hashes-"));
  after(() => fs.rmSync(base, { recursive: true, force: true }));

  it("every file changed since the last drill is hashed, whatever the sample; missing and extra files always fail; the rest is found by the sample (independent model, 12 seeds)", async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const c = await genCase(seed, base);
      const trees = [`code=${path.join(c.copy, "htdocs")}`, `documents=${path.join(c.copy, "documents")}`];
      const present = [...c.universe.keys()].filter((k) => !c.missing.has(k));
      const what = `seed ${seed}: ${c.universe.size} files, ${c.changed.size} changed, ${c.corrupt.size} corrupt, ${c.statdiff.size} with another time, ${c.missing.size} missing, ${c.extra.size} extra`;
      // no sample: exactly the changed files and those whose size or time differ are hashed
      const none = await manifestCheck(["--previous", c.m0, "--percent", "0", "--min", "0", c.m1, ...trees]);
      const hashedNone = present.filter((k) => c.changed.has(k) || c.statdiff.has(k));
      assert.equal(none.values.hashed, hashedNone.length, what);
      assert.equal(none.values.sampled, 0, what);
      assert.equal(none.values.changed, present.filter((k) => c.changed.has(k)).length, what);
      assert.equal(none.values.statdiff, present.filter((k) => c.statdiff.has(k)).length, what);
      assert.equal(none.values.previous, 1);
      assert.deepEqual([...none.mismatch.keys()].sort(), hashedNone.filter((k) => c.corrupt.has(k)).sort(), `${what}: mismatches without a sample`);
      assert.deepEqual([...none.missing].sort(), [...c.missing].sort(), what);
      assert.deepEqual([...none.extra].sort(), [...c.extra].sort(), what);
      const failing = none.mismatch.size + none.missing.size + none.extra.size > 0;
      assert.equal(none.code, failing ? 1 : 0, what);
      for (const [k, v] of none.mismatch) assert.equal(v.expected, c.universe.get(k)!.sha, `${what}: expected hash of ${JSON.stringify(k)}`);
      // everything: every corrupt file found, with the hash it has now
      const all = await manifestCheck(["--previous", c.m0, "--percent", "100", c.m1, ...trees]);
      assert.deepEqual([...all.mismatch.keys()].sort(), [...c.corrupt].filter((k) => !c.missing.has(k)).sort(), `${what}: 100 %`);
      assert.equal(all.values.hashed, present.length);
      const copyFile = (k: string): Buffer => B(k.startsWith("code/") ? path.join(c.copy, "htdocs", k.slice(5)) : path.join(c.copy, k));
      for (const [k, v] of all.mismatch) assert.equal(v.found, sha256(fs.readFileSync(copyFile(k))));
      // a sample: max(ceil(p % of the files), min), capped at the rest; the changed files on top; one seed, one sample
      const p = [0.5, 1, 10, 33][seed % 4]!;
      const min = [0, 3, 20, 1000][seed % 4]!;
      const rest = present.filter((k) => !c.changed.has(k) && !c.statdiff.has(k)).length;
      const k = Math.min(Math.max(Math.ceil((c.universe.size * p) / 100), min), rest);
      const sampled = await manifestCheck(["--previous", c.m0, "--percent", String(p), "--min", String(min), "--seed", String(seed), c.m1, ...trees]);
      assert.equal(sampled.values.sampled, k, `${what}: p ${p} min ${min}`);
      assert.equal(sampled.values.hashed, hashedNone.length + k);
      for (const key of none.mismatch.keys()) assert.ok(sampled.mismatch.has(key), `${what}: a changed file's mismatch is always there`);
      for (const key of sampled.mismatch.keys()) assert.ok(c.corrupt.has(key), `${what}: only real mismatches`);
      const again = await manifestCheck(["--previous", c.m0, "--percent", String(p), "--min", String(min), "--seed", String(seed), c.m1, ...trees]);
      assert.deepEqual([...again.mismatch.keys()], [...sampled.mismatch.keys()], "same seed, same sample");
      // no earlier drill: no changed set, the sample only (and the files whose size or time differ)
      const first = await manifestCheck(["--percent", "0", "--min", "0", c.m1, ...trees]);
      assert.equal(first.values.previous, 0);
      assert.equal(first.values.changed, 0);
      const timeMoved = present.filter((x) => {
        const e = c.universe.get(x)!;
        const st = fs.statSync(copyFile(x), { bigint: true });
        return BigInt(e.size) !== st.size || e.mtimeNs !== st.mtimeNs;
      });
      assert.equal(first.values.statdiff, timeMoved.length, what);
      assert.equal(first.values.hashed, timeMoved.length, what);
    }
  });

  it("the drill's verdict: the check line and its counts, the first failure named (escaped, hashes), no manifest skipped with a warning, a damaged one a failure", async () => {
    const c = await genCase(101, base);
    const work = path.join(c.root, "work");
    fs.mkdirSync(work);
    const trees = [`code=${path.join(c.copy, "htdocs")}`, `documents=${path.join(c.copy, "documents")}`];
    // a clean copy: the mirror itself, as received (m1 matches it but for nothing)
    const cleanTrees = [`code=${path.join(c.mirror, "code")}`, `documents=${path.join(c.mirror, "documents")}`];
    let d = await documentsCheck(["--label", "snapshot 20260101T000000Z", "--work", work, "--manifest", c.m1, "--previous", c.m0, "--percent", "1", "--min", "5", "--dump-file", `dumps/db-20260101T000000Z.sql.zst=${path.join(c.mirror, "dumps", "db-20260101T000000Z.sql.zst")}`, ...cleanTrees]);
    assert.equal(d.rc, 0, d.failure);
    const n = c.universe.size;
    const changed = c.changed.size;
    const sample = Math.min(Math.max(Math.ceil(n / 100), 5), n - changed);
    assert.deepEqual(d.lines, [`documents: ${sample + changed} of ${n} files (sample ${sample} + ${changed} changed since the last drill) equal their SHA-256 as received`, "dump: db-20260101T000000Z.sql.zst equals its SHA-256 as received"]);
    assert.equal(d.fields.manifestFiles, String(n));
    assert.equal(d.fields.sampledFiles, String(sample));
    assert.equal(d.fields.changedSinceDrillFiles, String(changed));
    assert.equal(d.fields.hashedFiles, String(sample + changed));
    assert.match(d.fields.hashMs!, /^\d+$/);
    // the faulty copy: failure, one line, the first problem named with both hashes
    d = await documentsCheck(["--label", "snapshot 20260101T000000Z", "--work", work, "--manifest", c.m1, "--percent", "100", ...trees]);
    const problems = [...c.corrupt].filter((k) => !c.missing.has(k)).length + c.missing.size + c.extra.size;
    assert.ok(problems > 0, "the case has faults");
    assert.equal(d.rc, 1);
    assert.match(d.failure, /^documents: "(?:[^"\\]|\\x[0-9a-f]{2})+"(?:: SHA-256 expected [0-9a-f]{64} \(as received\), found [0-9a-f]{64} in the restored copy| \(SHA-256 [0-9a-f]{64} as received\) is missing from the restored copy| is in the restored copy but not in the received-hash manifest \(never received\))(?: \(and \d+ more: see the drill's log\))?: the copy on this backup server \(snapshot 20260101T000000Z\) differs from what the replication received \(bit rot, or a change made on this server\)$/);
    if (problems > 1) assert.match(d.failure, new RegExp(`\\(and ${problems - 1} more: see the drill's log\\)`));
    assert.doesNotMatch(d.failure, /[\u0000-\u001f\u007f]/, "one line, no control character");
    assert.equal((d.stderr.match(/DIFFERS: /g) ?? []).length, Math.min(problems, 50), "each failure logged");
    // a dump file changed on the backup side
    const dump = path.join(c.mirror, "dumps", "db-20260101T000000Z.sql.zst");
    fs.appendFileSync(dump, "x");
    d = await documentsCheck(["--label", "the mirror", "--work", work, "--manifest", c.m1, "--percent", "0", "--min", "0", "--dump-file", `dumps/db-20260101T000000Z.sql.zst=${dump}`, ...cleanTrees]);
    assert.equal(d.rc, 1);
    assert.match(d.failure, /^documents: "dumps\/db-20260101T000000Z\.sql\.zst": SHA-256 expected [0-9a-f]{64} \(as received\), found [0-9a-f]{64} in the restored copy: the copy on this backup server \(the mirror\) differs/);
    // a file in the copy's dumps/ the replication never received
    fs.writeFileSync(path.join(c.mirror, "dumps", "planted.sql.zst"), "x");
    d = await documentsCheck(["--label", "the mirror", "--work", work, "--manifest", c.m1, "--percent", "0", "--min", "0", "--dump-file", `dumps/planted.sql.zst=${path.join(c.mirror, "dumps", "planted.sql.zst")}`, ...cleanTrees]);
    assert.match(d.failure, /^documents: "dumps\/planted\.sql\.zst" is in the mirror but not in the received-hash manifest \(never received\)/);
    // no manifest (a mirror older than it): skipped, said in the checks and logged
    d = await documentsCheck(["--label", "snapshot 20260101T000000Z", "--work", work, "--percent", "1", ...trees]);
    assert.equal(d.rc, 0);
    assert.deepEqual(d.lines, ["documents: no received-hash manifest yet (written by the next replication)"]);
    assert.deepEqual(d.fields, {});
    assert.match(d.stderr, /WARNING: snapshot 20260101T000000Z has no received-hash manifest \(\.sha256\) yet/);
    d = await documentsCheck(["--label", "snapshot 20260101T000000Z", "--work", work, "--manifest", path.join(c.root, "absent.sha256"), ...trees]);
    assert.equal(d.rc, 0);
    // damaged manifests: a failure naming what is wrong
    const damaged: Array<[string, Buffer, RegExp]> = [
      ["cut", fs.readFileSync(c.m1).subarray(0, 300), /is cut/],
      ["no header", Buffer.concat([B("#something else\0"), fs.readFileSync(c.m1).subarray(36)]), /does not start with its header/],
      ["wrong count", Buffer.concat([fs.readFileSync(c.m1).subarray(0, fs.readFileSync(c.m1).lastIndexOf(B("#end "))), B("#end 1\0")]), /says 1 records but holds \d+/],
      ["a path out of the tree", Buffer.concat([B("#dolibarr-backup sha256 manifest 1\0"), B(`${"0".repeat(64)} 1 1 documents/../../etc/shadow\0#end 1\0`)]), /has a malformed record/],
      ["empty", Buffer.alloc(0), /is empty/],
    ];
    for (const [what, bytes, re] of damaged) {
      const f = path.join(c.root, `damaged-${what.replace(/ /g, "-")}.sha256`);
      fs.writeFileSync(f, bytes);
      d = await documentsCheck(["--label", "snapshot 20260101T000000Z", "--work", work, "--manifest", f, ...trees]);
      assert.equal(d.rc, 1, what);
      assert.match(d.failure, new RegExp(`^documents: the received-hash manifest of snapshot 20260101T000000Z ${re.source}`), what);
    }
  });

  it("the update keeps every entry the run's log and trash do not name, hashes the received and the new, drops what is gone; or walks the trees when asked", async () => {
    const c = await genCase(202, base);
    const keys = [...c.universe.keys()].filter((k) => c.universe.get(k)!.size > 0);
    const [inPlace, retimed, gone, removedHere] = [keys[0]!, keys[1]!, keys[2]!, keys[3]!];
    const f = (k: string): Buffer => B(path.join(c.mirror, k));
    // altered in place, same size and mtime (rsync would not see it); another mtime (rsync would send it again); removed by the run; removed by someone else
    const st = fs.statSync(f(inPlace), { bigint: true });
    const b = fs.readFileSync(f(inPlace));
    b[0] = b[0]! ^ 1;
    fs.writeFileSync(f(inPlace), b);
    await setTimesNs(f(inPlace), st.atimeNs, st.mtimeNs);
    const rs = fs.statSync(f(retimed), { bigint: true });
    await setTimesNs(f(retimed), rs.atimeNs, rs.mtimeNs - 3_000_000_000n);
    fs.rmSync(f(gone));
    fs.rmSync(f(removedHere));
    // a new file the log did not name, in a directory it says changed
    const dir = path.posix.dirname(inPlace);
    const unnamed = `${dir}/unnamed by the log`;
    fs.writeFileSync(f(unnamed), "new");
    const m1 = readManifest(c.m1);
    const update = async (args: string[], list: Buffer, out: string): Promise<{ m: Tree; stdout: string }> => {
      fs.copyFileSync(c.m1, path.join(c.mirror, ".sha256"));
      const lf = `${out}.list`;
      fs.writeFileSync(lf, list);
      const r = await common('dbk_manifest_update "$@"', [...args, c.mirror, lf, out]);
      ok(r, `update ${args.join(" ")}`);
      return { m: readManifest(out), stdout: r.stdout };
    };
    // the run's log: the retimed file received again (its old copy in the trash), the gone one deleted, the directory changed
    let u = await update([], runList([["R", retimed], ["T", retimed], ["T", gone], ["D", dir]]), path.join(c.root, "m2.sha256"));
    assert.deepEqual(u.m.get(inPlace), m1.get(inPlace), "in place, same size and mtime, not received: the received entry kept");
    assert.equal(u.m.get(retimed)!.sha, sha256(fs.readFileSync(f(retimed))));
    assert.equal(u.m.get(retimed)!.mtimeNs, m1.get(retimed)!.mtimeNs - 3_000_000_000n, "received: its new mtime");
    assert.ok(!u.m.has(gone), "deleted by the run: dropped");
    assert.deepEqual(u.m.get(removedHere), m1.get(removedHere), "removed by someone else, not by the run: kept (the drill finds it missing)");
    assert.equal(u.m.get(unnamed)!.sha, sha256(Buffer.from("new")), "a file without an entry in a changed directory: hashed");
    assert.match(u.stdout, /^hashed\t2$/m);
    assert.match(u.stdout, /^dropped\t1$/m);
    assert.match(u.stdout, /^walked\t0$/m);
    assert.match(u.stdout, /^state\tupdated$/m);
    // told it was received: hashed, even with its size and mtime
    u = await update([], runList([["R", inPlace]]), path.join(c.root, "m3.sha256"));
    assert.equal(u.m.get(inPlace)!.sha, sha256(fs.readFileSync(f(inPlace))));
    // nothing told: the manifest as it was
    u = await update([], Buffer.alloc(0), path.join(c.root, "m4.sha256"));
    assert.deepEqual(fs.readFileSync(path.join(c.root, "m4.sha256")), fs.readFileSync(c.m1));
    // a candidate name ("R?": a hard link's line cut at " => ") counts only when it is a regular file
    u = await update([], runList([["R?", "documents/no such file"], ["R?", inPlace]]), path.join(c.root, "m5.sha256"));
    assert.ok(!u.m.has("documents/no such file"));
    assert.equal(u.m.get(inPlace)!.sha, sha256(fs.readFileSync(f(inPlace))), "an existing candidate is taken as received");
    // --walk (after an interrupted run): another size or mtime hashed, in place kept, every file gone dropped, every new one hashed
    u = await update(["--walk"], Buffer.alloc(0), path.join(c.root, "m6.sha256"));
    assert.match(u.stdout, /^walked\t1$/m);
    assert.deepEqual(u.m.get(inPlace), m1.get(inPlace));
    assert.equal(u.m.get(retimed)!.mtimeNs, m1.get(retimed)!.mtimeNs - 3_000_000_000n);
    assert.ok(!u.m.has(gone) && !u.m.has(removedHere));
    assert.ok(u.m.has(unnamed));
    assert.deepEqual([...u.m.keys()].sort(), [...walkRaw(c.mirror, PARTS).keys()].sort());
    // no manifest to start from: walked whatever the list
    fs.rmSync(path.join(c.mirror, ".sha256"));
    const lf = path.join(c.root, "m7.list");
    fs.writeFileSync(lf, "");
    const r = await common('dbk_manifest_update "$@"', [c.mirror, lf, path.join(c.root, "m7.sha256")]);
    ok(r, "update without a manifest");
    assert.match(r.stdout, /^walked\t1$/m);
    assert.match(r.stdout, /^state\tcreated$/m);
    assert.deepEqual([...readManifest(path.join(c.root, "m7.sha256")).keys()].sort(), [...walkRaw(c.mirror, PARTS).keys()].sort());
  });
});

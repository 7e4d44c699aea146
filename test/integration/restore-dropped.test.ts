// dolibarr-restore and a mirror from a hosting server that may be compromised (issue 22 point 6):
// device nodes, FIFOs and sockets are not created, files' setuid/setgid bits are cleared, no
// security.* nor trusted.* xattr is copied, each is listed in the report; the tree check leaves out
// exactly that, so a real difference (content, a mode bit, an extra FIFO, an xattr) still DIFFERS;
// --keep-special-files restores them as the mirror has them. Real rsync, mknod, setfattr, as root,
// with --only files (no MariaDB): the trees' part of the restore is the same in a drill and a failover.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { serverScriptPath } from "../../infra/render/repo";
import { run, type RunResult } from "../support/jobs-exec";
import { skipUnlessCi } from "../support/prerequisites";

const TOOLS = ["rsync", "perl", "mknod", "mkfifo", "getfattr", "setfattr", "getfacl", "setfacl", "python3"];

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (mknod, owners)";
  const gone = TOOLS.filter((t) => spawnSync("bash", ["-c", `command -v ${t}`]).status !== 0);
  return gone.length ? `missing commands: ${gone.join(", ")}` : undefined;
}

function sh(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
}
/** The restore's escaping of a path in its report: backslash and control characters as \ooo. */
const esc = (p: string): string => p.replace(/[\\\x00-\x1f\x7f]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);

/** Whether FS under dir keeps a security.* xattr (tmpfs and ext4 do; some overlay setups do not). */
function securityXattrs(dir: string): boolean {
  const f = path.join(dir, ".probe");
  fs.writeFileSync(f, "");
  const ok = spawnSync("setfattr", ["-n", "security.dbkprobe", "-v", "1", f]).status === 0;
  fs.rmSync(f);
  return ok;
}

type Kind = "chr" | "blk" | "fifo" | "sock" | "setuid" | "setgid" | "both" | "security" | "trusted";
interface Item {
  kind: Kind;
  tree: "code" | "documents";
  rel: string;
}

const NAMES = ["plain", "with space", "new\nline", "star*[x]", "back\\slash", "ünï cödé", "-dash", "#hash", "; semi", "+ plus", "tab\there"];

/** A deterministic generator (the case number seeds it): names, trees and depths vary per case. */
function rng(seed: number): () => number {
  let s = seed * 2654435761 + 1;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

function buildMirror(root: string, seed: number, withSecurity: boolean): { mirror: string; items: Item[]; plain: string[] } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const mirror = path.join(root, `mirror-${seed}`, "acme");
  for (const d of ["code/conf", "documents", "dumps"]) fs.mkdirSync(path.join(mirror, d), { recursive: true });
  fs.writeFileSync(path.join(mirror, "code/conf/conf.php"), "<?php\n$dolibarr_main_db_name='acme';\n");
  fs.writeFileSync(path.join(mirror, ".complete"), "");
  const kinds: Kind[] = ["chr", "blk", "fifo", "sock", "setuid", "setgid", "both", "trusted", ...(withSecurity ? (["security"] as Kind[]) : [])];
  const items: Item[] = [];
  const used = new Set<string>();
  for (const kind of [...kinds, ...kinds.filter(() => r() < 0.5)]) {
    const tree = pick(["code", "documents"] as const);
    let rel = "";
    do {
      const depth = Math.floor(r() * 3);
      const dirs = Array.from({ length: depth }, () => pick(NAMES));
      rel = [...dirs, `${kind} ${pick(NAMES)} ${items.length}`].join("/");
    } while (used.has(`${tree}/${rel}`));
    used.add(`${tree}/${rel}`);
    const p = path.join(mirror, tree, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    switch (kind) {
      case "chr": sh("mknod", p, "c", "1", "3"); break;
      case "blk": sh("mknod", p, "b", "7", String(seed % 8)); break;
      case "fifo": sh("mkfifo", p); break;
      case "sock": sh("python3", "-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", p); break;
      case "setuid": fs.writeFileSync(p, "#!/bin/sh\n"); fs.chmodSync(p, 0o4755); break;
      case "setgid": fs.writeFileSync(p, "g\n"); fs.chmodSync(p, 0o2750); break;
      case "both": fs.writeFileSync(p, "b\n"); fs.chmodSync(p, 0o6711); break;
      case "security": fs.writeFileSync(p, "cap\n"); sh("setfattr", "-n", "security.dbktest", "-v", "evil", p); sh("setfattr", "-n", "user.kept", "-v", "yes", p); break;
      case "trusted": fs.writeFileSync(p, "ov\n"); sh("setfattr", "-n", "trusted.overlay.redirect", "-v", "/etc", p); break;
    }
    items.push({ kind, tree, rel });
  }
  // What is kept as it is: a setgid directory, a user.* xattr, an ACL, ordinary files.
  const plain: string[] = [];
  const sgdir = path.join(mirror, "documents", `shared ${seed}`);
  fs.mkdirSync(sgdir);
  fs.chmodSync(sgdir, 0o2775);
  for (let i = 0; i < 5; i++) {
    const rel = `${pick(NAMES)} file ${i}`;
    fs.writeFileSync(path.join(sgdir, rel), `content ${seed} ${i}\n`);
    plain.push(`documents/shared ${seed}/${rel}`);
  }
  sh("setfattr", "-n", "user.note", "-v", "kept", path.join(mirror, plain[0]!));
  sh("setfacl", "-m", "u:33:r", path.join(mirror, plain[1]!));
  return { mirror, items, plain };
}

const removed = (k: Kind): boolean => k === "chr" || k === "blk" || k === "fifo" || k === "sock";

describe("dolibarr-restore: what a hostile mirror should not put on the target", { skip: skipUnlessCi(missing(), "restore-dropped") }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-dropped-"));
  fs.chmodSync(root, 0o755);
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const withSecurity = missing() === undefined && securityXattrs(root);

  // An rsync in PATH that runs the real one and then, after the copy (not the -n check), the
  // command in DBK_TEST_TAMPER: the target changed between the copy and its check.
  const shim = path.join(root, "shim");
  fs.mkdirSync(shim);
  const realRsync = spawnSync("bash", ["-c", "command -v rsync"], { encoding: "utf8" }).stdout.trim();
  fs.writeFileSync(
    path.join(shim, "rsync"),
    `#!/bin/bash\nfor a in "$@"; do [[ "$a" == -n || "$a" == --dry-run ]] && exec ${realRsync} "$@"; done\n${realRsync} "$@" || exit $?\nif [[ -n "\${DBK_TEST_TAMPER:-}" ]]; then bash -c "$DBK_TEST_TAMPER" 2>/dev/null || true; fi\n`,
    { mode: 0o755 },
  );

  function restore(mirror: string, out: string, extra: string[] = [], tamper?: string): Promise<RunResult> {
    const env = { ...process.env, DBK_CONF_DIR: path.join(root, "etc"), PATH: `${shim}:${process.env.PATH}`, ...(tamper ? { DBK_TEST_TAMPER: tamper } : {}) };
    return run(serverScriptPath("dolibarr-restore"), [...extra, "--only", "files", "--mirror", mirror, "--code-dir", path.join(out, "htdocs"), "--documents-dir", path.join(out, "documents"), "acme"], { env });
  }
  const target = (out: string, it: Item): string => path.join(out, it.tree === "code" ? "htdocs" : "documents", it.rel);
  const xattrs = (p: string): string => spawnSync("getfattr", ["-h", "-d", "-m", "-", p], { encoding: "utf8" }).stdout;

  if (!withSecurity) {
    it("security.* xattrs", { skip: `${root}'s file system does not keep security.* xattrs: that sub-case is left out (devices, FIFOs, sockets, setid bits and trusted.* are still tested)` }, () => undefined);
  }

  for (const seed of [1, 2, 3, 4]) {
    const noAcls = seed === 4;
    it(`case ${seed}${noAcls ? " (--no-acls)" : ""}: dropped, listed, the check passes; --keep-special-files keeps them`, async () => {
      const { mirror, items, plain } = buildMirror(root, seed, withSecurity);
      const out = path.join(root, `out-${seed}`);
      const extra = noAcls ? ["--no-acls"] : [];
      const r = await restore(mirror, out, extra);
      assert.equal(r.code, 0, `restore failed:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /^tree code: identical/m);
      assert.match(r.stdout, /^tree documents: identical/m);
      assert.doesNotMatch(r.stdout, /DIFFERS/);
      const n = (ks: Kind[]) => items.filter((i) => ks.includes(i.kind)).length;
      assert.match(
        r.stdout,
        new RegExp(`^dropped from the mirror: ${items.length} item\\(s\\) \\(${n(["chr", "blk"])} device node\\(s\\), ${n(["fifo", "sock"])} FIFO\\(s\\)/socket\\(s\\), ${n(["setuid", "setgid", "both"])} setuid/setgid file\\(s\\), ${n(["security", "trusted"])} file\\(s\\) with`, "m"),
        r.stdout,
      );
      for (const i of items) {
        const listed = r.stdout.split("\n").filter((l) => l.startsWith(`  dropped ${i.tree}: `) && l.endsWith(`: ${esc(i.rel)}`));
        const perTree = items.filter((x) => x.tree === i.tree).length;
        if (perTree <= 20) assert.equal(listed.length, 1, `${i.kind} ${JSON.stringify(i.rel)} not listed once:\n${r.stdout}`);
        const p = target(out, i);
        if (removed(i.kind)) {
          assert.ok(!fs.existsSync(p) && !lstatExists(p), `${i.kind} ${JSON.stringify(i.rel)} was created on the target`);
          continue;
        }
        const st = fs.lstatSync(p);
        assert.ok(st.isFile(), `${i.rel} is restored`);
        assert.equal(st.mode & 0o6000, 0, `${i.kind} ${JSON.stringify(i.rel)} keeps setuid/setgid: ${(st.mode & 0o7777).toString(8)}`);
        const mirrorMode = fs.lstatSync(path.join(mirror, i.tree, i.rel)).mode & 0o1777;
        assert.equal(st.mode & 0o1777, mirrorMode, `${i.rel}: the other mode bits are the mirror's`);
        assert.doesNotMatch(xattrs(p), /security\.|trusted\./, `${i.rel} keeps a security/trusted xattr`);
        if (i.kind === "security") assert.match(xattrs(p), /user\.kept="yes"/, `${i.rel}: its user.* xattr is kept`);
      }
      // what is not dropped is restored as it was
      assert.equal(fs.statSync(path.join(out, "documents", `shared ${seed}`)).mode & 0o7777, 0o2775, "a setgid directory keeps its bit");
      assert.match(xattrs(path.join(out, plain[0]!)), /user\.note="kept"/);
      if (!noAcls) assert.match(spawnSync("getfacl", ["-p", "-n", "-c", path.join(out, plain[1]!)], { encoding: "utf8" }).stdout, /^user:33:r--$/m);

      // again onto the same target: nothing to copy, the same list, identical
      const again = await restore(mirror, out, extra);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, new RegExp(`^dropped from the mirror: ${items.length} item`, "m"));

      // --keep-special-files: as the mirror has them
      const kept = path.join(root, `kept-${seed}`);
      const k = await restore(mirror, kept, [...extra, "--keep-special-files"]);
      assert.equal(k.code, 0, `restore --keep-special-files failed:\n${k.stdout}\n${k.stderr}`);
      assert.match(k.stdout, /^dropped from the mirror: nothing \(--keep-special-files/m);
      assert.doesNotMatch(k.stdout, /^ {2}dropped /m);
      for (const i of items) {
        const p = target(kept, i);
        const s = fs.lstatSync(p);
        const m = fs.lstatSync(path.join(mirror, i.tree, i.rel));
        assert.equal(s.mode, m.mode, `${i.kind} ${JSON.stringify(i.rel)}: type and mode as the mirror's`);
        if (i.kind === "chr" || i.kind === "blk") assert.equal(s.rdev, m.rdev);
        if (i.kind === "security") assert.match(xattrs(p), /security\.dbktest="evil"/);
        if (i.kind === "trusted") assert.match(xattrs(p), /trusted\.overlay\.redirect="\/etc"/);
      }
    });
  }

  // A change of the target after the copy is still found: the check leaves out the dropped paths,
  // bits and xattr names of the mirror, not the target's own.
  const tampers: Array<[string, (out: string, items: Item[], plain: string[]) => string, boolean]> = [
    ["a file's content (same size and time)", (out, _i, plain) => `f=${q(path.join(out, plain[2]!))}; t=$(stat -c %y "$f"); printf 'CONTENT X Y\\n' | head -c "$(stat -c %s "$f")" >"$f.new"; cat "$f.new" >"$f"; rm "$f.new"; touch -d "$t" "$f"`, false],
    ["a setuid bit set on a file the mirror has without", (out, _i, plain) => `chmod u+s ${q(path.join(out, plain[3]!))}`, false],
    ["a setuid bit set back on a file whose bit was dropped", (out, items) => `chmod u+s ${q(target(out, items.find((i) => i.kind === "setuid")!))}`, false],
    ["a FIFO where the mirror's FIFO was dropped", (out, items) => `mkfifo ${q(target(out, items.find((i) => i.kind === "fifo")!))}`, false],
    ["a device node that is in no mirror", (out) => `mknod ${q(path.join(out, "documents", "extra dev"))} c 1 5`, false],
    ["a security.* xattr on the target", (out, _i, plain) => `setfattr -n security.dbktarget -v x ${q(path.join(out, plain[4]!))}`, true],
    ["a trusted.* xattr on the target", (out, _i, plain) => `setfattr -n trusted.dbktarget -v x ${q(path.join(out, plain[4]!))}`, false],
    ["a user.* xattr changed", (out, _i, plain) => `setfattr -n user.note -v changed ${q(path.join(out, plain[0]!))}`, false],
  ];
  tampers.forEach(([what, cmd, needsSecurity], n) => {
    it(`a real difference is still caught: ${what}`, { skip: needsSecurity && !withSecurity ? "security.* xattrs unsupported here" : false }, async () => {
      const seed = 10 + n;
      const { mirror, items, plain } = buildMirror(root, seed, withSecurity);
      const out = path.join(root, `tamper-${seed}`);
      const r = await restore(mirror, out, [], cmd(out, items, plain));
      assert.notEqual(r.code, 0, `restore passed with ${what}:\n${r.stdout}`);
      assert.match(r.stdout, /^tree (code|documents): DIFFERS \(\d+ difference/m, r.stdout);
      assert.match(r.stderr, /not identical/);
    });
  });
});

function lstatExists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

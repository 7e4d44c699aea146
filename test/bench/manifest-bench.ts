// Bench: the cost of the received-hash manifest (issue 21) that dolibarr-replicate updates after
// each accepted run (dbk_manifest_update of scripts/server/dolibarr-backup-common.sh), and of the
// drill's check of a copy against it (dbk_manifest_check with the default sample). On a
// Dolibarr-like mirror of ~20,000 files (code, documents, dumps), then the same with 1 GiB of large
// documents added:
//   - first run: no manifest yet (a new mirror, or one older than the manifest), every file hashed;
//   - steady run: ~1% of the documents changed (rewritten, added, removed) since the last run,
//     only those hashed, every other entry kept (what the run's itemize log and trash name, read
//     with the old manifest; the new one written: no tree walk);
//   - the drill's check: 1% sample (at least 20) plus every file changed since the last drill.
// The page cache is warm (the tree was just written): a first run on a cold disk also pays its read.
// Prints the numbers; asserts nothing. Needs root (the fixture's owners).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createDolibarrTree, touchDocuments } from "../support/dolibarr-fixture";
import { mustRun } from "../support/jobs-exec";
import { serverScriptPath } from "../../infra/render/repo";

const COMMON = serverScriptPath("dolibarr-backup-common.sh");

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** size and mtime of every regular file of the mirror's trees, by mirror-relative path (bytes as latin1). */
async function stats(mirror: string): Promise<Map<string, string>> {
  const r = await mustRun("bash", ["-c", 'cd "$1" && find code documents dumps -type f -printf "%s %T@ %p\\0"', "x", mirror], {});
  const out = new Map<string, string>();
  for (const rec of Buffer.from(r.stdout, "utf8").toString("latin1").split("\0").filter(Boolean)) {
    const i = rec.indexOf(" ", rec.indexOf(" ") + 1);
    out.set(rec.slice(i + 1), rec.slice(0, i));
  }
  return out;
}

async function timed(script: string, args: string[]): Promise<{ ms: number; stdout: string }> {
  const t0 = process.hrtime.bigint();
  const r = await mustRun("bash", ["-c", `set -euo pipefail; source "$0"; ${script}`, COMMON, ...args]);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, stdout: r.stdout };
}

const field = (out: string, key: string): number => Number(new RegExp(`^${key}\\t(\\d+)$`, "m").exec(out)?.[1] ?? NaN);

export interface ManifestBenchRow {
  tree: string;
  files: number;
  mb: number;
  firstRunMs: number;
  steadyRunMs: number;
  steadyHashed: number;
  drillCheckMs: number;
  drillHashed: number;
}

async function benchTree(label: string, base: string, opts: { bigFiles: number }, rounds: number): Promise<ManifestBenchRow> {
  const mirror = path.join(base, "mirror");
  const tree = createDolibarrTree(mirror, { documents: 18_000, codeFiles: 2_000, bigFiles: opts.bigFiles, bigFileMb: 128, seed: 7 });
  fs.renameSync(tree.codeRoot, path.join(mirror, "code"));
  fs.mkdirSync(path.join(mirror, "dumps"));
  for (let i = 0; i < 14; i++) fs.writeFileSync(path.join(mirror, "dumps", `dolibarr_bench-202612${String(1 + (i >> 1)).padStart(2, "0")}T${i % 2 ? "12" : "00"}0000Z.sql.zst`), Buffer.alloc(2 << 20, i + 1));
  // the first run: no manifest yet, the trees walked
  const none = path.join(base, "listed-first");
  fs.writeFileSync(none, "");
  const out = path.join(base, "new.sha256");
  const manifest = path.join(mirror, ".sha256");
  const du = await mustRun("du", ["-sb", "--apparent-size", mirror]);
  const mb = Number(du.stdout.split(/\s+/)[0]) / 1048576;

  const first: number[] = [];
  let files = 0;
  for (let i = 0; i < 3; i++) {
    fs.rmSync(manifest, { force: true });
    const r = await timed('dbk_manifest_update "$1" "$2" "$3"', [mirror, none, out]);
    first.push(r.ms);
    files = field(r.stdout, "files");
    fs.renameSync(out, manifest);
  }
  const drilled = path.join(base, "drilled.sha256");
  fs.copyFileSync(manifest, drilled);

  const steady: number[] = [];
  const hashed: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = await stats(mirror);
    touchDocuments(path.join(mirror, "documents"), 0.01, 100 + round);
    const after = await stats(mirror);
    // what a run tells the update (itemized_names manifest, then its trash): R for the files written, T for those replaced or deleted
    const rec = (k: string, p: string): Buffer => Buffer.concat([Buffer.from(`${k} `), Buffer.from(p, "latin1"), Buffer.from([0])]);
    const listed = [
      ...[...after].filter(([p, st]) => before.get(p) !== st).map(([p]) => rec("R", p)),
      ...[...before].filter(([p, st]) => after.get(p) !== st).map(([p]) => rec("T", p)),
    ];
    const recv = path.join(base, "listed");
    fs.writeFileSync(recv, Buffer.concat(listed));
    const r = await timed('dbk_manifest_update "$1" "$2" "$3"', [mirror, recv, out]);
    steady.push(r.ms);
    hashed.push(field(r.stdout, "hashed"));
    fs.renameSync(out, manifest);
  }
  // the drill: the newest manifest against the mirror's own trees (as its restored copy), the last drill's copy from before the rounds
  const drill: number[] = [];
  let drillHashed = 0;
  for (let i = 0; i < 3; i++) {
    const r = await timed('dbk_manifest_check "$@"', ["--previous", drilled, manifest, `code=${mirror}/code`, `documents=${mirror}/documents`]);
    drill.push(r.ms);
    drillHashed = field(r.stdout, "hashed");
  }
  const row: ManifestBenchRow = { tree: label, files, mb, firstRunMs: median(first), steadyRunMs: median(steady), steadyHashed: median(hashed), drillCheckMs: median(drill), drillHashed };
  console.log(`${label}: ${files} files, ${mb.toFixed(0)} MB`);
  console.log(`  first run (every file hashed): ms [${first.map((x) => x.toFixed(0)).join(", ")}]  median ${row.firstRunMs.toFixed(0)} ms, ${(mb / (row.firstRunMs / 1000)).toFixed(0)} MB/s`);
  console.log(`  steady run (~1% of the documents changed, ${hashed.join("/")} files hashed): ms [${steady.map((x) => x.toFixed(0)).join(", ")}]  median ${row.steadyRunMs.toFixed(0)} ms`);
  console.log(`  drill check (1% sample, at least 20, + ${rounds} rounds of changes since the last drill: ${drillHashed} files hashed): median ${row.drillCheckMs.toFixed(0)} ms`);
  return row;
}

export async function runManifestBench(opts: { rounds?: number; big?: boolean } = {}): Promise<ManifestBenchRow[] | undefined> {
  if (process.getuid?.() !== 0) {
    console.log("manifest bench skipped: needs root (the fixture's owners)");
    return undefined;
  }
  const rounds = opts.rounds ?? 5;
  const rows: ManifestBenchRow[] = [];
  for (const [label, bigFiles] of [
    ["~20,000 files", 0],
    ["~20,000 files + 1 GiB of large documents (8 x 128 MiB)", 8],
  ] as const) {
    if (bigFiles > 0 && opts.big === false) continue;
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-manifest-bench-"));
    try {
      rows.push(await benchTree(label, base, { bigFiles }, rounds));
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  }
  console.log(`openssl ${(await mustRun("bash", ["-c", "command -v openssl >/dev/null && echo present || echo absent"])).stdout.trim()} (files of 1 MiB and more go through it); ${os.cpus().length} CPU(s), ${os.cpus()[0]?.model ?? "?"}`);
  return rows;
}

if (require.main === module) {
  runManifestBench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

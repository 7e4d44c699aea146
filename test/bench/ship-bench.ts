// Bench: the cost of shipping binlogs (issue 20: CPU and bytes per MB of binlog against a bare
// `rsync` of the same files, target ≤ 1.10). A one-machine lab (test/support/jobs-lab.ts): the
// hosting server's MariaDB started with the fleet's binlog drop-in (startBinlogSource, 16 MiB
// files), its binlog directory exported read-only through rrsync behind a private sshd on
// 127.0.0.1, the backup server's rendered pull config. Two cases, each in alternating pairs
// (test/bench/method.ts):
//   full:        ~80 MB of binlog in several files, fetched from nothing (mirror and work state removed before each pair);
//   incremental: the steady state: ~2 MB written ahead of each pair (a minute's writes), then both
//                fetch it; then ~14 MB ahead of each pair (a busy minute: a 16 MiB file closed at
//                almost every pull, so its SHA-256 too).
//   A: dolibarr-binlog-pull (the real script: index, listing and fetch in one rsync call, SHA256SUMS, chain check, status);
//   B: rsync -a of the same directory over the same SSH path (same key, same rrsync), into its own copy.
// Measured per run: CPU time of both ends (cpuacct cgroups: one the command joins before it execs,
// one holding the lab's sshd, whose per-connection children, rrsync and the sending rsync inherit
// it; MariaDB is in neither), wall time, and the bytes of the SSH connections (ssh's own
// "Transferred: sent N, received M bytes", through a wrapper first in PATH that only adds
// -o LogLevel=VERBOSE -E LOG and execs the real ssh). Printed per MB of binlog, and the ratios;
// asserts nothing but that both copies equal the source.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { serverScriptPath } from "../../infra/render/repo";
import { startBinlogSource } from "../support/binlog-mariadb";
import { mustRun, run } from "../support/jobs-exec";
import { JobsLab, labUnavailable } from "../support/jobs-lab";
import { benchSession, closeBenchSession, compareAB, type Comparison, removeCgroup } from "./method";

const HOSTING = "itest-hosting";
const MB = 1048576;

/** A cpuacct cgroup (v1) or a cgroup v2 directory: its CPU time so far, ms. */
interface CpuGroup {
  dir: string;
  cpuMs(): number;
  remove(): void;
}

function cgroupRoot(): { root: string; read: (dir: string) => number } | undefined {
  const v1 = "/sys/fs/cgroup/cpuacct";
  if (fs.existsSync(path.join(v1, "cpuacct.usage"))) return { root: v1, read: (d) => Number(fs.readFileSync(path.join(d, "cpuacct.usage"), "utf8").trim()) / 1e6 };
  const v2 = "/sys/fs/cgroup";
  if (fs.existsSync(path.join(v2, "cgroup.controllers")))
    return { root: v2, read: (d) => Number(/^usage_usec (\d+)$/m.exec(fs.readFileSync(path.join(d, "cpu.stat"), "utf8"))![1]) / 1e3 };
  return undefined;
}

function cpuGroup(name: string): CpuGroup | undefined {
  const cg = cgroupRoot();
  if (!cg) return undefined;
  // Inside the bench session's cgroup when there is one (its totals then include these).
  const session = path.join(cg.root, `dbk-bench-${process.pid}`);
  const dir = path.join(fs.existsSync(session) ? session : cg.root, `${name}-${process.pid}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    cg.read(dir);
  } catch {
    return undefined;
  }
  return {
    dir,
    cpuMs: () => cg.read(dir),
    remove: () => removeCgroup(dir),
  };
}

/** Sum of "Transferred: sent N, received M bytes" of every ssh run that logged to `log`; the log is emptied. */
function takeSshBytes(log: string): number {
  const text = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
  fs.writeFileSync(log, "");
  let n = 0;
  for (const m of text.matchAll(/Transferred: sent (\d+), received (\d+) bytes/g)) n += Number(m[1]) + Number(m[2]);
  return n;
}

function dirBytes(dir: string, re = /^binlog\.\d{6}$/): number {
  return fs.readdirSync(dir).filter((f) => re.test(f)).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

/** Every binlog file of `src` is in `copy`, byte for byte. */
function assertSameFiles(src: string, copy: string, what: string): void {
  for (const f of fs.readdirSync(src).filter((x) => /^binlog\.\d{6}$/.test(x))) {
    const a = fs.readFileSync(path.join(src, f));
    const c = path.join(copy, f);
    if (!fs.existsSync(c) || !a.equals(fs.readFileSync(c))) throw new Error(`${what}: ${f} differs from the source`);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface ShipCaseResult {
  mbPerPair: number;
  pull: { cpuMsPerMb: number; bytesPerMb: number; wallMsPerMb: number };
  bare: { cpuMsPerMb: number; bytesPerMb: number; wallMsPerMb: number };
  cpuRatio: number;
  bytesRatio: number;
  wallRatio: number;
}

export async function runShipBench(opts: { fullMb?: number; appendMb?: number; fullPairs?: number; appendPairs?: number; busyMb?: number; busyPairs?: number } = {}): Promise<Record<string, ShipCaseResult> | undefined> {
  const why = labUnavailable();
  if (why) {
    console.log(`ship bench skipped: ${why}`);
    return undefined;
  }
  benchSession();
  const client = cpuGroup("dbk-ship-client");
  const server = cpuGroup("dbk-ship-sshd");
  if (!client || !server) console.log("CPU of the two ends not accounted: no cgroup (cpuacct v1 or v2) to create");
  const binlogDir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-ship-bench-src-"));
  fs.chmodSync(binlogDir, 0o750);
  const lab = await JobsLab.create({ binlogDir, startDb: (dir) => startBinlogSource(dir, binlogDir, { maxFileMB: 16 }) });
  const results: Record<string, ShipCaseResult> = {};
  try {
    if (server) {
      // The sshd daemon into its cgroup: every connection's child (and rrsync, rsync) inherits it.
      const pid = fs.readFileSync(path.join(lab.root, "sshd", "sshd.pid"), "utf8").trim();
      fs.writeFileSync(path.join(server.dir, "cgroup.procs"), pid);
    }
    const mirrorDir = path.join(lab.mirrorRoot, ".binlogs", HOSTING);
    const workDir = path.join(lab.mirrorRoot, ".binlogs", ".work", HOSTING);
    const bareDir = path.join(lab.root, "backup", "bare-rsync");
    // ssh wrapper: the real ssh, logging its byte counts (both sides use it)
    const wrapDir = path.join(lab.root, "backup", "ssh-wrap");
    const sshLog = path.join(lab.root, "backup", "ssh-bytes.log");
    fs.mkdirSync(wrapDir, { recursive: true });
    const realSsh = (await mustRun("bash", ["-c", "command -v ssh"])).stdout.trim();
    fs.writeFileSync(path.join(wrapDir, "ssh"), `#!/bin/sh\nexec ${realSsh} -o LogLevel=VERBOSE -E ${sshLog} "$@"\n`, { mode: 0o755 });
    const env = { ...lab.backup.env, PATH: `${wrapDir}:${process.env.PATH}`, DBK_NOTIFY_NO_KICK: "1" };
    // Joins the client cgroup, then execs the command.
    const inGroup = (cmd: string, args: string[]) =>
      client ? (["bash", ["-c", `echo $$ >${client.dir}/cgroup.procs && exec "$@"`, "x", cmd, ...args]] as const) : ([cmd, args] as const);
    const measured = async (cmd: string, args: string[]): Promise<Record<string, number>> => {
      takeSshBytes(sshLog);
      const c0 = client?.cpuMs() ?? 0;
      const s0 = server?.cpuMs() ?? 0;
      const [c, a] = inGroup(cmd, args);
      await mustRun(c, a, { env });
      // sshd's session child ends just after the client: wait for its CPU to settle.
      for (let i = 0; i < 20 && (await run("pgrep", ["-f", `sshd: ${lab.user}`])).code === 0; i++) await new Promise((r) => setTimeout(r, 25));
      const out: Record<string, number> = { bytes: takeSshBytes(sshLog) };
      if (client && server) {
        out.cpuClientMs = client.cpuMs() - c0;
        out.cpuServerMs = server.cpuMs() - s0;
        out.cpuMs = out.cpuClientMs + out.cpuServerMs;
      }
      return out;
    };
    const pull = () => measured(serverScriptPath("dolibarr-binlog-pull"), [HOSTING]);
    const ssh = `ssh -F none -i ${lab.backupKey} -p ${lab.sshd.port} -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=${path.join(lab.backup.etc, "ssh", "known_hosts")} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes`;
    const bare = () => measured("rsync", ["-a", "-e", ssh, `${lab.user}@127.0.0.1:.binlog/`, `${bareDir}/`]);

    await lab.addInstance("shop", { tree: { documents: 5 }, database: false });
    const q = (sql: string) => lab.db.query(sql);
    await q(`CREATE DATABASE dolibarr_shop; CREATE TABLE dolibarr_shop.llx_facture (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30), total DECIMAL(24,8), note TEXT) ENGINE=InnoDB`);
    // ~1.1 KB of row image per row (ROW, FULL), in transactions of 2,000 rows (a batch import) and small ones
    let seq = 0;
    const write = async (mb: number) => {
      const rows = Math.max(1, Math.round((mb * MB) / 1100));
      for (let done = 0; done < rows; ) {
        const n = Math.min(2000, rows - done);
        await q(`INSERT INTO dolibarr_shop.llx_facture (ref, total, note) SELECT CONCAT('F', ${seq} + seq), seq * 1.25, REPEAT(MD5(${seq} + seq), 30) FROM dolibarr_shop.seq_1_to_${n};
          UPDATE dolibarr_shop.llx_facture SET total = total + 1 WHERE rowid = ${1 + (seq % 50)};`);
        done += n;
        seq += n;
      }
    };
    const fullMb = opts.fullMb ?? 80;
    const t0 = Date.now();
    const size0 = dirBytes(binlogDir);
    await write(fullMb);
    const fullBytes = dirBytes(binlogDir);
    const files = fs.readdirSync(binlogDir).filter((f) => /^binlog\.\d{6}$/.test(f)).length;
    console.log(`binlogs: ${(fullBytes / MB).toFixed(1)} MB in ${files} files of at most 16 MiB (written in ${((Date.now() - t0) / 1000).toFixed(0)} s; ${((fullBytes - size0) / MB).toFixed(1)} MB by the load)`);
    const reset = () => {
      for (const d of [mirrorDir, workDir, bareDir]) fs.rmSync(d, { recursive: true, force: true });
      fs.mkdirSync(bareDir, { recursive: true });
    };

    const report = (name: string, c: Comparison, mbOf: (k: number) => number): ShipCaseResult => {
      const mbs = c.pairs.map((_, k) => mbOf(k));
      const per = (side: "a" | "b", key: string) => median(c.pairs.map((p, k) => (side === "a" ? p.aCounters : p.bCounters)[key]! / mbs[k]!));
      const wall = (side: "a" | "b") => median(c.pairs.map((p, k) => (side === "a" ? p.aMs : p.bMs) / mbs[k]!));
      const r: ShipCaseResult = {
        mbPerPair: median(mbs),
        pull: { cpuMsPerMb: client ? per("a", "cpuMs") : NaN, bytesPerMb: per("a", "bytes"), wallMsPerMb: wall("a") },
        bare: { cpuMsPerMb: client ? per("b", "cpuMs") : NaN, bytesPerMb: per("b", "bytes"), wallMsPerMb: wall("b") },
        cpuRatio: c.counters.cpuMs?.median ?? NaN,
        bytesRatio: c.counters.bytes!.median,
        wallRatio: c.wall.median,
      };
      const side = (label: string, s: "a" | "b", v: ShipCaseResult["pull"]) =>
        `  ${label}: CPU ${v.cpuMsPerMb.toFixed(1)} ms/MB (this side ${client ? per(s, "cpuClientMs").toFixed(1) : "?"}, sshd side ${server ? per(s, "cpuServerMs").toFixed(1) : "?"}), ${Math.round(v.bytesPerMb)} bytes/MB on the wire, wall ${v.wallMsPerMb.toFixed(1)} ms/MB`;
      console.log(`${name} (${r.mbPerPair.toFixed(2)} MB of binlog per run, medians per MB):`);
      console.log(side("A dolibarr-binlog-pull", "a", r.pull));
      console.log(side("B bare rsync -a      ", "b", r.bare));
      if (client) console.log(`  per run: CPU ${median(c.pairs.map((p) => p.aCounters.cpuMs!)).toFixed(0)} ms against ${median(c.pairs.map((p) => p.bCounters.cpuMs!)).toFixed(0)} ms, wall ${median(c.pairs.map((p) => p.aMs)).toFixed(0)} ms against ${median(c.pairs.map((p) => p.bMs)).toFixed(0)} ms`);
      console.log(`  ratios A/B (median of the pairs): CPU ${r.cpuRatio.toFixed(3)}, bytes ${r.bytesRatio.toFixed(3)}, wall ${r.wallRatio.toFixed(3)} (target ≤ 1.10)`);
      return r;
    };

    // --- full: from nothing ---
    const full = await compareAB({
      title: `first full fetch of ${(fullBytes / MB).toFixed(0)} MB`,
      a: { name: "dolibarr-binlog-pull", run: pull },
      b: { name: "bare rsync -a", run: bare },
      before: reset,
      after: () => {
        if (fs.existsSync(mirrorDir)) assertSameFiles(binlogDir, mirrorDir, "pull");
      },
      warmup: 1,
      rounds: opts.fullPairs ?? 5,
      maxRounds: opts.fullPairs ?? 5,
      counterTargets: { cpuMs: 1.1, bytes: 1.1 },
    });
    assertSameFiles(binlogDir, bareDir, "bare rsync");
    results.full = report("first full fetch", full, () => fullBytes / MB);

    // --- incremental: write, pull, write, pull (the mirror and the copy kept from the last pairs) ---
    const incremental = async (key: string, appendMb: number, pairs: number) => {
      const grown: number[] = [];
      let last = dirBytes(binlogDir);
      const filesBefore = fs.readdirSync(binlogDir).filter((f) => /^binlog\.\d{6}$/.test(f)).length;
      const inc = await compareAB({
        title: `incremental: ${appendMb} MB written ahead of each pair`,
        a: { name: "dolibarr-binlog-pull", run: pull },
        b: { name: "bare rsync -a", run: bare },
        before: async () => {
          await write(appendMb);
          const now = dirBytes(binlogDir);
          grown.push((now - last) / MB);
          last = now;
        },
        warmup: 1,
        rounds: pairs,
        maxRounds: pairs,
        counterTargets: { cpuMs: 1.1, bytes: 1.1 },
      });
      const rotations = fs.readdirSync(binlogDir).filter((f) => /^binlog\.\d{6}$/.test(f)).length - filesBefore;
      assertSameFiles(binlogDir, mirrorDir, "pull");
      assertSameFiles(binlogDir, bareDir, "bare rsync");
      // grown[0] is the warm-up pair's
      results[key] = report(`${key} (${rotations} rotation(s) during the pairs)`, inc, (k) => grown[k + 1]!);
    };
    // a minute of an ordinary server, then a busy one (a rotation at almost every pull: its SHA-256 too)
    await incremental("incremental", opts.appendMb ?? 2, opts.appendPairs ?? 9);
    await incremental("incremental, busy", opts.busyMb ?? 14, opts.busyPairs ?? 5);
    const status = JSON.parse(fs.readFileSync(path.join(lab.backup.varLib, "status", `binlog-${HOSTING}.json`), "utf8")) as { ok: boolean; problems: string[] };
    if (!status.ok) throw new Error(`the pull's chain is not ok: ${status.problems.join("; ")}`);
    return results;
  } finally {
    await lab.close();
    if (!process.env.DBK_KEEP_LAB) fs.rmSync(binlogDir, { recursive: true, force: true });
    client?.remove();
    server?.remove();
  }
}

if (require.main === module) {
  runShipBench()
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    })
    .finally(closeBenchSession);
}

// Bench: the RTO a drill measures against a bare restore of the same data (issue 21). On a lab
// backup host (needs `bash scripts/lab/lab.sh up`; run it under the lab lock): an instance of about
// 1 GB of documents and 200 MB of database, restored by the real dolibarr-drill (private MariaDB,
// dolibarr-restore with its exact checks, PHP-FPM, nginx, the front page) and by the bare tools
// (`zstd -dc | mariadb` into the running MariaDB, `cp -a` of code and documents), page cache dropped
// before each; the ratio of the medians (target ≤ 1.2). Prints numbers; asserts nothing.
import * as fs from "node:fs";
import * as path from "node:path";
import { labEnv, labHost, labHosts, ssh, sshOk } from "../../scripts/lab/driver";

export interface DrillBenchResult {
  drillMs: number[];
  bareMs: number[];
  ratio: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const BENCH = "/srv/dbk-drill-bench";

export function runDrillBench(opts: { documentsMb?: number; databaseMb?: number; rounds?: number; host?: string } = {}): DrillBenchResult | undefined {
  const env = labEnv();
  const name = opts.host ?? "lab-backup-ovh-gra";
  if (!fs.existsSync(path.join(env.labDir, "hosts.json")) || !labHosts(env).some((h) => h.name === name)) {
    console.log(`drill bench skipped: no lab host ${name} (bash scripts/lab/lab.sh up)`);
    return undefined;
  }
  const host = labHost(env, name);
  const repo = env.repo;
  const put = (file: string, target: string, mode = "0755") => sshOk(env, host, `install -D -m ${mode} /dev/stdin ${target}`, { input: fs.readFileSync(file, "utf8") });
  for (const s of ["dolibarr-drill", "dolibarr-restore", "dolibarr-backup-common.sh", "dolibarr-binlog-replay"]) put(path.join(repo, "scripts/server", s), `${BENCH}/bin/${s}`);
  put(path.join(repo, "scripts/lab/seed-instance.sh"), `${BENCH}/seed-instance.sh`);
  put(path.join(repo, "test/bench/drill-bench.sh"), `${BENCH}/drill-bench.sh`);
  try {
    const prep = sshOk(env, host, `bash ${BENCH}/drill-bench.sh prepare ${opts.documentsMb ?? 1024} ${opts.databaseMb ?? 200}`);
    console.log(`instance on ${name}: ${prep.trim().split("\n").join(", ")}`);
    const res: DrillBenchResult = { drillMs: [], bareMs: [], ratio: 0 };
    for (let round = 0; round < (opts.rounds ?? 3); round++) {
      const r = ssh(env, host, `bash ${BENCH}/drill-bench.sh round`);
      if (r.status !== 0) throw new Error(`drill bench round ${round} failed:\n${r.stdout}\n${r.stderr.slice(-3000)}`);
      const num = (k: string) => Number(r.stdout.match(new RegExp(`^${k} (\\d+)$`, "m"))?.[1]);
      res.drillMs.push(num("drill"));
      res.bareMs.push(num("bare"));
      console.log(`round ${round}: drill ${num("drill")} ms (${r.stdout.match(/^phases (.*)$/m)?.[1] ?? "no phases"}), bare restore ${num("bare")} ms`);
    }
    res.ratio = median(res.drillMs) / median(res.bareMs);
    console.log(`drill RTO median ${(median(res.drillMs) / 1000).toFixed(1)} s, bare restore median ${(median(res.bareMs) / 1000).toFixed(1)} s: ratio ${res.ratio.toFixed(2)} (target ≤ 1.2)`);
    return res;
  } finally {
    ssh(env, host, `bash ${BENCH}/drill-bench.sh clean`);
  }
}

if (require.main === module) runDrillBench();

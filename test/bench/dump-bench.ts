// Bench: the dump wrapper (scripts/server/dolibarr-dump: lock, zstd --rsyncable, full
// decompression check of the "-- Dump completed" marker, fsync, rename, retention, status)
// against a bare `mariadb-dump … | zstd > file` of the same database of >= 200 MB.
// Prints wall times; asserts nothing.
import * as fs from "node:fs";
import * as path from "node:path";
import { growDatabase } from "../support/dolibarr-fixture";
import { mustRun } from "../support/jobs-exec";
import { JobsLab, labUnavailable } from "../support/jobs-lab";

export interface DumpBenchResult {
  dataMb: number;
  dumpMb: number;
  wrapperMs: number[];
  bareMs: number[];
  timeRatio: number;
  /** The wrapper with DUMP_ZSTD_LEVEL=1, for comparison. */
  level1Ms: number[];
  level1Ratio: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function runDumpBench(opts: { mb?: number; rounds?: number } = {}): Promise<DumpBenchResult | undefined> {
  const why = labUnavailable();
  if (why) {
    console.log(`dump bench skipped: ${why}`);
    return undefined;
  }
  const rounds = opts.rounds ?? 3;
  const lab = await JobsLab.create({ bufferPoolMb: 1024 });
  try {
    const li = await lab.addInstance("dumpbench", { tree: { documents: 10, codeFiles: 10 }, database: { societes: 100, invoices: 100, blobs: 10 } });
    await growDatabase(lab.db, li.dbName, opts.mb ?? 220);
    const dataMb =
      Number(await lab.db.query(`ANALYZE TABLE llx_bench_blob; SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA='${li.dbName}'`, li.dbName).then((o) => o.trim().split("\n").pop())) / 1048576;
    const bareFile = path.join(lab.root, "bare-dump.sql.zst");
    const bare = (): Promise<unknown> =>
      mustRun("bash", [
        "-euo",
        "pipefail",
        "-c",
        `mariadb-dump --defaults-extra-file='${lab.db.optionFile}' --single-transaction --quick --routines --triggers --events --hex-blob --default-character-set=utf8mb4 --no-tablespaces '${li.dbName}' | zstd -q -c > '${bareFile}'`,
      ]);
    const wrapper = (): Promise<unknown> => mustRun(lab.script("dolibarr-dump"), ["dumpbench"], { env: lab.hosting.env });
    const level1 = (): Promise<unknown> => mustRun(lab.script("dolibarr-dump"), ["dumpbench"], { env: { ...lab.hosting.env, DUMP_ZSTD_LEVEL: "1" } });
    await bare(); // warm the buffer pool
    const res: DumpBenchResult = { dataMb, dumpMb: 0, wrapperMs: [], bareMs: [], timeRatio: 0, level1Ms: [], level1Ratio: 0 };
    for (let round = 0; round < rounds; round++) {
      const runs: Array<[number[], () => Promise<unknown>]> = [
        [res.wrapperMs, wrapper],
        [res.bareMs, bare],
        [res.level1Ms, level1],
      ];
      if (round % 2) runs.reverse();
      for (const [into, fn] of runs) {
        const t0 = process.hrtime.bigint();
        await fn();
        into.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await new Promise((r) => setTimeout(r, 1100)); // distinct dump stamps
      }
    }
    const dumps = lab.dumps("dumpbench");
    res.dumpMb = fs.statSync(path.join(li.dumpDir, dumps[dumps.length - 1]!)).size / 1048576;
    res.timeRatio = median(res.wrapperMs) / median(res.bareMs);
    res.level1Ratio = median(res.level1Ms) / median(res.bareMs);
    const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(", ");
    console.log(`database: ${dataMb.toFixed(0)} MB of InnoDB data and indexes; compressed dump ${res.dumpMb.toFixed(0)} MB`);
    console.log(`wall time ms   wrapper [${fmt(res.wrapperMs)}]  bare mariadb-dump | zstd [${fmt(res.bareMs)}]  median ratio ${res.timeRatio.toFixed(3)} (target <= 1.10)`);
    console.log(`               wrapper with DUMP_ZSTD_LEVEL=1 [${fmt(res.level1Ms)}]  median ratio ${res.level1Ratio.toFixed(3)}`);
    return res;
  } finally {
    await lab.close();
  }
}

if (require.main === module) {
  runDumpBench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

// Bench: the RTO figure. dolibarr-restore of a whole instance (database from its newest dump,
// documents and code with owners and modes) from a complete mirror, into a fresh database and fresh
// directories on the same machine (real MariaDB on a unix socket, real rsync): seconds per GB of
// mirror and per GB of database data. A failover pushes the same bytes over SSH to another host:
// add the network's transfer time. Prints numbers; asserts only that the restore's checks passed.
import { growDatabase } from "../support/dolibarr-fixture";
import { mustRun } from "../support/jobs-exec";
import { JobsLab, labUnavailable } from "../support/jobs-lab";

export interface RestoreBenchResult {
  mirrorMb: number;
  databaseMb: number;
  restoreMs: number[];
  secondsPerGbMirror: number;
  secondsPerGbDatabase: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function runRestoreBench(opts: { mb?: number; documents?: number; rounds?: number } = {}): Promise<RestoreBenchResult | undefined> {
  const why = labUnavailable();
  if (why) {
    console.log(`restore bench skipped: ${why}`);
    return undefined;
  }
  const rounds = opts.rounds ?? 2;
  const lab = await JobsLab.create({ bufferPoolMb: 1024 });
  try {
    const li = await lab.addInstance("rtobench", { tree: { documents: opts.documents ?? 3000, codeFiles: 400, bigFiles: 4, bigFileMb: 16 }, database: { societes: 500, invoices: 2000, blobs: 50 } });
    await growDatabase(lab.db, li.dbName, opts.mb ?? 200);
    const databaseMb =
      Number((await lab.db.query(`ANALYZE TABLE llx_bench_blob; SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA='${li.dbName}'`, li.dbName)).trim().split("\n").pop()) / 1048576;
    await mustRun(lab.script("dolibarr-dump"), ["rtobench"], { env: lab.hosting.env });
    await mustRun(lab.script("dolibarr-replicate"), ["rtobench"], { env: lab.backup.env });
    const du = await mustRun("du", ["-sbx", li.mirror]);
    const mirrorMb = Number(du.stdout.split(/\s+/)[0]) / 1048576;
    const res: RestoreBenchResult = { mirrorMb, databaseMb, restoreMs: [], secondsPerGbMirror: 0, secondsPerGbDatabase: 0 };
    for (let round = 0; round < rounds; round++) {
      const target = `${lab.root}/restore-${round}`;
      const t0 = process.hrtime.bigint();
      const r = await lab.restore(["--code-dir", `${target}/htdocs`, "--documents-dir", `${target}/documents`, "--database", `rto_${round}`, "rtobench"]);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.code !== 0) throw new Error(`restore failed:\n${r.stderr.slice(-3000)}`);
      res.restoreMs.push(ms);
      await lab.db.query(`DROP DATABASE rto_${round}`);
      await mustRun("rm", ["-rf", target]);
    }
    const s = median(res.restoreMs) / 1000;
    res.secondsPerGbMirror = s / (mirrorMb / 1024);
    res.secondsPerGbDatabase = s / (databaseMb / 1024);
    console.log(`instance: mirror ${mirrorMb.toFixed(0)} MB (code, documents, dumps), database ${databaseMb.toFixed(0)} MB of InnoDB data and indexes`);
    console.log(`restore wall time ms [${res.restoreMs.map((x) => x.toFixed(0)).join(", ")}]  median ${s.toFixed(1)} s`);
    console.log(`RTO on this machine: ${res.secondsPerGbMirror.toFixed(0)} s per GB of mirror, ${res.secondsPerGbDatabase.toFixed(0)} s per GB of database (local; add the transfer to the new host)`);
    return res;
  } finally {
    await lab.close();
  }
}

if (require.main === module) {
  runRestoreBench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

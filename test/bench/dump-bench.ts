// Bench: the dump wrapper (scripts/server/dolibarr-dump with the settings a user gets: lock,
// zstd at the default level, the frames of the written file checked complete (DUMP_VERIFY=frames),
// fsync, rename, retention, status) against the bare tools doing the same work:
// `mariadb-dump --single-transaction … | zstd` at the same level, on a database of >= 250 MB.
// Then what DUMP_VERIFY=full (the stream decompressed by `zstd -t` while it is written) costs
// against the same bare tools.
// Method: test/bench/method.ts (ABAB pairs, per-pair ratios, load, reliability).
//
// Then what `--rsyncable` costs (compression alone, same method) and the bytes a backup server pulls for a day-old dump of the same database with 1% of its
// rows changed, with and without `--rsyncable`, given the previous dump as rsync's basis
// (--fuzzy) or not (what a plain mirror does with a file of a new name): the numbers that decide
// whether `--rsyncable` pays for its compression cost.
// Prints numbers; asserts nothing.
import * as fs from "node:fs";
import * as path from "node:path";
import { growDatabase } from "../support/dolibarr-fixture";
import { mustRun } from "../support/jobs-exec";
import { JobsLab, labUnavailable } from "../support/jobs-lab";
import { benchSession, closeBenchSession, type Comparison, compareAB } from "./method";

export interface RsyncableCase {
  pattern: string;
  /** Size of the new dump, bytes, without / with --rsyncable. */
  size: { plain: number; rsyncable: number };
  /** Bytes on the wire to pull the new dump given the old one as basis (rsync --fuzzy). */
  pulledWithBasis: { plain: number; rsyncable: number };
}

export interface DumpBenchResult {
  dataMb: number;
  dumpMb: number;
  level: number;
  comparison: Comparison;
  /** The wrapper with DUMP_VERIFY=full against the same bare tools. */
  fullVerification: Comparison;
  rsyncable: RsyncableCase[];
  rsyncableCost: Comparison;
}

/** The compression level the rendered config leaves to the script's default. */
const DEFAULT_LEVEL = 3;

const DUMP_OPTS = "--single-transaction --quick --routines --triggers --events --hex-blob --default-character-set=utf8mb4 --no-tablespaces";

async function sh(script: string): Promise<string> {
  return (await mustRun("bash", ["-euo", "pipefail", "-c", script])).stdout;
}

/** Bytes rsync moves between sender and receiver to bring `file` into `destDir` (delta transfer). */
async function pulledBytes(file: string, destDir: string): Promise<number> {
  const out = await sh(`rsync --no-whole-file --fuzzy --stats '${file}' '${destDir}/'`);
  const n = (re: RegExp): number => Number((re.exec(out)?.[1] ?? "NaN").replace(/[,.]/g, ""));
  return n(/Total bytes sent: ([\d,.]+)/) + n(/Total bytes received: ([\d,.]+)/);
}

export async function runDumpBench(opts: { mb?: number; rounds?: number; maxRounds?: number } = {}): Promise<DumpBenchResult | undefined> {
  const why = labUnavailable();
  if (why) {
    console.log(`dump bench skipped: ${why}`);
    return undefined;
  }
  benchSession();
  const lab = await JobsLab.create({ bufferPoolMb: 1024 });
  try {
    const li = await lab.addInstance("dumpbench", { tree: { documents: 10, codeFiles: 10 }, database: { societes: 100, invoices: 100, blobs: 10 } });
    const sizeMb = async (): Promise<number> =>
      Number(
        (await lab.db.query(`ANALYZE TABLE llx_bench_blob; SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA='${li.dbName}'`, li.dbName))
          .trim()
          .split("\n")
          .pop(),
      ) / 1048576;
    await growDatabase(lab.db, li.dbName, opts.mb ?? 250);
    const dataMb = await sizeMb();
    const level = DEFAULT_LEVEL;
    const dump = `mariadb-dump --defaults-extra-file='${lab.db.optionFile}' ${DUMP_OPTS} '${li.dbName}'`;
    const bareFile = path.join(lab.root, "bare-dump.sql.zst");
    const clearDumps = (): void => {
      for (const f of fs.readdirSync(li.dumpDir)) fs.rmSync(path.join(li.dumpDir, f), { force: true });
      fs.rmSync(bareFile, { force: true });
    };
    const bare = {
      name: `mariadb-dump --single-transaction … | zstd -${level} > file`,
      run: async () => {
        await sh(`${dump} | zstd -q -${level} -c > '${bareFile}'`);
      },
    };
    // The wrapper as its timer runs it, with whatever the instance's env file says.
    const wrapper = (name: string) => ({
      name,
      run: async () => {
        await mustRun(lab.script("dolibarr-dump"), ["dumpbench"], { env: lab.hosting.env });
      },
    });
    const comparison = await compareAB({
      title: `dump of a ${dataMb.toFixed(0)} MB database`,
      a: wrapper("dolibarr-dump (default settings)"),
      b: bare,
      // Same state for both: no dump left from the previous pair (page cache, disk space).
      before: clearDumps,
      rounds: opts.rounds ?? 7,
      maxRounds: opts.maxRounds ?? 15,
      budgetMs: 90_000,
      target: 1.1,
    });
    // As the fleet key dumpVerification: full pushes it (the instance's env file).
    lab.setDumpVerification("dumpbench", "full");
    const fullVerification = await compareAB({
      title: `the same dump with DUMP_VERIFY=full (zstd -t of the stream while it is written)`,
      a: wrapper("dolibarr-dump, DUMP_VERIFY=full"),
      b: bare,
      before: clearDumps,
      rounds: 7,
      maxRounds: 7,
    });
    lab.setDumpVerification("dumpbench", "frames");
    const dumps = lab.dumps("dumpbench");
    const dumpMb = fs.statSync(path.join(li.dumpDir, dumps[dumps.length - 1]!)).size / 1048576;
    clearDumps();
    console.log(`database: ${dataMb.toFixed(0)} MB of InnoDB data and indexes; compressed dump ${dumpMb.toFixed(1)} MB (zstd -${level})`);

    // --- does --rsyncable pay back? --------------------------------------------------------
    const work = path.join(lab.root, "rsyncable");
    fs.mkdirSync(work, { recursive: true });
    const compress = async (raw: string, tag: string): Promise<{ plain: string; rsyncable: string }> => {
      const plain = path.join(work, `${tag}-plain.sql.zst`);
      const rs = path.join(work, `${tag}-rsyncable.sql.zst`);
      await sh(`zstd -q -${level} -c '${raw}' > '${plain}'; zstd -q -${level} --rsyncable -c '${raw}' > '${rs}'`);
      return { plain, rsyncable: rs };
    };
    const rawOld = path.join(work, "old.sql");
    const rawNew = path.join(work, "new.sql");
    await sh(`${dump} > '${rawOld}'`);
    const old = await compress(rawOld, "old");
    const rsyncableCost = await compareAB({
      title: `compression alone of the ${(fs.statSync(rawOld).size / 1048576).toFixed(0)} MB SQL text (from the page cache)`,
      a: { name: `zstd -${level} --rsyncable`, run: async () => void (await sh(`zstd -q -${level} --rsyncable -c '${rawOld}' >/dev/null`)) },
      b: { name: `zstd -${level} (the wrapper's default)`, run: async () => void (await sh(`zstd -q -${level} -c '${rawOld}' >/dev/null`)) },
      rounds: 7,
      maxRounds: 7,
    });
    const rows = Number((await lab.db.query("SELECT COUNT(*) FROM llx_bench_blob", li.dbName)).trim());
    const onePct = Math.round(rows / 100);
    const patterns: Array<[string, string]> = [
      // A day of an ERP: new rows (invoices, events) and edits of recent ones.
      ["1% of rows new or recent ones edited", `UPDATE llx_bench_blob SET label = CONCAT(label, ' modifié') WHERE id > ${rows - Math.round(onePct / 2)}; INSERT INTO llx_bench_blob SELECT ${rows} + seq, CONCAT('nouvelle ', seq), REPEAT(MD5(seq), 20), RANDOM_BYTES(512) FROM seq_1_to_${Math.round(onePct / 2)};`],
      // The worst case for rsync: edits spread evenly over the whole table.
      ["1% of rows edited, spread over the table", `UPDATE llx_bench_blob SET label = CONCAT(label, ' modifié') WHERE id % 100 = 37;`],
    ];
    const rsyncable: RsyncableCase[] = [];
    for (const [pattern, sql] of patterns) {
      await lab.db.query(sql, li.dbName);
      await sh(`${dump} > '${rawNew}'`);
      const fresh = await compress(rawNew, "new");
      const pulled = { plain: 0, rsyncable: 0 };
      for (const kind of ["plain", "rsyncable"] as const) {
        const dest = path.join(work, `dest-${kind}`);
        fs.rmSync(dest, { recursive: true, force: true });
        fs.mkdirSync(dest);
        // The mirror holds yesterday's dump; today's has another name (its stamp).
        fs.copyFileSync(old[kind], path.join(dest, `db-20250101T000000Z.sql.zst`));
        const today = path.join(work, `db-20250102T000000Z.sql.zst`);
        fs.copyFileSync(fresh[kind], today);
        pulled[kind] = await pulledBytes(today, dest);
      }
      const c: RsyncableCase = { pattern, size: { plain: fs.statSync(fresh.plain).size, rsyncable: fs.statSync(fresh.rsyncable).size }, pulledWithBasis: pulled };
      rsyncable.push(c);
      const mb = (x: number): string => `${(x / 1048576).toFixed(1)} MB`;
      console.log(
        `day-old dump, ${pattern}: new dump ${mb(c.size.plain)} plain / ${mb(c.size.rsyncable)} --rsyncable; ` +
          `pulled with yesterday's dump as basis (rsync --fuzzy): ${mb(pulled.plain)} plain / ${mb(pulled.rsyncable)} --rsyncable; ` +
          `without a basis (a new file name, what dolibarr-replicate's rsync does): the whole file`,
      );
      // Next pattern from the same yesterday.
      fs.renameSync(rawNew, rawOld);
      Object.assign(old, await compress(rawOld, "old"));
    }
    return { dataMb, dumpMb, level, comparison, fullVerification, rsyncable, rsyncableCost };
  } finally {
    await lab.close();
  }
}

if (require.main === module) {
  runDumpBench()
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    })
    .finally(closeBenchSession);
}

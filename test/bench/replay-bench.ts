// Bench: the replay of point-in-time recovery against the bare tools (issue 20, target ≤ 1.10).
// A real MariaDB with binlogs on (the fleet's drop-in), one instance database dumped by the real
// dolibarr-dump (its .pos), then MB of row events in many transactions, a second database written
// in between (the replay must skip it), several rotations. Each pair, in alternating order:
//   A: dolibarr-binlog-replay --stop now --sql-out F, then `mariadb < F` (what dolibarr-restore --at runs)
//   B: mariadb-binlog --database=DB --start-position=P FILES | mariadb (the bare tools, no checks)
// each into a fresh copy of the dump loaded on a second MariaDB. Prints seconds per MB of binlog and
// the ratio A/B; asserts only that A and B end with the same table checksums.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { serverScriptPath } from "../../infra/render/repo";
import { dumpUserSql, dumpWithPosition, startBinlogSource } from "../support/binlog-mariadb";
import { mustRun } from "../support/jobs-exec";
import { startMariaDb } from "../support/jobs-mariadb";

const DB = "dolibarr_bench";

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function runReplayBench(opts: { transactions?: number; pairs?: number } = {}): Promise<{ binlogMb: number; ratio: number } | undefined> {
  if (process.getuid?.() !== 0) {
    console.log("replay bench skipped: needs root (a private MariaDB run as root)");
    return undefined;
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-replay-bench-"));
  const binlogDir = path.join(root, "binlogs");
  const [src, target] = await Promise.all([startBinlogSource(path.join(root, "src"), binlogDir), startMariaDb(path.join(root, "target"))]);
  try {
    await src.query(`CREATE DATABASE ${DB}; CREATE DATABASE other_client;
      CREATE TABLE ${DB}.llx_facture (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30), total DECIMAL(24,8), note TEXT, tms TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP) ENGINE=InnoDB;
      CREATE TABLE ${DB}.llx_societe (rowid INT PRIMARY KEY, nom VARCHAR(60), address TEXT) ENGINE=InnoDB;
      CREATE TABLE other_client.llx_facture (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30), note TEXT) ENGINE=InnoDB;
      ${dumpUserSql(DB)}
      INSERT INTO ${DB}.llx_societe (rowid, nom, address) SELECT seq, CONCAT('Société ', seq), REPEAT('rue ', 20) FROM ${DB}.seq_1_to_2000;`);
    const { dump, pos: posFile } = await dumpWithPosition(root, src, "bench", DB);
    const pos = Object.fromEntries(fs.readFileSync(posFile, "utf8").split("\n").filter(Boolean).map((l) => l.split("\t") as [string, string]));

    // the load: transactions of a few rows each (an ERP's), the other client's writes in between
    const transactions = opts.transactions ?? 6000;
    const batch: string[] = [];
    for (let i = 1; i <= transactions; i++) {
      batch.push(
        `BEGIN; INSERT INTO ${DB}.llx_facture (ref, total, note) VALUES ('F${i}', ${i}.125, REPEAT('ligne ${i} ', 12)); UPDATE ${DB}.llx_societe SET address = CONCAT('rue ${i} ', REPEAT('x', ${i % 50})) WHERE rowid = ${1 + (i % 2000)}; COMMIT;`,
      );
      if (i % 4 === 0) batch.push(`INSERT INTO other_client.llx_facture (ref, note) VALUES ('O${i}', REPEAT('o', 200));`);
      if (i % 1500 === 0) batch.push("FLUSH BINARY LOGS;");
      if (batch.length >= 500) await src.query(batch.splice(0).join("\n"));
    }
    if (batch.length) await src.query(batch.join("\n"));
    await src.query("FLUSH BINARY LOGS");
    const files = fs.readdirSync(binlogDir).filter((f) => /^binlog\.\d{6}$/.test(f)).sort().filter((f) => f >= pos.file!);
    const binlogMb = files.reduce((n, f) => n + fs.statSync(path.join(binlogDir, f)).size, 0) / 1048576;

    const load = async (db: string) => {
      await target.query(`DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      await mustRun("bash", ["-c", `zstd -dc -- "$1" | mariadb --defaults-extra-file="$2" "$3"`, "x", dump, target.optionFile, db]);
    };
    const checksum = async (db: string) => (await target.query(`CHECKSUM TABLE ${db}.llx_facture, ${db}.llx_societe`)).split("\n").map((l) => l.split("\t")[1]).join(",");
    const sql = path.join(root, "replay.sql");
    const timed = async (f: () => Promise<unknown>) => {
      const t0 = process.hrtime.bigint();
      await f();
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    const engine = (db: string) =>
      timed(async () => {
        await mustRun(serverScriptPath("dolibarr-binlog-replay"), ["--pos", posFile, "--binlog-dir", binlogDir, "--database", DB, "--rewrite-db", db, "--stop", "now", "--sql-out", sql]);
        await mustRun("bash", ["-c", `mariadb --defaults-extra-file="$1" <"$2"`, "x", target.optionFile, sql]);
      });
    const bare = (db: string) =>
      timed(() =>
        mustRun("bash", [
          "-c",
          `mariadb-binlog --database="$1" --rewrite-db="$1->$2" --start-position="$3" -- "\${@:5}" | mariadb --defaults-extra-file="$4"`,
          "x",
          DB,
          db,
          pos.position!,
          target.optionFile,
          ...files.map((f) => path.join(binlogDir, f)),
        ]),
      );
    const a: number[] = [];
    const b: number[] = [];
    const pairs = opts.pairs ?? 5;
    for (let k = 0; k < pairs; k++) {
      await load("bench_a");
      await load("bench_b");
      if (k % 2 === 0) {
        a.push(await engine("bench_a"));
        b.push(await bare("bench_b"));
      } else {
        b.push(await bare("bench_b"));
        a.push(await engine("bench_a"));
      }
      const [ca, cb] = [await checksum("bench_a"), await checksum("bench_b")];
      if (ca !== cb) throw new Error(`replay and bare tools disagree: ${ca} vs ${cb}`);
    }
    const ratios = a.map((x, k) => x / b[k]!);
    const ratio = median(ratios);
    console.log(`binlog: ${binlogMb.toFixed(1)} MB in ${files.length} file(s) after the dump, ${transactions} transactions of the instance + ${Math.floor(transactions / 4)} of another database`);
    console.log(`A dolibarr-binlog-replay --sql-out + mariadb: s [${a.map((x) => x.toFixed(2)).join(", ")}], median ${(median(a) / binlogMb).toFixed(3)} s/MB`);
    console.log(`B mariadb-binlog | mariadb (bare):            s [${b.map((x) => x.toFixed(2)).join(", ")}], median ${(median(b) / binlogMb).toFixed(3)} s/MB`);
    console.log(`A/B per pair [${ratios.map((x) => x.toFixed(3)).join(", ")}], median ${ratio.toFixed(3)} (target ≤ 1.10); same checksums after both`);
    return { binlogMb, ratio };
  } finally {
    await Promise.all([src.stop(), target.stop()]);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runReplayBench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

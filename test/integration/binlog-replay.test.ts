// Point-in-time recovery on real MariaDB (issue 20, steps 2 and 3): dolibarr-dump records the
// dump's binlog position (<db>-<stamp>.pos), and dolibarr-binlog-replay applies one database's
// events from there up to a chosen second into a server where the dump was loaded: the write of
// the second before is there, the write of the second after is not, every other table equals its
// state at that second (CHECKSUM TABLE), another database's events are not applied; a missing
// middle file, a time the binlogs do not reach, a time before the dump, a time without a zone are
// refused with nothing applied.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { serverScriptPath } from "../../infra/render/repo";
import { type ConfMariaDb, dumpUserSql, dumpWithPosition, startBinlogSource } from "../support/binlog-mariadb";
import { mustRun, run, sleep } from "../support/jobs-exec";
import { type MariaDb, startMariaDb } from "../support/jobs-mariadb";
import { skipUnlessCi } from "../support/prerequisites";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-binlog-replay-"));
const binlogDir = path.join(root, "binlogs");
const DB = "dolibarr_shop";
const TABLES = ["llx_facture", "llx_societe", "llx_const"];

/** Waits until the wall clock is at least `epoch` (seconds). */
async function until(epoch: number): Promise<void> {
  while (Date.now() / 1000 < epoch) await sleep(50);
}
const nowSec = () => Math.floor(Date.now() / 1000);
/** "YYYY-MM-DD HH:MM:SS" of an epoch in a zone. */
function local(epoch: number, zone: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
      .formatToParts(new Date(epoch * 1000))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

describe("dump position and binlog replay (real MariaDB)", { skip: skipUnlessCi(process.getuid?.() === 0 ? undefined : "needs root", "binlog replay") }, () => {
  let src: ConfMariaDb;
  let target: MariaDb;
  let pos: string;
  let dump: string;
  let tA = 0; // second of write A (before the stop)
  let tB = 0; // second of write B (after the stop)
  let gtidA = "";
  const atStop: Record<string, string> = {};
  let otherAtDump = "";

  const checksums = async (q: (sql: string) => Promise<string>, db: string) => {
    const out: Record<string, string> = {};
    for (const t of TABLES) out[t] = (await q(`CHECKSUM TABLE \`${db}\`.\`${t}\``)).trim().split("\t")[1]!;
    return out;
  };
  const replay = (args: string[]) =>
    // TZ: a server whose clock is in Paris time (mariadb-binlog reads --stop-datetime in the local zone)
    run(serverScriptPath("dolibarr-binlog-replay"), ["--database", DB, "--defaults-file", target.optionFile, ...args], { env: { ...process.env, TZ: "Europe/Paris" } });

  before(async () => {
    [src, target] = await Promise.all([startBinlogSource(path.join(root, "src"), binlogDir), startMariaDb(path.join(root, "target"))]);
    assert.equal((await src.query("SELECT @@log_bin, @@binlog_format")).trim(), "1\tROW");

    // The instance's database, a second database on the same server, and the dump account the
    // client stack creates (DUMP_PRIVILEGES): --master-data and BINLOG_GTID_POS need nothing more.
    await src.query(`CREATE DATABASE ${DB}; CREATE DATABASE other_client;
      CREATE TABLE ${DB}.llx_facture (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30), total DECIMAL(10,2), note TEXT) ENGINE=InnoDB;
      CREATE TABLE ${DB}.llx_societe (rowid INT PRIMARY KEY, nom VARCHAR(60), tms TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP) ENGINE=InnoDB;
      CREATE TABLE ${DB}.llx_const (name VARCHAR(60) PRIMARY KEY, value TEXT) ENGINE=InnoDB;
      CREATE TABLE other_client.llx_facture (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30)) ENGINE=InnoDB;
      INSERT INTO ${DB}.llx_const VALUES ('MAIN_VERSION', '18.0.4');
      INSERT INTO other_client.llx_facture (ref) VALUES ('O-1');
      ${dumpUserSql(DB)}`);
    for (let i = 1; i <= 200; i++) {
      await src.query(`INSERT INTO ${DB}.llx_facture (ref, total, note) VALUES ('F${i}', ${i}.5, REPEAT('é', ${i})); INSERT INTO ${DB}.llx_societe (rowid, nom) VALUES (${i}, 'Société ${i}')`);
    }

    // dolibarr-dump with DUMP_BINLOG_POSITION=1, as renderHostingInstance writes it for a hosting server with binlogs on.
    ({ dump, pos } = await dumpWithPosition(root, src, "shop", DB));
    otherAtDump = await src.query("SELECT GROUP_CONCAT(ref ORDER BY rowid) FROM other_client.llx_facture");

    // After the dump: changes of every kind to the instance, writes to the other database (also
    // from a session whose default database is the instance's), a new binlog file.
    await until(nowSec() + 1);
    await src.query(`UPDATE ${DB}.llx_societe SET nom = CONCAT(nom, ' SA') WHERE rowid % 3 = 0; DELETE FROM ${DB}.llx_facture WHERE rowid % 7 = 0;
      INSERT INTO other_client.llx_facture (ref) VALUES ('O-2')`);
    await src.query(`INSERT INTO other_client.llx_facture (ref) VALUES ('O-3 from the instance session')`, DB);
    await src.query(`FLUSH BINARY LOGS`);
    await src.query(`BEGIN; UPDATE ${DB}.llx_const SET value = '18.0.5' WHERE name = 'MAIN_VERSION'; INSERT INTO other_client.llx_facture (ref) VALUES ('O-4 same transaction'); COMMIT`);
    await src.query(`FLUSH BINARY LOGS`);
    // write A, then B two seconds later: the stop is the second in between
    await until(nowSec() + 1);
    tA = nowSec();
    await src.query(`INSERT INTO ${DB}.llx_facture (ref, total) VALUES ('A-before-stop', 1)`);
    gtidA = (await src.query("SELECT @@gtid_binlog_pos")).trim();
    assert.equal(nowSec(), tA, "write A took less than a second");
    for (const [k, v] of Object.entries(await checksums(src.query, DB))) atStop[k] = v;
    await until(tA + 2);
    tB = nowSec();
    await src.query(`INSERT INTO ${DB}.llx_facture (ref, total) VALUES ('B-after-stop', 2); UPDATE ${DB}.llx_societe SET nom = 'changed after' WHERE rowid = 1`);
    await src.query(`FLUSH BINARY LOGS`);
    await src.query(`INSERT INTO ${DB}.llx_const VALUES ('LATER', 'x')`);

    // The target: the dump loaded (as dolibarr-restore does), the other database as it was at the dump.
    await target.query(`CREATE DATABASE ${DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; CREATE DATABASE other_client;
      CREATE TABLE other_client.llx_facture (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30)); INSERT INTO other_client.llx_facture (ref) VALUES ('O-1')`);
    await mustRun("bash", ["-c", `zstd -dc -- "$1" | mariadb --defaults-extra-file="$2" "$3"`, "x", dump, target.optionFile, DB]);
  });

  after(async () => {
    await Promise.all([src?.stop(), target?.stop()]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("the dump records its binlog position: file and position from its own header, the GTID of that position, the server's id", async () => {
    const text = fs.readFileSync(pos, "utf8");
    const f = (k: string) => new RegExp(`^${k}\\t(.*)$`, "m").exec(text)?.[1];
    assert.match(f("file")!, /^binlog\.\d{6}$/);
    assert.equal(f("dump"), path.basename(dump));
    const header = (await mustRun("bash", ["-c", `zstd -dc -- "$1" | head -c 4096`, "x", dump])).stdout;
    assert.match(header, new RegExp(`^-- CHANGE MASTER TO MASTER_LOG_FILE='${f("file")}', MASTER_LOG_POS=${f("position")};$`, "m"));
    assert.equal(f("gtid"), (await src.query(`SELECT BINLOG_GTID_POS('${f("file")}', ${f("position")})`)).trim());
    assert.equal(f("server_id"), (await src.query("SELECT @@server_id")).trim());
    assert.equal(f("gtid_domain_id"), f("server_id"));
    // the dump's GTID comment, at its end
    const all = (await mustRun("bash", ["-c", `zstd -dc -- "$1" | tail -c 2048`, "x", dump])).stdout;
    assert.match(all, new RegExp(`^-- SET GLOBAL gtid_slave_pos='${f("gtid")}';$`, "m"));
  });

  it("refuses a stop time without a zone, a nonexistent local time, a time before the dump: nothing applied", async () => {
    const before = await checksums(target.query, DB);
    for (const [stop, re] of [
      [local(tA + 1, "UTC"), /expected a date, a time to the second and an explicit time zone/],
      [`${local(tA + 1, "UTC")} Mars/Olympus`, /unknown time zone 'Mars\/Olympus'/],
      ["2026-03-29 02:30:00 Europe/Paris", /does not exist in Europe\/Paris/],
      ["2026-10-25 02:30:00 Europe/Paris", /happens twice in Europe\/Paris/],
      ["2020-01-01 00:00:00 UTC", /is before the dump/],
    ] as const) {
      const r = await replay(["--pos", pos, "--binlog-dir", binlogDir, "--stop", stop]);
      assert.notEqual(r.code, 0, stop);
      assert.match(r.stderr, re, stop);
    }
    assert.deepEqual(await checksums(target.query, DB), before);
  });

  it("refuses a chain with a missing middle file, naming it; and a time beyond the newest event, naming the newest", async () => {
    const names = fs.readdirSync(binlogDir).filter((f) => /^binlog\.\d+$/.test(f)).sort();
    const first = fs.readFileSync(pos, "utf8").match(/^file\t(.*)$/m)![1]!;
    const chain = names.slice(names.indexOf(first));
    assert.ok(chain.length >= 4, chain.join(" "));
    const gap = path.join(root, "gap");
    fs.mkdirSync(gap);
    for (const n of chain) if (n !== chain[1]) fs.copyFileSync(path.join(binlogDir, n), path.join(gap, n));
    const r = await replay(["--pos", pos, "--binlog-dir", gap, "--stop", `${local(tA + 1, "UTC")} UTC`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`binlog file ${chain[1]!.replace(".", "\\.")} is missing`));

    const newest = (await src.query("SELECT NOW()")).trim();
    const far = await replay(["--pos", pos, "--binlog-dir", binlogDir, "--stop", `${local(nowSec() + 3600, "Europe/Paris")} Europe/Paris`]);
    assert.notEqual(far.code, 0);
    const m = /reach only (\S+ \S+) UTC/.exec(far.stderr);
    assert.ok(m, far.stderr);
    assert.ok(m[1]! >= local(tB, "UTC") && m[1]! <= newest, `${m[1]} between B and now`);
  });

  it("--check reports the last transaction reachable without applying anything", async () => {
    const before = await checksums(target.query, DB);
    const r = await replay(["--check", "--pos", pos, "--binlog-dir", binlogDir, "--stop", `${local(tA + 1, "Europe/Paris")} Europe/Paris`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^last\\t${gtidA.split(",").pop()}\\t${local(tA, "UTC")}$`, "m"));
    // up to the second: a stop at A's own second includes A (given as an offset, UTC+01:00 in December)
    const offset = local(tA, "Europe/Paris").startsWith(local(tA, "Etc/GMT-1").slice(0, 13)) ? "+01:00" : "+02:00";
    const exact = await replay(["--check", "--pos", pos, "--binlog-dir", binlogDir, "--stop", `${local(tA, "Europe/Paris")} ${offset}`]);
    assert.equal(exact.code, 0, exact.stderr);
    assert.match(exact.stdout, new RegExp(`^last\\t${gtidA.split(",").pop()}\\t`, "m"), exact.stdout);
    assert.deepEqual(await checksums(target.query, DB), before);
  });

  it("replays to the second between A and B: A there, B not, every table as it was at that second, the other database untouched", async () => {
    // the stop in Paris time; the offset form gives the same second
    const stop = `${local(tA + 1, "Europe/Paris")} Europe/Paris`;
    const r = await replay(["--pos", pos, "--binlog-dir", binlogDir, "--stop", stop]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^stop\\t${local(tA + 1, "UTC")}$`, "m"));
    assert.match(r.stdout, new RegExp(`^last\\t${gtidA.split(",").pop()}\\t${local(tA, "UTC")}$`, "m"), r.stdout);
    assert.match(r.stdout, /^applied\t4$/m, r.stdout); // UPDATE+DELETE (one transaction each), the mixed one, A
    const refs = await target.query(`SELECT ref FROM ${DB}.llx_facture WHERE ref LIKE '%-stop' ORDER BY ref`);
    assert.equal(refs.trim(), "A-before-stop");
    assert.deepEqual(await checksums(target.query, DB), atStop);
    assert.equal(await target.query("SELECT GROUP_CONCAT(ref ORDER BY rowid) FROM other_client.llx_facture"), otherAtDump);
    assert.equal((await target.query("SELECT @@gtid_binlog_pos")).trim(), "", "nothing went to the target's binlog");
    assert.notEqual(tB, 0);
  });
});

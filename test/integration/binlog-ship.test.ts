// Binlog shipping for real (issue 20, points 2 and 3): a private MariaDB with binlogs on (ROW,
// GTIDs, server_id 7), the rendered export and pull configs, Debian's rrsync behind a private sshd
// on 127.0.0.1, the real dolibarr-export, dolibarr-dump, dolibarr-replicate and dolibarr-binlog-pull.
// Every file pulled is compared byte for byte with the source; faults are real (SIGKILL, PURGE
// BINARY LOGS, altered bytes).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { serverScriptPath } from "../../infra/render/repo";
import { startConfMariaDb } from "../support/binlog-mariadb";
import { mustRun, run, sleep, start } from "../support/jobs-exec";
import { JobsLab, labUnavailable } from "../support/jobs-lab";
import { skipUnlessCi } from "../support/prerequisites";

const HOSTING = "itest-hosting";
const binlogDir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-binlog-src-"));
fs.chmodSync(binlogDir, 0o750);

type Status = {
  ok: boolean;
  newestFile: string;
  oldestFile: string;
  removedFiles: number;
  newestEventUtc: string;
  newestEventEpoch: number | null;
  newestRecoverableUtc: string;
  recoverableByInstance: Record<string, string>;
  lagSeconds: number | null;
  files: number;
  bytes: number;
  gaps: string[];
  changedClosed: string[];
  pending: string[];
  pull: string;
  pullMs: number;
  bytesReceived: number;
  problems: string[];
  holes: { files: string[]; fromUtc: string; toUtc: string }[];
  gtidBreaks: string[];
  hostingServer: string;
  backupServer: string;
};

const sha = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");

describe("binlog shipping on a one-machine lab (real MariaDB binlogs, rsync over SSH through rrsync)", { skip: skipUnlessCi(labUnavailable(), "binlog shipping"), timeout: 600_000 }, () => {
  let lab: JobsLab;
  let mirrorDir: string;
  let statusFile: string;
  let spool: string;
  const measured: string[] = [];

  const q = (sql: string) => lab.db.query(sql);
  const sourceIndex = async (): Promise<string[]> => fs.readFileSync(path.join(binlogDir, "binlog.index"), "utf8").split("\n").filter(Boolean).map((l) => path.basename(l));
  const pull = (env: NodeJS.ProcessEnv = {}) =>
    run(serverScriptPath("dolibarr-binlog-pull"), [HOSTING], { env: { ...lab.backup.env, DBK_NOTIFY_NO_KICK: "1", DBK_BINLOG_VERIFY_SECONDS: "0", ...env } });
  const okPull = async (env: NodeJS.ProcessEnv = {}) => {
    const r = await pull(env);
    assert.equal(r.code, 0, `pull failed (${r.code}):\n${r.stderr.slice(-3000)}`);
    return { r, status: JSON.parse(fs.readFileSync(statusFile, "utf8")) as Status };
  };
  const alerts = (): string[] =>
    fs.existsSync(spool)
      ? fs
          .readdirSync(spool)
          .sort()
          .filter((e) => fs.readFileSync(path.join(spool, e, "kind"), "utf8") === "alert")
          .map((e) => fs.readFileSync(path.join(spool, e, "message"), "utf8"))
      : [];
  const clearSpool = () => fs.rmSync(spool, { recursive: true, force: true });
  /** Every file of the source's index is here byte for byte (the newest one too: no write since). */
  const assertIdentical = async (what: string) => {
    for (const f of await sourceIndex()) {
      assert.ok(fs.existsSync(path.join(mirrorDir, f)), `${what}: ${f} pulled`);
      assert.ok(fs.readFileSync(path.join(mirrorDir, f)).equals(fs.readFileSync(path.join(binlogDir, f))), `${what}: ${f} identical to the source`);
    }
  };
  /**
   * Waits until the source's newest file stopped growing for 1.2 s: after a rotation MariaDB appends
   * a Binlog_checkpoint event to the new file once InnoDB flushed its log (every second with
   * innodb_flush_log_at_trx_commit=2), with no write of ours; a pull quicker than that held the
   * file 40 bytes short of the source when compared after it.
   */
  const settled = async () => {
    const newest = () => path.join(binlogDir, fs.readFileSync(path.join(binlogDir, "binlog.index"), "utf8").trim().split("\n").at(-1)!.replace(/^.*\//, ""));
    let last = -1;
    let since = Date.now();
    for (const until = Date.now() + 10_000; Date.now() < until; await sleep(100)) {
      const size = fs.statSync(newest()).size;
      if (size !== last) [last, since] = [size, Date.now()];
      else if (Date.now() - since >= 1200) return;
    }
  };
  /** GTIDLISTS of the mirror: [name, size, opened, list] per file. */
  const gtidLists = () =>
    fs
      .readFileSync(path.join(mirrorDir, "GTIDLISTS"), "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(" "));
  const write = async (rows: number, bytes = 200) => {
    await q(`INSERT INTO dolibarr_shop.llx_facture (ref, note) SELECT CONCAT('F', seq), REPEAT('x', ${bytes}) FROM dolibarr_shop.seq_1_to_${rows}`);
  };

  before(async () => {
    lab = await JobsLab.create({ binlogDir });
    mirrorDir = path.join(lab.mirrorRoot, ".binlogs", HOSTING);
    statusFile = path.join(lab.backup.varLib, "status", `binlog-${HOSTING}.json`);
    spool = path.join(lab.backup.varLib, "notify", "spool");
    // Alerts on (spooled only: no deliverer is started, DBK_NOTIFY_NO_KICK).
    fs.writeFileSync(path.join(lab.backup.etc, "server.env"), `SERVER_NAME='${lab.backupServer}'\nSERVER_ROLE='backup'\nFLEET_STACK='itest-fleet'\nNOTIFY_ENABLED='1'\nMETRICS_DIR='${path.join(lab.backup.varLib, "metrics")}'\n`);
    await lab.addInstance("shop", { tree: { documents: 20 }, database: false });
    await q("CREATE DATABASE dolibarr_shop; CREATE TABLE dolibarr_shop.llx_facture (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30), note TEXT) ENGINE=InnoDB");
    await write(500);
  });

  after(async () => {
    if (measured.length) console.log(`# measured:\n# ${measured.join("\n# ")}`);
    if (lab) await lab.close();
    fs.rmSync(binlogDir, { recursive: true, force: true });
  });

  it("renders the export, the pull config and the instance's BINLOG_DIR; the export is read only and holds only the binlogs", async () => {
    const hostingEnv = fs.readFileSync(path.join(lab.hosting.etc, "instances", "shop.env"), "utf8");
    assert.match(hostingEnv, new RegExp(`^BINLOG_SOURCE_DIR='${binlogDir}'$`, "m"));
    const backupEnv = fs.readFileSync(path.join(lab.backup.etc, "instances", "shop.env"), "utf8");
    assert.match(backupEnv, new RegExp(`^BINLOG_DIR='${mirrorDir}'$`, "m"));
    assert.match(backupEnv, /^HOSTING_SERVER='itest-hosting'$/m);
    const pullEnv = fs.readFileSync(path.join(lab.backup.etc, "binlog", `${HOSTING}.env`), "utf8");
    assert.match(pullEnv, /^SOURCE_PATH='\.binlog'$/m);
    assert.match(pullEnv, /^MAX_LAG_SECONDS='300'$/m);
    const exported = path.join(lab.hosting.varLib, "export", lab.backupServer, ".binlog");
    assert.equal((await run("mountpoint", ["-q", exported])).code, 0, "the binlog dir is bind-mounted into the export");
    const ssh = lab.sshCommand();
    const listed = await mustRun("rsync", ["--list-only", "-e", ssh, `${lab.user}@127.0.0.1:.binlog/`]);
    assert.match(listed.stdout, /binlog\.000001/);
    const push = await run("rsync", ["-e", ssh, "/etc/hostname", `${lab.user}@127.0.0.1:.binlog/`]);
    assert.notEqual(push.code, 0, "the pull key cannot write");
    const shell = await run("bash", ["-c", `${ssh} ${lab.user}@127.0.0.1 cat /etc/passwd`]);
    assert.notEqual(shell.code, 0, "the pull key runs no shell");
    // The heartbeat: one write, its schema made on first use.
    await mustRun(serverScriptPath("dolibarr-binlog-setup"), ["heartbeat"], { env: { ...lab.hosting.env, DBK_MARIADB_OPTION_FILE: lab.db.optionFile } });
    await mustRun(serverScriptPath("dolibarr-binlog-setup"), ["heartbeat"], { env: { ...lab.hosting.env, DBK_MARIADB_OPTION_FILE: lab.db.optionFile } });
    assert.equal((await q("SELECT COUNT(*), server_id FROM dolibarr_backup_heartbeat.beat GROUP BY server_id")).trim(), "1\t7");
  });

  it("a first pull fetches the closed and the active files identical, checksums the closed ones, and reports the lag", async () => {
    await q("FLUSH BINARY LOGS");
    await write(300);
    await q("FLUSH BINARY LOGS");
    await write(300);
    // a dump with its position (binlog.000003), mirrored: the chain check reads its .pos
    assert.equal((await lab.dump("shop")).code, 0);
    assert.equal((await lab.replicate("shop")).code, 0);
    await write(10);
    const t0 = Math.floor(Date.now() / 1000);
    const { status } = await okPull();
    measured.push(`first pull: ${status.files} files, ${status.bytes} bytes, received ${status.bytesReceived} bytes, ${status.pullMs} ms, lag ${status.lagSeconds} s`);
    await assertIdentical("first pull");
    const index = await sourceIndex();
    assert.equal(index.length, 3);
    assert.equal(status.ok, true, status.problems.join("; "));
    assert.equal(status.newestFile, index.at(-1));
    assert.equal(status.files, 3);
    assert.equal(status.hostingServer, HOSTING);
    assert.equal(status.backupServer, lab.backupServer);
    assert.deepEqual(status.gaps, []);
    assert.ok(status.lagSeconds !== null && status.lagSeconds <= 5, `lag ${status.lagSeconds}`);
    assert.ok(status.newestEventEpoch! >= t0 - 1, "the newest event is the last write");
    assert.equal(status.newestRecoverableUtc, status.newestEventUtc);
    // closed files: SHA256SUMS, read-only; the active one is not recorded
    const sums = fs.readFileSync(path.join(mirrorDir, "SHA256SUMS"), "utf8").trim().split("\n");
    assert.deepEqual(sums, index.slice(0, -1).map((f) => `${sha(path.join(binlogDir, f))}  ${f}`));
    assert.equal(fs.statSync(path.join(mirrorDir, index[0]!)).mode & 0o222, 0, "a closed file is read-only");
    assert.deepEqual(fs.readFileSync(path.join(mirrorDir, "binlog.index"), "utf8").trim().split("\n"), index.map((f) => `./${f}`));
    // each file's Gtid_list read once, beside SHA256SUMS; the first file of a fresh server has none
    assert.deepEqual(gtidLists().map((l) => l[0]), index);
    assert.equal(gtidLists()[0]![3], "-");
    assert.match(gtidLists()[1]![3]!, /^7-7-\d+$/);
    assert.deepEqual(status.gtidBreaks, []);
    assert.deepEqual(status.holes, []);
    const prom = fs.readFileSync(path.join(lab.backup.varLib, "metrics", `dolibarr-backup-binlog-${HOSTING}.prom`), "utf8");
    assert.match(prom, new RegExp(`^dolibarr_backup_binlog_lag_seconds\\{hosting="${HOSTING}",backup="${lab.backupServer}",fleet="itest-fleet"\\} ${status.lagSeconds}$`, "m"));
    assert.match(prom, new RegExp(`^dolibarr_backup_binlog_last_event_timestamp_seconds\\{hosting="${HOSTING}",.*\\} ${status.newestEventEpoch}$`, "m"));
    assert.deepEqual(alerts(), []);
  });

  it("writes, then a second pull catches up by appending to the active file", async () => {
    const active = (await sourceIndex()).at(-1)!;
    const before = fs.statSync(path.join(mirrorDir, active));
    await sleep(1100);
    await write(2000);
    const t1 = Math.floor(Date.now() / 1000);
    const { status } = await okPull();
    await assertIdentical("second pull");
    const afterStat = fs.statSync(path.join(mirrorDir, active));
    assert.equal(afterStat.ino, before.ino, "appended in place, not fetched again");
    assert.ok(afterStat.size > before.size);
    assert.ok(status.bytesReceived < afterStat.size, `received ${status.bytesReceived} < file ${afterStat.size}`);
    assert.ok(status.newestEventEpoch! >= t1 - 1);
    assert.equal(status.ok, true, status.problems.join("; "));
    measured.push(`append pull: +${afterStat.size - before.size} bytes in the active file, received ${status.bytesReceived} bytes, ${status.pullMs} ms, lag ${status.lagSeconds} s`);
  });

  it("a SIGKILLed pull (at generated points, slowed to 2 MB/s) leaves a state the next pull repairs", async () => {
    let midTransfer = 0;
    const rounds = 6;
    for (let i = 0; i < rounds; i++) {
      await write(3000, 1000); // ~3 MB more in the active file
      if (i % 2 === 1) await q("FLUSH BINARY LOGS"); // and a closed file to fetch whole
      const active = (await sourceIndex()).at(-1)!;
      const job = start(serverScriptPath("dolibarr-binlog-pull"), [HOSTING], { env: { ...lab.backup.env, DBK_NOTIFY_NO_KICK: "1", RSYNC_EXTRA_ARGS: "--bwlimit=2m" } });
      await sleep(300 + ((i * 577) % 1400));
      job.kill("SIGKILL");
      await job.done;
      if (i % 2 === 1) await settled();
      const here = path.join(mirrorDir, active);
      if (fs.existsSync(here) && fs.statSync(here).size < fs.statSync(path.join(binlogDir, active)).size) midTransfer++;
      const { status } = await okPull();
      await assertIdentical(`after kill ${i}`);
      assert.equal(status.ok, true, status.problems.join("; "));
      const sums = fs.readFileSync(path.join(mirrorDir, "SHA256SUMS"), "utf8").trim().split("\n");
      for (const line of sums) {
        const [h, f] = line.split(/\s+/);
        assert.equal(h, sha(path.join(binlogDir, f!)), `${f} recorded with the source's checksum`);
      }
      assert.equal(new Set(sums.map((l) => l.split(/\s+/)[1])).size, sums.length, "each closed file recorded once");
    }
    measured.push(`killed pulls: ${midTransfer} of ${rounds} kills left a shorter active file, all repaired`);
    // no SSH connection of a killed pull outlives it (its rsync finishes, then the next pull runs)
    const left = await run("pgrep", ["-f", "--", `-i ${lab.backupKey} `]);
    assert.equal(left.code, 1, `SSH connections of killed pulls still run:\n${left.stdout}`);
    assert.ok(midTransfer >= 1, "at least one kill fell inside a transfer");
  });

  it("a backup server offline (no pulls) catches up; a lag beyond the limit alerts once, then the all-clear", async () => {
    clearSpool();
    for (let i = 0; i < 3; i++) {
      await write(500);
      await q("FLUSH BINARY LOGS");
    }
    await write(10);
    await settled();
    const { status } = await okPull();
    await assertIdentical("after the outage");
    assert.equal(status.ok, true, status.problems.join("; "));
    assert.deepEqual(alerts(), []);
    // Nothing written for 3 s, a limit of 2 s (a rendered config with another MAX_LAG_SECONDS).
    const conf = path.join(lab.backup.etc, "binlog", `${HOSTING}.env`);
    const original = fs.readFileSync(conf, "utf8");
    try {
      fs.writeFileSync(conf, original.replace(/^MAX_LAG_SECONDS=.*$/m, "MAX_LAG_SECONDS='2'"));
      await sleep(3200);
      const late = (await okPull()).status;
      assert.equal(late.ok, false);
      assert.match(late.problems.join("\n"), /lag \d+s beyond the limit of 2s/);
      assert.equal(alerts().length, 1);
      assert.match(alerts()[0]!, /binlog chain of itest-hosting.*lag/);
      await okPull();
      assert.equal(alerts().length, 1, "the same problem is alerted once");
      await write(1);
      const back = (await okPull()).status;
      assert.equal(back.ok, true);
      assert.equal(alerts().length, 2);
      assert.match(alerts()[1]!, /whole again/);
    } finally {
      fs.writeFileSync(conf, original);
    }
  });

  it("a healthy chain of many files and generated write patterns (other domains, DDL, rollbacks, empty files, seq jumps) keeps its GTIDs continuous, each file read once", async () => {
    clearSpool();
    for (let i = 0; i < 16; i++) {
      const k = (i * 7) % 5;
      if (k === 0) await q(`BEGIN; INSERT INTO dolibarr_shop.llx_facture (ref, note) VALUES ('T${i}', 'a'); UPDATE dolibarr_shop.llx_facture SET note = 'b' WHERE ref = 'T${i}'; COMMIT`);
      if (k === 1) await q(`SET SESSION gtid_domain_id = ${3 + (i % 2)}; INSERT INTO dolibarr_shop.llx_facture (ref, note) VALUES ('D${i}', 'other domain')`);
      if (k === 2) await q(`CREATE TABLE dolibarr_shop.t${i} (id INT PRIMARY KEY) ENGINE=InnoDB; DROP TABLE dolibarr_shop.t${i}`);
      if (k === 3) await q(`BEGIN; INSERT INTO dolibarr_shop.llx_facture (ref, note) VALUES ('R${i}', 'rolled back'); ROLLBACK`);
      if (k === 4) await write(400 + i * 50, 300);
      if (i === 9) await q(`SET SESSION gtid_seq_no = 100000 + ${i}; INSERT INTO dolibarr_shop.llx_facture (ref, note) VALUES ('J${i}', 'seq jump')`);
      if (i % 3 === 0) await q("FLUSH BINARY LOGS");
      if (i % 5 === 2) await q("FLUSH BINARY LOGS; FLUSH BINARY LOGS"); // an empty file between
      if (i % 4 === 3) {
        await write(1); // (a newest file and its predecessor both empty read as "no complete transaction yet")
        await settled();
        const { status } = await okPull();
        assert.equal(status.ok, true, status.problems.join("; "));
        assert.deepEqual(status.gtidBreaks, []);
      }
    }
    await write(10);
    await settled();
    const { status } = await okPull();
    await assertIdentical("after the patterns");
    assert.equal(status.ok, true, status.problems.join("; "));
    assert.deepEqual(status.gtidBreaks, []);
    const lists = gtidLists();
    assert.deepEqual(lists.map((l) => l[0]), fs.readdirSync(mirrorDir).filter((f) => /^binlog\.\d+$/.test(f)).sort());
    const newestList = lists.at(-1)![3]!;
    for (const d of ["3", "4", "7"]) assert.match(newestList, new RegExp(`(^|,)${d}-7-\\d+`), `domain ${d} in ${newestList}`);
    assert.match(newestList, /(^|,)7-7-1000\d\d(,|$)/, "the seq jump is in the list");
    const prom = fs.readFileSync(path.join(lab.backup.varLib, "metrics", `dolibarr-backup-binlog-${HOSTING}.prom`), "utf8");
    assert.match(prom, /^dolibarr_backup_binlog_gtid_breaks\{.*\} 0$/m);
    assert.deepEqual(alerts(), []);
    // steady state: a pull with nothing new reads no file's list again (GTIDLISTS untouched)
    const sidecar = path.join(mirrorDir, "GTIDLISTS");
    const mtime = fs.statSync(sidecar).mtimeMs;
    const steady: number[] = [];
    for (let i = 0; i < 3; i++) steady.push((await okPull()).status.pullMs);
    assert.equal(fs.statSync(sidecar).mtimeMs, mtime, "no list read again");
    // the cost: every file's list read (the sidecar removed), and one mariadb-binlog per file
    fs.rmSync(sidecar);
    const cold = (await okPull()).status;
    assert.deepEqual(gtidLists(), lists);
    const t0 = process.hrtime.bigint();
    for (const l of lists) await mustRun("mariadb-binlog", ["--stop-position=2048", "--", path.join(mirrorDir, l[0]!)]);
    const perFile = Number(process.hrtime.bigint() - t0) / 1e6 / lists.length;
    measured.push(`GTID lists: ${lists.length} files, one read ${perFile.toFixed(1)} ms (wall, mariadb-binlog --stop-position=2048); pull with every list read ${cold.pullMs} ms, steady pulls ${steady.join(", ")} ms`);
  });

  it("a closed file altered here or on the source is reported (changedClosed, alert) and never overwritten", async () => {
    clearSpool();
    const closed = (await sourceIndex()).slice(0, -1);
    const here = path.join(mirrorDir, closed[0]!);
    fs.chmodSync(here, 0o640);
    const bytes = fs.readFileSync(here);
    bytes[200] = bytes[200]! ^ 0xff; // same size: only the checksum sees it
    fs.writeFileSync(here, bytes);
    const src = path.join(binlogDir, closed[1]!);
    fs.appendFileSync(src, "tampered"); // the source's closed file changed after it was fetched
    const { status } = await okPull();
    assert.equal(status.ok, false);
    assert.deepEqual([...status.changedClosed].sort(), [closed[0], closed[1]].sort());
    assert.match(status.problems.join("\n"), new RegExp(`${closed[0]} changed on this backup server`));
    assert.match(status.problems.join("\n"), new RegExp(`${closed[1]} changed on itest-hosting after it was fetched`));
    assert.ok(fs.readFileSync(here).equals(bytes), "the altered copy is left as it is (evidence), not rewritten");
    assert.notEqual(fs.statSync(path.join(mirrorDir, closed[1]!)).size, fs.statSync(src).size, "the source's change is not pulled");
    assert.equal(alerts().length, 1);
    assert.match(alerts()[0]!, /changed/);
    // put both back: the chain is whole again
    bytes[200] = bytes[200]! ^ 0xff;
    fs.writeFileSync(here, bytes);
    fs.truncateSync(src, fs.statSync(src).size - "tampered".length);
    assert.equal((await okPull()).status.ok, true);
  });

  it("a binlog purged on the source before it was fetched: ok false, an alert, and the honest newest recoverable point", async () => {
    clearSpool();
    // the active file closed and fetched whole: its last transaction is the last one before the gap
    await q("FLUSH BINARY LOGS");
    const beforePurge = (await okPull()).status;
    const lastGood = beforePurge.newestEventEpoch!;
    const dumpFile = fs.readFileSync(path.join(lab.instances.get("shop")!.mirror, "dumps", fs.readdirSync(path.join(lab.instances.get("shop")!.mirror, "dumps")).find((f) => f.endsWith(".pos"))!), "utf8");
    assert.match(dumpFile, /^file\tbinlog\.000003$/m);
    await sleep(1100);
    // two files written and closed, never pulled, then purged on the source
    for (let i = 0; i < 2; i++) {
      await write(200);
      await q("FLUSH BINARY LOGS");
    }
    const index = await sourceIndex();
    const newest = index.at(-1)!;
    // the first was active at the last pull (a partial copy here: incomplete), the second never seen
    const lost = index.slice(-3, -1);
    // MariaDB keeps a file its binlog checkpoint still needs: purge again until both are gone
    for (let i = 0; i < 50; i++) {
      await q(`PURGE BINARY LOGS TO '${newest}'`);
      if ((await sourceIndex())[0] === newest) break;
      await sleep(100);
    }
    assert.equal((await sourceIndex())[0], newest, "both files purged on the source");
    await write(5);
    const { status } = await okPull();
    assert.equal(status.ok, false);
    assert.deepEqual(status.gaps, lost);
    assert.match(status.problems.join("\n"), new RegExp(`${lost[0]} is incomplete: purged on itest-hosting before it was completely fetched`));
    assert.match(status.problems.join("\n"), new RegExp(`${lost[1]} is missing: purged on itest-hosting before it was fetched`));
    assert.match(status.problems.join("\n"), /newest events are out of reach until its next dump/);
    assert.equal(status.newestFile, newest);
    // honest: the dump (binlog.000003) reaches only the last transaction before the gap
    assert.equal(status.newestRecoverableUtc, new Date(lastGood * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"));
    assert.ok(status.newestEventEpoch! > lastGood, "what is held after the gap is still reported as held");
    assert.equal(alerts().length, 1);
    assert.match(alerts()[0]!, /purged on itest-hosting before it was fetched/);
    // the hole, from the last transaction before it to the opening of the file after it
    assert.equal(status.holes.length, 1);
    assert.deepEqual(status.holes[0]!.files, lost);
    assert.equal(status.holes[0]!.fromUtc, status.newestRecoverableUtc);
    assert.equal(status.holes[0]!.toUtc, gtidLists().find((l) => l[0] === newest)![2]);
    assert.ok(status.holes[0]!.toUtc >= status.holes[0]!.fromUtc);
    assert.match(alerts()[0]!, new RegExp(`no restore possible between ${status.holes[0]!.fromUtc} and ${status.holes[0]!.toUtc} \\(gap ${lost[0]}\\.\\.${lost[1]}\\)`));
    const prom = fs.readFileSync(path.join(lab.backup.varLib, "metrics", `dolibarr-backup-binlog-${HOSTING}.prom`), "utf8");
    assert.match(prom, /^dolibarr_backup_binlog_chain_ok\{.*\} 0$/m);
    assert.match(prom, /^dolibarr_backup_binlog_gaps\{.*\} 2$/m);
    // a new dump after the gap: the newest events are reachable again (the gap stays reported)
    assert.equal((await lab.dump("shop")).code, 0);
    // (no deliverer kicked by the replication: it would empty the spool the alerts are counted in)
    assert.equal((await lab.replicate("shop", [], { DBK_NOTIFY_NO_KICK: "1" })).code, 0);
    const after = (await okPull()).status;
    assert.deepEqual(after.gaps, lost);
    assert.doesNotMatch(after.problems.join("\n"), /out of reach/);
    assert.equal(after.newestRecoverableUtc, after.newestEventUtc);
    // behind every instance's newest dump the gap no longer makes the chain "not ok": restores to
    // now work; it stays a hole (holes, gaps, the metric), alerted once when found, not again
    assert.equal(after.ok, true, after.problems.join("; "));
    assert.deepEqual(after.problems, []);
    assert.deepEqual(after.holes, status.holes);
    const promAfter = fs.readFileSync(path.join(lab.backup.varLib, "metrics", `dolibarr-backup-binlog-${HOSTING}.prom`), "utf8");
    assert.match(promAfter, /^dolibarr_backup_binlog_chain_ok\{.*\} 1$/m);
    assert.match(promAfter, /^dolibarr_backup_binlog_gaps\{.*\} 2$/m);
    assert.equal(alerts().length, 1);
    assert.equal((await okPull()).status.ok, true);
    assert.equal(alerts().length, 1);
  });

  it("a file of another MariaDB (a clone: same domain 7, server_id 9, its own seqs) dropped into the mirror breaks the GTID chain: it goes back", async () => {
    clearSpool();
    const other = await startConfMariaDb(path.join(lab.root, "other-db"), [`log_bin = ${path.join(lab.root, "other-db", "binlog")}`, "server_id = 9", "gtid_domain_id = 7", "binlog_format = ROW"]);
    try {
      await other.query("CREATE DATABASE x; CREATE TABLE x.t (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO x.t VALUES (1); FLUSH BINARY LOGS; INSERT INTO x.t VALUES (2)");
      const foreign = path.join(lab.root, "other-db", "binlog.000002");
      assert.match((await mustRun("mariadb-binlog", ["--stop-position=2048", foreign])).stdout, /Gtid list \[7-9-3\]/);
      await q("FLUSH BINARY LOGS");
      await write(10);
      await settled();
      const before = (await okPull()).status;
      assert.equal(before.ok, true, before.problems.join("; "));
      const names = fs.readdirSync(mirrorDir).filter((f) => /^binlog\.\d+$/.test(f)).sort();
      // a closed file held is replaced by the other server's (removed, then its number dropped in)
      const victim = names[2]!;
      const prevList = gtidLists().find((l) => l[0] === names[1])![3]!;
      const original = fs.readFileSync(path.join(mirrorDir, victim));
      const victimList = gtidLists().find((l) => l[0] === victim)![3]!;
      fs.rmSync(path.join(mirrorDir, victim), { force: true });
      fs.copyFileSync(foreign, path.join(mirrorDir, victim));
      const { status } = await okPull();
      assert.equal(status.ok, false);
      assert.ok(status.gtidBreaks.includes(victim), status.gtidBreaks.join(" "));
      const p = status.problems.join("\n");
      assert.match(prevList, /^7-7-\d+$/);
      assert.ok(p.includes(`${victim} starts at GTID 7-9-3 but ${names[1]} started at ${prevList}: the chain goes back (a file from another server, or RESET MASTER on itest-hosting)`), p);
      assert.match(p, new RegExp(`closed file ${victim} changed on this backup server`));
      assert.ok(before.files > 2);
      const prom = fs.readFileSync(path.join(lab.backup.varLib, "metrics", `dolibarr-backup-binlog-${HOSTING}.prom`), "utf8");
      assert.match(prom, /^dolibarr_backup_binlog_gtid_breaks\{.*\} [1-9]\d*$/m);
      // the held file put back: its list is read again (its size changed), the chain is whole
      fs.rmSync(path.join(mirrorDir, victim), { force: true });
      fs.writeFileSync(path.join(mirrorDir, victim), original, { mode: 0o440 });
      const whole = (await okPull()).status;
      assert.equal(whole.ok, true, whole.problems.join("; "));
      assert.deepEqual(whole.gtidBreaks, []);
      assert.equal(gtidLists().find((l) => l[0] === victim)![3], victimList);
    } finally {
      await other.stop();
    }
  });

  it("an instance with no replayable dump here yet blanks its own recoverable second only, until its first dump is mirrored", async () => {
    await lab.addInstance("late", { tree: { documents: 2 }, database: false });
    await q("CREATE DATABASE dolibarr_late; CREATE TABLE dolibarr_late.llx_const (rowid INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(30)); INSERT INTO dolibarr_late.llx_const (name) VALUES ('MAIN_VERSION_LAST_INSTALL')");
    await write(5);
    const before = (await okPull()).status;
    assert.deepEqual(Object.keys(before.recoverableByInstance), ["shop"], JSON.stringify(before));
    assert.equal(before.recoverableByInstance.shop, before.newestEventUtc);
    assert.equal(before.newestRecoverableUtc, "", "no second is recoverable for every instance");
    assert.equal((await lab.dump("late")).code, 0);
    assert.equal((await lab.replicate("late")).code, 0);
    await write(5);
    const after = (await okPull()).status;
    assert.deepEqual(after.recoverableByInstance, { shop: after.newestEventUtc, late: after.newestEventUtc });
    assert.equal(after.newestRecoverableUtc, after.newestEventUtc);
  });

  it("a snapshot keeps, hard-linked, the closed binlogs its dumps need: a restore to a second from it works once the live copy lost them", async () => {
    const snap = await lab.addInstance("snap", { tree: { documents: 2 }, database: false, snapshotsKeep: 3 });
    await q("CREATE DATABASE dolibarr_snap; CREATE TABLE dolibarr_snap.llx_facture (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30)) ENGINE=InnoDB; INSERT INTO dolibarr_snap.llx_facture (ref) VALUES ('before')");
    assert.equal((await lab.dump("snap")).code, 0);
    await q("FLUSH BINARY LOGS");
    await sleep(1100);
    await q("INSERT INTO dolibarr_snap.llx_facture (ref) VALUES ('A')");
    const afterA = Math.floor(Date.now() / 1000) + 1;
    await sleep(2100);
    await q("INSERT INTO dolibarr_snap.llx_facture (ref) VALUES ('B'); FLUSH BINARY LOGS");
    await okPull();
    assert.equal((await lab.replicate("snap")).code, 0);
    const snapshots = fs.readdirSync(path.join(snap.mirror, ".snapshots")).filter((d) => /^\d{8}T\d{6}Z$/.test(d)).sort();
    const snapshot = snapshots.at(-1)!;
    const linked = path.join(snap.mirror, ".snapshots", snapshot, "binlogs");
    const pos = fs.readdirSync(path.join(snap.mirror, "dumps")).filter((f) => f.endsWith(".pos"));
    const firstFile = /^file\t(.*)$/m.exec(fs.readFileSync(path.join(snap.mirror, "dumps", pos.sort()[0]!), "utf8"))![1]!;
    const liveSums = fs.readFileSync(path.join(mirrorDir, "SHA256SUMS"), "utf8").trim().split("\n");
    const wanted = liveSums.filter((l) => l.split(/\s+/)[1]! >= firstFile);
    assert.ok(wanted.length >= 2, `closed files from ${firstFile}: ${wanted.join(", ")}`);
    assert.deepEqual(fs.readFileSync(path.join(linked, "SHA256SUMS"), "utf8").trim().split("\n"), wanted, "the snapshot lists the closed files from its oldest dump's on");
    for (const line of wanted) {
      const name = line.split(/\s+/)[1]!;
      assert.equal(fs.statSync(path.join(linked, name)).ino, fs.statSync(path.join(mirrorDir, name)).ino, `${name} is a hard link, not a copy`);
    }
    assert.ok(!fs.readdirSync(linked).some((f) => f.split(".")[1]! < firstFile.split(".")[1]!), "no file older than the oldest dump's");
    // The live copy loses the dump's file (its retention, or a purge here): only the snapshot has it.
    fs.rmSync(path.join(mirrorDir, firstFile));
    const at = `${new Date(afterA * 1000).toISOString().slice(0, 19)}Z`;
    const fromMirror = await lab.restore(["--only", "db", "--database", "snap_mirror", "--at", at, "snap"]);
    assert.notEqual(fromMirror.code, 0, "the mirror's dump cannot replay without its file");
    assert.match(fromMirror.stderr, new RegExp(`${firstFile.replace(/\./g, "\\.")} is not in`));
    const fromSnapshot = await lab.restore(["--only", "db", "--database", "snap_at", "--snapshot", snapshot, "--at", at, "snap"]);
    assert.equal(fromSnapshot.code, 0, fromSnapshot.stderr);
    assert.match(fromSnapshot.stderr, /the binlogs of snapshot \d{8}T\d{6}Z first/);
    assert.equal((await q("SELECT GROUP_CONCAT(ref ORDER BY rowid) FROM snap_at.llx_facture")).trim(), "before,A");
  });

  // Last: RESET MASTER cannot be undone (the older files keep their GTIDs, the new ones start
  // again from nothing), so the chain stays broken for every test after it.
  it("RESET MASTER on the source (its GTID state emptied, the active file re-created) breaks the GTID chain: named, ok false, alerted once", async () => {
    clearSpool();
    await q("FLUSH BINARY LOGS");
    await write(10);
    await settled();
    // (the chain is not ok here: the snapshot test took files of the live copy; no GTID break yet)
    const before = (await okPull()).status;
    assert.deepEqual(before.gtidBreaks, []);
    clearSpool(); // (that pull may alert the snapshot test's problems)
    const active = (await sourceIndex()).at(-1)!;
    const closed = (await sourceIndex()).at(-2)!;
    const closedList = gtidLists().find((l) => l[0] === closed)![3]!;
    // the active file re-created under the same name, its GTID list empty
    await q(`RESET MASTER TO ${Number(active.split(".")[1])}`);
    assert.deepEqual(await sourceIndex(), [active]);
    await write(3000, 300); // bigger than our copy: fetched whole again (--append-verify)
    await settled();
    const { status } = await okPull();
    assert.equal(status.ok, false);
    assert.deepEqual(status.gtidBreaks, [active]);
    const seq = closedList.split(",").find((g) => g.startsWith("7-"))!;
    assert.ok(
      status.problems.some((p) => p.includes(`${active} starts with no GTID of domain 7 but ${closed} started at ${seq}: the chain breaks (a file from another server, or RESET MASTER on itest-hosting)`)),
      status.problems.join("\n"),
    );
    assert.equal(alerts().length, 1);
    assert.match(alerts()[0]!, /the chain breaks/);
    const prom = fs.readFileSync(path.join(lab.backup.varLib, "metrics", `dolibarr-backup-binlog-${HOSTING}.prom`), "utf8");
    assert.match(prom, /^dolibarr_backup_binlog_gtid_breaks\{.*\} 1$/m);
    await okPull();
    assert.equal(alerts().length, 1, "alerted once");
  });

  it("retention takes what lies behind every instance's newest dump: the hole (its partly fetched file too) and the GTID break go with their files", async () => {
    clearSpool();
    const instances = ["shop", "late", "snap"];
    for (const inst of instances) {
      assert.equal((await lab.dump(inst)).code, 0);
      assert.equal((await lab.replicate(inst, [], { DBK_NOTIFY_NO_KICK: "1" })).code, 0);
    }
    await q("FLUSH BINARY LOGS");
    await write(10);
    await settled();
    const before = (await okPull()).status;
    assert.ok(before.holes.length > 0 && before.gtidBreaks.length > 0, JSON.stringify(before));
    const partly = before.holes.flatMap((h) => h.files).filter((f) => fs.existsSync(path.join(mirrorDir, f)));
    assert.ok(partly.length > 0, "the hole's partly fetched file is held");
    const newestDumpFile = (inst: string) => {
      const dumps = path.join(lab.instances.get(inst)!.mirror, "dumps");
      const pos = fs.readdirSync(dumps).filter((f) => f.endsWith(".pos")).sort().at(-1)!;
      return /^file\t(.*)$/m.exec(fs.readFileSync(path.join(dumps, pos), "utf8"))![1]!;
    };
    const covered = instances.map(newestDumpFile).sort()[0]!;
    // every file a month old (keepDays 9): all below the oldest of the newest dumps' files may go
    const old = new Date(Date.now() - 30 * 86_400_000);
    for (const f of fs.readdirSync(mirrorDir).filter((f) => /^binlog\.\d+$/.test(f))) fs.utimesSync(path.join(mirrorDir, f), old, old);
    const { status } = await okPull();
    assert.equal(status.oldestFile, covered, JSON.stringify(status));
    assert.ok(status.removedFiles > 0);
    for (const f of partly) assert.equal(fs.existsSync(path.join(mirrorDir, f)), false, `${f} (partly fetched, in the hole) removed`);
    assert.deepEqual(status.gtidBreaks, []);
    // the chain is checked before retention runs: the next pull no longer sees the gap
    const next = (await okPull()).status;
    assert.deepEqual(next.gaps, []);
    assert.deepEqual(next.holes, []);
    assert.deepEqual(next.gtidBreaks, []);
    const held = fs.readdirSync(mirrorDir).filter((f) => /^binlog\.\d+$/.test(f)).sort();
    assert.deepEqual(gtidLists().map((l) => l[0]), held, "GTIDLISTS keeps the files held only");
    // what is left: older kept dumps whose files went with the aged files (the test aged them, not time)
    for (const p of next.problems) assert.match(p, /which is not here: no replay from that dump/);
  });
});

// Point-in-time recovery on the lab (issue 20), with the real engine, the real timers and a real
// crash: the lab fleet and one client (bistro: one instance on the IONOS Frankfurt hosting host,
// mirrored on two backup hosts) are deployed, dumped and replicated; then
//  1. a restore to a chosen second between two writes (source alive): the first write there, the
//     second not, every table's CHECKSUM TABLE equal to the source's at that second;
//  2. rows written every ~0.5 s for about 2.5 minutes (several binlog pulls by each backup host's
//     timer), the hosting host killed without warning (lxc-stop --kill), and the instance restored
//     `--at now` from each backup host onto the other hosting host (scripts/failover.sh): every row
//     acknowledged before the newest transaction the backup host had pulled is there, nothing that was
//     never acknowledged beyond the one INSERT in flight, and the loss (how long before the kill the
//     newest restored row was acknowledged) is measured and printed per backup host (≤ 300 s);
//  3. the killed host back (lab.sh up): the restored rows are the source's, the stacks destroyed,
//     no lab host left with a failed unit.
// Runs in a project copy of its own (own stacks/ and state), on the lab (root, LXC), under the lab
// lock: `flock /tmp/dbk-lab-e2e.lock node --test dist/test/e2e/pitr.test.js`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { labEnv, type LabEnv, labHost, labHosts, labScript, projectCopy, pulumi, type RunResult, ssh, sshArgs, sshOk, tableChecksums, waitWhileActivating } from "../../scripts/lab/driver";
import { deploy, failedUnitsReport, labTopology, prepareLabStacks, replicateAndVerify, runDumps } from "../../scripts/lab/flow";
import { LAB_CLIENTS, LAB_FLEET_STACK, type LabHost } from "../../scripts/lab/stacks";
import { binlogStatusPath } from "../../infra/render/paths";

const bistro = LAB_CLIENTS.find((c) => c.client === "bistro")!;
const instance = bistro.instances[0]!;
const HOSTING = instance.hostingServer;
const BACKUPS = instance.backupServers;
const DB = instance.database.name;
/** The restore's own bound: the fleet's default binlog.maxLagSeconds, the database RPO. */
const MAX_LOSS_SECONDS = 300;
/** How long rows are written before the kill: a little over 2 minutes, plus a random part (the kill falls anywhere between pulls). */
const WRITE_MS = 140_000 + Math.floor(Math.random() * 30_000);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const utc = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ") + " UTC";

/** A session to a host killed without warning ends within ~6 s instead of waiting for TCP. */
const KEEPALIVE = ["-o", "ServerAliveInterval=2", "-o", "ServerAliveCountMax=3"];

/** ssh() without blocking the event loop (the writer's acknowledgements are timed while it runs). */
function sshAsync(env: LabEnv, host: LabHost, command: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", sshArgs(env, host, command, KEEPALIVE), { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}

interface BinlogStatus {
  checkedAt: string;
  pull: string;
  newestEventEpoch: number | null;
  newestEventUtc: string;
  lagSeconds: number | null;
  ok: boolean;
  problems: string[];
}

function parseStatus(text: string): BinlogStatus {
  return JSON.parse(text) as BinlogStatus;
}

describe("point-in-time recovery on the lab: a chosen second, and the loss when a hosting host dies", { concurrency: false }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-e2e-pitr-"));
  const env = labEnv({ repo: projectCopy(fs.mkdtempSync(path.join(work, "project-"))), stateDir: fs.mkdtempSync(path.join(work, "state-")) });
  const TARGET = labHosts(env).find((h) => h.role === "hosting" && h.name !== HOSTING)!.name;
  let files: string[] = [];
  let killed = false;
  let destroyed = false;
  /** The statement that puts back the seeded row the first test changes. */
  let seededNote: string | undefined;
  let writer: ChildProcess | undefined;
  /** What each restore from a backup host held: the digest of its pitr_probe rows and their count. */
  const restored = new Map<string, { rows: number; digest: string }>();

  const rowsDigestSql = (where = "") => `SELECT COUNT(*), COALESCE(SHA2(GROUP_CONCAT(id, ':', note ORDER BY id SEPARATOR ','), 256), '-') FROM pitr_probe ${where}`;

  /** The instance's restored copy on the target goes (database, Dolibarr's account, trees). */
  function forgetTargetCopy(): void {
    sshOk(env, labHost(env, TARGET), `mariadb -e "DROP DATABASE IF EXISTS \\\`${DB}\\\`; DROP USER IF EXISTS '${DB}'@'localhost'" && rm -rf -- '${instance.codeRoot}' '${instance.documentsDir}' && { rmdir --ignore-fail-on-non-empty -- '${path.dirname(instance.codeRoot)}' '${path.dirname(instance.documentsDir)}' 2>/dev/null || true; }`);
  }
  /** The test's own tables on the source go (they are not part of the seeded instance). */
  function forgetProbeTables(): void {
    sql(HOSTING, `DROP TABLE IF EXISTS pitr_probe, pitr_point; ${seededNote ?? ""}`);
    seededNote = undefined;
  }
  /** SQL run in the instance's database on a lab host (on stdin: no shell quoting), its rows tab-separated. */
  function sql(host: string, statements: string): string {
    return sshOk(env, labHost(env, host), `mariadb --default-character-set=utf8mb4 -N -B ${DB}`, { input: statements });
  }

  function failover(from: string, at: string): RunResult & { seconds: number } {
    const t0 = Date.now();
    const r = spawnSync(
      "bash",
      [path.join(env.repo, "scripts/failover.sh"), "--instance", instance.name, "--from", from, "--to", TARGET, "--at", at, "--ssh-key", path.join(env.labDir, "id_ed25519"), "--stacks-dir", env.stacksDir],
      { encoding: "utf8", cwd: env.repo, timeout: 10 * 60 * 1000 },
    );
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - t0) / 1000 };
  }

  function binlogStatus(backup: string): BinlogStatus {
    return parseStatus(sshOk(env, labHost(env, backup), `cat ${binlogStatusPath(HOSTING)}`));
  }

  before(() => {
    files = prepareLabStacks(env, [bistro]);
    forgetTargetCopy();
    forgetProbeTables();
    const up = deploy(env, "up", files);
    assert.equal(up.status, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
    const topology = labTopology(env, [bistro]);
    runDumps(env, topology);
    const checks = replicateAndVerify(env, topology);
    assert.ok(checks.length > 0 && checks.every((c) => c.identical), JSON.stringify(checks.filter((c) => !c.identical)));
    for (const b of BACKUPS) {
      const unit = `dolibarr-binlog-pull@${HOSTING}.timer`;
      const state = sshOk(env, labHost(env, b), `systemctl is-enabled ${unit}; systemctl is-active ${unit}`).trim().split("\n");
      assert.deepEqual(state, ["enabled", "active"], `${unit} on ${b}`);
    }
  });

  after(() => {
    writer?.kill("SIGKILL");
    if (killed) {
      const r = labScript(env, ["up"]);
      if (r.status !== 0) console.error(`lab.sh up failed:\n${r.stdout}\n${r.stderr}`);
      killed = false;
    }
    for (const clean of [forgetTargetCopy, forgetProbeTables]) {
      try {
        clean();
      } catch (e) {
        console.error(`cleanup: ${(e as Error).message}`);
      }
    }
    // Leaves the hosts as the other lab tests expect them: the client, then the fleet, destroyed.
    for (const stack of destroyed ? [] : [bistro.stack, LAB_FLEET_STACK]) {
      const r = pulumi(env, ["destroy", "--yes", "--skip-preview", "--stack", stack]);
      if (r.status !== 0) console.error(`pulumi destroy ${stack} failed:\n${r.stdout}\n${r.stderr}`);
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  test("restore to a chosen second between two writes: the first there, the second not, every table's CHECKSUM TABLE as it was at that second", () => {
    // Made after the dump: the replay creates it (its DDL issued from the instance's database, as Dolibarr's sessions do).
    sql(HOSTING, "CREATE TABLE pitr_point (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB");
    // A and B also change a row of a seeded table (put back at the end).
    const [rowid, note] = sql(HOSTING, "SELECT rowid, QUOTE(note) FROM llx_const ORDER BY rowid LIMIT 1").trim().split("\t");
    seededNote = `UPDATE llx_const SET note = ${note} WHERE rowid = ${rowid}`;
    sql(HOSTING, `INSERT INTO pitr_point VALUES (1, 'A'); UPDATE llx_const SET note = 'pitr A' WHERE rowid = ${rowid}`);
    const ackA = Date.now();
    // The whole second after A's acknowledgement: A is stamped at or before it (its commit was before
    // the ack), B after it (sent once that second is over).
    const T = (Math.floor(ackA / 1000) + 1) * 1000;
    const atT = tableChecksums(env, HOSTING, DB);
    // B goes once the second after T has begun and at least 2 s after A.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, Math.max(T + 1000 + 200, ackA + 2000) - Date.now()));
    const sentB = Date.now();
    sql(HOSTING, `INSERT INTO pitr_point VALUES (2, 'B'); UPDATE llx_const SET note = 'pitr B' WHERE rowid = ${rowid}`);
    assert.ok(ackA < T && sentB >= T + 1000 && sentB - ackA >= 2000, `A acknowledged ${utc(ackA)}, T ${utc(T)}, B sent ${utc(sentB)}`);
    // The binlog holding both on the backup host: its pull started by hand (the timer may also run it).
    const from = BACKUPS[0]!;
    for (let k = 0; ; k++) {
      sshOk(env, labHost(env, from), `systemctl start dolibarr-binlog-pull@${HOSTING}.service`);
      const s = binlogStatus(from);
      if ((s.newestEventEpoch ?? 0) * 1000 >= sentB - 1000) break;
      assert.ok(k < 3, `${from} has not pulled B (sent ${utc(sentB)}): ${JSON.stringify(s)}`);
    }
    forgetTargetCopy();
    const r = failover(from, utc(T));
    assert.equal(r.status, 0, `failover --at '${utc(T)}' from ${from}:\n${r.stdout}\n${r.stderr}`);
    console.log(`restore --at '${utc(T)}' from ${from} onto ${TARGET}: ${r.seconds.toFixed(1)} s`);
    assert.match(r.stdout, new RegExp(`^point in time: asked ${utc(T).replace(" UTC", "")} UTC`, "m"));
    console.log(r.stdout.split("\n").filter((l) => /^(point in time|dump|binlog range|replay):/.test(l)).join("\n"));
    // pitr_point was made after the dump: A can only come from the binlogs (CREATE, INSERT, UPDATE at least).
    const applied = Number(/^replay: applied \((\d+) transaction/m.exec(r.stdout)?.[1] ?? 0);
    assert.ok(applied >= 3, `the replay applied ${applied} transaction(s):\n${r.stdout}`);
    const rows = sql(TARGET, "SELECT id, note FROM pitr_point ORDER BY id");
    assert.equal(rows, "1\tA\n", `pitr_point restored to ${utc(T)}: A and only A`);
    assert.equal(tableChecksums(env, TARGET, DB), atT, `every table's CHECKSUM TABLE on ${TARGET} equals the source's at ${utc(T)}`);
    forgetTargetCopy();
  });

  test("rows written every 0.5 s, the hosting host killed without warning: --at now from each backup host holds every row up to its last pull; the loss measured", async () => {
    const source = labHost(env, HOSTING);
    sql(HOSTING, "CREATE TABLE pitr_probe (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB");
    // One INSERT per mariadb call (autocommit): an id is printed once its INSERT returned, i.e. committed.
    const loop = `set -u; i=0; while :; do i=$((i+1)); mariadb ${DB} -e "INSERT INTO pitr_probe VALUES ($i, 'row $i')" || exit 1; echo "$i"; sleep 0.5; done`;
    /** The local time each id's acknowledgement arrived. */
    const acked = new Map<number, number>();
    const started = Date.now();
    writer = spawn("ssh", sshArgs(env, source, loop, KEEPALIVE), { stdio: ["ignore", "pipe", "pipe"] });
    let buffer = "";
    let writerErr = "";
    writer.stdout!.on("data", (d: Buffer) => {
      const now = Date.now();
      buffer += d.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const l of lines) if (/^\d+$/.test(l)) acked.set(Number(l), now);
    });
    writer.stderr!.on("data", (d: Buffer) => (writerErr += d.toString()));
    const writerExit = new Promise<number | null>((resolve) => writer!.on("close", (code) => resolve(code)));

    // Meanwhile the backup hosts' timers pull: their status files read every 5 s (without blocking).
    const pulls = new Map<string, Set<string>>(BACKUPS.map((b) => [b, new Set<string>()]));
    while (Date.now() - started < WRITE_MS) {
      await sleep(5000);
      for (const b of BACKUPS) {
        const r = await sshAsync(env, labHost(env, b), `cat ${binlogStatusPath(HOSTING)}`);
        if (r.status !== 0) continue;
        const s = parseStatus(r.stdout);
        if (s.pull === "ok" && Date.parse(s.checkedAt) >= started) pulls.get(b)!.add(s.checkedAt);
      }
      assert.equal(writer.exitCode, null, `the writer stopped: ${writerErr}`);
    }

    // The kill: the hosting host's container, SIGKILLed with everything in it.
    const killAt = Date.now();
    const kill = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const k = spawn("lxc-stop", ["--kill", "-n", HOSTING], { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      k.stderr.on("data", (d: Buffer) => (err += d.toString()));
      k.on("close", (code) => resolve({ code, err }));
    });
    killed = true;
    assert.equal(kill.code, 0, `lxc-stop --kill ${HOSTING}: ${kill.err}`);
    writer.kill("SIGTERM");
    await writerExit;
    writer = undefined;
    const ackedBeforeKill = [...acked].filter(([, t]) => t < killAt).map(([id]) => id);
    const N = Math.max(0, ...ackedBeforeKill);
    const maxAcked = Math.max(0, ...acked.keys());
    console.log(`writer: ${N} rows acknowledged in ${((killAt - started) / 1000).toFixed(1)} s before the kill at ${new Date(killAt).toISOString()} (${maxAcked - N} after it); pulls seen during the writes: ${BACKUPS.map((b) => `${b} ${pulls.get(b)!.size}`).join(", ")}`);
    assert.ok(N >= 100, `only ${N} rows acknowledged in ${WRITE_MS / 1000} s`);
    for (const b of BACKUPS) assert.ok(pulls.get(b)!.size >= 2, `${b}: ${pulls.get(b)!.size} binlog pull(s) seen during the writes`);
    const dead = ssh(env, source, "true");
    assert.notEqual(dead.status, 0, "the killed host still answers");

    const results: Array<{ backup: string; loss: number; present: number; min: number; max: number; mustHave: number; newest: string; report: string }> = [];
    for (const b of BACKUPS) {
      const backup = labHost(env, b);
      // A pull that was transferring when the host died ends first (its ssh times out): what it got counts.
      waitWhileActivating(env, backup, `dolibarr-binlog-pull@${HOSTING}.service`, 150_000, `the pull of ${HOSTING} on ${b} still runs 150 s after the kill`, 1000);
      const status = binlogStatus(b);
      const newestMs = (status.newestEventEpoch ?? 0) * 1000;
      // Every row acknowledged before the second of the newest transaction this backup host holds
      // was committed before it: the restore must have it.
      const mustHave = Math.max(0, ...[...acked].filter(([, t]) => t < newestMs).map(([id]) => id));
      forgetTargetCopy();
      const r = failover(b, "now");
      assert.equal(r.status, 0, `failover --at now from ${b} with ${HOSTING} dead:\n${r.stdout}\n${r.stderr}`);
      const [count, min, max] = sql(TARGET, "SELECT COUNT(*), COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM pitr_probe").trim().split("\t").map(Number) as [number, number, number];
      const [rows, digest] = sql(TARGET, rowsDigestSql()).trim().split("\t") as [string, string];
      restored.set(b, { rows: Number(rows), digest });
      // The newest restored row that was acknowledged; an INSERT in flight at the kill is no loss.
      const newestAcked = Math.min(max, maxAcked);
      const loss = newestAcked > 0 ? Math.max(0, killAt - acked.get(newestAcked)!) / 1000 : (killAt - started) / 1000;
      const report = r.stdout.split("\n").filter((l) => /^(point in time|dump|binlog range|replay):/.test(l)).join("\n");
      console.log(`pitr loss via ${b}: ${loss.toFixed(1)} s (rows acked up to the kill: ${N}, present: ${count}); restore ${r.seconds.toFixed(1)} s; newest transaction pulled ${status.newestEventUtc}, last pull ${status.checkedAt} (${status.pull})\n${report}`);
      results.push({ backup: b, loss, present: count, min, max, mustHave, newest: status.newestEventUtc, report });
      forgetTargetCopy();
    }
    for (const x of results) {
      assert.ok(x.present === 0 || (x.min === 1 && x.max === x.present), `${x.backup}: the restored ids are not 1..${x.max} without a hole (${x.present} rows, ${x.min}..${x.max})`);
      assert.ok(x.max >= x.mustHave, `${x.backup}: restored up to id ${x.max}, but id ${x.mustHave} was acknowledged before its newest pulled transaction (${x.newest})\n${x.report}`);
      const fiveMinutesBefore = Math.max(0, ...[...acked].filter(([, t]) => t < killAt - 300_000).map(([id]) => id));
      assert.ok(x.max >= fiveMinutesBefore, `${x.backup}: a row acknowledged more than 5 minutes before the kill is missing`);
      assert.ok(x.max <= maxAcked + 1, `${x.backup}: ${x.max - maxAcked} row(s) restored that were never acknowledged (at most the one in flight)`);
      assert.ok(x.loss <= MAX_LOSS_SECONDS, `${x.backup}: ${x.loss.toFixed(1)} s lost, beyond ${MAX_LOSS_SECONDS} s`);
    }
  });

  test("the killed host back: the restored rows are the source's, the stacks destroyed, no lab host left with a failed unit", () => {
    if (killed) {
      const r = labScript(env, ["up"]);
      assert.equal(r.status, 0, `lab.sh up:\n${r.stdout}\n${r.stderr}`);
      killed = false;
    }
    // Acknowledged rows survived on the source; each restore holds exactly the source's first rows.
    for (const [b, x] of restored) {
      const [rows, digest] = sql(HOSTING, rowsDigestSql(`WHERE id <= ${x.rows}`)).trim().split("\t");
      assert.equal(Number(rows), x.rows, `the source lacks rows restored from ${b}`);
      assert.equal(digest, x.digest, `the rows restored from ${b} differ from the source's`);
    }
    forgetTargetCopy();
    forgetProbeTables();
    for (const stack of [bistro.stack, LAB_FLEET_STACK]) {
      const r = pulumi(env, ["destroy", "--yes", "--skip-preview", "--stack", stack]);
      assert.equal(r.status, 0, `pulumi destroy ${stack}:\n${r.stdout}\n${r.stderr}`);
    }
    destroyed = true;
    assert.equal(failedUnitsReport(env), undefined);
  });
});

// Alerts and metrics of the server jobs, for real: the real dump, export and replication jobs
// (private MariaDB, sshd, rsync, see test/support/jobs-lab.ts) notify a REAL HTTP receiver
// (dead-man's-switch pings and webhook) and a REAL SMTP sink (aiosmtpd) through a real
// sendmail-compatible client (msmtp), all on 127.0.0.1 (test/support/notify-sinks.ts).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { hideSecrets, type Notifications } from "../../infra/model/notifications";
import type { Fleet } from "../../infra/model/types";
import { renderServerBase } from "../../infra/render/server";
import { serverScriptPath } from "../../infra/render/repo";
import { prng } from "../support/dolibarr-fixture";
import { mustRun, run, sleep, start, waitFor } from "../support/jobs-exec";
import { JobsLab, type LabInstance, labUnavailable } from "../support/jobs-lab";
import { Blackhole, freePort, type HttpRecord, NotifySinks, sinksUnavailable } from "../support/notify-sinks";
import { skipUnlessCi } from "../support/prerequisites";

const SECRET = "SECRETKEY4242";
const skip = skipUnlessCi(labUnavailable() ?? sinksUnavailable(), "alerts and metrics on a one-machine lab");

/** A strict reader: the bytes must be UTF-8 and the text JSON. */
function strictJson(bytes: Buffer | string): Record<string, unknown> {
  const text = typeof bytes === "string" ? bytes : new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Prometheus textfile samples: "name{labels}" -> value. */
function samples(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-z_]+)\{([^}]*)\} (-?\d+(?:\.\d+)?)$/.exec(line);
    assert.ok(m, `not a textfile sample: ${JSON.stringify(line)}`);
    const labels = m[2]!.replace(/,result="[^"]*"/, "");
    assert.match(labels, /^dolibarr_instance="[^"]+",backup_job="[a-z]+",server="[^"]+",fleet="[^"]*"$/);
    out.set(`${m[1]}${m[2]!.includes("result=") ? `:${/result="([^"]*)"/.exec(m[2]!)![1]}` : ""}`, Number(m[3]));
  }
  return out;
}

describe("alerts and metrics of the server jobs", { skip, timeout: 600_000, concurrency: false }, () => {
  let lab: JobsLab;
  let sinks: NotifySinks;
  let acme: LabInstance;
  const hostingEnvOf = () => lab.hosting.env;

  /** Renders the fleet's base files with these notifiers onto both sides (relocated into the lab). */
  const configure = (n: Partial<Notifications> | undefined): void => {
    const fleet: Fleet = { ...lab.topology.fleet };
    delete fleet.notifications;
    if (n) fleet.notifications = hideSecrets({ timeoutSeconds: 10, logLines: 20, ...n });
    lab.writeRendered(renderServerBase(fleet, lab.hostingServer).files, "hosting");
    lab.writeRendered(renderServerBase(fleet, lab.backupServerEntry).files, "backup");
  };
  const allNotifiers = () =>
    configure({
      healthchecks: { pingUrl: `${sinks.httpUrl}/ping/${SECRET}` },
      email: { to: ["ops@itest.example"], from: "backup@itest.example", sendmail: sinks.sendmail, events: "failures" },
      webhook: { url: `${sinks.httpUrl}/hook?token=${SECRET}`, events: "failures" },
    });

  const notifyDir = (side: "hosting" | "backup") => path.join(lab[side].varLib, "notify");
  const pidAlive = (side: "hosting" | "backup"): boolean => {
    const f = path.join(notifyDir(side), "deliver.pid");
    if (!fs.existsSync(f)) return false;
    try {
      process.kill(Number(fs.readFileSync(f, "utf8").trim()), 0);
      return true;
    } catch {
      return false;
    }
  };
  /** Every spooled event delivered and no deliverer left. */
  const settled = async (side: "hosting" | "backup"): Promise<void> =>
    waitFor(() => {
      const spool = path.join(notifyDir(side), "spool");
      return (!fs.existsSync(spool) || fs.readdirSync(spool).length === 0) && !pidAlive(side);
    }, 60_000, `the ${side} spool to drain`);
  /** Ends a deliverer stuck on a dead receiver (its process group: curl/msmtp too). */
  const killDeliverer = async (side: "hosting" | "backup"): Promise<void> => {
    const f = path.join(notifyDir(side), "deliver.pid");
    for (let i = 0; i < 50 && pidAlive(side); i++) {
      try {
        process.kill(-Number(fs.readFileSync(f, "utf8").trim()), "SIGKILL");
      } catch {
        /* gone */
      }
      await sleep(50);
    }
    fs.rmSync(path.join(notifyDir(side), "spool"), { recursive: true, force: true });
  };
  const pings = (check: string): HttpRecord[] => sinks.requests().filter((r) => r.path.startsWith(`/ping/${SECRET}/${check}`));
  const hooks = (): HttpRecord[] => sinks.requests().filter((r) => r.path.startsWith("/hook"));
  const deliverLog = (side: "hosting" | "backup") => {
    const f = path.join(notifyDir(side), "deliver.log");
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "";
  };

  before(async () => {
    lab = await JobsLab.create();
    sinks = await NotifySinks.start(path.join(lab.root, "sinks"));
    acme = await lab.addInstance("acme", { tree: { documents: 40 } });
    await lab.addInstance("bistro", { tree: { documents: 10 } });
    await lab.addInstance("broken", { tree: { documents: 5 }, database: false });
    allNotifiers();
  });

  after(async () => {
    for (const side of ["hosting", "backup"] as const) if (lab) await killDeliverer(side);
    if (sinks) await sinks.stop();
    if (lab) await lab.close();
  });

  it("a forced failure (dump of a missing database) reaches the HTTP receiver (fail ping, webhook) and the SMTP sink", async () => {
    sinks.clear();
    const r = await lab.dump("broken");
    assert.equal(r.code, 1, r.stderr);
    await waitFor(() => pings("broken-dump-itest-hosting/fail").length === 1 && hooks().length === 1 && sinks.mails().length === 1, 30_000, "the failure's notifications");
    await settled("hosting");
    const all = pings("broken-dump-itest-hosting");
    assert.deepEqual(all.map((p) => p.path), [`/ping/${SECRET}/broken-dump-itest-hosting/start`, `/ping/${SECRET}/broken-dump-itest-hosting/fail`], "start, then fail");
    const fail = all[1]!;
    assert.equal(fail.method, "POST");
    assert.match(fail.body, /dump of dolibarr_broken failed/);
    assert.match(fail.body, /Unknown database/);
    assert.match(fail.body, /--- last lines of the log of dump of broken on itest-hosting ---\n.*dolibarr-dump\[broken\]: dumping database/s);

    const hook = hooks()[0]!;
    assert.equal(hook.method, "POST");
    assert.equal(hook.headers["content-type"], "application/json");
    const payload = strictJson(hook.body);
    assert.equal(payload.event, "fail");
    assert.equal(payload.job, "dump");
    assert.equal(payload.instance, "broken");
    assert.equal(payload.server, "itest-hosting");
    assert.equal(payload.fleet, "itest-fleet");
    assert.equal(payload.check, "broken-dump-itest-hosting");
    assert.match(String(payload.message), /Unknown database/);
    assert.match(String(payload.log), /ERROR: dump of dolibarr_broken failed/);

    const mail = sinks.mails()[0]!;
    assert.equal(mail.subject, "[dolibarr-backup] FAILED: dump of broken on itest-hosting");
    assert.equal(mail.to, "ops@itest.example");
    assert.match(mail.headers.from ?? "", /backup@itest\.example/);
    assert.match(mail.body, /Unknown database/);
    assert.match(mail.body, /--- last lines of the log/);

    const status = strictJson(fs.readFileSync(path.join(lab.hosting.varLib, "status", "broken.dump.json")));
    assert.equal(status.result, "failed");
    assert.equal(status.server, "itest-hosting");
    const m = samples(path.join(lab.hosting.varLib, "metrics", "dolibarr-backup-dump-broken.prom"));
    assert.equal(m.get("dolibarr_backup_last_success"), 0);
    assert.equal(m.get("dolibarr_backup_last_success_timestamp_seconds"), 0, "never succeeded");
    assert.equal(m.get("dolibarr_backup_last_result:failed"), 1);

    // The URLs (the ping key, the webhook token) are in no log.
    const logs = [r.stderr, deliverLog("hosting"), fs.readFileSync(path.join(lab.hosting.varLib, "log", "broken.dump.log"), "utf8")];
    for (const l of logs) assert.ok(!l.includes(SECRET), `a URL in a log:\n${l}`);
    assert.match(deliverLog("hosting"), /ping fail of check broken-dump-itest-hosting: delivered \(HTTP 200\)/);
  });

  it("a good run pings start then success per instance, job and server; metrics carry its time, duration and bytes; a later failure keeps the last success", async () => {
    sinks.clear();
    const t0 = Math.floor(Date.now() / 1000);
    assert.equal((await lab.dump("acme")).code, 0);
    assert.equal((await lab.replicate("acme")).code, 0);
    await settled("hosting");
    await settled("backup");
    const dumpCheck = "acme-dump-itest-hosting";
    const replCheck = `acme-replicate-${lab.backupServer}`;
    assert.deepEqual(pings(dumpCheck).map((p) => p.path.slice(`/ping/${SECRET}/`.length)), [`${dumpCheck}/start`, dumpCheck]);
    assert.deepEqual(pings(replCheck).map((p) => p.path.slice(`/ping/${SECRET}/`.length)), [`${replCheck}/start`, replCheck]);
    assert.match(pings(dumpCheck)[1]!.body, /^ok\n/);
    assert.equal(hooks().length, 0, "webhook: failures only");
    assert.equal(sinks.mails().length, 0, "e-mail: failures only");

    const ds = lab.dumpStatus("acme");
    const dm = samples(path.join(lab.hosting.varLib, "metrics", "dolibarr-backup-dump-acme.prom"));
    const lastOk = dm.get("dolibarr_backup_last_success_timestamp_seconds")!;
    assert.ok(lastOk >= t0 && lastOk <= Math.floor(Date.now() / 1000), `last success ${lastOk}`);
    assert.equal(dm.get("dolibarr_backup_last_run_timestamp_seconds"), lastOk);
    assert.equal(dm.get("dolibarr_backup_last_bytes"), ds.sizeBytes);
    assert.equal(dm.get("dolibarr_backup_last_duration_seconds"), ds.durationSeconds);
    assert.equal(dm.get("dolibarr_backup_last_success"), 1);
    assert.equal(dm.get("dolibarr_backup_last_result:ok"), 1);
    const rs = lab.replicateStatus("acme");
    const rm = samples(path.join(lab.backup.varLib, "metrics", "dolibarr-backup-replicate-acme.prom"));
    assert.equal(rm.get("dolibarr_backup_last_bytes"), rs.bytesReceived);
    assert.ok((rs.bytesReceived as number) > 0);
    assert.match(fs.readFileSync(path.join(lab.backup.varLib, "metrics", "dolibarr-backup-replicate-acme.prom"), "utf8"), new RegExp(`server="${lab.backupServer}",fleet="itest-fleet"`));
    // the export refresh after the dump is a job run too (status, metrics)
    assert.equal((await run(lab.script("dolibarr-export"), ["refresh", "acme"], { env: hostingEnvOf() })).code, 0);
    assert.equal(strictJson(fs.readFileSync(path.join(lab.hosting.varLib, "status", "acme.export.json"))).result, "ok");
    assert.equal(samples(path.join(lab.hosting.varLib, "metrics", "dolibarr-backup-export-acme.prom")).get("dolibarr_backup_last_success"), 1);

    // A failure now (the option file readable by others: refused) keeps the last success time.
    await sleep(1100);
    const cnf = path.join(lab.hosting.etc, "instances", "acme.my.cnf");
    fs.chmodSync(cnf, 0o644);
    try {
      assert.equal((await lab.dump("acme")).code, 1);
    } finally {
      fs.chmodSync(cnf, 0o600);
    }
    const after = samples(path.join(lab.hosting.varLib, "metrics", "dolibarr-backup-dump-acme.prom"));
    assert.equal(after.get("dolibarr_backup_last_success_timestamp_seconds"), lastOk);
    assert.ok(after.get("dolibarr_backup_last_run_timestamp_seconds")! > lastOk);
    assert.equal(after.get("dolibarr_backup_last_success"), 0);
    assert.equal(after.get("dolibarr_backup_last_result:failed"), 1);
    assert.equal(after.has("dolibarr_backup_last_result:ok"), false, "one result series");
    await waitFor(() => pings(`${dumpCheck}/fail`).length === 1 && sinks.mails().length === 1, 30_000, "the second failure's notifications");
    assert.match(pings(`${dumpCheck}/fail`)[0]!.body, /must be 0600/);
    await settled("hosting");
  });

  it("a job that never runs leaves its switch without a ping; a run skipped on the lock pings nothing", async () => {
    sinks.clear();
    assert.equal((await lab.dump("acme")).code, 0);
    await settled("hosting");
    assert.equal(pings("acme-dump-itest-hosting").length, 2);
    assert.deepEqual(sinks.requests().filter((r) => r.path.includes("bistro")), [], "bistro never ran: no ping at all");
    // A dump skipped because the previous one still holds the lock (exit 75): no start, no success.
    sinks.clear();
    const holder = start("flock", [path.join(lab.hosting.lock, "dump-acme.lock"), "sleep", "30"]);
    try {
      await waitFor(async () => (await run("flock", ["-n", path.join(lab.hosting.lock, "dump-acme.lock"), "true"])).code !== 0, 5_000, "the lock holder");
      const r = await lab.dump("acme", ["--lock-wait", "0"]);
      assert.equal(r.code, 75, r.stderr);
    } finally {
      holder.kill();
      await holder.exited;
    }
    await sleep(300);
    await settled("hosting");
    assert.deepEqual(sinks.requests(), []);
  });

  it("an export refresh that fails alerts (webhook, e-mail) without a ping, and leaves a failed export status", async () => {
    sinks.clear();
    const env = path.join(lab.hosting.etc, "instances", "broken.env");
    const good = fs.readFileSync(env, "utf8");
    fs.writeFileSync(env, good.replace(/^EXPORT_ROOT=.*$/m, `EXPORT_ROOT='${lab.root}/no-such-export-root'`));
    try {
      const r = await run(lab.script("dolibarr-export"), ["apply", "broken"], { env: lab.hosting.env });
      assert.equal(r.code, 1, r.stderr);
    } finally {
      fs.writeFileSync(env, good);
    }
    await waitFor(() => hooks().length === 1 && sinks.mails().length === 1, 30_000, "the export alert");
    await settled("hosting");
    assert.equal(sinks.requests().filter((x) => x.path.startsWith("/ping")).length, 0, "no ping for export");
    const payload = strictJson(hooks()[0]!.body);
    assert.equal(payload.job, "export");
    assert.match(String(payload.message), /no-such-export-root.*does not exist/);
    assert.equal(sinks.mails()[0]!.subject, "[dolibarr-backup] FAILED: export of broken on itest-hosting");
    const status = strictJson(fs.readFileSync(path.join(lab.hosting.varLib, "status", "broken.export.json")));
    assert.equal(status.result, "failed");
    assert.equal(status.action, "apply");
  });

  it("dead receivers (a black hole that never answers, a closed port) never fail nor delay the job (measured)", async () => {
    const bh = await Blackhole.start();
    const closed = await freePort();
    const timeoutSeconds = 20;
    const bhMail = path.join(lab.root, "sendmail-blackhole");
    fs.writeFileSync(path.join(lab.root, "msmtprc-blackhole"), `account default\nhost 127.0.0.1\nport ${bh.port}\nauth off\ntls off\nfrom backup@itest.example\n`, { mode: 0o600 });
    fs.writeFileSync(bhMail, `#!/bin/sh\nexec msmtp -C ${lab.root}/msmtprc-blackhole "$@"\n`, { mode: 0o755 });
    const timings: Record<string, number[]> = { none: [], blackhole: [], closed: [] };
    const timed = async (what: string, instance: string, expect: number): Promise<void> => {
      const t = Date.now();
      const r = await lab.dump(instance);
      timings[what]!.push(Date.now() - t);
      assert.equal(r.code, expect, `${what}: ${r.stderr}`);
    };
    try {
      configure(undefined);
      for (let i = 0; i < 3; i++) await timed("none", "acme", 0);
      configure({
        healthchecks: { pingUrl: `http://127.0.0.1:${bh.port}/ping/${SECRET}` },
        email: { to: ["ops@itest.example"], sendmail: bhMail, events: "all" },
        webhook: { url: `http://127.0.0.1:${bh.port}/hook`, events: "all" },
        timeoutSeconds,
      });
      for (let i = 0; i < 3; i++) await timed("blackhole", "acme", 0);
      await timed("blackhole", "broken", 1); // a failure too: its alerts go to the black hole
      await waitFor(() => bh.connections > 0, 10_000, "the deliverer to reach the black hole");
      assert.ok(pidAlive("hosting"), "the deliverer is still waiting on the black hole, the jobs are done");
      await killDeliverer("hosting");
      configure({
        healthchecks: { pingUrl: `http://127.0.0.1:${closed}/ping/${SECRET}` },
        email: { to: ["ops@itest.example"], sendmail: "/nonexistent/sendmail", events: "all" },
        webhook: { url: `http://127.0.0.1:${closed}/hook`, events: "all" },
        timeoutSeconds,
      });
      for (let i = 0; i < 3; i++) await timed("closed", "acme", 0);
      await settled("hosting");
      assert.match(deliverLog("hosting"), /WARNING: ping start of check acme-dump-itest-hosting: not delivered \(curl exit 7, HTTP 000\)/);
      assert.match(deliverLog("hosting"), /not sent: no MTA at \/nonexistent\/sendmail/);
    } finally {
      await killDeliverer("hosting");
      await bh.close();
      allNotifiers();
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const line = Object.entries(timings).map(([k, v]) => `${k}: median ${median(v)} ms (${v.join(", ")})`).join("; ");
    console.log(`# dump duration with receivers ${line}; notifier timeout ${timeoutSeconds} s`);
    // A notifier's wait would show as whole timeouts (20 s); the jobs stay at their own pace.
    for (const what of ["blackhole", "closed"]) {
      assert.ok(Math.max(...timings[what]!) < timeoutSeconds * 1000 / 2, `${what}: ${line}`);
      assert.ok(median(timings[what]!) < median(timings.none!) + 3000, `${what}: ${line}`);
    }
    assert.equal(lab.dumpStatus("acme").result, "ok");
  });

  it("status files, webhooks and mails stay valid whatever a message holds: generated hostile messages", async () => {
    // 1) 400 generated messages straight through dbk_write_status (control characters, quotes,
    //    backslashes, invalid UTF-8, long lines, emoji). NUL cannot reach it: bash strings end at NUL.
    const dir = path.join(lab.root, "hostile");
    fs.mkdirSync(path.join(dir, "in"), { recursive: true });
    fs.mkdirSync(path.join(dir, "out"), { recursive: true });
    const rand = prng(1234);
    const pieces = ['"', "\\", "\n", "\r", "\t", "\u001b[31m", "\u0007", "\u007f", "é", "😀", "\u2028", "}", "{\"a\":", "'", "$(x)", "`", "%s", "\\u0000"];
    const inputs: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const parts: Buffer[] = [];
      const n = 1 + Math.floor(rand() * 30);
      for (let j = 0; j < n; j++) {
        const k = rand();
        if (k < 0.4) parts.push(Buffer.from(pieces[Math.floor(rand() * pieces.length)]!));
        else if (k < 0.6) parts.push(Buffer.from([1 + Math.floor(rand() * 31)]));
        else if (k < 0.7) parts.push(Buffer.from([0x80 + Math.floor(rand() * 128)])); // stray high byte
        else if (k < 0.75) parts.push(Buffer.from(randomBytes(4).map((b) => b || 1)));
        else parts.push(Buffer.from("word "));
      }
      if (i % 50 === 0) parts.push(Buffer.alloc(5000, "x"));
      const b = Buffer.concat(parts).filter((x) => x !== 0);
      inputs.push(Buffer.from(b));
      fs.writeFileSync(path.join(dir, "in", String(i).padStart(4, "0")), b);
    }
    await mustRun("bash", [
      "-euo",
      "pipefail",
      "-c",
      `source ${serverScriptPath("dolibarr-backup-common.sh")}
       for f in ${dir}/in/*; do m="$(cat "$f"; printf x)"; m="\${m%x}"; dbk_write_status "${dir}/out/\${f##*/}.json" instance=acme job=dump result=failed message="$m" durationSeconds=3; done`,
    ]);
    let exact = 0;
    inputs.forEach((input, i) => {
      const bytes = fs.readFileSync(path.join(dir, "out", `${String(i).padStart(4, "0")}.json`));
      const status = strictJson(bytes);
      assert.equal(status.result, "failed");
      assert.equal(status.durationSeconds, 3);
      let valid = true;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(input);
      } catch {
        valid = false;
      }
      if (valid) {
        assert.equal(status.message, input.toString("utf8"), `message ${i} round trip`);
        exact++;
      } else assert.match(String(status.message), /\uFFFD/);
    });
    assert.ok(exact > 50 && exact < 400, `both valid (${exact}) and invalid UTF-8 cases`);

    // 2) Through the real dump job and the notifiers: hostile database names echoed by the dump's error.
    const env = path.join(lab.hosting.etc, "instances", "broken.env");
    const good = fs.readFileSync(env, "utf8");
    const names = [Buffer.from('db"\\\u001b[31m\u0007\ttab\rcr'), Buffer.from([0x64, 0x62, 0xff, 0xfe, 0x01, 0x7f, 0x22, 0x7d]), Buffer.from("db😀\u2028\"}{'$(id)`")];
    try {
      for (const name of names) {
        sinks.clear();
        const ansiC = `$'${[...name].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("")}'`;
        fs.writeFileSync(env, good.replace(/^DB_NAME=.*$/m, () => `DB_NAME=${ansiC}`));
        const r = await lab.dump("broken");
        assert.equal(r.code, 1, r.stderr);
        const status = strictJson(fs.readFileSync(path.join(lab.hosting.varLib, "status", "broken.dump.json")));
        assert.equal(status.result, "failed");
        assert.match(String(status.message), /dump of db/);
        await waitFor(() => hooks().length === 1 && sinks.mails().length === 1, 30_000, "the hostile failure's notifications");
        await settled("hosting");
        const payload = strictJson(hooks()[0]!.body);
        assert.equal(payload.event, "fail");
        assert.match(String(payload.message), /dump of db/);
        const mail = sinks.mails()[0]!;
        assert.equal(mail.subject, "[dolibarr-backup] FAILED: dump of broken on itest-hosting", "nothing injected in the headers");
        assert.doesNotMatch(mail.raw, /[\u0000-\u0008\u000b-\u001f\u007f]/, "no raw control character in the mail");
        assert.match(pings("broken-dump-itest-hosting/fail")[0]!.body, /dump of db/);
      }
    } finally {
      fs.writeFileSync(env, good);
    }
  });

  it("OnFailure=: dolibarr-notify unit-failed alerts a run the job could not report (killed), and not one it reported", async () => {
    const inv = (c: string) => c.repeat(32);
    const unitFailed = (id: string) =>
      run(serverScriptPath("dolibarr-notify"), ["unit-failed", "dolibarr-replicate@acme.service"], {
        env: { ...lab.backup.env, MONITOR_SERVICE_RESULT: "signal", MONITOR_EXIT_CODE: "killed", MONITOR_EXIT_STATUS: "KILL", MONITOR_INVOCATION_ID: id },
      });
    sinks.clear();
    const r = await unitFailed(inv("a"));
    assert.equal(r.code, 0, r.stderr);
    // delivered before it returned (it is its own unit: nothing to wait for)
    const check = `acme-replicate-${lab.backupServer}`;
    assert.equal(pings(`${check}/fail`).length, 1, JSON.stringify(sinks.requests()));
    assert.match(pings(`${check}/fail`)[0]!.body, /unit dolibarr-replicate@acme\.service failed \(result signal, killed KILL\)/);
    assert.equal(strictJson(hooks()[0]!.body).job, "replicate");
    await waitFor(() => sinks.mails().length === 1, 10_000, "the mail");
    assert.equal(sinks.mails()[0]!.subject, `[dolibarr-backup] FAILED: replicate of acme on ${lab.backupServer}`);

    // A run the job reported itself (under systemd: INVOCATION_ID set, no detached delivery, the
    // path unit delivers): the reported marker makes the OnFailure= notifier stay silent.
    sinks.clear();
    const id = inv("b");
    const d = await lab.dump("broken", [], { INVOCATION_ID: id });
    assert.equal(d.code, 1);
    assert.ok(fs.existsSync(path.join(notifyDir("hosting"), "reported", id)), "the job marked its run reported");
    assert.ok(fs.readdirSync(path.join(notifyDir("hosting"), "spool")).length >= 2, "start and fail events wait for the path unit");
    await mustRun(serverScriptPath("dolibarr-notify"), ["deliver"], { env: lab.hosting.env }); // what dolibarr-notify.path starts
    assert.equal(pings("broken-dump-itest-hosting/fail").length, 1);
    const before = sinks.requests().length;
    const again = await run(serverScriptPath("dolibarr-notify"), ["unit-failed", "dolibarr-dump@broken.service"], {
      env: { ...lab.hosting.env, MONITOR_SERVICE_RESULT: "exit-code", MONITOR_EXIT_CODE: "exited", MONITOR_EXIT_STATUS: "1", MONITOR_INVOCATION_ID: id },
    });
    assert.equal(again.code, 0);
    assert.match(again.stderr, /the job already reported this run/);
    assert.equal(sinks.requests().length, before, "no second alert");
    assert.ok(!fs.existsSync(path.join(notifyDir("hosting"), "reported", id)));
  });

  it("deliver --linger: one run delivers what arrives while it waits for a quiet spool, in order, then ends; sweep outside systemd drains the spool", async () => {
    sinks.clear();
    // Events spooled as a job under systemd spools them (INVOCATION_ID set: nothing started by the job).
    const spool = (n: number, kind: "start" | "success") =>
      mustRun("bash", ["-c", `set -euo pipefail; source "$1"; dbk_load_server; DBK_INSTANCE=linger-${n}; DBK_JOB=dump; DBK_JOB_PING=1; dbk_notify_event ${kind} "linger ${n} ${kind}"`, "spool", serverScriptPath("dolibarr-backup-common.sh")], {
        env: { ...lab.hosting.env, INVOCATION_ID: randomBytes(16).toString("hex") },
      });
    for (let n = 1; n <= 3; n++) await spool(n, "start");
    const t0 = Date.now();
    const deliverer = start(serverScriptPath("dolibarr-notify"), ["deliver", "--linger", "2"], { env: lab.hosting.env });
    // While the run waits for a quiet spool, more events arrive, 1 s apart: the same run delivers them.
    for (let n = 1; n <= 3; n++) {
      await sleep(1000);
      await spool(n, "success");
    }
    const lastSpooled = Date.now();
    const r = await deliverer.done;
    assert.equal(r.code, 0, r.stderr);
    const ended = Date.now();
    assert.ok(ended - lastSpooled >= 1900, `the run ended ${ended - lastSpooled} ms after the last event: it must wait 2 s for a quiet spool`);
    assert.ok(ended - t0 < 20_000);
    for (let n = 1; n <= 3; n++) {
      assert.deepEqual(pings(`linger-${n}-dump-itest-hosting`).map((p) => p.path.split("/").pop()), ["start", `linger-${n}-dump-itest-hosting`], `linger-${n}: once each, in order`);
    }
    assert.deepEqual(fs.readdirSync(path.join(notifyDir("hosting"), "spool")), [], "the run left nothing");
    assert.equal((await run(serverScriptPath("dolibarr-notify"), ["deliver", "--linger", "61"], { env: lab.hosting.env })).code, 2, "a linger over 60 s is a usage error");

    // The sweep, outside systemd (no watcher to re-arm): delivers what waits.
    sinks.clear();
    await spool(4, "start");
    const sweep = await run(serverScriptPath("dolibarr-notify"), ["sweep"], { env: lab.hosting.env });
    assert.equal(sweep.code, 0, sweep.stderr);
    assert.equal(pings("linger-4-dump-itest-hosting/start").length, 1, sweep.stderr);
    assert.deepEqual(fs.readdirSync(path.join(notifyDir("hosting"), "spool")), []);
  });

  it("dolibarr-notify test reaches every notifier now and says what each answered", async () => {
    sinks.clear();
    const r = await run(serverScriptPath("dolibarr-notify"), ["test"], { env: lab.hosting.env });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /webhook \(alert\) for test: delivered \(HTTP 200\)/);
    assert.match(r.stderr, /test ping: delivered \(HTTP 200\)/);
    assert.ok(!r.stderr.includes(SECRET));
    await waitFor(() => sinks.mails().length === 1, 10_000, "the test mail");
    assert.equal(sinks.mails()[0]!.subject, "[dolibarr-backup] ALERT (test): test on itest-hosting");
    assert.equal(pings("test-test-itest-hosting").length, 1);
  });

  it("the notifier never exits non-zero, even with a broken spool or config", async () => {
    const spool = path.join(notifyDir("hosting"), "spool", "0000000001-1-1");
    fs.mkdirSync(spool, { recursive: true }); // an event without its files, very old
    const r = await run(serverScriptPath("dolibarr-notify"), ["deliver"], {
      env: { ...lab.hosting.env, DOLIBARR_BACKUP_CONF_DIR: path.join(lab.root, "no-such-conf") },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!fs.existsSync(spool), "dropped");
    assert.equal((await run(serverScriptPath("dolibarr-notify"), ["unit-failed", "bad unit name;"], { env: lab.hosting.env })).code, 0);
    assert.equal((await run(serverScriptPath("dolibarr-notify"), ["nonsense"], { env: lab.hosting.env })).code, 2, "usage error");
    void acme;
  });
});

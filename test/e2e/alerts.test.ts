// Alerts in the lab, end to end: the lab fleet deployed by the real engine with notifiers that
// point at a real HTTP receiver and a real SMTP sink on a lab host (test/support/notify-lab.ts);
// the jobs run under systemd on the lab hosts. A forced failure reaches both receivers, a killed
// job is alerted through OnFailure=, a stopped timer leaves its dead-man's switch without a ping
// while a running one pings, and the URLs exist on the servers only in the 0600 secrets file.
// Runs in a project copy of its own (own stacks/ and state), like test/e2e/lab.test.ts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { labEnv, labHost, labHosts, labOperator, labScript, projectCopy, pulumiOk, ssh, sshOk, type LabEnv } from "../../scripts/lab/driver";
import { deploy, failedUnitsReport, prepareLabStacks } from "../../scripts/lab/flow";
import { LAB_FLEET_STACK, labFleetConfig, writeStackFile } from "../../scripts/lab/stacks";
import { configureLabMta, labNotifications, startLabReceivers, type LabReceivers } from "../support/notify-lab";
import type { HttpRecord } from "../support/notify-sinks";
import { notifySpoolDir } from "../../infra/render/paths";

const PING_KEY = `labkey${Date.now().toString(36)}`;
/** The lab host the receivers run on (a host of the fleet: it pings itself too). */
const RECEIVER_HOST = process.env.DOLIBARR_BACKUP_LAB_RECEIVER ?? "lab-backup-ovh-gra";
const HOSTING = "lab-host-ovh-rbx";
const BACKUP = "lab-backup-ovh-waw";

const temporary: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitUntil(check: () => boolean, timeoutMs: number, what: string): void {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    sleepSync(1000);
  }
}

describe("alerts in the lab: real receivers on a lab host, jobs under systemd", { concurrency: false }, () => {
  const env: LabEnv = labEnv({ repo: projectCopy(tempDir("dbk-e2e-alerts-")), stateDir: tempDir("dbk-e2e-alerts-state-") });
  let receivers: LabReceivers;
  const pings = (check: string): HttpRecord[] => receivers.requests().filter((r) => r.path.startsWith(`/ping/${PING_KEY}/${check}`));
  const hooks = (): HttpRecord[] => receivers.requests().filter((r) => r.path.startsWith("/hook"));

  before(() => {
    const up = labScript(env, ["up"]);
    assert.equal(up.status, 0, `lab.sh up failed:\n${up.stdout}\n${up.stderr}`);
    const files = prepareLabStacks(env);
    receivers = startLabReceivers(env, labHost(env, RECEIVER_HOST));
    for (const host of labHosts(env)) configureLabMta(env, host, receivers);
    const n = labNotifications(receivers, PING_KEY);
    writeStackFile(env.stacksDir, LAB_FLEET_STACK, { ...labFleetConfig(labHosts(env), "ipv4", [labOperator(env)]), notifications: n.plain });
    for (const [key, value] of n.secrets) pulumiOk(env, ["config", "set", "--secret", "--path", `dolibarr-backup:${key}`, value, "--stack", LAB_FLEET_STACK]);
    const result = deploy(env, "up", files);
    assert.equal(result.status, 0, `pulumi up failed:\n${result.stdout}\n${result.stderr}`);
  });

  after(() => {
    receivers?.stop();
    for (const dir of temporary) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("every server watches its spool, and the URLs are only in its 0600 notify.secrets (not in units, config, journal or state)", () => {
    for (const host of labHosts(env)) {
      assert.equal(sshOk(env, host, "systemctl is-active dolibarr-notify.path dolibarr-notify-sweep.timer").trim(), "active\nactive", host.name);
      assert.equal(sshOk(env, host, "stat -c '%a %U' /etc/dolibarr-backup/notify.secrets").trim(), "600 root", host.name);
      assert.match(sshOk(env, host, "cat /etc/dolibarr-backup/notify.secrets"), new RegExp(`NOTIFY_PING_URL='${receivers.httpUrl.replace(/\./g, "\\.")}/ping/${PING_KEY}'`));
      assert.equal(sshOk(env, host, `grep -rl ${PING_KEY} /etc/systemd /etc/dolibarr-backup/server.env /etc/dolibarr-backup/instances || true`).trim(), "", host.name);
      assert.equal(sshOk(env, host, `dolibarr-notify test >/dev/null 2>&1; journalctl --no-pager -q | grep -c ${PING_KEY} || true`).trim(), "0", `${host.name}: a URL in the journal`);
    }
    const state = pulumiOk(env, ["stack", "export", "--stack", LAB_FLEET_STACK]);
    assert.ok(!state.includes(PING_KEY), "a URL in clear in the fleet's state");
  });

  test("a forced failure (dump refused: its option file is readable by others) reaches the HTTP receiver and the SMTP sink", () => {
    receivers.clear();
    const rbx = labHost(env, HOSTING);
    const cnf = "/etc/dolibarr-backup/instances/acme-erp.my.cnf";
    try {
      sshOk(env, rbx, `chmod 0644 ${cnf}`);
      assert.notEqual(ssh(env, rbx, "systemctl start dolibarr-dump@acme-erp.service").status, 0, "the dump must fail");
    } finally {
      sshOk(env, rbx, `chmod 0600 ${cnf}`);
    }
    const check = `acme-erp-dump-${HOSTING}`;
    waitUntil(() => pings(`${check}/fail`).length === 1 && hooks().length >= 1 && receivers.mails().length >= 1, 60_000, "the failure at the receivers");
    assert.deepEqual(pings(check).map((p) => p.path.split("/").pop()), ["start", "fail"]);
    assert.match(pings(`${check}/fail`)[0]!.body, /must be 0600/);
    const payload = JSON.parse(hooks()[0]!.body) as Record<string, unknown>;
    assert.equal(payload.event, "fail");
    assert.equal(payload.server, HOSTING);
    assert.match(String(payload.log), /must be 0600/, "the run's journal lines");
    assert.equal(receivers.mails()[0]!.subject, `[dolibarr-backup] FAILED: dump of acme-erp on ${HOSTING}`);
    // OnFailure= ran and stayed silent: the job had reported the run itself.
    waitUntil(
      () => /already reported this run/.test(ssh(env, rbx, "journalctl --no-pager -u 'dolibarr-notify@dolibarr-dump@acme-erp.service.service'").stdout),
      30_000,
      "the OnFailure= notifier",
    );
    assert.equal(pings(`${check}/fail`).length, 1, "one alert per failure");
    sshOk(env, rbx, "systemctl reset-failed dolibarr-dump@acme-erp.service");
    assert.equal(ssh(env, rbx, "systemctl start dolibarr-dump@acme-erp.service").status, 0, "and the next dump succeeds");
  });

  test("a replication killed by SIGKILL is alerted through OnFailure=", () => {
    receivers.clear();
    const waw = labHost(env, BACKUP);
    const dropIn = "/run/systemd/system/dolibarr-replicate@acme-erp.service.d";
    try {
      sshOk(env, waw, `mkdir -p ${dropIn} && printf '[Service]\\nExecStartPre=/bin/sleep 60\\n' > ${dropIn}/zz-slow.conf && systemctl daemon-reload`);
      sshOk(env, waw, "systemctl start --no-block dolibarr-replicate@acme-erp.service && sleep 2 && systemctl kill -s KILL dolibarr-replicate@acme-erp.service");
    } finally {
      sshOk(env, waw, `rm -rf ${dropIn} && systemctl daemon-reload`);
    }
    const check = `acme-erp-replicate-${BACKUP}`;
    waitUntil(() => pings(`${check}/fail`).length === 1 && receivers.mails().length >= 1, 60_000, "the OnFailure= alert");
    assert.match(pings(`${check}/fail`)[0]!.body, /unit dolibarr-replicate@acme-erp\.service failed \(result signal/);
    assert.equal(receivers.mails()[0]!.subject, `[dolibarr-backup] FAILED: replicate of acme-erp on ${BACKUP}`);
    sshOk(env, waw, "systemctl reset-failed dolibarr-replicate@acme-erp.service || true");
  });

  test("a stopped timer leaves its switch without its ping while a running one pings", () => {
    const rbx = labHost(env, HOSTING);
    const everyMinute = (instance: string) => `/run/systemd/system/dolibarr-dump@${instance}.timer.d`;
    try {
      for (const instance of ["acme-erp", "acme-formation"]) {
        sshOk(env, rbx, `mkdir -p ${everyMinute(instance)} && printf '[Timer]\\nOnCalendar=\\nOnCalendar=*:*:00\\nAccuracySec=1s\\nPersistent=false\\n' > ${everyMinute(instance)}/zz-every-minute.conf`);
      }
      sshOk(env, rbx, "systemctl daemon-reload && systemctl restart dolibarr-dump@acme-erp.timer && systemctl stop dolibarr-dump@acme-formation.timer");
      // Runs of acme-formation still in flight, and events of earlier tests still in the spool,
      // are delivered first: the switch is watched only from then on.
      waitUntil(
        () => sshOk(env, rbx, `if systemctl is-active --quiet dolibarr-dump@acme-formation.service; then echo busy; else echo idle; fi; ls -A ${notifySpoolDir} | wc -l`).trim().split("\n").join(" ") === "idle 0",
        60_000,
        "acme-formation's dump to be idle and the spool empty",
      );
      sleepSync(2000);
      receivers.clear();
      // A run of the every-minute timer may be in flight when the receivers are cleared: its
      // success ping then comes first, without its start. Two whole runs are counted from a start.
      const fromFirstStart = () => {
        const all = pings(`acme-erp-dump-${HOSTING}`).map((p) => p.path.split("/").pop());
        const first = all.indexOf("start");
        return first < 0 ? [] : all.slice(first);
      };
      waitUntil(() => fromFirstStart().length >= 4, 180_000, "two runs of the running timer");
      assert.deepEqual(fromFirstStart().slice(0, 4), ["start", `acme-erp-dump-${HOSTING}`, "start", `acme-erp-dump-${HOSTING}`]);
      assert.deepEqual(pings(`acme-formation-dump-${HOSTING}`), [], "the stopped timer's switch got no ping");
    } finally {
      for (const instance of ["acme-erp", "acme-formation"]) sshOk(env, rbx, `rm -rf ${everyMinute(instance)}`);
      sshOk(env, rbx, "systemctl daemon-reload && systemctl restart dolibarr-dump@acme-erp.timer dolibarr-dump@acme-formation.timer");
    }
  });

  test("a burst of 60 jobs under systemd (50 finish in the same second, then 10 one after another as a dump queue ends them): every notification delivered once, in order, and the spool watcher never fails", () => {
    const rbx = labHost(env, HOSTING);
    const TOGETHER = 50;
    const TAIL = 10;
    const names = Array.from({ length: TOGETHER + TAIL }, (_, k) => String(k + 1).padStart(3, "0"));
    const failing = (n: string) => Number(n) % 10 === 0;
    const check = (n: string) => `burst-${n}-dump-${HOSTING}`;
    // What every job does (dolibarr-backup-common.sh): its start spooled when it begins, its result
    // when it ends; a failed job also exits 1, so its unit's OnFailure= notifier runs (and stays
    // silent: the job reported the run). Each unit ends once /run/dbk-burst/go exists.
    const job = [
      "set -euo pipefail",
      "source /usr/local/lib/dolibarr-backup/common.sh",
      "DBK_PROG=dolibarr-dump",
      'DBK_INSTANCE="burst-$BURST_N"',
      "dbk_job_started dump",
      "while [[ ! -e /run/dbk-burst/go ]]; do sleep 0.05; done",
      'if (( 10#$BURST_N % 10 == 0 )); then dbk_job_finished result=failed "message=burst job $BURST_N failed on purpose"; exit 1; fi',
      'dbk_job_finished result=ok durationSeconds=1 "message=burst job $BURST_N done"',
    ].join("\n");
    const cleanup = [
      `for n in ${names.join(" ")}; do systemctl stop dbk-burst-$n.service 2>/dev/null || true; systemctl reset-failed dbk-burst-$n.service "dolibarr-notify@dbk-burst-$n.service.service" 2>/dev/null || true; done`,
      "rm -rf /run/dbk-burst /var/lib/dolibarr-backup/log/burst-*.dump.log /var/lib/prometheus/node-exporter/dolibarr-backup-dump-burst-*.prom",
    ].join("\n");
    // Runs of earlier tests delivered first: this test counts from an empty spool.
    waitUntil(() => sshOk(env, rbx, `ls -A ${notifySpoolDir} | wc -l`).trim() === "0", 60_000, "an empty spool");
    receivers.clear();
    const since = sshOk(env, rbx, "date +%s").trim();
    try {
      sshOk(env, rbx, `mkdir -p /run/dbk-burst && cat > /run/dbk-burst/job.sh`, { input: job + "\n" });
      const launch = (n: string) =>
        `systemd-run --quiet --no-block --unit=dbk-burst-${n} --property=OnFailure=dolibarr-notify@dbk-burst-${n}.service.service --setenv=BURST_N=${n} /bin/bash /run/dbk-burst/job.sh`;
      // 50 start, then all end together: within the same second (their go file appears at once).
      sshOk(env, rbx, ["set -eu", ...names.slice(0, TOGETHER).map(launch), `for i in $(seq 1 200); do [ "$(systemctl list-units --state=active --plain --no-legend 'dbk-burst-*' | wc -l)" -ge ${TOGETHER} ] && break; sleep 0.1; done`, "touch /run/dbk-burst/go"].join("\n"));
      // Once that is delivered, 10 more end one after another, 1.2 s apart, as a dump queue ends
      // them: each finds the deliverer done with the previous one (what met systemd's default
      // start limit, 5 starts in 10 s, and failed the watcher).
      waitUntil(() => sshOk(env, rbx, `ls -A ${notifySpoolDir} | wc -l; systemctl is-active dolibarr-notify.service || true`).trim().split("\n").join(" ") === "0 inactive", 120_000, "the first 50 delivered");
      sshOk(env, rbx, names.slice(TOGETHER).map((n) => `${launch(n)}; sleep 1.2`).join("\n"));
      const delivered = () => {
        const got = receivers.requests().filter((r) => /\/burst-\d{3}-dump-/.test(r.path));
        return got.length >= 2 * names.length && receivers.mails().length >= names.filter(failing).length;
      };
      const until = Date.now() + 120_000;
      while (!delivered() && Date.now() < until) sleepSync(1000);
      const state = sshOk(env, rbx, "systemctl show -P ActiveState -P Result dolibarr-notify.path; systemctl show -P ActiveState -P Result dolibarr-notify.service").trim().split("\n");
      const runs = sshOk(env, rbx, `journalctl --no-pager -o cat -u dolibarr-notify.service --since @${since} | grep -c '^Starting ' || true`).trim();
      console.log(`  ${names.length} jobs (${TOGETHER} ending in the same second): ${runs} run(s) of dolibarr-notify.service; watcher ${state.slice(0, 2).join("/")}, service ${state.slice(2).join("/")}`);
      assert.ok(delivered(), `not every notification of the burst reached the receivers within 120 s (dolibarr-notify.path ${state.slice(0, 2).join(", ")}; dolibarr-notify.service ${state.slice(2).join(", ")}; ${sshOk(env, rbx, `ls ${notifySpoolDir} | wc -l`).trim()} event(s) left in the spool)`);
      // Exactly once and in order, per instance: its start, then its result.
      for (const n of names) {
        assert.deepEqual(pings(check(n)).map((p) => p.path.split("?")[0]!.split("/").pop()), ["start", failing(n) ? "fail" : check(n)], `pings of ${check(n)}`);
      }
      const mails = receivers.mails().map((m) => m.subject).sort();
      assert.deepEqual(mails, names.filter(failing).map((n) => `[dolibarr-backup] FAILED: dump of burst-${n} on ${HOSTING}`).sort(), "one mail per failed job");
      const burstHooks = hooks().map((h) => JSON.parse(h.body) as Record<string, unknown>).filter((h) => String(h.instance).startsWith("burst-"));
      assert.deepEqual(burstHooks.map((h) => `${h.instance}:${h.event}`).sort(), names.filter(failing).map((n) => `burst-${n}:fail`).sort(), "one webhook per failed job");
      // The OnFailure= notifiers ran and stayed silent (the jobs had reported their runs).
      waitUntil(
        () => names.filter(failing).every((n) => /already reported this run/.test(ssh(env, rbx, `journalctl --no-pager -o cat -u 'dolibarr-notify@dbk-burst-${n}.service.service'`).stdout)),
        30_000,
        "the OnFailure= notifiers of the failed jobs",
      );
      sleepSync(2000);
      assert.equal(pings("burst-").length, 2 * names.length, "no notification twice");
      assert.equal(sshOk(env, rbx, "systemctl is-active dolibarr-notify.path").trim(), "active", "the watcher still watches");
      assert.equal(sshOk(env, rbx, "systemctl show -P Result dolibarr-notify.path").trim(), "success");
      assert.equal(sshOk(env, rbx, `ls -A ${notifySpoolDir} | wc -l`).trim(), "0", "the spool is empty");
      sshOk(env, rbx, cleanup);
      assert.equal(sshOk(env, rbx, "systemctl list-units --state=failed --plain --no-legend --no-pager").trim(), "", "no failed unit on the host after the burst");
    } finally {
      ssh(env, rbx, cleanup);
      // A watcher the burst did stop is re-armed, so that the lab stays usable after a failure here.
      ssh(env, rbx, "if ! systemctl is-active --quiet dolibarr-notify.path; then systemctl reset-failed dolibarr-notify.path dolibarr-notify.service; systemctl restart dolibarr-notify.path; fi");
    }
  });

  test("a failed spool watcher and a failed unit are items of npm run status; the sweep re-arms the watcher, alerts, and delivers what waited", () => {
    const rbx = labHost(env, HOSTING);
    const dropIn = "/run/systemd/system/dolibarr-notify.path.d";
    const spoolOne = (n: string) =>
      sshOk(env, rbx, `systemd-run --quiet --wait --unit=dbk-rearm-${n} --setenv=N=${n} /bin/bash -c 'source /usr/local/lib/dolibarr-backup/common.sh; DBK_INSTANCE=rearm-$N; DBK_JOB=dump; DBK_JOB_PING=1; dbk_load_server; dbk_notify_event start "rearm $N"'`);
    const status = () => {
      const r = spawnSync(process.execPath, [path.join(env.repo, "dist/scripts/status.js"), "--stack", LAB_FLEET_STACK, "--stacks-dir", env.stacksDir, "--ssh-key", path.join(env.labDir, "id_ed25519"), "--html", path.join(env.stateDir, "status.html"), "--json"], { encoding: "utf8" });
      assert.ok(r.status === 0 || r.status === 1, r.stderr);
      return { code: r.status, json: JSON.parse(r.stdout) as { ok: boolean; servers: Array<{ name: string; status: string; reasons: string[] }> } };
    };
    try {
      // A watcher made to fail for real: a trigger limit of 1 per minute, then two events apart.
      sshOk(env, rbx, `mkdir -p ${dropIn} && printf '[Path]\\nTriggerLimitIntervalSec=1min\\nTriggerLimitBurst=1\\n' > ${dropIn}/zz-test.conf && systemctl daemon-reload && systemctl restart dolibarr-notify.path`);
      spoolOne("1");
      waitUntil(() => sshOk(env, rbx, "systemctl is-active dolibarr-notify.service || true").trim() === "inactive" && sshOk(env, rbx, `ls -A ${notifySpoolDir} | wc -l`).trim() === "0", 60_000, "the first event delivered");
      spoolOne("2");
      waitUntil(() => sshOk(env, rbx, "systemctl show -P Result dolibarr-notify.path").trim() === "trigger-limit-hit", 30_000, "the watcher to fail");
      // and a failed unit of another kind
      assert.notEqual(ssh(env, rbx, "systemd-run --quiet --wait --unit=dbk-status-probe /bin/false").status, 0);
      sshOk(env, rbx, `rm -rf ${dropIn} && systemctl daemon-reload`);

      const red = status();
      assert.equal(red.code, 1);
      const item = red.json.servers.find((x) => x.name === HOSTING)!;
      assert.equal(item.status, "failing", JSON.stringify(item));
      assert.match(item.reasons.join("\n"), /notifier: dolibarr-notify\.path failed \(trigger-limit-hit\)/);
      assert.match(item.reasons.join("\n"), /systemd is degraded: failed unit\(s\) .*dbk-status-probe\.service/);
      assert.match(item.reasons.join("\n"), /dolibarr-notify\.path/);
      for (const other of red.json.servers.filter((x) => x.name !== HOSTING)) assert.equal(other.status, "ok", JSON.stringify(other));

      // The safety net, as its timer runs it: the watcher is back, the event that waited is delivered.
      receivers.clear();
      sshOk(env, rbx, "systemctl start dolibarr-notify-sweep.service");
      assert.equal(sshOk(env, rbx, "systemctl is-active dolibarr-notify.path").trim(), "active");
      waitUntil(() => pings(`rearm-2-dump-${HOSTING}/start`).length === 1, 30_000, "the event that waited in the spool");
      const alert = hooks().map((h) => JSON.parse(h.body) as Record<string, unknown>).find((h) => h.event === "alert" && h.job === "notify");
      assert.ok(alert, JSON.stringify(hooks().map((h) => h.body)));
      assert.match(String(alert.message), /dolibarr-notify\.path on lab-host-ovh-rbx was failed \(result trigger-limit-hit\): the spool was not watched; re-armed/);
      sshOk(env, rbx, "systemctl reset-failed dbk-status-probe.service");
      const green = status().json.servers.find((x) => x.name === HOSTING)!;
      assert.equal(green.status, "ok", JSON.stringify(green));
    } finally {
      ssh(env, rbx, `rm -rf ${dropIn}; systemctl daemon-reload; systemctl reset-failed dbk-status-probe.service dbk-rearm-1.service dbk-rearm-2.service 2>/dev/null; systemctl is-active --quiet dolibarr-notify.path || { systemctl reset-failed dolibarr-notify.path; systemctl restart dolibarr-notify.path; }; rm -f /var/lib/dolibarr-backup/log/rearm-*`);
    }
  });

  test("metrics: each job's textfile is in node_exporter's directory with this server's labels", () => {
    const rbx = labHost(env, HOSTING);
    const text = sshOk(env, rbx, "cat /var/lib/prometheus/node-exporter/dolibarr-backup-dump-acme-erp.prom");
    assert.match(text, new RegExp(`^dolibarr_backup_last_success\\{dolibarr_instance="acme-erp",backup_job="dump",server="${HOSTING}",fleet="${LAB_FLEET_STACK}"\\} 1$`, "m"));
    assert.match(text, /^dolibarr_backup_last_success_timestamp_seconds\{[^}]*\} [1-9]\d{9}$/m);
    const waw = labHost(env, BACKUP);
    sshOk(env, waw, "systemctl start dolibarr-replicate@acme-erp.service");
    assert.match(sshOk(env, waw, "cat /var/lib/prometheus/node-exporter/dolibarr-backup-replicate-acme-erp.prom"), /^dolibarr_backup_last_result\{[^}]*,result="ok"\} 1$/m);
  });

  test("no lab host is left with a failed unit (systemctl --failed empty, systemd running)", () => {
    assert.equal(failedUnitsReport(env), undefined);
  });
});

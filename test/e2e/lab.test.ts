// End to end on real hosts: the real engine deploys the lab fleet and clients over SSH, the jobs run
// under systemd, the mirrors are proven identical, and the operator's expectations hold (no-op
// re-run, targeted re-push, client destroy, unreachable host, policy pack).
// Runs in a project copy of its own (own stacks/ and state) on freshly created lab hosts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { SSHD_JOURNAL_MATCH, labEnv, LabEnv, labHost, labHosts, labScript, sshArgs, projectCopy as copyProject, pulumi, pulumiOk, ssh, sshOk, ensureStack } from "../../scripts/lab/driver";
import { deploy, failedUnitsReport, instances, labTopology, prepareInstances, prepareLabStacks, replicateAndVerify, runDumps } from "../../scripts/lab/flow";
import { LAB_CLIENTS, LAB_CLIENT_TOO_CLOSE, LAB_FLEET_STACK, LabClient, labClientConfig, labScaleClient, writeStackFile } from "../../scripts/lab/stacks";
import { fleetTimeZone, planReplications } from "../../infra/model";
import { calendarExpressions, renderBackupInstance } from "../../infra/render";
import { PATHS, timerDropInPath } from "../../infra/render/paths";

/** A project directory that shares the compiled program, scripts and packages but has its own stacks. */
const temporary: string[] = [];

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

function projectCopy(options: { copyDist?: boolean } = {}): string {
  return copyProject(tempDir("dbk-e2e-"), options);
}

function upOk(env: LabEnv, files: string[]): string {
  const result = deploy(env, "up", files);
  assert.equal(result.status, 0, `pulumi up failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

interface PreviewStep {
  op: string;
  urn: string;
}

function previewSteps(env: LabEnv, stack: string): PreviewStep[] {
  const out = pulumiOk(env, ["preview", "--json", "--stack", stack]);
  return (JSON.parse(out) as { steps?: PreviewStep[] }).steps ?? [];
}

/** Steps that change something: a client stack's read of its fleet stack reference changes nothing. */
function changed(steps: PreviewStep[]): PreviewStep[] {
  return steps.filter((s) => s.op !== "same" && s.op !== "read");
}

/** The timer's calendar, as the server's systemd reads it, holds exactly the expressions of these times. */
function assertCalendar(env: LabEnv, server: string, unit: string, times: number[]): void {
  const calendar = sshOk(env, labHost(env, server), `systemctl show -P TimersCalendar ${unit}`);
  const found = calendar.match(/OnCalendar=[^;]+/g)?.map((m) => m.slice("OnCalendar=".length).trim()) ?? [];
  assert.deepEqual(found.sort(), calendarExpressions(times, fleetTimeZone(labTopology(env, LAB_CLIENTS).fleet)).sort(), `${unit} on ${server}: ${calendar}`);
}

/** The replication times of an instance on a backup server, with the client stack's drawn offset. */
function plannedTimes(env: LabEnv, clients: LabClient[], client: LabClient, instance: string, backup: string): number[] {
  const offset = Number(pulumiOk(env, ["stack", "output", "minuteOffset", "--stack", client.stack]).trim());
  assert.ok(Number.isInteger(offset) && offset >= 0 && offset <= 14, `minuteOffset of ${client.stack}: ${offset}`);
  const plan = planReplications(labTopology(env, clients), { minuteOffset: offset }).find((p) => p.instance === instance && p.backupServer === backup);
  assert.ok(plan, `no plan for ${instance} on ${backup}`);
  return plan.times;
}

const acme = LAB_CLIENTS.find((c) => c.client === "acme")!;
const bistro = LAB_CLIENTS.find((c) => c.client === "bistro")!;

describe("the lab, end to end with the real engine", { concurrency: false }, () => {
  const env = labEnv({ repo: projectCopy(), stateDir: tempDir("dbk-e2e-state-") });
  let files: string[] = [];

  before(() => {
    for (const args of [["down"], ["up"]]) {
      const result = labScript(env, args);
      assert.equal(result.status, 0, `lab.sh ${args[0]} failed:\n${result.stdout}\n${result.stderr}`);
    }
    files = prepareLabStacks(env);
  });

  after(() => {
    for (const dir of temporary) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("pulumi up deploys the fleet and every client stack", () => {
    const out = upOk(env, files);
    for (const stack of [LAB_FLEET_STACK, ...LAB_CLIENTS.map((c) => c.stack)]) assert.match(out, new RegExp(`\\[${stack}\\] up: ok`));
  });

  test("timers are enabled on the right hosts with the planned OnCalendar", () => {
    const topology = labTopology(env);
    for (const client of LAB_CLIENTS) {
      const offset = Number(pulumiOk(env, ["stack", "output", "minuteOffset", "--stack", client.stack]).trim());
      const plans = planReplications(topology, { minuteOffset: offset });
      for (const instance of client.instances) {
        const hosting = labHost(env, instance.hostingServer);
        assert.equal(sshOk(env, hosting, `systemctl is-enabled dolibarr-dump@${instance.name}.timer`).trim(), "enabled");
        assert.equal(sshOk(env, hosting, `systemctl is-active dolibarr-dump@${instance.name}.timer`).trim(), "active");
        assertCalendar(env, instance.hostingServer, `dolibarr-dump@${instance.name}.timer`, [0, 720]);
        for (const backupName of instance.backupServers) {
          const backup = labHost(env, backupName);
          const plan = plans.find((p) => p.instance === instance.name && p.backupServer === backupName)!;
          const model = instances(topology).find((i) => i.name === instance.name)!;
          const expected = renderBackupInstance(topology, model, plan).files.find((f) => f.path === timerDropInPath("dolibarr-replicate", instance.name))!;
          assert.equal(sshOk(env, backup, `cat ${timerDropInPath("dolibarr-replicate", instance.name)}`), expected.content);
          assert.equal(sshOk(env, backup, `systemctl is-enabled dolibarr-replicate@${instance.name}.timer`).trim(), "enabled");
          assertCalendar(env, backupName, `dolibarr-replicate@${instance.name}.timer`, plan.times);
        }
        // The hosting server never replicates its own instance.
        assert.notEqual(ssh(env, hosting, `systemctl cat dolibarr-replicate@${instance.name}.timer`).status, 0);
      }
    }
  });

  test("a dump and a replication run for real and every mirror is identical to its source", () => {
    const topology = labTopology(env);
    runDumps(env, topology);
    const checks = replicateAndVerify(env, topology);
    assert.equal(checks.length, instances(topology).reduce((n, i) => n + 3 * i.backupServers.length, 0));
    for (const check of checks) assert.ok(check.identical, `${check.instance} ${check.part} on ${check.backupServer}:\n${check.difference}`);
  });

  test("the receiving units are sandboxed: inside them root writes the mirror root only, and makes no device node", () => {
    // The replication above ran in these units: here a probe takes the place of the job in the
    // very unit files pushed (a runtime drop-in replaces ExecStart=, nothing else).
    const mirrorRoot = labTopology(env).fleet.mirrorRoot;
    const waw = labHost(env, "lab-backup-ovh-waw");
    const probe = `${PATHS.stateDir}/sandbox-probe`;
    const script = [
      "m=\"$1/sandbox-probe\"; out=\"$2\"; : >\"$out\"",
      "for p in /etc/dbk-probe /usr/local/sbin/dbk-probe /var/backups/dbk-probe /root/dbk-probe \"$1/../dbk-probe\"; do",
      "  if touch \"$p\" 2>/dev/null; then echo \"wrote $p\" >>\"$out\"; rm -f \"$p\"; else echo \"refused $p\" >>\"$out\"; fi",
      "done",
      "mkdir -p \"$m/sgid\" && chmod 2750 \"$m/sgid\" && echo \"sgid $(stat -c %a \"$m/sgid\")\" >>\"$out\"",
      "if mknod \"$m/dev\" c 1 3 2>/dev/null; then echo 'mknod made' >>\"$out\"; else echo 'mknod refused' >>\"$out\"; fi",
      "if ls /root >/dev/null 2>&1 && [ -n \"$(ls -A /root)\" ]; then echo 'root home visible' >>\"$out\"; else echo 'root home hidden' >>\"$out\"; fi",
      "rm -rf \"$m\"",
    ].join("\n");
    sshOk(env, waw, `cat >${probe}.sh <<'EOF'\n${script}\nEOF\nchmod 0755 ${probe}.sh`);
    for (const unit of ["dolibarr-replicate", "dolibarr-binlog-pull"]) {
      const name = `${unit}@sandbox-probe.service`;
      const dropIn = `/run/systemd/system/${name}.d`;
      try {
        sshOk(env, waw, `mkdir -p ${dropIn} && printf '[Unit]\\nConditionPathExists=\\nOnFailure=\\n[Service]\\nExecStart=\\nExecStart=/bin/sh ${probe}.sh ${mirrorRoot} ${probe}.out\\n' >${dropIn}/probe.conf && systemctl daemon-reload && systemctl start ${name}`);
        const lines = sshOk(env, waw, `cat ${probe}.out`).trim().split("\n");
        for (const refused of ["/etc/dbk-probe", "/usr/local/sbin/dbk-probe", "/var/backups/dbk-probe", "/root/dbk-probe", `${mirrorRoot}/../dbk-probe`]) {
          assert.ok(lines.includes(`refused ${refused}`), `${unit}: ${refused} must be read-only in the sandbox, got ${lines.join("; ")}`);
        }
        assert.ok(lines.includes("sgid 2750"), `${unit}: a setgid directory must stay mirrorable: ${lines.join("; ")}`);
        assert.ok(lines.includes("mknod refused"), `${unit}: no device node: ${lines.join("; ")}`);
        assert.ok(lines.includes("root home hidden"), `${unit}: ${lines.join("; ")}`);
      } finally {
        ssh(env, waw, `rm -rf ${dropIn} ${probe}.out; systemctl daemon-reload; systemctl reset-failed ${name} 2>/dev/null || true`);
      }
    }
    ssh(env, waw, `rm -f ${probe}.sh`);
    // the probe itself proves the sandbox can fail: the same script outside it writes /etc
    const outside = sshOk(env, waw, `cat >${probe}.sh <<'EOF'\n${script}\nEOF\nsh ${probe}.sh ${mirrorRoot} /tmp/probe.out; cat /tmp/probe.out; rm -f ${probe}.sh /tmp/probe.out`);
    assert.match(outside, /^wrote \/etc\/dbk-probe$/m);
    assert.match(outside, /^mknod made$/m);
  });

  test("SSH access is what the fleet declares: the operator logs in, a stray key is refused and reported by status (a warning in ~/.ssh, failing in the keys file sshd reads)", () => {
    const rbx = labHost(env, "lab-host-ovh-rbx");
    const keysFile = "/etc/ssh/dolibarr-backup/authorized_keys/root";
    const dir = tempDir("dbk-e2e-stray-");
    const stray = path.join(dir, "stray");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "someone-else", "-f", stray]);
    const strayPub = fs.readFileSync(`${stray}.pub`, "utf8").trim();
    const fingerprint = execFileSync("ssh-keygen", ["-l", "-f", `${stray}.pub`], { encoding: "utf8" }).split(/\s+/)[1]!;
    const loginWith = (key: string) => spawnSync("ssh", ["-i", key, "-o", "IdentitiesOnly=yes", ...sshArgs(env, rbx, "true").slice(2)], { encoding: "utf8" }).status;
    const serverState = () => {
      const r = spawnSync(process.execPath, [path.join(env.repo, "dist/scripts/status.js"), "--stack", LAB_FLEET_STACK, "--stacks-dir", env.stacksDir, "--ssh-key", path.join(env.labDir, "id_ed25519"), "--json"], { encoding: "utf8", cwd: env.repo });
      const report = JSON.parse(r.stdout) as { servers: Array<{ name: string; status: string; reasons: string[]; warnings: string[] }> };
      return report.servers.find((s) => s.name === rbx.name)!;
    };
    assert.equal(loginWith(path.join(env.labDir, "operator_ed25519")), 0, "the declared operator logs in");
    assert.equal(serverState().status, "ok", JSON.stringify(serverState()));
    try {
      sshOk(env, rbx, `printf '%s\\n' '${strayPub}' >>/root/.ssh/authorized_keys`);
      assert.notEqual(loginWith(stray), 0, "a key dropped in ~/.ssh must not log in");
      const warned = serverState();
      assert.equal(warned.status, "ok", JSON.stringify(warned));
      assert.ok(warned.warnings.some((w) => w.includes(`undeclared SSH key ${fingerprint}`) && w.includes("/root/.ssh/authorized_keys")), JSON.stringify(warned));

      sshOk(env, rbx, `cp -p ${keysFile} ${keysFile}.keep && printf '%s\\n' '${strayPub}' >>${keysFile}`);
      assert.equal(loginWith(stray), 0, "the probe can fail: the keys file is what sshd reads");
      const failing = serverState();
      assert.equal(failing.status, "failing", JSON.stringify(failing));
      assert.ok(failing.reasons.some((r) => r.includes(`undeclared SSH key ${fingerprint}`) && r.includes(keysFile)), JSON.stringify(failing));
    } finally {
      ssh(env, rbx, `if [ -f ${keysFile}.keep ]; then mv -f ${keysFile}.keep ${keysFile}; fi; sed -i '\\|${strayPub.split(" ")[1]}|d' /root/.ssh/authorized_keys`);
    }
    assert.equal(serverState().status, "ok");
  });

  test("status reads each backup host's disks and rsync: the lab's plain overlay is a warning (encryptionAtRest advisory), its rsync passes the minimum", () => {
    const r = spawnSync(process.execPath, [path.join(env.repo, "dist/scripts/status.js"), "--stack", LAB_FLEET_STACK, "--stacks-dir", env.stacksDir, "--ssh-key", path.join(env.labDir, "id_ed25519"), "--json"], { encoding: "utf8", cwd: env.repo });
    const report = JSON.parse(r.stdout) as { servers: Array<{ name: string; role: string; status: string; warnings: string[]; reasons: string[] }> };
    const mirrorRoot = labTopology(env).fleet.mirrorRoot;
    const backups = report.servers.filter((s) => s.role === "backup");
    assert.equal(backups.length, labHosts(env).filter((h) => h.role === "backup").length);
    for (const s of backups) {
      // reported by the server (a collector that never ran dbk_at_rest says "not reported" instead)
      assert.ok(s.warnings.some((w) => w.includes(`${mirrorRoot} is not on an encrypted volume (overlay`)), `${s.name}: ${JSON.stringify(s)}`);
      assert.ok(!s.warnings.some((w) => /not reported/.test(w)), `${s.name}: ${JSON.stringify(s.warnings)}`);
      assert.ok(![...s.warnings, ...s.reasons].some((w) => /rsync/.test(w)), `${s.name}: Debian 12's updated rsync passes: ${JSON.stringify(s)}`);
    }
  });

  test("a second pulumi up changes nothing and runs no remote command", () => {
    for (const stack of [LAB_FLEET_STACK, ...LAB_CLIENTS.map((c) => c.stack)]) {
      assert.deepEqual(changed(previewSteps(env, stack)), [], `${stack} would change`);
      pulumiOk(env, ["up", "--yes", "--skip-preview", "--expect-no-changes", "--stack", stack]);
    }
  });

  test("a changed replication schedule re-pushes only that instance's replication files", () => {
    const six: LabClient = { ...bistro, instances: bistro.instances.map((i) => ({ ...i, schedule: { replicationsPerDay: 6 } })) };
    writeStackFile(env.stacksDir, six.stack, labClientConfig(six));
    const steps = changed(previewSteps(env, six.stack));
    assert.ok(steps.length > 0, "the schedule change shows no change");
    for (const step of steps) {
      assert.equal(step.op, "update", `${step.urn} would be ${step.op}`);
      assert.doesNotMatch(step.urn, /bistro-erp\/lab-host-ionos-fra/, "the hosting server's files must not be re-pushed");
    }
    assert.ok(steps.some((s) => /bistro-erp\/lab-backup-/.test(s.urn)), "no replication file is re-pushed");
    pulumiOk(env, ["up", "--yes", "--skip-preview", "--stack", six.stack]);
    const times = plannedTimes(env, [six], six, "bistro-erp", "lab-backup-ovh-waw");
    assert.equal(times.length, 6);
    assertCalendar(env, "lab-backup-ovh-waw", "dolibarr-replicate@bistro-erp.timer", times);
  });

  test("pulumi destroy of a client removes its units and access and keeps other clients and the backups", () => {
    pulumiOk(env, ["destroy", "--yes", "--skip-preview", "--stack", bistro.stack]);
    const fra = labHost(env, "lab-host-ionos-fra");
    const waw = labHost(env, "lab-backup-ovh-waw");
    const rbx = labHost(env, "lab-host-ovh-rbx");
    assert.notEqual(sshOk(env, fra, "systemctl is-enabled dolibarr-dump@bistro-erp.timer || true").trim(), "enabled");
    assert.equal(ssh(env, fra, `test -e ${timerDropInPath("dolibarr-dump", "bistro-erp")}`).status, 1);
    assert.equal(ssh(env, waw, `test -e ${timerDropInPath("dolibarr-replicate", "bistro-erp")}`).status, 1);
    assert.equal(sshOk(env, fra, "findmnt -rn -o TARGET | grep -c /export/ || true").trim(), "0", "bistro's exports must be unmounted");
    // The backups already taken stay: dumps on the hosting server, the mirror on the backup server.
    assert.ok(Number(sshOk(env, fra, "ls /var/backups/dolibarr/bistro-erp | grep -c sql").trim()) >= 1);
    sshOk(env, waw, `test -f ${labTopology(env).fleet.mirrorRoot}/bistro-erp/code/conf/conf.php`);
    // acme is untouched.
    for (const instance of acme.instances) {
      assert.equal(sshOk(env, rbx, `systemctl is-enabled dolibarr-dump@${instance.name}.timer`).trim(), "enabled");
      assert.equal(sshOk(env, waw, `systemctl is-enabled dolibarr-replicate@${instance.name}.timer`).trim(), "enabled");
    }
    assert.deepEqual(changed(previewSteps(env, acme.stack)), []);
  });

  test("an unreachable host makes up fail with a clear error, and a re-run after it is back converges", () => {
    const three: LabClient = { ...acme, instances: acme.instances.map((i) => ({ ...i, schedule: { replicationsPerDay: 3 } })) };
    writeStackFile(env.stacksDir, three.stack, labClientConfig(three));
    execFileSync("lxc-stop", ["-n", "lab-backup-ionos-lhr"]);
    try {
      const failed = pulumi(env, ["up", "--yes", "--skip-preview", "--stack", three.stack]);
      assert.notEqual(failed.status, 0, "up must fail while lab-backup-ionos-lhr is down");
      assert.match(failed.stdout + failed.stderr, /10\.77\.0\.22/, "the error must name the unreachable host");
    } finally {
      const back = labScript(env, ["up"]);
      assert.equal(back.status, 0, back.stdout + back.stderr);
    }
    pulumiOk(env, ["up", "--yes", "--skip-preview", "--stack", three.stack]);
    assert.deepEqual(changed(previewSteps(env, three.stack)), []);
    const times = plannedTimes(env, [three], three, "acme-erp", "lab-backup-ionos-lhr");
    assert.equal(times.length, 3);
    assertCalendar(env, "lab-backup-ionos-lhr", "dolibarr-replicate@acme-erp.timer", times);
  });

  test("a client with 20 instances deploys in one up (sessions capped per host, none refused), then a no-op up runs no remote command", () => {
    const scale = labScaleClient(20);
    prepareInstances(env, scale);
    const file = writeStackFile(env.stacksDir, scale.stack, labClientConfig(scale));
    ensureStack(env, scale.stack);
    const fra = labHost(env, "lab-host-ionos-fra");
    // the deploy's sessions sshd accepted so far (root's; this count's own session included: it is
    // logged before the command runs). The backup hosts' binlog pulls log in too, as their dbk-* users,
    // every minute at seconds of their own: not the deploy's.
    const accepted = () => Number(sshOk(env, fra, `journalctl ${SSHD_JOURNAL_MATCH.join(" ")} --no-pager -o cat | grep -c 'Accepted publickey for root ' || true`).trim());
    const dropped = () => Number(sshOk(env, fra, `journalctl ${SSHD_JOURNAL_MATCH.join(" ")} --no-pager -o cat | grep -ci 'drop connection\\|MaxStartups throttling' || true`).trim());
    const dropped0 = dropped();
    const accepted0 = accepted();
    upOk(env, [file]);
    const byUp = accepted() - accepted0 - 1;
    // one session per remote command: two per instance on the hosting host (account, bundle)
    assert.equal(byUp, 2 * scale.instances.length, `sessions the up opened on the hosting host`);
    assert.equal(dropped() - dropped0, 0, "sshd dropped connections of the deployment (MaxStartups)");
    for (const instance of scale.instances) {
      assert.equal(sshOk(env, fra, `systemctl is-enabled dolibarr-dump@${instance.name}.timer`).trim(), "enabled", instance.name);
      for (const b of instance.backupServers) {
        assert.equal(sshOk(env, labHost(env, b), `systemctl is-enabled dolibarr-replicate@${instance.name}.timer`).trim(), "enabled", `${instance.name} on ${b}`);
      }
    }
    assert.deepEqual(changed(previewSteps(env, scale.stack)), []);
    const beforeNoop = accepted();
    pulumiOk(env, ["up", "--yes", "--skip-preview", "--expect-no-changes", "--stack", scale.stack]);
    assert.equal(accepted() - beforeNoop - 1, 0, "a no-op up opens no session");
    pulumiOk(env, ["destroy", "--yes", "--skip-preview", "--stack", scale.stack]);
    assert.notEqual(sshOk(env, fra, `systemctl is-enabled dolibarr-dump@${scale.instances[0]!.name}.timer || true`).trim(), "enabled");
  });

  test("the policy pack passes a compliant client stack", () => {
    const result = pulumi(env, ["preview", "--stack", acme.stack, "--policy-pack", "policies"]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.doesNotMatch(result.stdout, /mandatory/);
  });

  test("a client whose backup is too close is rejected: by the program, and by the policy pack even if the program's check is edited out", () => {
    const tooClose = writeStackFile(env.stacksDir, LAB_CLIENT_TOO_CLOSE.stack, labClientConfig(LAB_CLIENT_TOO_CLOSE));
    const byProgram = deploy(env, "preview", [tooClose]);
    assert.notEqual(byProgram.status, 0);
    assert.match(byProgram.stdout + byProgram.stderr, /geo\.min-distance/);

    // Someone edits the program and drops its own check: the pack still refuses the stack.
    const edited = labEnv({ repo: projectCopy({ copyDist: true }), stateDir: env.stateDir, labDir: env.labDir });
    const clientJs = path.join(edited.repo, "dist/infra/program/client.js");
    const source = fs.readFileSync(clientJs, "utf8");
    const patched = source.replace(/if \(mandatory\.length > 0\) \{/, "if (false) {");
    assert.notEqual(patched, source, "the program's check was not found to edit out");
    fs.writeFileSync(clientJs, patched);
    fs.copyFileSync(tooClose, path.join(edited.stacksDir, path.basename(tooClose)));
    ensureStack(edited, LAB_CLIENT_TOO_CLOSE.stack);
    const byPack = pulumi(edited, ["preview", "--stack", LAB_CLIENT_TOO_CLOSE.stack, "--policy-pack", "policies"]);
    assert.notEqual(byPack.status, 0, byPack.stdout + byPack.stderr);
    assert.match(byPack.stdout + byPack.stderr, /geo-min-distance/);
    assert.match(byPack.stdout + byPack.stderr, /mandatory/);
  });

  test("what is really pushed: a renderer edited to drop `restrict` or to move the timers is refused by the pack's pushed-* policies", () => {
    // A copy of the project whose compiled renderers are edited, on the same state: previews only.
    const edited = labEnv({ repo: projectCopy({ copyDist: true }), stateDir: env.stateDir, labDir: env.labDir });
    for (const stack of [LAB_FLEET_STACK, acme.stack]) {
      fs.copyFileSync(path.join(env.stacksDir, `Pulumi.${stack}.yaml`), path.join(edited.stacksDir, `Pulumi.${stack}.yaml`));
    }
    const patch = (file: string, from: RegExp, to: string) => {
      const js = path.join(edited.repo, "dist/infra/render", file);
      const source = fs.readFileSync(js, "utf8");
      const patched = source.replace(from, to);
      assert.notEqual(patched, source, `${file}: ${from} not found to edit`);
      fs.writeFileSync(js, patched);
    };
    patch("server.js", /const keyOptions = \["restrict", /, "const keyOptions = [");
    patch("units.js", /return `# \$\{comment\}\\n\[Timer\]\\n\$\{onCalendarLines\}`;/, "return `# ${comment}\\n[Timer]\\n${onCalendarLines}RandomizedDelaySec=3h\\n`;");

    const fleet = pulumi(edited, ["preview", "--stack", LAB_FLEET_STACK, "--policy-pack", "policies"]);
    assert.notEqual(fleet.status, 0, fleet.stdout + fleet.stderr);
    assert.match(fleet.stdout + fleet.stderr, /pushed-authorized-keys/);
    assert.match(fleet.stdout + fleet.stderr, /no `restrict` option/);

    const client = pulumi(edited, ["preview", "--stack", acme.stack, "--policy-pack", "policies"]);
    assert.notEqual(client.status, 0, client.stdout + client.stderr);
    assert.match(client.stdout + client.stderr, /pushed-timers/);
    assert.match(client.stdout + client.stderr, /RandomizedDelaySec=3h/);
  });

  test("no lab host is left with a failed unit (systemctl --failed empty, systemd running)", () => {
    assert.equal(failedUnitsReport(env), undefined);
  });
});

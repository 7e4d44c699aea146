// `npm run lab`: the whole procedure on real hosts. Deploys the lab fleet (with notifiers pointing at
// a real HTTP receiver and SMTP sink on a lab host) and clients with the real engine and the policy
// pack, runs one dump and one replication everywhere, proves every mirror identical to its source,
// drills every instance on each of its backup servers (restored, served, checked, timed), prints a per-client report and the fleet status, forces a failure that reaches the receivers and
// turns the status red, renders the status page in a headless browser, shows a too-close
// client rejected, and ends with no failed unit on any lab host.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { configureLabMta, labNotifications, startLabReceivers } from "../../test/support/notify-lab";
import { labEnv, labHost, labHosts, labOperator, pulumi, pulumiOk, ssh, sshOk, type LabEnv } from "./driver";
import { deploy, failedUnitsReport, jobStatus, labTopology, nextRuns, prepareLabStacks, replicateAndVerify, runDrills, runDumps, stackFile } from "./flow";
import { LAB_CLIENTS, LAB_CLIENT_TOO_CLOSE, LAB_FLEET_STACK, labClientConfig, labFleetConfig, writeStackFile } from "./stacks";

const started = Date.now();
function step(message: string): void {
  console.log(`\n[lab ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] == ${message}`);
}

function fail(message: string): never {
  console.error(`\nlab: FAILED: ${message}`);
  process.exit(1);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** `npm run status` on the lab fleet: its exit code and output. */
function fleetStatus(env: LabEnv): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(env.repo, "dist/scripts/status.js"), "--stack", LAB_FLEET_STACK, "--stacks-dir", env.stacksDir, "--ssh-key", path.join(env.labDir, "id_ed25519"), "--html", path.join(env.labDir, "status.html")], { encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const RECEIVER_HOST = "lab-backup-ovh-gra";
const PING_KEY = "lab";

function main(): void {
  const env = labEnv();

  step("stack configs from the lab hosts (.lab/hosts.json)");
  const files = prepareLabStacks(env);
  for (const file of files) console.log(`  ${file}`);

  step(`notifiers: an HTTP receiver (pings, webhook) and an SMTP sink on ${RECEIVER_HOST}, msmtp as every server's sendmail`);
  const receivers = startLabReceivers(env, labHost(env, RECEIVER_HOST));
  for (const host of labHosts(env)) configureLabMta(env, host, receivers);
  const notifications = labNotifications(receivers, PING_KEY);
  writeStackFile(env.stacksDir, LAB_FLEET_STACK, { ...labFleetConfig(labHosts(env), "ipv4", [labOperator(env)]), notifications: notifications.plain });
  for (const [key, value] of notifications.secrets) pulumiOk(env, ["config", "set", "--secret", "--path", `dolibarr-backup:${key}`, value, "--stack", LAB_FLEET_STACK]);
  console.log(`  receiving at ${receivers.httpUrl} and smtp://${receivers.host.ip}:${receivers.smtpPort}`);

  step("pulumi up: lab-fleet, then the client stacks, with the policy pack");
  const up = deploy(env, "up", files);
  process.stdout.write(up.stdout.split("\n").filter((l) => /(: ok|FAILED|error|Resources:|[+~-] \d+ |created|updated|unchanged)/.test(l)).join("\n") + "\n");
  if (up.status !== 0) fail(`pulumi up failed:\n${up.stdout}\n${up.stderr}`);

  const topology = labTopology(env);
  step("one dump of every instance on its hosting server");
  runDumps(env, topology);
  step("one replication of every instance on each of its backup servers, then every mirror compared with its source (type, mode, owner, size, links, sha256 of every file)");
  const checks = replicateAndVerify(env, topology);
  for (const c of checks) {
    console.log(`  ${c.identical ? "identical" : "DIFFERENT"}  ${c.instance.padEnd(15)} ${c.part.padEnd(9)} on ${c.backupServer.padEnd(21)} ${c.entries} entries`);
    if (c.difference) console.log(`    ${c.difference.replace(/\n/g, "\n    ")}`);
  }
  if (checks.some((c) => !c.identical)) fail("a mirror differs from its source");

  step("restore drill of every instance on each of its backup servers: restored from the server's own copy into a private MariaDB, served by PHP-FPM and nginx on the loopback, front page checked, every phase timed (the RTO)");
  const drills = runDrills(env, topology);
  for (const d of drills) {
    const s = d.status ?? {};
    const ms = (k: string) => (typeof s[k] === "number" ? `${((s[k] as number) / 1000).toFixed(1)} s` : "-");
    console.log(`  ${s.result === "ok" ? "ok    " : "FAILED"}  ${d.instance.padEnd(15)} on ${d.backupServer.padEnd(21)} RTO ${ms("rtoMs").padStart(7)} (restore ${ms("restoreMs")}: database ${ms("databaseMs")}, files ${ms("filesMs")}; serve ${ms("serveMs")}; first page ${ms("firstPageMs")}, HTTP ${String(s.httpStatus ?? "-")})  ${String(s.source ?? "")}`);
    console.log(`          ${String(s.result === "ok" ? s.checks : s.message)}`);
  }
  if (drills.some((d) => d.exitCode !== 0 || d.status?.result !== "ok")) fail("a restore drill failed");

  step("the drill report of each client (npm run drills): HTML to hand to the client, and its PDF");
  const reportDir = path.join(env.labDir, "drills");
  const reports = spawnSync(process.execPath, [path.join(env.repo, "dist/scripts/drills.js"), "--stack", LAB_FLEET_STACK, "--stacks-dir", env.stacksDir, "--ssh-key", path.join(env.labDir, "id_ed25519"), "--out", reportDir], { encoding: "utf8", timeout: 300_000 });
  process.stdout.write(reports.stdout.replace(/^/gm, "  "));
  if (reports.status !== 0) fail(`npm run drills failed (exit ${reports.status}):\n${reports.stderr}`);

  step("report");
  for (const client of LAB_CLIENTS) {
    const summary = pulumiOk(env, ["stack", "output", "summary", "--stack", client.stack]).trimEnd();
    console.log(`\n${summary}`);
  }
  console.log("\n  next runs (systemd, on the servers):");
  for (const run of nextRuns(env, topology)) console.log(`    ${run.instance.padEnd(15)} ${run.unit.padEnd(38)} on ${run.server.padEnd(21)} ${run.next}`);
  console.log("\n  last results (status files on the servers):");
  for (const s of jobStatus(env, topology)) {
    const status = s.status as Record<string, unknown> | null;
    const detail = status ? Object.entries(status).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ") : "no status file";
    console.log(`    ${s.instance.padEnd(15)} ${s.job.padEnd(9)} on ${s.server.padEnd(21)} ${detail}`);
  }

  step("fleet status (npm run status): every instance against its worst-case RPO, and the page");
  const status = fleetStatus(env);
  process.stdout.write(status.stdout);
  if (status.status !== 0) fail(`npm run status says some instance is not ok (exit ${status.status}):\n${status.stderr}`);

  step("a forced failure: acme-erp's dump refused (its option file made readable by others)");
  receivers.clear();
  const rbx = labHost(env, "lab-host-ovh-rbx");
  const cnf = "/etc/dolibarr-backup/instances/acme-erp.my.cnf";
  sshOk(env, rbx, `chmod 0644 ${cnf}`);
  const failed = ssh(env, rbx, "systemctl start dolibarr-dump@acme-erp.service");
  sshOk(env, rbx, `chmod 0600 ${cnf}`);
  if (failed.status === 0) fail("the dump did not fail");
  const check = "acme-erp-dump-lab-host-ovh-rbx";
  const until = Date.now() + 60_000;
  const arrived = () => receivers.requests().some((r) => r.path.endsWith(`/${check}/fail`)) && receivers.mails().length > 0;
  while (!arrived() && Date.now() < until) sleepSync(1000);
  if (!arrived()) fail("the failure did not reach the HTTP receiver and the SMTP sink within 60 s");
  for (const r of receivers.requests()) console.log(`  HTTP ${r.method} ${r.path.replace(/\?.*$/, "")}  ${r.body.split("\n")[0]}`);
  for (const m of receivers.mails()) console.log(`  mail to ${m.to}: ${m.subject}`);

  step("fleet status after the failure: acme-erp is reported, the status exits non-zero");
  const red = fleetStatus(env);
  process.stdout.write(red.stdout);
  if (red.status === 0) fail("npm run status did not report the failed dump");
  console.log(`  => exit ${red.status}; page: ${path.join(env.labDir, "status.html")}`);
  const shot = path.join(env.labDir, "status.png");
  const browser = spawnSync("chromium", ["--headless", "--no-sandbox", "--disable-gpu", `--user-data-dir=${path.join(env.labDir, "chromium")}`, `--screenshot=${shot}`, "--window-size=1200,1000", `file://${path.join(env.labDir, "status.html")}`], { encoding: "utf8", timeout: 120_000 });
  if (browser.status !== 0) fail(`chromium could not render the page: ${browser.stderr}`);
  console.log(`  rendered by headless chromium: ${shot}`);

  step("repaired: the next dump succeeds and the status is green again");
  sshOk(env, rbx, "systemctl reset-failed dolibarr-dump@acme-erp.service && systemctl start dolibarr-dump@acme-erp.service");
  const green = fleetStatus(env);
  if (green.status !== 0) fail(`npm run status still reports a problem after the repair:\n${green.stdout}`);
  console.log("  => every instance ok");
  receivers.stop();

  step(`a client whose backup is too close: ${LAB_CLIENT_TOO_CLOSE.stack} (OVH Roubaix → OVH Gravelines)`);
  const tooClose = writeStackFile(env.stacksDir, LAB_CLIENT_TOO_CLOSE.stack, labClientConfig(LAB_CLIENT_TOO_CLOSE));
  try {
    const preview = deploy(env, "preview", [tooClose]);
    const lines = (preview.stdout + preview.stderr).split("\n").filter((l) => /geo[.-]min-distance|mandatory rule/.test(l));
    for (const line of lines) console.log(`  ${line.trim()}`);
    if (preview.status === 0 || lines.length === 0) fail(`the preview of ${LAB_CLIENT_TOO_CLOSE.stack} was not rejected for geo.min-distance`);
    console.log("  => rejected, nothing created");
  } finally {
    pulumi(env, ["stack", "rm", "--yes", "--force", "--preserve-config", "--stack", LAB_CLIENT_TOO_CLOSE.stack]);
    fs.rmSync(stackFile(env, LAB_CLIENT_TOO_CLOSE.stack), { force: true });
  }

  step("no lab host is left with a failed unit (systemctl --failed, systemctl is-system-running)");
  const leftover = failedUnitsReport(env);
  if (leftover) fail(`a lab host has a failed unit or a degraded systemd:\n${leftover}`);
  console.log(`  => none on ${labHosts(env).map((h) => h.name).join(", ")}`);

  step("done: the lab stays up (`npm run lab:down` removes it)");
}

main();

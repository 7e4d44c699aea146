// A server marked `state: lost`, with plain `pulumi up` (no scripts/deploy): the real engine never
// tries to reach it. The lab's London backup host is declared at a local TCP relay (127.0.0.1:P →
// 10.77.0.22:22) so that this test alone can make it die without touching the shared lab: after the
// first deploy the relay stops relaying and logs every connection it receives instead, so "no SSH
// attempt" is a count of 0, not a guess from timings or output. Then: the fleet marks it lost and
// `pulumi up` succeeds, every resource of the other servers untouched in the state but the lost
// server's key revoked on the hosting hosts; the client that still names it fails its check; with
// the lost backup replaced it deploys and its new mirror is identical; `pulumi destroy` of the client
// reaches nothing on it either; and the server back (not lost) deploys again.
// Runs on the lab (root, LXC), under the lab lock: `flock /tmp/dbk-lab-e2e.lock node --test dist/test/e2e/lost.test.js`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensureStack, labEnv, labHost, labHosts, labOperator, projectCopy, pulumi, pulumiOk, ssh, sshOk } from "../../scripts/lab/driver";
import { labTopology, prepareInstances, replicateAndVerify, runDumps } from "../../scripts/lab/flow";
import { DEFAULT_MIRROR_ROOT } from "../../infra/model/defaults";
import { backupUserHome } from "../../infra/render/paths";
import { LAB_FLEET_STACK, labClientConfig, labFleetConfig, writeStackFile, type LabClient } from "../../scripts/lab/stacks";

const LOST = "lab-backup-ionos-lhr";
const KEPT = "lab-backup-ovh-waw";
const REPLACEMENT = "lab-backup-ovh-gra";
const HOSTING = "lab-host-ionos-fra";
const NS = "dolibarr-backup";

const CLIENT: LabClient = {
  stack: "lab-client-lostcase",
  client: "lostcase",
  instances: [1, 2].map((k) => ({
    name: `lostcase-0${k}`,
    hostingServer: HOSTING,
    database: { name: `dolibarr_lostcase_0${k}` },
    codeRoot: `/var/www/lostcase-0${k}/htdocs`,
    documentsDir: `/var/lib/dolibarr/lostcase-0${k}/documents`,
    backupServers: k === 1 ? [KEPT, LOST] : [LOST, KEPT],
  })),
};

/** The relay: node, its own process (the engine runs while the test waits in spawnSync). */
const RELAY = `
const net = require("node:net"), fs = require("node:fs");
const [modeFile, logFile, host, port] = process.argv.slice(2);
const server = net.createServer((c) => {
  const mode = fs.readFileSync(modeFile, "utf8").trim();
  fs.appendFileSync(logFile, mode + "\\n");
  if (mode !== "relay") return c.destroy();
  const u = net.connect(Number(port), host);
  c.pipe(u); u.pipe(c);
  u.on("error", () => c.destroy()); c.on("error", () => u.destroy());
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

describe("a lost server with plain pulumi up: no connection attempt to it, whatever runs", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-e2e-lost-"));
  const env = labEnv({ repo: projectCopy(fs.mkdtempSync(path.join(work, "project-"))), stateDir: fs.mkdtempSync(path.join(work, "state-")) });
  const modeFile = path.join(work, "relay.mode");
  const logFile = path.join(work, "relay.log");
  let relay: ChildProcess | undefined;
  let port = 0;
  const setMode = (mode: "relay" | "dead") => fs.writeFileSync(modeFile, `${mode}\n`);
  /** Connections the relay received in a mode. */
  const dials = (mode: "relay" | "dead") => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").split("\n").filter((l) => l === mode).length : 0);

  function fleetConfig(lost: boolean): Record<string, unknown> {
    const config = labFleetConfig(labHosts(env), "ipv4", [labOperator(env)]) as { servers: Array<Record<string, unknown>> };
    const lhr = config.servers.find((s) => s.name === LOST)!;
    // reached through the relay; its pulls come from its own address, as on the lab
    lhr.ssh = { ...(lhr.ssh as object), host: "127.0.0.1", port };
    lhr.sourceAddresses = [labHost(env, LOST).ip];
    if (lost) lhr.state = "lost";
    return config;
  }
  const writeFleet = (lost: boolean) => writeStackFile(env.stacksDir, LAB_FLEET_STACK, fleetConfig(lost));
  const writeClient = (c: LabClient) => writeStackFile(env.stacksDir, c.stack, labClientConfig(c));
  const up = (stack: string) => timed(() => pulumi(env, ["up", "--yes", "--skip-preview", "--stack", stack, "--policy-pack", "policies"]));
  function timed<T>(f: () => T): T & { seconds: number } {
    const t0 = Date.now();
    const r = f();
    return Object.assign(r as object, { seconds: (Date.now() - t0) / 1000 }) as T & { seconds: number };
  }
  /** The remote commands of a stack's state by URN (secrets shown: compared, never printed). */
  function state(stack: string): Map<string, { inputs: unknown; outputs: unknown }> {
    const exported = JSON.parse(pulumiOk(env, ["stack", "export", "--stack", stack, "--show-secrets"])) as { deployment: { resources?: Array<{ urn: string; type: string; inputs?: unknown; outputs?: unknown }> } };
    const commands = (exported.deployment.resources ?? []).filter((r) => r.type === "command:remote:Command");
    return new Map(commands.map((r) => [r.urn, { inputs: r.inputs ?? {}, outputs: r.outputs ?? {} }]));
  }
  const replaced: LabClient = { ...CLIENT, instances: CLIENT.instances.map((i) => ({ ...i, backupServers: i.backupServers.map((b) => (b === LOST ? REPLACEMENT : b)) })) };

  function forgetInstances(): void {
    const mirrorRoot = DEFAULT_MIRROR_ROOT;
    for (const b of [KEPT, LOST, REPLACEMENT]) ssh(env, labHost(env, b), CLIENT.instances.map((i) => `rm -rf -- '${mirrorRoot}/${i.name}'`).join("; "));
    ssh(env, labHost(env, HOSTING), CLIENT.instances.map((i) => `mariadb -e 'DROP DATABASE IF EXISTS \`${i.database.name}\`'; rm -rf -- '/var/www/${i.name}' '/var/lib/dolibarr/${i.name}'`).join("; "));
  }

  before(async () => {
    const script = path.join(work, "relay.js");
    fs.writeFileSync(script, RELAY);
    setMode("relay");
    relay = spawn(process.execPath, [script, modeFile, logFile, labHost(env, LOST).ip, "22"], { stdio: ["ignore", "pipe", "inherit"] });
    port = await new Promise<number>((resolve, reject) => {
      relay!.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
      relay!.once("exit", (code) => reject(new Error(`relay exited (${code})`)));
    });
    forgetInstances();
    prepareInstances(env, CLIENT);
    fs.mkdirSync(env.stacksDir, { recursive: true });
    writeFleet(false);
    writeClient(CLIENT);
    ensureStack(env, LAB_FLEET_STACK);
    pulumiOk(env, ["config", "set", "--secret", `${NS}:sshPrivateKey`, "--stack", LAB_FLEET_STACK], { input: fs.readFileSync(path.join(env.labDir, "id_ed25519"), "utf8") });
    ensureStack(env, CLIENT.stack);
  });

  after(() => {
    relay?.kill();
    try {
      forgetInstances();
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  test("first deploy: the fleet and the client, the London host reached through the relay; mirrors identical", () => {
    for (const stack of [LAB_FLEET_STACK, CLIENT.stack]) {
      const r = up(stack);
      assert.equal(r.status, 0, `pulumi up ${stack}:\n${r.stdout}\n${r.stderr}`);
      console.log(`first up of ${stack}: ${r.seconds.toFixed(1)} s`);
    }
    assert.ok(dials("relay") > 0, "the London host was deployed through the relay");
    const topology = labTopology(env, [CLIENT]);
    runDumps(env, topology);
    const checks = replicateAndVerify(env, topology);
    assert.ok(checks.length > 0 && checks.every((c) => c.identical), JSON.stringify(checks.filter((c) => !c.identical)));
  });

  test("the server dies; the fleet marks it lost; plain pulumi preview and up succeed without one connection to it, the other servers untouched", () => {
    setMode("dead");
    const before = state(LAB_FLEET_STACK);
    writeFleet(true);
    const preview = timed(() => pulumi(env, ["preview", "--stack", LAB_FLEET_STACK, "--policy-pack", "policies"]));
    assert.equal(preview.status, 0, `preview:\n${preview.stdout}\n${preview.stderr}`);
    const r = up(LAB_FLEET_STACK);
    assert.equal(r.status, 0, `pulumi up of the fleet with ${LOST} lost:\n${r.stdout}\n${r.stderr}`);
    console.log(`fleet with a lost server: preview ${preview.seconds.toFixed(1)} s, up ${r.seconds.toFixed(1)} s`);
    assert.equal(dials("dead"), 0, "connections to the lost server");
    assert.doesNotMatch(r.stdout + r.stderr, /handshake|dial|unable to connect/i);
    // the state: every command of the other servers as it was (nothing ran there), but the lost
    // server's access, deleted on the hosting hosts: its key revoked there
    const now = state(LAB_FLEET_STACK);
    const ofLost = (urn: string) => urn.endsWith(`::${LOST}`) || urn.includes(`::${LOST}/`);
    const accessForLost = (urn: string) => urn.includes(`/access/${LOST}`);
    for (const [urn, was] of before) {
      if (ofLost(urn)) continue;
      if (accessForLost(urn)) {
        assert.ok(!now.has(urn), `${urn}: the lost server's access on a hosting host stays`);
        continue;
      }
      assert.deepEqual(now.get(urn), was, `${urn} changed`);
    }
    for (const urn of before.keys()) if (ofLost(urn)) assert.ok(now.has(urn), `${urn}: a command of the lost server left the state (deleted)`);
    assert.ok([...before.keys()].some(accessForLost) && [...before.keys()].some(ofLost), "the state held commands on and for the lost server");
    for (const h of labHosts(env).filter((x) => x.role === "hosting")) {
      const keys = ssh(env, h, `cat ${backupUserHome(LOST)}/.ssh/authorized_keys`);
      assert.notEqual(keys.status, 0, `${h.name}: the lost server's key is still authorized: ${keys.stdout}`);
    }
  });

  test("the client that still names it fails its check, naming it; with the lost backup replaced, plain pulumi up deploys, no connection to it, and the new mirror is identical", () => {
    const stale = up(CLIENT.stack);
    assert.notEqual(stale.status, 0, "a client naming a lost server deployed");
    assert.match(stale.stdout + stale.stderr, new RegExp(`servers\\.lost: instance lostcase-01: its backup server ${LOST}`));
    writeClient(replaced);
    const r = up(CLIENT.stack);
    assert.equal(r.status, 0, `pulumi up of the client with ${LOST} replaced:\n${r.stdout}\n${r.stderr}`);
    console.log(`client with the lost backup replaced: up ${r.seconds.toFixed(1)} s`);
    assert.equal(dials("dead"), 0, "connections to the lost server");
    const topology = labTopology(env, [replaced]);
    const checks = replicateAndVerify(env, topology);
    assert.ok(checks.some((c) => c.backupServer === REPLACEMENT), "a mirror on the replacement");
    assert.ok(checks.every((c) => c.identical), JSON.stringify(checks.filter((c) => !c.identical)));
  });

  test("pulumi destroy of the client reaches nothing on the lost server (its remains never reach the provider) and cleans the active ones", () => {
    const r = timed(() => pulumi(env, ["destroy", "--yes", "--skip-preview", "--stack", CLIENT.stack]));
    assert.equal(r.status, 0, `pulumi destroy of the client:\n${r.stdout}\n${r.stderr}`);
    console.log(`destroy of the client: ${r.seconds.toFixed(1)} s`);
    assert.equal(dials("dead"), 0, "connections to the lost server");
    for (const i of replaced.instances) {
      const enabled = ssh(env, labHost(env, REPLACEMENT), `systemctl is-enabled dolibarr-replicate@${i.name}.timer`);
      assert.notEqual(enabled.stdout.trim(), "enabled", `${i.name}: its replication timer on ${REPLACEMENT} survived the destroy`);
    }
  });

  test("the server back (no longer lost): plain pulumi up deploys it again, its access on the hosting hosts restored", () => {
    setMode("relay");
    writeFleet(false);
    const r = up(LAB_FLEET_STACK);
    assert.equal(r.status, 0, `pulumi up of the fleet with ${LOST} back:\n${r.stdout}\n${r.stderr}`);
    for (const h of labHosts(env).filter((x) => x.role === "hosting")) {
      sshOk(env, h, `grep -q '^restrict' ${backupUserHome(LOST)}/.ssh/authorized_keys`);
    }
  });
});

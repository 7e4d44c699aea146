// IPv6 end to end on the lab: the same hosts, declared to the program by their IPv6 addresses on
// the lab bridge (fd00:77::/64). The real engine deploys over IPv6, the backup servers pull over
// IPv6 (rsync's user@[address]:path through rrsync, host key pinned, from= restricted to the
// backup server's IPv6 source address), the mirrors are identical to their sources, a failover
// restores onto another host over IPv6, the fleet status is read over IPv6, and destroy cleans up
// over IPv6. sshd's journal on each host, read through lxc-attach (no SSH), says which address
// every login came from.
// Runs in a project copy of its own (own stacks/ and state).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SSHD_JOURNAL_MATCH, labEnv, labHost, labHosts, labScript, projectCopy, pulumi, sshOk, treeDigest } from "../../scripts/lab/driver";
import { deploy, instances, labTopology, prepareLabStacks, replicateAndVerify, runDumps } from "../../scripts/lab/flow";
import { LAB_CLIENTS, LAB_FLEET_STACK } from "../../scripts/lab/stacks";
import { backupUser, instanceEnvPath, knownHostsPath } from "../../infra/render/paths";

const bistro = LAB_CLIENTS.find((c) => c.client === "bistro")!;
const BRIDGE_IP6 = "fd00:77::1";
/** The addresses this machine (the engine, the test's own SSH) has on the lab bridge. */
const THIS_MACHINE = [BRIDGE_IP6, "10.77.0.1"];
const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

interface Login {
  user: string;
  from: string;
}

describe("IPv6 end to end: the lab fleet declared by its IPv6 addresses", { concurrency: false }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-e2e-ipv6-"));
  const env = labEnv({ repo: projectCopy(fs.mkdtempSync(path.join(work, "project-"))), stateDir: fs.mkdtempSync(path.join(work, "state-")) });
  const clients = [bistro];
  let files: string[] = [];

  /** Where each lab host's journal ends now (read with lxc-attach, not over SSH). */
  function cursors(): Map<string, string> {
    const out = new Map<string, string>();
    for (const h of labHosts(env)) {
      const r = labScript(env, ["exec", h.name, "journalctl", "--no-pager", "-n", "0", "--show-cursor"]);
      const cursor = /^-- cursor: (.+)$/m.exec(r.stdout)?.[1];
      assert.ok(r.status === 0 && cursor, `journal cursor of ${h.name}: ${r.stdout}${r.stderr}`);
      out.set(h.name, cursor);
    }
    return out;
  }

  /** Every SSH login sshd accepted on a lab host after the cursor. */
  function logins(host: string, after: Map<string, string>): Login[] {
    const r = labScript(env, ["exec", host, "journalctl", "--no-pager", "-o", "cat", ...SSHD_JOURNAL_MATCH, `--after-cursor=${after.get(host)!}`]);
    assert.equal(r.status, 0, `journalctl on ${host}: ${r.stderr}`);
    return [...r.stdout.matchAll(/^Accepted publickey for (\S+) from (\S+) port/gm)].map((m) => ({ user: m[1]!, from: m[2]! }));
  }

  /**
   * The logins after the cursor once `ready` holds for them, or after 15 s: sshd's lines reach the
   * journal asynchronously (a full run once read it before the status's own login was written).
   */
  function loginsOnce(host: string, after: Map<string, string>, ready: (ls: Login[]) => boolean): Login[] {
    const until = Date.now() + 15_000;
    for (;;) {
      const ls = logins(host, after);
      if (ready(ls) || Date.now() > until) return ls;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }

  before(() => {
    for (const h of labHosts(env)) assert.match(h.ip6, /^fd00:77::[0-9a-f]+$/, `${h.name} has no lab IPv6 address in hosts.json`);
    files = prepareLabStacks(env, clients, "ipv6");
  });

  after(() => {
    // Leaves the hosts as the other lab tests expect them: the client, then the fleet, destroyed (over IPv6).
    for (const stack of [...clients.map((c) => c.stack), LAB_FLEET_STACK]) {
      const r = pulumi(env, ["destroy", "--yes", "--skip-preview", "--stack", stack]);
      if (r.status !== 0) console.error(`pulumi destroy ${stack} failed:\n${r.stdout}\n${r.stderr}`);
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  test("the stacks name every server by its IPv6 address, and the engine deploys them over IPv6 only", () => {
    const fleetText = fs.readFileSync(files[0]!, "utf8");
    for (const h of labHosts(env)) assert.match(fleetText, new RegExp(`host: ['"]?${h.ip6}['"]?$`, "m"), `${h.name} not declared by ${h.ip6}`);
    assert.doesNotMatch(fleetText, /10\.77\.0\./, "an IPv4 address in the IPv6 fleet");
    const t0 = cursors();
    const up = deploy(env, "up", files);
    assert.equal(up.status, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
    for (const h of labHosts(env)) {
      const root = loginsOnce(h.name, t0, (ls) => ls.some((l) => l.user === "root")).filter((l) => l.user === "root");
      assert.ok(root.length > 0, `the engine opened no session on ${h.name}`);
      assert.deepEqual([...new Set(root.map((l) => l.from))], [BRIDGE_IP6], `root logins on ${h.name} came from ${JSON.stringify(root)}`);
    }
  });

  test("each backup server's key on the hosting server is restricted to its IPv6 source address, and its pull source is bracketed", () => {
    const topology = labTopology(env, clients);
    for (const instance of instances(topology)) {
      const hosting = labHost(env, instance.hostingServer);
      for (const backupName of instance.backupServers) {
        const backup = labHost(env, backupName);
        const keys = sshOk(env, hosting, `cat ~${backupUser(backupName)}/.ssh/authorized_keys`);
        assert.match(keys, new RegExp(`from="${backup.ip6}"`), `${backupName}'s key on ${hosting.name}: ${keys}`);
        const conf = sshOk(env, backup, `cat ${instanceEnvPath(instance.name)}`);
        assert.match(conf, new RegExp(`^SOURCE_HOST='\\[${hosting.ip6}\\]'$`, "m"), `${instance.name} on ${backupName}: ${conf}`);
        assert.match(sshOk(env, backup, `cat ${knownHostsPath}`), new RegExp(`^${literal(hosting.ip6)} ${literal(hosting.hostKey)}$`, "m"), `known_hosts on ${backupName}`);
      }
    }
  });

  test("a dump and a replication run under systemd, the pulls go over IPv6, and every mirror is identical to its source", () => {
    const topology = labTopology(env, clients);
    const t0 = cursors();
    runDumps(env, topology);
    const checks = replicateAndVerify(env, topology);
    assert.ok(checks.length > 0, "nothing compared");
    assert.deepEqual(checks.filter((c) => !c.identical), [], "a mirror differs from its source");
    for (const instance of instances(topology)) {
      const pulls = loginsOnce(instance.hostingServer, t0, (ls) => instance.backupServers.every((b) => ls.some((l) => l.user === backupUser(b)))).filter((l) => l.user.startsWith(backupUser("")));
      for (const backupName of instance.backupServers) {
        const mine = pulls.filter((l) => l.user === backupUser(backupName));
        assert.ok(mine.length > 0, `no pull by ${backupName} on ${instance.hostingServer}: ${JSON.stringify(pulls)}`);
        assert.deepEqual([...new Set(mine.map((l) => l.from))], [labHost(env, backupName).ip6], `${backupName}'s pulls came from ${JSON.stringify(mine)}`);
      }
    }
  });

  test("failover over IPv6: the instance is restored from a backup server's mirror onto the other hosting server, identical", () => {
    const instance = bistro.instances[0]!;
    const [from, to] = [labHost(env, "lab-backup-ovh-waw"), labHost(env, "lab-host-ovh-rbx")];
    const mirror = `${labTopology(env, clients).fleet.mirrorRoot}/${instance.name}`;
    const want = { code: treeDigest(env, from, `${mirror}/code`), documents: treeDigest(env, from, `${mirror}/documents`) };
    const t0 = cursors();
    const r = spawnSync(
      "bash",
      [path.join(env.repo, "scripts/failover.sh"), "--instance", instance.name, "--from", from.name, "--to", to.name, "--ssh-key", path.join(env.labDir, "id_ed25519"), "--stacks-dir", env.stacksDir],
      { encoding: "utf8", cwd: env.repo, timeout: 10 * 60 * 1000 },
    );
    try {
      assert.equal(r.status, 0, `failover:\n${r.stdout}\n${r.stderr}`);
      assert.equal(treeDigest(env, to, instance.codeRoot), want.code, "code differs from the mirror");
      assert.equal(treeDigest(env, to, instance.documentsDir), want.documents, "documents differ from the mirror");
      assert.match(sshOk(env, to, `mariadb -N -B -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='${instance.database.name}'"`), /^[1-9]/, "no table restored");
      // The backup server pushed to the target over IPv6, with the one-time key bound to its IPv6 address.
      const pushes = loginsOnce(to.name, t0, (ls) => ls.some((l) => l.user === "root" && !THIS_MACHINE.includes(l.from))).filter((l) => l.user === "root" && !THIS_MACHINE.includes(l.from));
      assert.deepEqual([...new Set(pushes.map((l) => l.from))], [from.ip6], JSON.stringify(pushes));
    } finally {
      // rbx is not this instance's host: the restored copy goes.
      sshOk(env, to, `rm -rf '${instance.codeRoot}' '${instance.documentsDir}'; mariadb -e 'DROP DATABASE IF EXISTS \`${instance.database.name}\`'`);
    }
  });

  test("the fleet status is read over IPv6 and every instance is fresh", () => {
    const t0 = cursors();
    const r = spawnSync(process.execPath, [path.join(env.repo, "dist/scripts/status.js"), "--stack", LAB_FLEET_STACK, "--stacks-dir", env.stacksDir, "--ssh-key", path.join(env.labDir, "id_ed25519"), "--json"], { encoding: "utf8", cwd: env.repo });
    assert.equal(r.status, 0, `status:\n${r.stdout}\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as { ok: boolean; instances: unknown[] };
    assert.equal(report.ok, true);
    assert.equal(report.instances.length, bistro.instances.length, r.stdout);
    assert.ok(JSON.stringify(report.instances).includes(bistro.instances[0]!.name), `status does not list ${bistro.instances[0]!.name}: ${r.stdout}`);
    const hosting = labHost(env, bistro.instances[0]!.hostingServer);
    const rootLogins = loginsOnce(hosting.name, t0, (ls) => ls.some((l) => l.user === "root")).filter((l) => l.user === "root");
    const everywhere = labHosts(env).map((h) => `${h.name}: ${JSON.stringify(logins(h.name, t0))}`).join("\n");
    assert.deepEqual([...new Set(rootLogins.map((l) => l.from))], [BRIDGE_IP6], `root logins on ${hosting.name} after the status's start; every host's logins since then:\n${everywhere}`);
  });
});

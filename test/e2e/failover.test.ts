// The bad day, rehearsed on the lab: a hosting host is destroyed with its datacenter; its instances
// are restored from a backup host's last replicated state onto the other hosting host with
// scripts/failover.sh; every table's CHECKSUM TABLE and every file's SHA-256 (with owner and mode)
// equal the last replicated state; then the fleet marks the dead host lost, the client moves its
// instances, and `pulumi up` (scripts/deploy, plain `pulumi up` per stack: no state surgery) succeeds
// without any SSH attempt to the dead host.
// Runs on the lab (root, LXC); it destroys a lab host and rebuilds it at the end (lab.sh up).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import { labEnv, labHost, labHosts, labOperator, labScript, projectCopy, pulumi, ssh, sshOk, tableChecksums, treeDigest } from "../../scripts/lab/driver";
import { deploy, instances, labTopology, prepareLabStacks, replicateAndVerify, runDumps } from "../../scripts/lab/flow";
import { PUSH_STATE_DIR } from "../../infra/render/push";
import { LAB_CLIENTS, LAB_FLEET_STACK, labClientConfig, labFleetConfig, writeStackFile, type LabClient } from "../../scripts/lab/stacks";

const DEAD = "lab-host-ovh-rbx";
const TARGET = "lab-host-ionos-fra";
const FROM = "lab-backup-ovh-waw";

describe("failover onto another hosting host after the loss of one", () => {
  // A project copy with its own stacks and state: the repository's example stacks declare
  // instances of the same names in another fleet.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-e2e-failover-"));
  const env = labEnv({ repo: projectCopy(fs.mkdtempSync(path.join(work, "project-"))), stateDir: fs.mkdtempSync(path.join(work, "state-")) });
  const acme = LAB_CLIENTS.find((c) => c.client === "acme")!;
  const moved = acme.instances.filter((i) => i.hostingServer === DEAD);
  const recorded = new Map<string, { code: string; documents: string; checksums: string }>();
  let files: string[] = [];

  /**
   * The lab is machine-wide, and this test changes it: the rebuilt DEAD host (after()) is seeded
   * anew, so the backup hosts' mirrors of its instances hold an older source (the next replication
   * would rightly call that suspicious), and TARGET holds the instances restored onto it. Both go,
   * before (whatever an earlier run left) and after (for the tests that follow): fresh mirrors and
   * a fresh replacement server, as the bad day has them.
   */
  function forgetMovedInstances(): void {
    const mirrorRoot = labTopology(env).fleet.mirrorRoot;
    for (const h of labHosts(env).filter((x) => x.role === "backup")) sshOk(env, h, moved.map((i) => `rm -rf -- '${mirrorRoot}/${i.name}'`).join("; "));
    sshOk(env, labHost(env, TARGET), moved.map((i) => `mariadb -e 'DROP DATABASE IF EXISTS \`${i.database.name}\`' && rm -rf -- '${i.codeRoot}' '${i.documentsDir}'`).join(" && "));
    // The moved instances' bundles an earlier run pushed onto TARGET (its state went with its
    // project copy): without their records, the next push applies them anew (export, units) instead
    // of finding its frame applied already.
    const records = moved.map((i) => `for f in ${PUSH_STATE_DIR}/*.paths; do [ -e "$f" ] || continue; if grep -qF '/instances/${i.name}.env' "$f"; then rm -f -- "\${f%.paths}.sha256"; fi; done`);
    sshOk(env, labHost(env, TARGET), records.join("; "));
  }

  before(() => {
    files = prepareLabStacks(env);
    forgetMovedInstances();
    const up = deploy(env, "up", files);
    assert.equal(up.status, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
    const topology = labTopology(env);
    runDumps(env, topology);
    assert.ok(replicateAndVerify(env, topology).every((c) => c.identical), "every mirror identical to its source before the loss");
    // The last replicated state: the mirror on FROM (identical to the source, just checked) and the
    // database as its newest dump holds it (nothing writes to the lab databases after the dump).
    for (const i of moved) {
      const mirror = `${topology.fleet.mirrorRoot}/${i.name}`;
      recorded.set(i.name, {
        code: treeDigest(env, labHost(env, FROM), `${mirror}/code`),
        documents: treeDigest(env, labHost(env, FROM), `${mirror}/documents`),
        checksums: tableChecksums(env, DEAD, i.database.name),
      });
    }
  });

  after(() => {
    // Back to the lab as it was: the destroyed host rebuilt, then this test's stacks destroyed (the
    // clients, then the fleet), as every lab test leaves the hosts: their state goes with `work`,
    // and timers, exports and pull configs left on the hosts would run for the tests that follow.
    labScript(env, ["up"]);
    for (const stack of [...LAB_CLIENTS.map((c) => c.stack), LAB_FLEET_STACK]) {
      const r = pulumi(env, ["destroy", "--yes", "--skip-preview", "--stack", stack]);
      if (r.status !== 0) console.error(`pulumi destroy ${stack} failed:\n${r.stdout}\n${r.stderr}`);
    }
    forgetMovedInstances();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test("the hosting host is destroyed", () => {
    for (const cmd of [["lxc-stop", "--kill", "-n", DEAD], ["lxc-destroy", "-n", DEAD]]) {
      const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8" });
      assert.equal(r.status, 0, `${cmd.join(" ")}: ${r.stderr}`);
    }
    const ping = spawnSync("ssh", ["-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "-i", path.join(env.labDir, "id_ed25519"), `root@${labHosts(env).find((h) => h.name === DEAD)!.ip}`, "true"], { encoding: "utf8" });
    assert.notEqual(ping.status, 0, "the destroyed host still answers");
  });

  test("each of its instances is restored from the backup host onto the other hosting host, identical to the last replicated state, with Dolibarr's database account", () => {
    for (const i of moved) {
      // A replacement server has no account of the instance (a rehearsal may have left one).
      const conf = sshOk(env, labHost(env, FROM), `cat ${labTopology(env).fleet.mirrorRoot}/${i.name}/code/conf/conf.php`);
      const setting = (k: string) => new RegExp(`^\\$dolibarr_main_db_${k}='([^'\\\\]*)';$`, "m").exec(conf)?.[1];
      const [user, pass] = [setting("user"), setting("pass")];
      assert.ok(user && pass, `${i.name}: conf.php names no database user and password`);
      sshOk(env, labHost(env, TARGET), `mariadb -e "DROP USER IF EXISTS '${user}'@'localhost'"`);
      const t0 = Date.now();
      const r = spawnSync(
        "bash",
        [path.join(env.repo, "scripts/failover.sh"), "--instance", i.name, "--from", FROM, "--to", TARGET, "--ssh-key", path.join(env.labDir, "id_ed25519"), "--stacks-dir", env.stacksDir],
        { encoding: "utf8", cwd: env.repo, timeout: 30 * 60 * 1000 },
      );
      assert.equal(r.status, 0, `failover of ${i.name}:\n${r.stdout}\n${r.stderr}`);
      console.log(`failover of ${i.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const want = recorded.get(i.name)!;
      assert.equal(treeDigest(env, labHost(env, TARGET), i.codeRoot), want.code, `${i.name}: code (custom/, conf/conf.php) differs`);
      assert.equal(treeDigest(env, labHost(env, TARGET), i.documentsDir), want.documents, `${i.name}: documents differ`);
      assert.equal(tableChecksums(env, TARGET, i.database.name), want.checksums, `${i.name}: CHECKSUM TABLE differs`);
      assert.match(r.stdout, new RegExp(`^database account: identical \\(${user}@localhost logs in with conf/conf\\.php's password`, "m"));
      // Dolibarr's login, as its conf.php says, on the new host: the password on stdin.
      const login = ssh(env, labHost(env, TARGET), `IFS= read -r MYSQL_PWD; export MYSQL_PWD; mariadb --no-defaults -u ${user} -D ${i.database.name} -N -e 'SELECT COUNT(*) FROM llx_facture'`, { input: `${pass}\n` });
      assert.equal(login.status, 0, `${i.name}: ${user} cannot log in on ${TARGET}: ${login.stderr}`);
      assert.match(login.stdout, /^\d+\n$/);
      // the one-time key is gone from the target
      assert.doesNotMatch(sshOk(env, labHost(env, TARGET), "cat /root/.ssh/authorized_keys"), /dolibarr-backup-failover/);
    }
  });

  test("the fleet marks the dead host lost, the client moves its instances, and up succeeds without touching the dead host", () => {
    const fleet = labFleetConfig(labHosts(env), "ipv4", [labOperator(env)]) as { servers: Array<Record<string, unknown>> };
    fleet.servers.find((s) => s.name === DEAD)!.state = "lost";
    const fleetFile = writeStackFile(env.stacksDir, LAB_FLEET_STACK, fleet);
    const movedClient: LabClient = { ...acme, instances: acme.instances.map((i) => (i.hostingServer === DEAD ? { ...i, hostingServer: TARGET } : i)) };
    const clientFile = writeStackFile(env.stacksDir, acme.stack, labClientConfig(movedClient));
    const others = files.filter((f) => f !== fleetFile && f !== clientFile);
    const t0 = Date.now();
    const up = deploy(env, "up", [fleetFile, clientFile, ...others]);
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(up.status, 0, `up with a lost server:\n${up.stdout}\n${up.stderr}`);
    const deadIp = labHosts(env).find((h) => h.name === DEAD)!.ip;
    assert.doesNotMatch(up.stdout + up.stderr, new RegExp(`ssh [a-z]+@${deadIp.replace(/\./g, "\\.")}`), "an SSH attempt to the lost host");
    console.log(`up with a lost server: ${seconds.toFixed(0)} s`);
    // dumps now run on the target, replications pull from it
    const topology = labTopology(env);
    const movedTopology = { ...topology, clients: topology.clients.map((c) => ({ ...c, instances: c.instances.filter((x) => moved.some((m) => m.name === x.name)) })) };
    assert.ok(instances(movedTopology).every((i) => i.hostingServer === TARGET), "every moved instance is hosted on the target");
    runDumps(env, movedTopology);
    const checks = replicateAndVerify(env, movedTopology);
    assert.ok(checks.length > 0 && checks.every((c) => c.identical), JSON.stringify(checks.filter((c) => !c.identical)));
    void fs;
  });
});

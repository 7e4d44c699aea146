// The failover command's plan (what it checks in the stack configs, what dolibarr-restore gets) and
// its one-time key handling, run for real with bash on a temporary HOME.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { failoverScripts, planFailover } from "../../scripts/failover";
import { exampleTopology } from "../support/topology";

describe("failover plan", () => {
  const t = exampleTopology();
  it("restores from a backup server of the instance onto another hosting server, with its paths and database", () => {
    const plan = planFailover([t], { instance: "acme-erp", from: "bk-txl", to: "web-fra", snapshot: "20261124T033100Z" });
    const to = t.fleet.servers.find((s) => s.name === "web-fra")!;
    assert.deepEqual(plan.restoreArgs, [
      "--snapshot", "20261124T033100Z",
      "--target-host", `root@${to.ssh.host}`,
      "--target-port", String(to.ssh.port),
      "--code-dir", plan.instance.codeRoot,
      "--documents-dir", plan.instance.documentsDir,
      "--database", plan.instance.database.name,
      "--db-account",
      "acme-erp",
    ]);
    assert.match(plan.nextSteps[0]!, /Pulumi\.client-acme\.yaml: set instances\[0\]\.hostingServer to web-fra/);
    assert.match(plan.nextSteps.join("\n"), /state: lost/);
  });
  it("passes --at down to dolibarr-restore, quoted as one argument", () => {
    for (const at of ["2026-12-06 10:42:00 Europe/Paris", "2026-12-06 10:42:00 +01:00", "2026-12-06T09:42:00Z", "now"]) {
      const plan = planFailover([t], { instance: "acme-erp", from: "bk-txl", to: "web-fra", at });
      assert.deepEqual(plan.restoreArgs.slice(0, 2), ["--at", at]);
      const steps = failoverScripts(plan, "acme-erp-0a1b2c3d", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTarget");
      assert.ok(steps.restore.includes(` '--at' '${at}' `), steps.restore);
    }
    assert.ok(!planFailover([t], { instance: "acme-erp", from: "bk-txl", to: "web-fra" }).restoreArgs.includes("--at"));
  });
  it("refuses what cannot work, naming the argument", () => {
    const cases: Array<[Parameters<typeof planFailover>[1], RegExp]> = [
      [{ instance: "nope", from: "bk-txl", to: "web-fra" }, /no instance "nope"/],
      [{ instance: "acme-erp", from: "bk-waw", to: "web-fra" }, /--from bk-waw: not a backup server of acme-erp \(bk-sbg, bk-txl\)/],
      [{ instance: "acme-erp", from: "web-fra", to: "web-fra" }, /--from web-fra: a hosting server/],
      [{ instance: "acme-erp", from: "bk-txl", to: "bk-sbg" }, /--to bk-sbg: a backup server; expected a hosting server/],
      [{ instance: "acme-erp", from: "bk-txl", to: "web-rbx" }, /already the instance's hosting server/],
      [{ instance: "acme-erp", from: "bk-txl", to: "web-fra", snapshot: "yesterday" }, /--snapshot yesterday: expected a stamp/],
      ...["2026-12-06 10:42:00", "2026-12-06 10:42 UTC", "yesterday", "2026-12-06 10:42:00 Paris", ""].map(
        (at): [Parameters<typeof planFailover>[1], RegExp] => [{ instance: "acme-erp", from: "bk-txl", to: "web-fra", at }, /--at .*expected a date, a time to the second and an explicit time zone/],
      ),
    ];
    for (const [req, re] of cases) assert.throws(() => planFailover([t], req), re);
    const lost = exampleTopology();
    lost.fleet.servers.find((s) => s.name === "bk-txl")!.state = "lost";
    assert.throws(() => planFailover([lost], { instance: "acme-erp", from: "bk-txl", to: "web-fra" }), /the fleet marks it lost; restore from another/);
  });
});

describe("failover one-time key", () => {
  it("is authorized only from the backup server's address, restricted, and removed exactly at the end", () => {
    const plan = planFailover([exampleTopology()], { instance: "acme-erp", from: "bk-txl", to: "web-fra" });
    const steps = failoverScripts(plan, "acme-erp-0a1b2c3d", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTarget");
    assert.match(steps.restore, /^\/usr\/local\/sbin\/dolibarr-restore '--ssh-key' \/root\/\.dolibarr-backup-failover-acme-erp-0a1b2c3d\/key '--known-hosts' .* '--target-host' 'root@[^']+' .* 'acme-erp'$/m);
    assert.match(steps.prepare, /known_hosts/);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-failover-home-"));
    try {
      fs.mkdirSync(path.join(home, ".ssh"));
      const keys = path.join(home, ".ssh/authorized_keys");
      fs.writeFileSync(keys, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@laptop\n", { mode: 0o600 });
      // an sshd that says nothing: sshd's default, ~/.ssh/authorized_keys
      const bash = (script: string) => spawnSync("bash", ["-c", script], { env: { ...process.env, HOME: home, DBK_SSHD: "/bin/false" }, encoding: "utf8" });
      const backup = plan.from.ssh.host;
      let r = bash(steps.authorize("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneTime dolibarr-backup-failover-acme-erp-0a1b2c3d\n"));
      assert.equal(r.status, 0, r.stderr);
      const lines = fs.readFileSync(keys, "utf8").trim().split("\n");
      assert.equal(lines.length, 2);
      assert.equal(lines[1], `restrict,from="${backup}" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneTime dolibarr-backup-failover-acme-erp-0a1b2c3d`);
      r = bash(steps.revoke);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(keys, "utf8"), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@laptop\n");
      assert.equal((fs.statSync(keys).mode & 0o777).toString(8), "600");
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it("with SSH access managed (operators), the key goes into the root-owned file sshd reads, not the ignored ~/.ssh, and comes out of it", () => {
    const plan = planFailover([exampleTopology()], { instance: "acme-erp", from: "bk-txl", to: "web-fra" });
    const steps = failoverScripts(plan, "acme-erp-0a1b2c3d", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTarget");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-failover-managed-"));
    try {
      const home = path.join(dir, "home");
      fs.mkdirSync(path.join(home, ".ssh"), { recursive: true });
      const ignored = path.join(home, ".ssh/authorized_keys");
      fs.writeFileSync(ignored, "");
      const keysDir = path.join(dir, "etc-ssh-dbk", "authorized_keys");
      fs.mkdirSync(keysDir, { recursive: true });
      const me = spawnSync("id", ["-un"], { encoding: "utf8" }).stdout.trim();
      const managed = path.join(keysDir, me);
      const rendered = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeploy dolibarr-backup deploy fleet\n";
      fs.writeFileSync(managed, rendered, { mode: 0o644 });
      // sshd -T as it answers with the drop-in in force
      const fakeSshd = path.join(dir, "sshd");
      // as long as the real one's (about 150 lines): the answer must not depend on the reader's timing
      fs.writeFileSync(fakeSshd, `#!/bin/sh\nprintf 'port 22\\nauthorizedkeysfile ${keysDir}/%%u\\nauthorizedkeyscommand none\\n'\nseq 1 20000 | sed 's/^/setting /'\n`, { mode: 0o755 });
      const bash = (script: string) => spawnSync("bash", ["-c", script], { env: { ...process.env, HOME: home, DBK_SSHD: fakeSshd }, encoding: "utf8" });
      let r = bash(steps.authorize("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneTime x\n"));
      assert.equal(r.status, 0, r.stderr);
      assert.match(fs.readFileSync(managed, "utf8"), /^restrict,from="[^"]+" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneTime dolibarr-backup-failover-acme-erp-0a1b2c3d$/m);
      assert.equal(fs.readFileSync(ignored, "utf8"), "", "not in the ~/.ssh file sshd ignores");
      r = bash(steps.revoke);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(managed, "utf8"), rendered, "the rendered file as it was");
      assert.equal((fs.statSync(managed).mode & 0o777).toString(8), "644");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("from= lists the backup server's source addresses, never its host name (sshd does not resolve names)", () => {
    const t = exampleTopology();
    const bk = t.fleet.servers.find((s) => s.name === "bk-txl")!;
    bk.ssh = { ...bk.ssh, host: "bk-txl.example.net" };
    bk.sourceAddresses = ["198.51.100.20", "2001:db8:20::/48"];
    const plan = planFailover([t], { instance: "acme-erp", from: "bk-txl", to: "web-fra" });
    const script = failoverScripts(plan, "t", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTarget").authorize("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneTime x");
    assert.match(script, /restrict,from="198\.51\.100\.20,2001:db8:20::\/48" ssh-ed25519/);
    assert.doesNotMatch(script, /example\.net/);
  });

  it("is refused before anything runs when the backup server has no source address of the target's family", () => {
    const t = exampleTopology();
    t.fleet.servers.find((s) => s.name === "web-fra")!.ssh.host = "2001:db8::10";
    assert.throws(() => planFailover([t], { instance: "acme-erp", from: "bk-txl", to: "web-fra" }), /--from bk-txl cannot restore onto --to web-fra: .*no IPv6 address/);
    t.fleet.servers.find((s) => s.name === "bk-txl")!.sourceAddresses = ["198.51.100.20", "2001:db8:20::/48"];
    assert.equal(planFailover([t], { instance: "acme-erp", from: "bk-txl", to: "web-fra" }).to.name, "web-fra");
  });
});

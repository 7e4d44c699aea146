// IPv6 end to end on this machine: a real sshd listening on [::1] only, the files the renderers
// write for an IPv6 hosting server (the replication source SOURCE_HOST, the pinned known_hosts
// line, the from= of the backup server's key) used exactly as dolibarr-replicate uses them:
// rsync pulls "$SOURCE_USER@$SOURCE_HOST:$SOURCE_PATH" through `rrsync -ro`, host key pinned.
// The LXC lab's IPv6 bridge: test/e2e/ipv6.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseStackFileText } from "../../infra/model/load";
import { planReplications } from "../../infra/model/schedule";
import { buildTopology } from "../../infra/model/topology";
import type { Fleet, Topology } from "../../infra/model/types";
import { knownHostsLine, renderBackupInstance, renderHostingAccess } from "../../infra/render/server";
import { skipUnlessCi } from "../support/prerequisites";
import { clientYaml, fleetYaml } from "../support/stacks";
import { generateKey, startSshd, type Sshd } from "../support/jobs-sshd";

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (sshd logs in as root)";
  for (const f of ["/usr/sbin/sshd", "/usr/bin/rrsync"]) if (!fs.existsSync(f)) return `needs ${f} (openssh-server, rsync)`;
  if (spawnSync("rsync", ["--version"]).status !== 0) return "needs rsync";
  if (!os.networkInterfaces().lo?.some((a) => a.family === "IPv6" && a.address === "::1")) return "needs IPv6 on lo (::1)";
  return undefined;
}

const skip = skipUnlessCi(unavailable(), "rsync over ssh to [::1]");

describe("replication from an IPv6 hosting server, over a real sshd on [::1]", { skip, timeout: 120_000 }, () => {
  let root: string;
  let sshd: Sshd;
  let clientKey: string;
  let topology: Topology;
  let fleet: Fleet;
  let exportRoot: string;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-ipv6-"));
    sshd = await startSshd(path.join(root, "sshd"), "::1");
    clientKey = path.join(root, "id_ed25519");
    await generateKey(clientKey);
    const fleetText = fleetYaml()
      // web-rbx on the test sshd, its key pinned (the fixture's hostKey line, before host, replaced)
      .replace(/        hostKey: .*\n        host: 203\.0\.113\.10\n/, `        host: "::1"\n        port: ${sshd.port}\n        hostKey: "${sshd.hostKey}"\n`)
      .replace("        host: 198.51.100.20\n", '        host: 198.51.100.20\n      sourceAddresses: ["::1"]\n')
      // every backup server of the instance needs an IPv6 source address to pull from an IPv6 host
      .replace("        host: 203.0.113.20\n", '        host: 203.0.113.20\n      sourceAddresses: ["203.0.113.20", "2001:db8:20::/48"]\n');
    const f = parseStackFileText(fleetText, "stacks/Pulumi.fleet.yaml");
    const c = parseStackFileText(clientYaml("acme", [{ name: "acme-erp", hosting: "web-rbx", backups: ["bk-sbg", "bk-txl"] }]), "stacks/Pulumi.client-acme.yaml");
    if (f.kind !== "fleet" || c.kind !== "client") throw new Error("fixture stacks");
    fleet = f.fleet;
    topology = buildTopology(fleet, [c.client]);
    // The instance's export as rrsync shows it: <export dir>/<instance>/{code,documents,dumps}.
    exportRoot = path.join(root, "export", "bk-txl");
    for (const part of ["code/conf", "documents/2026", "dumps"]) fs.mkdirSync(path.join(exportRoot, "acme-erp", part), { recursive: true });
    fs.writeFileSync(path.join(exportRoot, "acme-erp", "code", "conf", "conf.php"), "<?php // conf\n");
    fs.writeFileSync(path.join(exportRoot, "acme-erp", "documents", "2026", "invoice.pdf"), "%PDF-1.4 test\n");
  });

  after(async () => {
    // Keeps the event loop alive while sshd stops: node:test otherwise ends the file with the
    // stop's promise pending (nothing else is left running after the synchronous pulls).
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await sshd?.stop();
    } finally {
      clearInterval(keepAlive);
    }
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  /** Installs the rendered key line (rrsync root moved to the test's export dir) for root. */
  function authorize(keyOptions: string[]): void {
    const pub = fs.readFileSync(`${clientKey}.pub`, "utf8").trim();
    const options = keyOptions.map((o) => (o.startsWith("command=") ? `command="/usr/bin/rrsync -ro ${exportRoot}"` : o));
    fs.writeFileSync(sshd.extraKeysFile("root"), `${options.join(",")} ${pub}\n`);
  }

  /** Pulls as dolibarr-replicate does, from the rendered env file's values. */
  function pull(dest: string): { status: number | null; stderr: string } {
    const inst = topology.clients[0]!.instances[0]!;
    const plan = planReplications(topology).find((p) => p.backupServer === "bk-txl")!;
    const envFile = path.join(root, "acme-erp.env");
    fs.writeFileSync(envFile, renderBackupInstance(topology, inst, plan).files[0]!.content);
    const known = path.join(root, "known_hosts");
    fs.writeFileSync(known, `${knownHostsLine(fleet.servers.find((s) => s.name === "web-rbx")!)}\n`);
    const script = `set -euo pipefail
source "$1"
SOURCE_USER=root   # the test's sshd logs in as root; the rendered user is dbk-bk-txl
remote="$SOURCE_USER@$SOURCE_HOST:$SOURCE_PATH"
rsync -a -e "ssh -F none -i $2 -p $SOURCE_PORT -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$3 -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes" "$remote/" "$4/"`;
    const r = spawnSync("bash", ["-c", script, "pull", envFile, clientKey, known, dest], { encoding: "utf8", timeout: 60_000 });
    return { status: r.status, stderr: r.stderr };
  }

  it("renders SOURCE_HOST='[::1]' and pins [::1]:port in known_hosts", () => {
    const inst = topology.clients[0]!.instances[0]!;
    const plan = planReplications(topology)[0]!;
    assert.match(renderBackupInstance(topology, inst, plan).files[0]!.content, /^SOURCE_HOST='\[::1\]'$/m);
    assert.equal(knownHostsLine(fleet.servers.find((s) => s.name === "web-rbx")!), `[::1]:${sshd.port} ${sshd.hostKey}`);
  });

  it("pulls the instance through rrsync -ro with the rendered from=\"::1\" key, host key pinned", () => {
    const access = renderHostingAccess(fleet, fleet.servers.find((s) => s.name === "web-rbx")!, fleet.servers.find((s) => s.name === "bk-txl")!, fs.readFileSync(`${clientKey}.pub`, "utf8"));
    assert.ok(access.keyOptions.includes('from="::1"'), access.keyOptions.join(","));
    authorize(access.keyOptions);
    const dest = path.join(root, "mirror-ok");
    const r = pull(dest);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(dest, "documents", "2026", "invoice.pdf"), "utf8"), "%PDF-1.4 test\n");
    assert.ok(fs.existsSync(path.join(dest, "code", "conf", "conf.php")));
  });

  it("is refused when from= names another address: the key is bound to where the pull comes from", () => {
    authorize(["restrict", 'from="127.0.0.1"', 'command="rrsync -ro x"']);
    const r = pull(path.join(root, "mirror-refused"));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Permission denied/);
  });
});

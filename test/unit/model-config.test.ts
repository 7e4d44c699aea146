// Config values → Fleet / ClientStack / Topology, from pulumi.Config-like values and from stack files.
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { DEFAULT_POLICY } from "../../infra/model/defaults";
import { ConfigError, formatKeyPath } from "../../infra/model/errors";
import { listStackFiles, loadStackFiles, loadStacksDir, parseStackFileText, readStackFile, stackNameOf } from "../../infra/model/load";
import { parseClientConfig, parseFleetConfig } from "../../infra/model/parse";
import { buildTopology } from "../../infra/model/topology";
import { clientYaml, fleetYaml, removeDir, writeStacksDir } from "../support/stacks";
import { testHostKey } from "../support/host-keys";

const PROJECT_STACKS = path.resolve(__dirname, "..", "..", "..", "stacks");

const fleetValues = () => ({
  servers: [
    { name: "web-rbx", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.10", hostKey: testHostKey("203.0.113.10") } },
    { name: "bk-sbg", role: "backup", provider: "ovh", site: "sbg", ssh: { host: "203.0.113.20", hostKey: testHostKey("203.0.113.20"), port: 2222, user: "backup" } },
    { name: "bk-txl", role: "backup", provider: "ionos", site: "de/txl", ssh: { host: "bk-txl.example.net", hostKey: testHostKey("bk-txl.example.net") }, sourceAddresses: ["198.51.100.0/24"] },
  ],
});
const clientValues = () => ({
  fleetStack: "fleet",
  client: "acme",
  instances: [
    {
      name: "acme-erp",
      hostingServer: "web-rbx",
      database: { name: "dolibarr_acme" },
      codeRoot: "/var/www/acme/htdocs",
      documentsDir: "/var/lib/dolibarr/acme/documents",
      backupServers: ["bk-sbg", "bk-txl"],
    },
  ],
});
const src = (stack: string) => ({ stack, file: `stacks/Pulumi.${stack}.yaml` });

describe("parseFleetConfig / parseClientConfig (values from pulumi.Config)", () => {
  it("builds a fleet with defaults", () => {
    const fleet = parseFleetConfig(fleetValues(), src("fleet"));
    assert.equal(fleet.stack, "fleet");
    assert.equal(fleet.file, "stacks/Pulumi.fleet.yaml");
    assert.deepEqual(fleet.policy, DEFAULT_POLICY);
    assert.equal(fleet.mirrorRoot, "/srv/dolibarr-backup/mirrors");
    assert.deepEqual(fleet.servers[0]!.ssh, { host: "203.0.113.10", port: 22, user: "root", hostKey: testHostKey("203.0.113.10") });
    assert.deepEqual(fleet.servers[1]!.ssh, { host: "203.0.113.20", port: 2222, user: "backup", hostKey: testHostKey("203.0.113.20") });
    assert.equal(fleet.servers[2]!.site.id, "ionos:de/txl");
    assert.equal(fleet.servers[2]!.site.city, "Berlin");
  });
  it("merges a partial policy with the defaults", () => {
    const fleet = parseFleetConfig({ ...fleetValues(), policy: { minDistanceKm: 250, maxRpoHours: { files: 4 } } }, src("fleet"));
    assert.equal(fleet.policy.minDistanceKm, 250);
    assert.deepEqual(fleet.policy.maxRpoHours, { files: 4, database: DEFAULT_POLICY.maxRpoHours.database, databaseWithBinlogs: DEFAULT_POLICY.maxRpoHours.databaseWithBinlogs });
    assert.equal(fleet.policy.minBackupServers, 2);
  });
  it("reads providerDiversity false (an unquoted YAML 1.1 off) as off", () => {
    const fleet = parseFleetConfig({ ...fleetValues(), policy: { providerDiversity: false } }, src("fleet"));
    assert.equal(fleet.policy.providerDiversity, "off");
  });
  it("accepts decrypted secrets from the engine and no stackKind", () => {
    const fleet = parseFleetConfig({ ...fleetValues(), sshPrivateKey: "-----BEGIN…", ionos: { token: "t" } }, src("fleet"));
    assert.equal(fleet.servers.length, 3);
  });
  it("builds a client with defaults", () => {
    const client = parseClientConfig(clientValues(), src("client-acme"));
    assert.equal(client.client, "acme");
    assert.equal(client.fleetStack, "fleet");
    const inst = client.instances[0]!;
    assert.equal(inst.client, "acme");
    assert.equal(inst.dumpDir, "/var/backups/dolibarr/acme-erp");
    assert.deepEqual(inst.schedule, { dumpTimes: [0, 720], retentionDays: 7, replicationsPerDay: 4 });
    assert.equal(inst.snapshotsKeep, 7);
  });
  it("sorts dump times and keeps explicit values", () => {
    const v = clientValues();
    Object.assign(v.instances[0]!, { schedule: { dumpTimes: ["18:00", "06:00"], retentionDays: 30, replicationsPerDay: 2 }, snapshots: { keep: 0 }, dumpDir: "/srv/dumps/acme" });
    const inst = parseClientConfig(v, src("client-acme")).instances[0]!;
    assert.deepEqual(inst.schedule, { dumpTimes: [360, 1080], retentionDays: 30, replicationsPerDay: 2 });
    assert.equal(inst.snapshotsKeep, 0);
    assert.equal(inst.dumpDir, "/srv/dumps/acme");
  });
  it("errors from values name the file and key, without a line", () => {
    const v = clientValues();
    (v.instances[0] as Record<string, unknown>).backupServers = ["bk-sbg", 3];
    assert.throws(
      () => parseClientConfig(v, src("client-acme")),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.message, "stacks/Pulumi.client-acme.yaml: dolibarr-backup:instances[0].backupServers[1]: expected a string, got 3");
        assert.equal(e.issues[0]!.line, undefined);
        return true;
      },
    );
  });
  it("formats key paths", () => {
    assert.equal(formatKeyPath(["instances", 1, "backupServers", 0]), "dolibarr-backup:instances[1].backupServers[0]");
    assert.equal(formatKeyPath(["policy", "maxRpoHours", "files"]), "dolibarr-backup:policy.maxRpoHours.files");
    assert.equal(formatKeyPath(["servers", 0, "odd key"]), 'dolibarr-backup:servers[0]["odd key"]');
  });
});

describe("buildTopology", () => {
  it("links a fleet and its clients", () => {
    const fleet = parseFleetConfig(fleetValues(), src("fleet"));
    const client = parseClientConfig(clientValues(), src("client-acme"));
    const t = buildTopology(fleet, [client]);
    assert.equal(t.fleet, fleet);
    assert.deepEqual(t.clients, [client]);
  });
  it("rejects a client of another fleet, unknown servers, wrong roles, duplicate instances", () => {
    const fleet = parseFleetConfig(fleetValues(), src("fleet"));
    const other = parseClientConfig({ ...clientValues(), fleetStack: "lab-fleet" }, src("client-other"));
    const bad = clientValues();
    bad.instances[0]!.backupServers = ["web-rbx", "bk-nope"];
    bad.instances[0]!.hostingServer = "bk-sbg";
    const a = parseClientConfig(clientValues(), src("client-acme"));
    const b = parseClientConfig({ ...bad, client: "zeta" }, src("client-zeta"));
    assert.throws(
      () => buildTopology(fleet, [a, b, other]),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        const got = e.issues.map((i) => `${i.file} ${i.keyPath}`);
        assert.deepEqual(got, [
          "stacks/Pulumi.client-zeta.yaml dolibarr-backup:instances[0].name",
          "stacks/Pulumi.client-zeta.yaml dolibarr-backup:instances[0].hostingServer",
          "stacks/Pulumi.client-zeta.yaml dolibarr-backup:instances[0].backupServers[0]",
          "stacks/Pulumi.client-zeta.yaml dolibarr-backup:instances[0].backupServers[1]",
          "stacks/Pulumi.client-other.yaml dolibarr-backup:fleetStack",
        ]);
        assert.match(e.message, /belongs to fleet stack "lab-fleet", not "fleet"/);
        return true;
      },
    );
  });
});

describe("stack files", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach(removeDir));

  it("names stacks after their files", () => {
    assert.equal(stackNameOf("stacks/Pulumi.client-acme.yaml"), "client-acme");
    assert.equal(stackNameOf("Pulumi.lab-fleet.yml"), "lab-fleet");
    assert.equal(stackNameOf("stacks/Pulumi.yaml"), undefined);
    assert.equal(stackNameOf("stacks/fleet.yaml"), undefined);
  });
  it("reads the shipped stacks: one fleet, three clients, one with two instances on one server", () => {
    const loaded = loadStacksDir(PROJECT_STACKS);
    const fleet = loaded.fleets.find((f) => f.stack === "fleet");
    assert.ok(fleet);
    const hosting = fleet.servers.filter((s) => s.role === "hosting");
    const backups = fleet.servers.filter((s) => s.role === "backup");
    assert.ok(hosting.length >= 2 && new Set(hosting.map((s) => s.provider)).size === 2);
    assert.ok(backups.length >= 3 && new Set(backups.map((s) => s.site.id)).size >= 3 && new Set(backups.map((s) => s.provider)).size === 2);
    const clients = loaded.clients.filter((c) => c.fleetStack === "fleet");
    assert.ok(clients.length >= 3);
    assert.ok(clients.some((c) => c.instances.length >= 2 && new Set(c.instances.map((i) => i.hostingServer)).size === 1));
    for (const s of fleet.servers) assert.match(s.ssh.host, /^(203\.0\.113|198\.51\.100)\./);
  });
  it("keeps several fleets apart; a client belongs to the fleet its fleetStack names", () => {
    const dir = writeStacksDir({
      "Pulumi.fleet.yaml": fleetYaml(),
      "Pulumi.lab-fleet.yaml": fleetYaml(),
      "Pulumi.client-acme.yaml": clientYaml("acme", [{ name: "acme-erp", hosting: "web-rbx", backups: ["bk-sbg", "bk-txl"] }]),
      // same instance name, other fleet: allowed
      "Pulumi.lab-client-acme.yaml": clientYaml("acme", [{ name: "acme-erp", hosting: "web-fra", backups: ["bk-sbg", "bk-waw"] }], "lab-fleet"),
    });
    dirs.push(dir);
    const loaded = loadStacksDir(dir);
    assert.deepEqual(loaded.topologies.map((t) => [t.fleet.stack, t.clients.map((c) => c.stack)]), [
      ["fleet", ["client-acme"]],
      ["lab-fleet", ["lab-client-acme"]],
    ]);
  });
  it("loadStackFiles finds the fleet of given client files by fleetStack", () => {
    const dir = writeStacksDir({
      "Pulumi.fleet.yaml": fleetYaml(),
      "Pulumi.client-acme.yaml": clientYaml("acme", [{ name: "acme-erp", hosting: "web-rbx", backups: ["bk-sbg", "bk-txl"] }]),
      "Pulumi.client-zeta.yaml": clientYaml("zeta", [{ name: "zeta-erp", hosting: "web-fra", backups: ["bk-sbg", "bk-waw"] }]),
    });
    dirs.push(dir);
    const loaded = loadStackFiles([path.join(dir, "Pulumi.client-zeta.yaml")]);
    assert.equal(loaded.topologies.length, 1);
    assert.deepEqual(loaded.topologies[0]!.clients.map((c) => c.client), ["zeta"]);
    assert.deepEqual(listStackFiles(dir).map((f) => path.basename(f)), ["Pulumi.client-acme.yaml", "Pulumi.client-zeta.yaml", "Pulumi.fleet.yaml"]);
  });
  it("readStackFile returns the kind; a missing file is a ConfigError", () => {
    const dir = writeStacksDir({ "Pulumi.fleet.yaml": fleetYaml() });
    dirs.push(dir);
    const sf = readStackFile(path.join(dir, "Pulumi.fleet.yaml"));
    assert.equal(sf.kind, "fleet");
    assert.throws(() => readStackFile(path.join(dir, "Pulumi.nope.yaml")), (e: unknown) => e instanceof ConfigError && /cannot read/.test(e.message));
  });
  it("parses YAML anchors and accepts other providers' namespaces", () => {
    const text = fleetYaml("  ovh:endpoint: ovh-eu\n  pulumi:tags:\n    team: ops\n").replace(
      "      ssh:\n",
      "      ssh: &ssh10\n",
    );
    const sf = parseStackFileText(text, "stacks/Pulumi.fleet.yaml");
    assert.equal(sf.kind, "fleet");
  });
});

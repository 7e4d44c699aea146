// Malformed and inconsistent stack configs: each is rejected with a ConfigError naming the file, the
// key path and (where the case says so) the line of the offending key, and what is expected.
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "../../infra/model/errors";
import { loadStacksDir } from "../../infra/model/load";
import { clientYaml, fleetYaml, removeDir, writeStacksDir } from "../support/stacks";

const FLEET = "Pulumi.fleet.yaml";
const ACME = "Pulumi.client-acme.yaml";
const acme = (backups = ["bk-sbg", "bk-txl"], extra = "", hosting = "web-rbx") =>
  clientYaml("acme", [{ name: "acme-erp", hosting, backups, extra }]);

interface Case {
  name: string;
  /** Files of the stacks dir; the fleet and acme are the valid ones unless replaced. */
  files: Record<string, string>;
  /** File the problem is reported in. */
  file: string;
  keyPath: string;
  message: RegExp;
  /** The line holding this text is the one reported. */
  lineOf?: string;
}

const replaceIn = (text: string, from: string | RegExp, to: string): string => {
  const out = text.replace(from, to);
  assert.notEqual(out, text, `test setup: ${String(from)} not found`);
  return out;
};
const fleetWith = (from: string | RegExp, to: string): Record<string, string> => ({ [FLEET]: replaceIn(fleetYaml(), from, to), [ACME]: acme() });
const acmeWith = (from: string | RegExp, to: string): Record<string, string> => ({ [FLEET]: fleetYaml(), [ACME]: replaceIn(acme(), from, to) });

const CASES: Case[] = [
  // ---- fleet stack ----
  { name: "unknown key in a server", files: fleetWith("      site: rbx\n", "      site: rbx\n      zone: a\n"), file: FLEET, keyPath: "dolibarr-backup:servers[0].zone", message: /unknown key "zone"; expected only the keys name, role, provider, site, ssh, sourceAddresses, state, binlog, ovh, ionos/, lineOf: "zone: a" },
  { name: "unknown site", files: fleetWith("site: rbx", "site: xyz"), file: FLEET, keyPath: "dolibarr-backup:servers[0].site", message: /unknown ovh site "xyz"; expected one of: rbx, gra, sbg/, lineOf: "site: xyz" },
  { name: "bad provider/site combination", files: fleetWith("site: rbx", "site: de/txl"), file: FLEET, keyPath: "dolibarr-backup:servers[0].site", message: /site "de\/txl" is a ionos site, not a ovh one \(bad provider\/site combination\)/, lineOf: "site: de/txl" },
  { name: "unknown provider", files: fleetWith("provider: ovh\n      site: rbx", "provider: aws\n      site: rbx"), file: FLEET, keyPath: "dolibarr-backup:servers[0].provider", message: /expected one of "ovh", "ionos", got "aws"/, lineOf: "provider: aws" },
  { name: "unknown role", files: fleetWith("role: hosting\n      provider: ovh\n      site: rbx", "role: primary\n      provider: ovh\n      site: rbx"), file: FLEET, keyPath: "dolibarr-backup:servers[0].role", message: /expected one of "hosting", "backup", got "primary"/, lineOf: "role: primary" },
  { name: "duplicate server names", files: fleetWith("name: bk-waw", "name: bk-sbg"), file: FLEET, keyPath: "dolibarr-backup:servers[3].name", message: /duplicate server name "bk-sbg" \(already servers\[2\]\)/ },
  { name: "missing ssh", files: fleetWith(/      site: rbx\n      ssh:\n        hostKey: .*\n        host: 203\.0\.113\.10\n/, "      site: rbx\n"), file: FLEET, keyPath: "dolibarr-backup:servers[0].ssh", message: /missing; expected a mapping/ },
  { name: "ssh port out of range", files: fleetWith("        host: 203.0.113.10\n", "        host: 203.0.113.10\n        port: 70000\n"), file: FLEET, keyPath: "dolibarr-backup:servers[0].ssh.port", message: /expected a number ≤ 65535, got 70000/, lineOf: "port: 70000" },
  { name: "bad ssh host", files: fleetWith("host: 203.0.113.10", 'host: "web rbx!"'), file: FLEET, keyPath: "dolibarr-backup:servers[0].ssh.host", message: /expected a host name .* or an IPv4\/IPv6 address/ },
  { name: "ovh reference on an ionos server", files: fleetWith("      site: de/fra\n", "      site: de/fra\n      ovh:\n        serviceName: ns1.example\n        kind: dedicated\n"), file: FLEET, keyPath: "dolibarr-backup:servers[1].ovh", message: /an ovh reference on a server whose provider is ionos/ },
  { name: "ionos id not a UUID", files: fleetWith("      site: de/fra\n", "      site: de/fra\n      ionos:\n        datacenterId: dc-1\n        serverId: 2b4d6f80-9a1c-4e3d-b5f7-c8d9e0f1a2b3\n"), file: FLEET, keyPath: "dolibarr-backup:servers[1].ionos.datacenterId", message: /expected an IONOS UUID/, lineOf: "datacenterId: dc-1" },
  { name: "fleet without stackKind", files: fleetWith("  dolibarr-backup:stackKind: fleet\n", ""), file: FLEET, keyPath: "dolibarr-backup:stackKind", message: /missing; expected "fleet" or "client"/ },
  { name: "ssh private key in clear text", files: fleetWith(/ {2}dolibarr-backup:sshPrivateKey:\n {4}secure: .*\n/, "  dolibarr-backup:sshPrivateKey: not-encrypted\n"), file: FLEET, keyPath: "dolibarr-backup:sshPrivateKey", message: /a secret in clear text in a stack file; expected \{secure: v1:…\}/, lineOf: "sshPrivateKey" },
  { name: "ssh private key missing", files: fleetWith(/ {2}dolibarr-backup:sshPrivateKey:\n {4}secure: .*\n/, ""), file: FLEET, keyPath: "dolibarr-backup:sshPrivateKey", message: /missing; expected the fleet's SSH private key as a Pulumi secret/ },
  { name: "unknown policy key", files: { [FLEET]: fleetYaml("  dolibarr-backup:policy:\n    minDistance: 100\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibarr-backup:policy.minDistance", message: /unknown key "minDistance"; expected only the keys minBackupServers, minDistanceKm/, lineOf: "minDistance: 100" },
  { name: "bad providerDiversity", files: { [FLEET]: fleetYaml("  dolibarr-backup:policy:\n    providerDiversity: maybe\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibarr-backup:policy.providerDiversity", message: /expected one of "required", "advisory", "off", got "maybe"/, lineOf: "maybe" },
  { name: "negative minDistanceKm", files: { [FLEET]: fleetYaml("  dolibarr-backup:policy:\n    minDistanceKm: -5\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibarr-backup:policy.minDistanceKm", message: /expected a number ≥ 0, got -5/, lineOf: "minDistanceKm: -5" },
  { name: "zero database RPO", files: { [FLEET]: fleetYaml("  dolibarr-backup:policy:\n    maxRpoHours:\n      database: 0\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibarr-backup:policy.maxRpoHours.database", message: /expected a number > 0, got 0/, lineOf: "database: 0" },
  { name: "relative mirrorRoot", files: { [FLEET]: fleetYaml("  dolibarr-backup:mirrorRoot: srv/mirrors\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibarr-backup:mirrorRoot", message: /expected an absolute Unix path/, lineOf: "mirrorRoot" },
  { name: "unknown config key", files: { [FLEET]: fleetYaml("  dolibarr-backup:server: []\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibarr-backup:server", message: /unknown key "server"/, lineOf: "dolibarr-backup:server:" },
  { name: "misspelt namespace", files: { [FLEET]: fleetYaml("  dolibar-backup:mirrorRoot: /srv\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibar-backup:mirrorRoot", message: /unknown config namespace "dolibar-backup"; expected dolibarr-backup:<key>/, lineOf: "dolibar-backup" },
  { name: "bad OVH endpoint", files: { [FLEET]: fleetYaml("  dolibarr-backup:ovh:\n    endpoint: ovh-mars\n    applicationKey: k\n    applicationSecret:\n      secure: v1:AAAA:BBBB\n    consumerKey:\n      secure: v1:AAAA:BBBB\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibarr-backup:ovh.endpoint", message: /expected one of "ovh-eu"/, lineOf: "ovh-mars" },
  { name: "IONOS token in clear text", files: { [FLEET]: fleetYaml("  dolibarr-backup:ionos:\n    token: abc\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibarr-backup:ionos.token", message: /a secret in clear text/, lineOf: "token: abc" },
  { name: "two servers on one SSH endpoint", files: fleetWith("host: 203.0.113.21", "host: 203.0.113.20"), file: FLEET, keyPath: "dolibarr-backup:servers[3].ssh.host", message: /ssh endpoint 203\.0\.113\.20:22 is already server "bk-sbg"'s/ },
  { name: "drills stale after 3 days", files: { [FLEET]: fleetYaml("  dolibarr-backup:drills:\n    staleDays: 3\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibarr-backup:drills.staleDays", message: /expected at least 7 days: the drills run weekly/, lineOf: "staleDays: 3" },
  { name: "drills sample share above 100 %", files: { [FLEET]: fleetYaml("  dolibarr-backup:drills:\n    sampleDocumentsPercent: 150\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibarr-backup:drills.sampleDocumentsPercent", message: /expected a percentage from 0 to 100/, lineOf: "sampleDocumentsPercent: 150" },
  { name: "drills sample floor not whole", files: { [FLEET]: fleetYaml("  dolibarr-backup:drills:\n    sampleDocumentsMin: 2.5\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibarr-backup:drills.sampleDocumentsMin", message: /expected a whole number of files/, lineOf: "sampleDocumentsMin: 2.5" },
  { name: "drills maximum RTO as text", files: { [FLEET]: fleetYaml("  dolibarr-backup:drills:\n    maxRtoMinutes: 1h\n"), [ACME]: acme() }, file: FLEET, keyPath: "dolibarr-backup:drills.maxRtoMinutes", message: /expected whole minutes \(e\.g\. 60\)/, lineOf: "maxRtoMinutes: 1h" },
  { name: "YAML syntax error", files: fleetWith("    - name: web-fra\n", "    - name: [web-fra\n"), file: FLEET, keyPath: "(yaml)", message: /invalid YAML/ },
  { name: "unknown top-level key", files: { [FLEET]: "configg:\n  a: 1\n", [ACME]: acme() }, file: FLEET, keyPath: "configg", message: /unknown top-level key/, lineOf: "configg" },
  // ---- client stack ----
  { name: "misspelt instance key", files: acmeWith("backupServers:", "backupServer:"), file: ACME, keyPath: "dolibarr-backup:instances[0].backupServer", message: /unknown key "backupServer"; expected only the keys name, hostingServer, database/, lineOf: "backupServer:" },
  { name: "unknown backup server", files: { [FLEET]: fleetYaml(), [ACME]: acme(["bk-sbg", "bk-nope"]) }, file: ACME, keyPath: "dolibarr-backup:instances[0].backupServers[1]", message: /unknown server "bk-nope" in fleet "fleet" .*; expected one of its backup servers: bk-sbg, bk-waw, bk-txl/, lineOf: "bk-nope" },
  { name: "unknown hosting server", files: { [FLEET]: fleetYaml(), [ACME]: acme(undefined, "", "web-xyz") }, file: ACME, keyPath: "dolibarr-backup:instances[0].hostingServer", message: /unknown server "web-xyz" .*expected one of its hosting servers: web-rbx, web-fra/, lineOf: "hostingServer: web-xyz" },
  { name: "hosting server used as backup", files: { [FLEET]: fleetYaml(), [ACME]: acme(["web-rbx", "bk-txl"]) }, file: ACME, keyPath: "dolibarr-backup:instances[0].backupServers[0]", message: /"web-rbx" is the instance's hosting server/, lineOf: "backupServers: [web-rbx" },
  { name: "backup server whose role is hosting", files: { [FLEET]: fleetYaml(), [ACME]: acme(["web-fra", "bk-txl"]) }, file: ACME, keyPath: "dolibarr-backup:instances[0].backupServers[0]", message: /"web-fra" is a hosting server \(role: hosting\); expected one of the backup servers/ },
  { name: "hosting server that is a backup server", files: { [FLEET]: fleetYaml(), [ACME]: acme(["bk-sbg", "bk-txl"], "", "bk-waw") }, file: ACME, keyPath: "dolibarr-backup:instances[0].hostingServer", message: /"bk-waw" is a backup server; expected one of the hosting servers: web-rbx, web-fra/ },
  {
    name: "duplicate instance in one client",
    files: { [FLEET]: fleetYaml(), [ACME]: clientYaml("acme", [{ name: "acme-erp", hosting: "web-rbx", backups: ["bk-sbg", "bk-txl"] }, { name: "acme-erp", hosting: "web-fra", backups: ["bk-sbg", "bk-waw"] }]) },
    file: ACME,
    keyPath: "dolibarr-backup:instances[1].name",
    message: /duplicate instance name "acme-erp" \(already instances\[0\]\)/,
  },
  {
    name: "duplicate instance across clients",
    files: { [FLEET]: fleetYaml(), [ACME]: acme(), "Pulumi.client-zeta.yaml": clientYaml("zeta", [{ name: "acme-erp", hosting: "web-fra", backups: ["bk-sbg", "bk-waw"] }]) },
    file: "Pulumi.client-zeta.yaml",
    keyPath: "dolibarr-backup:instances[0].name",
    message: /instance name "acme-erp" is already used in .*Pulumi\.client-acme\.yaml; expected instance names unique across fleet "fleet"/,
    lineOf: "name: acme-erp",
  },
  { name: "negative retention", files: { [FLEET]: fleetYaml(), [ACME]: acme(undefined, "      schedule:\n        retentionDays: -1\n") }, file: ACME, keyPath: "dolibarr-backup:instances[0].schedule.retentionDays", message: /expected a number ≥ 1, got -1/, lineOf: "retentionDays: -1" },
  { name: "dump time 25:00", files: { [FLEET]: fleetYaml(), [ACME]: acme(undefined, '      schedule:\n        dumpTimes: ["00:00", "25:00"]\n') }, file: ACME, keyPath: "dolibarr-backup:instances[0].schedule.dumpTimes[1]", message: /expected a 24-hour time "HH:MM"/, lineOf: "25:00" },
  { name: "dump time as a number", files: { [FLEET]: fleetYaml(), [ACME]: acme(undefined, "      schedule:\n        dumpTimes: [1200]\n") }, file: ACME, keyPath: "dolibarr-backup:instances[0].schedule.dumpTimes[0]", message: /expected a string, got 1200/ },
  { name: "duplicate dump time", files: { [FLEET]: fleetYaml(), [ACME]: acme(undefined, '      schedule:\n        dumpTimes: ["12:00", "12:00"]\n') }, file: ACME, keyPath: "dolibarr-backup:instances[0].schedule.dumpTimes[1]", message: /dump time listed twice/ },
  { name: "zero replications a day", files: { [FLEET]: fleetYaml(), [ACME]: acme(undefined, "      schedule:\n        replicationsPerDay: 0\n") }, file: ACME, keyPath: "dolibarr-backup:instances[0].schedule.replicationsPerDay", message: /expected a number ≥ 1, got 0/ },
  { name: "relative codeRoot", files: acmeWith("codeRoot: /var/www/acme-erp/htdocs", "codeRoot: var/www/acme-erp"), file: ACME, keyPath: "dolibarr-backup:instances[0].codeRoot", message: /expected an absolute Unix path/, lineOf: "codeRoot:" },
  { name: "'..' in documentsDir", files: acmeWith("documentsDir: /var/lib/dolibarr/acme-erp/documents", "documentsDir: /var/lib/../etc"), file: ACME, keyPath: "dolibarr-backup:instances[0].documentsDir", message: /without '\.\.'/ },
  { name: "same codeRoot and documentsDir", files: acmeWith("documentsDir: /var/lib/dolibarr/acme-erp/documents", "documentsDir: /var/www/acme-erp/htdocs"), file: ACME, keyPath: "dolibarr-backup:instances[0].documentsDir", message: /same directory as codeRoot/ },
  { name: "uppercase instance name", files: acmeWith("name: acme-erp", "name: Acme_ERP"), file: ACME, keyPath: "dolibarr-backup:instances[0].name", message: /expected a name of 1 to 63 lowercase letters, digits and '-'/ },
  { name: "instance name of 64 characters", files: acmeWith("name: acme-erp", `name: acme-erp-${"x".repeat(55)}`), file: ACME, keyPath: "dolibarr-backup:instances[0].name", message: /expected a name of 1 to 63 lowercase/ },
  { name: "instance name ending with '-'", files: acmeWith("name: acme-erp", "name: acme-erp-"), file: ACME, keyPath: "dolibarr-backup:instances[0].name", message: /not ending with '-'/ },
  { name: "bad database name", files: acmeWith("name: db_acme_erp", "name: db-acme;drop"), file: ACME, keyPath: "dolibarr-backup:instances[0].database.name", message: /expected a MariaDB database name/, lineOf: "db-acme;drop" },
  { name: "missing database", files: acmeWith("      database:\n        name: db_acme_erp\n", ""), file: ACME, keyPath: "dolibarr-backup:instances[0].database", message: /missing; expected a mapping/ },
  { name: "negative snapshots", files: { [FLEET]: fleetYaml(), [ACME]: acme(undefined, "      snapshots:\n        keep: -1\n") }, file: ACME, keyPath: "dolibarr-backup:instances[0].snapshots.keep", message: /expected a number ≥ 0/ },
  { name: "unknown fleet stack", files: acmeWith("fleetStack: fleet", "fleetStack: fleet-eu"), file: ACME, keyPath: "dolibarr-backup:fleetStack", message: /no fleet stack file .*Pulumi\.fleet-eu\.yaml/, lineOf: "fleetStack" },
  { name: "bad stackKind", files: acmeWith("stackKind: client", "stackKind: server"), file: ACME, keyPath: "dolibarr-backup:stackKind", message: /expected "fleet" or "client", got "server"/ },
  { name: "no instances", files: acmeWith(/ {2}dolibarr-backup:instances:\n[\s\S]*$/, "  dolibarr-backup:instances: []\n"), file: ACME, keyPath: "dolibarr-backup:instances", message: /expected at least 1 item/ },
  { name: "backup server listed twice", files: { [FLEET]: fleetYaml(), [ACME]: acme(["bk-sbg", "bk-sbg"]) }, file: ACME, keyPath: "dolibarr-backup:instances[0].backupServers[1]", message: /"bk-sbg" is listed twice/ },
  { name: "key without namespace", files: acmeWith("  dolibarr-backup:client: acme", "  client: acme"), file: ACME, keyPath: "client", message: /config key without namespace; expected dolibarr-backup:client/, lineOf: "  client: acme" },
  { name: "client in clear of a secret-like value where a list is expected", files: acmeWith("backupServers: [bk-sbg, bk-txl]", "backupServers: bk-sbg"), file: ACME, keyPath: "dolibarr-backup:instances[0].backupServers", message: /expected a list, got "bk-sbg"/ },
];

describe("malformed and inconsistent configs are rejected with file, line and key path", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach(removeDir));

  it(`has at least 30 cases (${CASES.length})`, () => assert.ok(CASES.length >= 30));

  for (const c of CASES) {
    it(c.name, () => {
      const dir = writeStacksDir(c.files);
      dirs.push(dir);
      let err: unknown;
      try {
        loadStacksDir(dir);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      const file = path.join(dir, c.file);
      assert.ok(err.message.includes(file), `message does not name ${file}:\n${err.message}`);
      assert.ok(err.message.includes(c.keyPath), `message does not name ${c.keyPath}:\n${err.message}`);
      const issue = err.issues.find((i) => i.file === file && i.keyPath === c.keyPath && c.message.test(i.message));
      assert.ok(issue, `no issue ${c.keyPath} ~ ${c.message} in ${file}:\n${err.message}`);
      if (c.lineOf) {
        const lines = c.files[c.file]!.split("\n");
        const expected = lines.findIndex((l) => l.includes(c.lineOf!)) + 1;
        assert.ok(expected > 0, "test setup: lineOf text not in file");
        assert.equal(issue.line, expected, `line of ${c.keyPath}:\n${err.message}`);
        assert.ok(err.message.includes(`${file}:${expected}:`), err.message);
      }
    });
  }

  it("reports every problem of every file at once", () => {
    const dir = writeStacksDir({
      [FLEET]: replaceIn(fleetYaml(), "site: sbg", "site: nowhere"),
      [ACME]: acme(["bk-sbg", "bk-txl"], "      schedule:\n        retentionDays: -1\n"),
      "Pulumi.client-zeta.yaml": replaceIn(clientYaml("zeta", [{ name: "zeta-erp", hosting: "web-fra", backups: ["bk-waw", "bk-sbg"] }]), "codeRoot: /var", "codeRoot: var"),
    });
    dirs.push(dir);
    assert.throws(
      () => loadStacksDir(dir),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(
          e.issues.map((i) => i.keyPath),
          ["dolibarr-backup:instances[0].schedule.retentionDays", "dolibarr-backup:instances[0].codeRoot", "dolibarr-backup:servers[2].site"],
        );
        assert.equal(e.files.length, 3);
        return true;
      },
    );
  });
});

// topologyFromResources: the Topology the policy pack rebuilds from component resources must be
// the one the rules would see from the stack configs (same servers, policy, instances, files).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TYPES } from "../../infra/components/contract";
import { DEFAULT_POLICY } from "../../infra/model/defaults";
import { checkTopology } from "../../infra/rules";
import { endpointOfAddress, stackFile, stackOfUrn, topologyFromResources } from "../../policies/topology";
import {
  BACKUP_SBG,
  BACKUP_TXL,
  clientStack,
  facts,
  HOSTING,
  instanceProps,
  otherResources,
  resource,
  serverResource,
  urn,
} from "../support/policy-resources";

describe("topologyFromResources on a client stack", () => {
  const erp = instanceProps({ policy: { minDistanceKm: 250 }, minuteOffset: 3 });
  const shop = instanceProps({ name: "acme-shop", backups: [BACKUP_TXL, BACKUP_SBG], policy: { minDistanceKm: 250 }, minuteOffset: 3 });
  const model = topologyFromResources(clientStack(erp, shop));

  test("one client with its instances, from the stack named in the URNs", () => {
    assert.equal(model.components, 2);
    assert.deepEqual(model.problems, []);
    assert.equal(model.topology.clients.length, 1);
    const client = model.topology.clients[0]!;
    assert.equal(client.stack, "client-acme");
    assert.equal(client.file, "stacks/Pulumi.client-acme.yaml");
    assert.equal(client.client, "acme");
    assert.equal(client.fleetStack, "fleet");
    assert.deepEqual(client.instances, [erp.instance, shop.instance]);
  });

  test("the fleet: its stack and file, the policy the instances carry, each server once", () => {
    const { fleet } = model.topology;
    assert.equal(fleet.stack, "fleet");
    assert.equal(fleet.file, "stacks/Pulumi.fleet.yaml");
    assert.deepEqual(fleet.policy, erp.policy);
    assert.equal(fleet.policy.minDistanceKm, 250);
    assert.deepEqual(fleet.servers.map((s) => s.name), ["web-ovh-rbx-1", "bk-ovh-sbg-1", "bk-ionos-txl-1"]);
    const txl = fleet.servers.find((s) => s.name === "bk-ionos-txl-1")!;
    assert.deepEqual(txl.site, BACKUP_TXL.site);
    assert.equal(txl.ssh.host, BACKUP_TXL.address);
    assert.equal(fleet.mirrorRoot, erp.mirrorRoot);
  });

  test("URNs by instance, access and registered replications kept for the other checks", () => {
    assert.equal(model.instanceUrns.get("acme-erp"), urn("client-acme", TYPES.instance, "acme-erp"));
    assert.deepEqual(model.access.map((a) => [a.instance, a.hostingServer, a.backupServers, a.access.length]), [
      ["acme-erp", "web-ovh-rbx-1", ["bk-ovh-sbg-1", "bk-ionos-txl-1"], 2],
      ["acme-shop", "web-ovh-rbx-1", ["bk-ionos-txl-1", "bk-ovh-sbg-1"], 2],
    ]);
    assert.deepEqual(model.replications, [...erp.replications, ...shop.replications]);
  });

  test("the rules module finds nothing on a compliant rebuilt topology", () => {
    assert.deepEqual(checkTopology(model.topology), []);
  });

  test("props come back from the engine as plain data (copies, not the engine's proxies)", () => {
    const inst = model.topology.clients[0]!.instances[0]!;
    assert.equal(Object.getPrototypeOf(inst), Object.prototype);
    assert.ok(Array.isArray(inst.backupServers));
  });
});

describe("topologyFromResources on a fleet stack", () => {
  const model = topologyFromResources([...otherResources("fleet"), ...[HOSTING, BACKUP_SBG, BACKUP_TXL].map((f) => serverResource(f))]);

  test("servers from HostingServer/BackupServer components, default fleet policy, no client", () => {
    assert.equal(model.components, 3);
    assert.deepEqual(model.problems, []);
    assert.equal(model.topology.fleet.stack, "fleet");
    assert.deepEqual(model.topology.fleet.servers.map((s) => [s.name, s.role, s.site.id]), [
      ["web-ovh-rbx-1", "hosting", "ovh:rbx"],
      ["bk-ovh-sbg-1", "backup", "ovh:sbg"],
      ["bk-ionos-txl-1", "backup", "ionos:de/txl"],
    ]);
    assert.deepEqual(model.topology.fleet.policy, DEFAULT_POLICY);
    assert.deepEqual(model.topology.clients, []);
    assert.equal(model.serverUrns.get("bk-ovh-sbg-1"), urn("fleet", TYPES.backupServer, "bk-ovh-sbg-1"));
  });

  test("a component whose type and role disagree is a contract problem", () => {
    const wrong = resource(TYPES.backupServer, "web-x", { ...facts("web-x", "hosting", "ovh:gra"), fleetStack: "fleet" }, "fleet");
    const m = topologyFromResources([wrong]);
    assert.equal(m.topology.fleet.servers.length, 0);
    assert.match(m.problems[0]!.message, /dolibarr-backup:fleet:BackupServer component with role "hosting"/);
  });

  test("one server name with two different sets of facts is a contract problem", () => {
    const a = serverResource(BACKUP_SBG);
    const b = resource(TYPES.hostingServer, BACKUP_SBG.name, { ...BACKUP_SBG, role: "hosting", fleetStack: "fleet" }, "fleet");
    const m = topologyFromResources([a, b]);
    assert.equal(m.problems.length, 1);
    assert.match(m.problems[0]!.message, /described twice with different facts/);
  });
});

describe("topologyFromResources: contract problems leave the component out", () => {
  const cases: Array<[string, (p: ReturnType<typeof instanceProps>) => object, RegExp]> = [
    ["no properties", () => ({}), /registerOutputs\(\)/],
    ["a missing key", (p) => ({ ...p, policy: undefined }), /policy: /],
    ["hosting facts of another server", (p) => ({ ...p, hostingServer: BACKUP_SBG }), /hosting server facts describe "bk-ovh-sbg-1"/],
    ["no facts for a listed backup", (p) => ({ ...p, backupServers: [BACKUP_SBG] }), /no facts registered for backup server\(s\) bk-ionos-txl-1/],
    ["a client that differs from the instance's", (p) => ({ ...p, client: "globex" }), /names client "acme" but the component says "globex"/],
    ["a time of day out of range", (p) => ({ ...p, instance: { ...p.instance, schedule: { ...p.instance.schedule, dumpTimes: [1440] } } }), /instance\.schedule\.dumpTimes\.0/],
  ];
  for (const [what, mutate, expected] of cases) {
    test(what, () => {
      const p = instanceProps();
      const r = resource(TYPES.instance, "acme-erp", mutate(p), "client-acme");
      const m = topologyFromResources([r]);
      assert.equal(m.components, 1);
      assert.equal(m.topology.clients.length, 0);
      assert.equal(m.problems.length, 1, JSON.stringify(m.problems));
      assert.match(m.problems[0]!.message, expected);
      assert.equal(m.problems[0]!.urn, urn("client-acme", TYPES.instance, "acme-erp"));
    });
  }

  test("an instance registered twice, and instances with different fleet policies", () => {
    const p = instanceProps();
    const twice = topologyFromResources([resource(TYPES.instance, "a", p, "client-acme"), resource(TYPES.instance, "b", p, "client-acme")]);
    assert.match(twice.problems[0]!.message, /registered twice/);
    const other = instanceProps({ name: "acme-shop", policy: { minDistanceKm: 10 } });
    const policies = topologyFromResources(clientStack(p, other));
    assert.match(policies.problems[0]!.message, /fleet policy different from the other instances/);
  });
});

describe("helpers", () => {
  test("stackOfUrn and stackFile", () => {
    assert.equal(stackOfUrn("urn:pulumi:client-acme::dolibarr-backup::dolibarr-backup:client:Instance::acme-erp"), "client-acme");
    assert.equal(stackOfUrn("not a urn"), "");
    assert.equal(stackFile("lab-fleet"), "stacks/Pulumi.lab-fleet.yaml");
  });

  test("endpointOfAddress: host, host:port, [v6]:port, bare v6", () => {
    assert.deepEqual(endpointOfAddress("203.0.113.10"), { host: "203.0.113.10", port: 22 });
    assert.deepEqual(endpointOfAddress("backup.example.net:2222"), { host: "backup.example.net", port: 2222 });
    assert.deepEqual(endpointOfAddress("[2001:db8::1]:2200"), { host: "2001:db8::1", port: 2200 });
    assert.deepEqual(endpointOfAddress("2001:db8::1"), { host: "2001:db8::1", port: 22 });
  });
});

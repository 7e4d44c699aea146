// Every policy of the CrossGuard pack, run like the analyzer runs a stack policy (validateStack with
// the stack's resources, reportViolation collected) on hand-built stacks: compliant, violating,
// and at the thresholds. The rules themselves are tested in rules.test.ts; here the point is that
// the pack rebuilds the same topology from the components and reports where ops can act.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { pointNorthOf } from "../../infra/model/geo";
import { planInstance, shiftPlans, worstCaseRpo } from "../../infra/model/schedule";
import { RULES } from "../../infra/rules";
import { accessRestrictedSsh } from "../../infra/rules/access";
import { buildPolicies, DEFAULT_ENFORCEMENT, policyName } from "../../policies/policies";
import { topologyFromResources } from "../../policies/topology";
import {
  access,
  BACKUP_SBG,
  BACKUP_TXL,
  clientStack,
  customSite,
  instanceResource,
  facts,
  HOSTING,
  instanceProps,
  otherResources,
  runAll,
  runPolicy,
  serverProps,
  serverResource,
  site,
  resource,
  UNKNOWN,
  urn,
  withValue,
  type InstanceSpec,
  type Reported,
} from "../support/policy-resources";
import { pushedClientStack } from "../support/push-resources";
import { STOCK_TYPES, TYPES } from "../../infra/components/contract";
import { DEFAULT_POLICY } from "../../infra/model/defaults";

const ACME_ERP_URN = urn("client-acme", TYPES.instance, "acme-erp");

async function violationsOf(policy: string, spec: InstanceSpec = {}): Promise<Reported[]> {
  const run = await runPolicy(policy, clientStack(instanceProps(spec)));
  assert.equal(run.notApplicable, undefined);
  return run.violations;
}

function assertOne(violations: Reported[], ...fragments: string[]): Reported {
  assert.equal(violations.length, 1, `expected one violation, got:\n${violations.map((v) => v.message).join("\n---\n")}`);
  for (const f of fragments) assert.ok(violations[0]!.message.includes(f), `message lacks "${f}":\n${violations[0]!.message}`);
  return violations[0]!;
}

describe("the pack", () => {
  test("has one policy per rule of infra/rules, named after its id, plus access and the contract checks", () => {
    const names = buildPolicies().map((p) => p.name);
    assert.deepEqual(names, [
      "topology-references",
      "servers-lost",
      "backup-not-hosting",
      "backup-min-count",
      "geo-min-distance",
      "provider-diversity",
      "provider-diversity-advisory",
      "schedule-dumps",
      "schedule-staggered",
      "rpo-max",
      "retention-snapshots",
      "binlog-off",
      "binlog-server-id",
      "drill-window",
      "rsync-min-version",
      "access-restricted-ssh",
      "component-properties",
      "replications-as-planned",
      "pushed-authorized-keys",
      "pushed-timers",
      "pushed-replication-sources",
      "pushed-operator-keys",
      "ssh-host-key-pinned",
    ]);
    for (const r of [...RULES, accessRestrictedSsh]) assert.ok(names.includes(policyName(r.id)), r.id);
    assert.equal(new Set(names).size, names.length);
  });

  test("default levels agree with the fleet policy's defaults: geography and provider diversity mandatory", () => {
    const level = new Map(buildPolicies().map((p) => [p.name, p.enforcementLevel]));
    for (const n of ["backup-not-hosting", "backup-min-count", "geo-min-distance"]) assert.equal(level.get(n), "mandatory", n);
    // DEFAULT_POLICY.providerDiversity "required" makes provider.diversity violations mandatory
    assert.equal(DEFAULT_POLICY.providerDiversity, "required");
    assert.equal(level.get("provider-diversity"), "mandatory");
    assert.equal(level.get("provider-diversity-advisory"), "advisory");
    // every rule policy's default is the rule's own default severity (the fleet policy's default)
    for (const r of RULES) assert.equal(level.get(policyName(r.id)), r.defaultSeverity, r.id);
    for (const n of ["pushed-authorized-keys", "pushed-timers", "pushed-replication-sources", "pushed-operator-keys"]) assert.equal(level.get(n), "mandatory", n);
    for (const p of buildPolicies()) assert.equal(p.enforcementLevel, DEFAULT_ENFORCEMENT[p.name], p.name);
  });

  test("every policy describes its rule id; the pushed authorized_keys policy is a resource policy on remote.Command", () => {
    for (const p of buildPolicies()) {
      assert.ok(p.description.length > 20, p.name);
      const kind = "validateStack" in p ? "stack" : "resource";
      assert.equal(kind, p.name === "pushed-authorized-keys" || p.name === "ssh-host-key-pinned" ? "resource" : "stack", p.name);
    }
    const keys = buildPolicies().find((p) => p.name === "pushed-authorized-keys")!;
    assert.ok(!("validateStack" in keys));
    // validateResourceOfType attaches the class's type token: the engine skips other types fast
    assert.equal((keys.validateResource as unknown as { __pulumiType: string }).__pulumiType, STOCK_TYPES.remoteCommand);
    const geo = buildPolicies().find((p) => p.name === "geo-min-distance")!;
    assert.ok(geo.description.startsWith("[geo.min-distance]"));
    assert.ok(geo.remediationSteps && geo.remediationSteps.length > 0);
  });

  test("a compliant client stack passes every policy", async () => {
    const violations = await runAll(pushedClientStack(0, [instanceProps(), instanceProps({ name: "acme-shop", minuteOffset: 0 })]));
    assert.deepEqual([...violations.keys()], []);
    // the same components with nothing pushed: no dump nor replication would ever run
    const bare = await runAll(clientStack(instanceProps()));
    assert.deepEqual([...bare.keys()], ["pushed-timers"]);
    assert.equal(bare.get("pushed-timers")!.length, 3);
  });

  test("a compliant client stack with a client minute offset passes every policy", async () => {
    for (const minuteOffset of [1, 7, 14]) {
      const violations = await runAll(pushedClientStack(minuteOffset, [instanceProps({ minuteOffset })]));
      assert.deepEqual([...violations.keys()], [], `offset ${minuteOffset}`);
    }
  });

  test("a fleet stack (servers only) passes every policy", async () => {
    const resources = [...otherResources("fleet"), ...[HOSTING, BACKUP_SBG, BACKUP_TXL].map((f) => serverResource(f))];
    assert.deepEqual([...(await runAll(resources)).keys()], []);
  });

  test("a fleet stack whose hosting servers share a binlog server_id fails binlog-server-id; distinct ids pass", async () => {
    const SECOND = { ...HOSTING, name: "web-ovh-rbx-2" };
    const hostingWith = (f: typeof HOSTING, serverId: number) =>
      resource(TYPES.hostingServer, f.name, { ...serverProps(f), binlog: { enabled: true, serverId, serverIdDeclared: true } }, "fleet");
    const fleetOf = (a: number, b: number) => [...otherResources("fleet"), hostingWith(HOSTING, a), hostingWith(SECOND, b), serverResource(BACKUP_TXL)];
    assertOne((await runPolicy("binlog-server-id", fleetOf(7, 7))).violations, "server_id 7");
    assert.deepEqual((await runPolicy("binlog-server-id", fleetOf(7, 8))).violations, []);
  });

  test("a stack without any dolibarr-backup component: every policy is not applicable", async () => {
    for (const p of buildPolicies()) {
      const run = await runPolicy(p.name, otherResources("other"));
      assert.deepEqual(run.violations, [], p.name);
      // (a resource policy is not applicable to each resource of another type, silently)
      if ("validateStack" in p) assert.match(run.notApplicable ?? "", /no dolibarr-backup component/, p.name);
    }
  });

  test("a violation is reported on the Instance component, with client, stack file and fleet policy key", async () => {
    const v = assertOne(await violationsOf("backup-min-count", { backups: [BACKUP_TXL] }));
    assert.equal(v.urn, ACME_ERP_URN);
    assert.match(v.message, /client acme/);
    assert.match(v.message, /stacks\/Pulumi\.client-acme\.yaml/);
    assert.match(v.message, /set by fleet policy minBackupServers \(stacks\/Pulumi\.fleet\.yaml\)/);
  });

  test("each instance's violation goes to its own component", async () => {
    const ok = instanceProps({ name: "acme-shop" });
    const bad = instanceProps({ name: "acme-erp", backups: [BACKUP_TXL] });
    const run = await runPolicy("backup-min-count", clientStack(ok, bad));
    assert.deepEqual(run.violations.map((v) => v.urn), [ACME_ERP_URN]);
  });
});

describe("backup-not-hosting (backup.not-hosting)", () => {
  test("passes when backups are other machines", async () => {
    assert.deepEqual(await violationsOf("backup-not-hosting"), []);
  });

  test("fails when the hosting server is listed as a backup server", async () => {
    const v = await violationsOf("backup-not-hosting", { backups: [HOSTING, BACKUP_SBG, BACKUP_TXL] });
    assertOne(v, "instance acme-erp", "web-ovh-rbx-1", "no backup");
  });

  test("fails when a backup server is the hosting machine under another name (same address)", async () => {
    const twin = facts("bk-ovh-rbx-twin", "backup", "ovh:sbg", HOSTING.address);
    assertOne(await violationsOf("backup-not-hosting", { backups: [twin, BACKUP_TXL] }), "bk-ovh-rbx-twin", "same machine", HOSTING.address);
  });

  test("boundary: same host but another SSH port is another machine (NAT)", async () => {
    const hosting = facts("web-nat", "hosting", "ovh:rbx", "192.0.2.7:2201");
    const same = facts("bk-nat-same", "backup", "ovh:sbg", "192.0.2.7:2201");
    const other = facts("bk-nat-other", "backup", "ovh:sbg", "192.0.2.7:2202");
    assert.deepEqual(await violationsOf("backup-not-hosting", { hosting, backups: [other, BACKUP_TXL] }), []);
    assertOne(await violationsOf("backup-not-hosting", { hosting, backups: [same, BACKUP_TXL] }), "bk-nat-same", "192.0.2.7:2201");
  });
});

describe("backup-min-count (backup.min-count)", () => {
  test("passes with two backup servers at two sites", async () => {
    assert.deepEqual(await violationsOf("backup-min-count"), []);
  });

  test("fails with one backup server", async () => {
    assertOne(await violationsOf("backup-min-count", { backups: [BACKUP_SBG] }), "1 valid backup server(s) (bk-ovh-sbg-1); required ≥ 2");
  });

  test("fails with two backup servers at the same site", async () => {
    const sbg2 = facts("bk-ovh-sbg-2", "backup", "ovh:sbg");
    const v = assertOne(await violationsOf("backup-min-count", { backups: [BACKUP_SBG, sbg2] }), "only 1 distinct site", "ovh:sbg");
    assert.match(v.message, /bk-ovh-sbg-1 \(backup, ovh, ovh:sbg, Strasbourg, FR\)/);
  });

  test("boundary: exactly minBackupServers passes, one less fails", async () => {
    const waw = facts("bk-ovh-waw-1", "backup", "ovh:waw");
    assert.deepEqual(await violationsOf("backup-min-count", { backups: [BACKUP_SBG, BACKUP_TXL, waw], policy: { minBackupServers: 3 } }), []);
    assertOne(await violationsOf("backup-min-count", { backups: [BACKUP_SBG, BACKUP_TXL], policy: { minBackupServers: 3 } }), "required ≥ 3");
  });
});

describe("geo-min-distance (geo.min-distance)", () => {
  test("passes when every site is ≥ minDistanceKm from the others", async () => {
    assert.deepEqual(await violationsOf("geo-min-distance"), []);
  });

  test("fails for a backup too close to the hosting site, with both sites and measured vs required distance", async () => {
    const gra = facts("bk-ovh-gra-1", "backup", "ovh:gra");
    const v = assertOne(
      await violationsOf("geo-min-distance", { backups: [gra, BACKUP_TXL] }),
      "bk-ovh-gra-1 (ovh:gra, Gravelines, FR)",
      "web-ovh-rbx-1 (ovh:rbx, Roubaix, FR)",
      "km apart; required ≥ 100 km",
      "set by fleet policy minDistanceKm",
    );
    assert.match(v.message, /are \d+\.\d km apart/);
    assert.equal(v.urn, ACME_ERP_URN);
  });

  test("fails for two backups too close to each other", async () => {
    const fra = facts("bk-ionos-fra-1", "backup", "ionos:de/fra");
    const lim = facts("bk-ovh-lim-1", "backup", "ovh:lim");
    assertOne(await violationsOf("geo-min-distance", { backups: [fra, lim] }), "backup servers bk-ionos-fra-1", "bk-ovh-lim-1", "required ≥ 100 km");
  });

  test("fails for a backup in the same city at another provider", async () => {
    const par = facts("web-ovh-par-1", "hosting", "ovh:par");
    const ionosPar = facts("bk-ionos-par-1", "backup", "ionos:fr/par");
    assertOne(await violationsOf("geo-min-distance", { hosting: par, backups: [ionosPar, BACKUP_TXL] }), "same city");
  });

  test("boundary: a site exactly at minDistanceKm passes, 1 km closer fails", async () => {
    const rbx = site("ovh:rbx");
    const at = (km: number, id: string) => {
      const p = pointNorthOf(rbx, km);
      return facts(`bk-${id}`, "backup", customSite(`ionos:${id}`, "ionos", `Town ${id}`, p.latitude, p.longitude, "BE"));
    };
    const far = at(150.001, "far");
    // 150 km: the exact threshold (with 1 m of margin against rounding of the haversine).
    assert.deepEqual(await violationsOf("geo-min-distance", { backups: [far, BACKUP_TXL], policy: { minDistanceKm: 150 } }), []);
    assertOne(
      await violationsOf("geo-min-distance", { backups: [at(149, "near"), BACKUP_TXL], policy: { minDistanceKm: 150 } }),
      "149.0 km apart; required ≥ 150 km",
    );
  });
});

describe("provider-diversity (provider.diversity)", () => {
  const waw = facts("bk-ovh-waw-1", "backup", "ovh:waw");

  test("passes with one backup at the other provider", async () => {
    assert.deepEqual(await violationsOf("provider-diversity"), []);
  });

  test("fails when hosting and every backup are at the same provider", async () => {
    const v = assertOne(await violationsOf("provider-diversity", { backups: [BACKUP_SBG, waw] }), "are at ovh", "another provider (ionos)");
    assert.match(v.message, /bk-ovh-waw-1 \(backup, ovh, ovh:waw/);
  });

  test("the fleet policy decides which policy reports it: required → provider-diversity, advisory → provider-diversity-advisory, off → none", async () => {
    const spec = (providerDiversity: "required" | "advisory" | "off"): InstanceSpec => ({ backups: [BACKUP_SBG, waw], policy: { providerDiversity } });
    assertOne(await violationsOf("provider-diversity", spec("required")), "are at ovh");
    assert.deepEqual(await violationsOf("provider-diversity-advisory", spec("required")), []);
    assertOne(await violationsOf("provider-diversity-advisory", spec("advisory")), "rule provider.diversity: advisory under this fleet's policy");
    assert.deepEqual(await violationsOf("provider-diversity", spec("advisory")), []);
    for (const p of ["provider-diversity", "provider-diversity-advisory"]) assert.deepEqual(await violationsOf(p, spec("off")), [], p);
  });
});

describe("schedule-dumps (schedule.dumps)", () => {
  test("passes with the defaults (00:00 and 12:00, 7 days)", async () => {
    assert.deepEqual(await violationsOf("schedule-dumps"), []);
  });

  test("fails with one dump a day", async () => {
    assertOne(await violationsOf("schedule-dumps", { schedule: { dumpTimes: [120] } }), "1 dump(s) a day (02:00); required ≥ 2");
  });

  test("fails with a retention below the minimum; boundary: exactly the minimum passes", async () => {
    assertOne(await violationsOf("schedule-dumps", { schedule: { retentionDays: 6 } }), "dumps kept 6 day(s); required ≥ 7");
    assert.deepEqual(await violationsOf("schedule-dumps", { schedule: { retentionDays: 7 } }), []);
  });

  test("reports on the hosting server where the dumps are kept", async () => {
    const [v] = await violationsOf("schedule-dumps", { schedule: { dumpTimes: [] } });
    assert.match(v!.message, /none/);
    assert.match(v!.message, /web-ovh-rbx-1 \(hosting, ovh, ovh:rbx, Roubaix, FR\)/);
  });
});

describe("schedule-staggered (schedule.staggered)", () => {
  test("passes with the planner's times", async () => {
    assert.deepEqual(await violationsOf("schedule-staggered", { schedule: { replicationsPerDay: 12 } }), []);
  });

  test("fails when dump windows leave no minute for a replication", async () => {
    const v = await violationsOf("schedule-staggered", {
      schedule: { dumpTimes: Array.from({ length: 24 }, (_, h) => h * 60) },
      policy: { dumpWindowMinutes: 60 },
    });
    assert.equal(v.length, 2);
    assert.match(v[0]!.message, /replication by bk-ovh-sbg-1 starts during a dump: .* is inside dump window/);
    assert.match(v[0]!.message, /set by fleet policy dumpWindowMinutes/);
  });
});

describe("rpo-max (rpo.max)", () => {
  test("passes with the defaults", async () => {
    assert.deepEqual(await violationsOf("rpo-max"), []);
  });

  test("fails for files when backups replicate once a day", async () => {
    assertOne(await violationsOf("rpo-max", { schedule: { replicationsPerDay: 1 } }), "worst-case files RPO 12.00 h", "required ≤ 8 h");
  });

  test("fails for the database with a single dump a day", async () => {
    const v = await violationsOf("rpo-max", { schedule: { dumpTimes: [0] } });
    assertOne(v, "worst-case database RPO", "required ≤ 14 h", "set by fleet policy maxRpoHours.files, maxRpoHours.database");
  });

  test("boundary: a threshold equal to the measured worst case passes, a minute less fails", async () => {
    const props = instanceProps();
    const { topology } = topologyFromResources(clientStack(props));
    const rpo = worstCaseRpo(topology, props.instance, planInstance(topology.fleet, props.instance));
    const files = Math.round(rpo.filesHours * 60) / 60;
    assert.deepEqual(await violationsOf("rpo-max", { policy: { maxRpoHours: { files, database: 14 } } }), []);
    assertOne(
      await violationsOf("rpo-max", { policy: { maxRpoHours: { files: files - 1 / 60, database: 14 } } }),
      "worst-case files RPO",
    );
  });
});

describe("access-restricted-ssh (access.restricted-ssh)", () => {
  test("passes with a restricted key per backup server", async () => {
    assert.deepEqual(await violationsOf("access-restricted-ssh"), []);
  });

  test("fails when a backup server has no access declared", async () => {
    const v = assertOne(
      await violationsOf("access-restricted-ssh", { access: [access(BACKUP_SBG, "acme-erp")] }),
      "no SSH access declared for backup server bk-ionos-txl-1 on hosting server web-ovh-rbx-1",
    );
    assert.equal(v.urn, ACME_ERP_URN);
  });

  test("fails for an unrestricted key, naming each missing option", async () => {
    const v = assertOne(
      await violationsOf("access-restricted-ssh", {
        access: [access(BACKUP_SBG, "acme-erp", ['command="rsync --server -logDtpre.iLsfxC . /var/www"']), access(BACKUP_TXL, "acme-erp")],
      }),
      "bk-ovh-sbg-1",
      "no `restrict` option",
      "no `from=",
      "is not `rrsync -ro <dir>`",
    );
    assert.match(v.message, /servers: web-ovh-rbx-1 \(hosting, ovh, ovh:rbx, Roubaix, FR\); bk-ovh-sbg-1/);
  });

  test("fails for rrsync without -ro (write access) and for pty re-enabled after restrict", async () => {
    const rw = ["restrict", `from="${BACKUP_SBG.address}"`, 'command="rrsync /var/lib/dolibarr-backup/acme-erp"'];
    assertOne(await violationsOf("access-restricted-ssh", { access: [access(BACKUP_SBG, "acme-erp", rw), access(BACKUP_TXL, "acme-erp")] }), "is not `rrsync -ro <dir>`");
    const pty = [...access(BACKUP_SBG, "acme-erp").keyOptions, "pty"];
    assertOne(await violationsOf("access-restricted-ssh", { access: [access(BACKUP_SBG, "acme-erp", pty), access(BACKUP_TXL, "acme-erp")] }), "re-enables `pty`");
  });

  test("fails for a key left for a server that is not a backup server of the instance", async () => {
    const old = facts("bk-old", "backup", "ovh:waw");
    const v = await violationsOf("access-restricted-ssh", {
      access: [access(BACKUP_SBG, "acme-erp"), access(BACKUP_TXL, "acme-erp"), access(old, "acme-erp")],
    });
    assertOne(v, "bk-old", "not a backup server of the instance");
  });
});

describe("topology-references (topology.references)", () => {
  test("passes for consistent facts", async () => {
    assert.deepEqual(await violationsOf("topology-references"), []);
  });

  test("fails when a listed backup server is a hosting server", async () => {
    const web2 = facts("web-ionos-fra-1", "hosting", "ionos:de/fra");
    assertOne(await violationsOf("topology-references", { backups: [BACKUP_SBG, web2] }), "backup server web-ionos-fra-1 has role hosting, expected backup");
  });
});

describe("component-properties (the contract)", () => {
  test("passes for components that register the contract's properties", async () => {
    const resources = [...clientStack(instanceProps()), serverResource(HOSTING, "client-acme", "fleet")];
    assert.deepEqual((await runPolicy("component-properties", resources)).violations, []);
  });

  test("fails for components of one stack that name different fleets", async () => {
    const resources = [...clientStack(instanceProps()), serverResource(BACKUP_SBG, "client-acme", "lab-fleet")];
    assertOne((await runPolicy("component-properties", resources)).violations, 'belongs to fleet stack "lab-fleet"', '"fleet"');
  });

  test("fails for an Instance without outputs (registerOutputs forgotten), which escapes the rules", async () => {
    const stack = "client-acme";
    const resources = [...otherResources(stack), { ...clientStack(instanceProps())[2]!, props: {} }];
    const run = await runPolicy("component-properties", resources);
    const v = assertOne(run.violations, "dolibarr-backup:client:Instance acme-erp", "registerOutputs");
    assert.equal(v.urn, ACME_ERP_URN);
    assert.deepEqual((await runPolicy("geo-min-distance", resources)).violations, []);
  });

  test("fails for a server with a malformed site, naming the property", async () => {
    const r = serverResource(BACKUP_SBG);
    const broken = { ...r, props: { ...BACKUP_SBG, fleetStack: "fleet", site: { ...BACKUP_SBG.site, latitude: "48.58" } } };
    assertOne((await runPolicy("component-properties", [broken])).violations, "site.latitude");
  });
});

describe("replications-as-planned (pack check)", () => {
  test("passes for the plan moved by any offset 0..14", async () => {
    for (const minuteOffset of [0, 5, 14]) assert.deepEqual(await violationsOf("replications-as-planned", { minuteOffset }), []);
  });

  test("fails for times that are not the plan", async () => {
    const props = instanceProps();
    const replications = shiftPlans(props.replications, 0).map((p, i) => (i === 0 ? { ...p, times: p.times.map((t) => (t + 20) % 1440) } : p));
    assertOne(await violationsOf("replications-as-planned", { replications }), "registered replication starts", "are not the planned");
  });

  test("fails for an offset beyond 14 minutes and for a backup server without replication", async () => {
    const props = instanceProps();
    assertOne(await violationsOf("replications-as-planned", { replications: shiftPlans(props.replications, 15) }), "not the planned");
    assertOne(await violationsOf("replications-as-planned", { replications: props.replications.slice(0, 1) }), "no replication registered for backup server(s) bk-ionos-txl-1");
  });
});

describe("during a preview (values not known yet)", () => {
  // First preview of a new client stack: the client's minute offset, hence the registered
  // replication times, are unknown; everything else is plain config data.
  const gra = facts("bk-ovh-gra-1", "backup", "ovh:gra");
  const unknownTimes = () =>
    [instanceResource(withValue(instanceProps({ backups: [gra, BACKUP_TXL] }), ["replications"], UNKNOWN.array))];

  test("the rules still run and report on the instance", async () => {
    const run = await runPolicy("geo-min-distance", unknownTimes());
    assertOne(run.violations, "bk-ovh-gra-1", "required ≥ 100 km");
    assert.deepEqual((await runPolicy("component-properties", unknownTimes())).violations, []);
  });

  test("the plan comparison cannot run: it throws the engine's UnknownValueError (reported as advisory)", async () => {
    await assert.rejects(runPolicy("replications-as-planned", unknownTimes()), (e: Error) => e.constructor.name === "UnknownValueError");
  });

  test("a value the rules need, unknown, stops the policy the same way (never a false pass)", async () => {
    const r = instanceResource(withValue(instanceProps(), ["hostingServer", "address"], UNKNOWN.string));
    await assert.rejects(runPolicy("backup-not-hosting", [r]), (e: Error) => e.constructor.name === "UnknownValueError");
  });

  test("server outputs beyond the contract (host key unknown until the server is reached) are ignored", async () => {
    const r = resource(TYPES.backupServer, BACKUP_SBG.name, { ...BACKUP_SBG, fleetStack: "fleet", hostKey: UNKNOWN.string, publicKey: UNKNOWN.string }, "fleet");
    assert.deepEqual((await runPolicy("component-properties", [r])).violations, []);
  });
});

describe("component-properties: outputs that are not the contract", () => {
  test("an Instance that registers only its replications as outputs", async () => {
    const r = resource(TYPES.instance, "acme-erp", { replications: instanceProps().replications }, "client-acme");
    const v = assertOne((await runPolicy("component-properties", [r])).violations, "outputs lack fleetStack, client, instance, hostingServer, backupServers, policy, mirrorRoot, fleet, otherDumps, access", "registerOutputs()");
    assert.equal(v.urn, ACME_ERP_URN);
  });

  test("a server whose outputs give the site as its id, not the catalogue's Site", async () => {
    const outputs = { name: "bk-ovh-sbg-1", role: "backup", provider: "ovh", site: "ovh:sbg", city: "Strasbourg", country: "FR", address: "203.0.113.2", sshPort: 22 };
    const v = assertOne((await runPolicy("component-properties", [resource(TYPES.backupServer, "bk-ovh-sbg-1", outputs, "fleet")])).violations, "outputs lack fleetStack", "site:");
    assert.match(v.message, /properties do not match ServerProps/);
  });
});

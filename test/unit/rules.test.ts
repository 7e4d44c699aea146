// Every rule: a passing case, failing cases, and the boundaries (exactly N km passes).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { binlogSettingsOf, DEFAULT_BINLOG_MAX_LAG_SECONDS, derivedServerId } from "../../infra/model/binlog";
import { MAX_MINUTE_OFFSET } from "../../infra/model/defaults";
import { distanceKm } from "../../infra/model/geo";
import { planReplications } from "../../infra/model/schedule";
import type { Topology, Violation } from "../../infra/model/types";
import { checkRule, checkTopology, createRuleContext, hasMandatory, RULE_IDS, RULES, ruleById } from "../../infra/rules";
import { rpoOf } from "../../infra/rules/context";
import {
  catalogueSite,
  cloneTopology,
  customSite,
  exampleTopology,
  generatedTopology,
  makeInstance,
  makeServer,
  makeTopology,
  siteNorthOf,
} from "../support/topology";

const ids = (vs: Violation[]): string[] => vs.map((v) => v.ruleId);

/** hosting H at `hostSite`, backups at the given sites; one instance "acme-erp". */
function oneInstance(hostSite: string, backupSites: string[], policy: Parameters<typeof makeTopology>[0]["policy"] = {}): Topology {
  const servers = [makeServer("web-1", "hosting", hostSite), ...backupSites.map((s, i) => makeServer(`bk-${i + 1}`, "backup", s))];
  return makeTopology({
    servers,
    policy,
    clients: [{ client: "acme", instances: [makeInstance("acme-erp", "web-1", backupSites.map((_, i) => `bk-${i + 1}`))] }],
  });
}

describe("rules list", () => {
  it("has stable, unique ids, a severity and a description each", () => {
    assert.deepEqual(RULE_IDS, [
      "topology.references",
      "servers.lost",
      "backup.not-hosting",
      "backup.min-count",
      "geo.min-distance",
      "provider.diversity",
      "schedule.dumps",
      "schedule.staggered",
      "rpo.max",
      "retention.snapshots",
      "binlog.off",
      "binlog.server-id",
      "drill.window",
      "rsync.min-version",
    ]);
    for (const r of RULES) {
      assert.ok(r.description.length > 20, r.id);
      assert.ok(r.defaultSeverity === "mandatory" || r.defaultSeverity === "advisory");
      assert.equal(ruleById(r.id), r);
    }
    assert.throws(() => checkRule("nope", exampleTopology()), /unknown rule id/);
  });

  it("the example topology and a generated fleet pass every rule", () => {
    assert.deepEqual(checkTopology(exampleTopology()), []);
    assert.deepEqual(checkTopology(generatedTopology(50)), []);
  });

  it("violations name the client, instance, servers and file", () => {
    const t = oneInstance("ovh:rbx", ["ovh:gra", "ionos:de/txl"]);
    const [v] = checkRule("geo.min-distance", t);
    assert.ok(v);
    assert.equal(v.client, "acme");
    assert.equal(v.instance, "acme-erp");
    assert.deepEqual(v.servers, ["web-1", "bk-1"]);
    assert.equal(v.file, "stacks/Pulumi.client-acme.yaml");
  });
});

describe("topology.references", () => {
  it("passes on consistent references", () => {
    assert.deepEqual(checkRule("topology.references", exampleTopology()), []);
  });
  it("flags unknown servers, wrong roles, duplicate names", () => {
    const t = cloneTopology(exampleTopology());
    t.clients[0]!.instances[0]!.hostingServer = "bk-sbg"; // a backup server as hosting
    t.clients[0]!.instances[1]!.backupServers = ["nope", "web-fra", "bk-txl", "bk-txl"];
    t.clients[1]!.instances[0]!.name = "acme-erp"; // duplicate across clients
    t.fleet.servers.push({ ...t.fleet.servers[0]! }); // duplicate server name
    const msgs = checkRule("topology.references", t).map((v) => v.message);
    assert.ok(msgs.some((m) => /hosting server bk-sbg has role backup/.test(m)), msgs.join("\n"));
    assert.ok(msgs.some((m) => /backup server nope is not in fleet/.test(m)));
    assert.ok(msgs.some((m) => /backup server web-fra has role hosting/.test(m)));
    assert.ok(msgs.some((m) => /bk-txl is listed twice/.test(m)));
    assert.ok(msgs.some((m) => /acme-erp: name also used by client acme/.test(m)));
    assert.ok(msgs.some((m) => /server name "web-rbx" is declared twice/.test(m)));
  });
  it("does not crash the other rules on an unvalidated topology", () => {
    const t = cloneTopology(exampleTopology());
    t.clients[0]!.instances[0]!.backupServers = ["ghost-1", "ghost-2"];
    t.clients[0]!.instances[0]!.hostingServer = "ghost-0";
    const vs = checkTopology(t);
    assert.ok(ids(vs).includes("topology.references"));
    assert.ok(ids(vs).includes("backup.min-count"));
  });
});

describe("backup.not-hosting", () => {
  it("passes when no backup is the hosting server", () => {
    assert.deepEqual(checkRule("backup.not-hosting", exampleTopology()), []);
  });
  it("flags the hosting server listed as backup", () => {
    const t = cloneTopology(exampleTopology());
    t.clients[0]!.instances[0]!.backupServers = ["web-rbx", "bk-sbg", "bk-txl"];
    const vs = checkRule("backup.not-hosting", t);
    assert.equal(vs.length, 1);
    assert.match(vs[0]!.message, /acme-erp: its hosting server web-rbx is also listed as a backup server/);
  });
  it("flags a backup server that is the hosting machine under another name (same SSH host and port)", () => {
    const t = cloneTopology(exampleTopology());
    const web = t.fleet.servers.find((s) => s.name === "web-rbx")!;
    const bk = t.fleet.servers.find((s) => s.name === "bk-sbg")!;
    bk.ssh = { ...web.ssh };
    const vs = checkRule("backup.not-hosting", t);
    assert.ok(vs.length >= 1);
    assert.match(vs[0]!.message, /bk-sbg is the same machine as hosting server web-rbx/);
  });
});

describe("backup.min-count", () => {
  it("passes with 2 backups at 2 sites", () => {
    assert.deepEqual(checkRule("backup.min-count", oneInstance("ovh:rbx", ["ovh:sbg", "ionos:de/txl"])), []);
  });
  it("flags a single backup server", () => {
    const vs = checkRule("backup.min-count", oneInstance("ovh:rbx", ["ionos:de/txl"]));
    assert.equal(vs.length, 1);
    assert.match(vs[0]!.message, /1 valid backup server\(s\) \(bk-1\); required ≥ 2/);
  });
  it("flags two backups at the same site", () => {
    const vs = checkRule("backup.min-count", oneInstance("ovh:rbx", ["ionos:de/txl", "ionos:de/txl"]));
    assert.equal(vs.length, 1);
    assert.match(vs[0]!.message, /only 1 distinct site\(s\) \(bk-1, bk-2 at ionos:de\/txl\)/);
  });
  it("follows minBackupServers", () => {
    const t = oneInstance("ovh:rbx", ["ovh:sbg", "ionos:de/txl"], { minBackupServers: 3 });
    assert.equal(checkRule("backup.min-count", t).length, 1);
    const t1 = oneInstance("ovh:rbx", ["ionos:de/txl"], { minBackupServers: 1 });
    assert.deepEqual(checkRule("backup.min-count", t1), []);
  });
  it("does not count the hosting server listed as a backup", () => {
    const t = oneInstance("ovh:rbx", ["ionos:de/txl"]);
    t.clients[0]!.instances[0]!.backupServers = ["bk-1", "web-1"];
    assert.equal(checkRule("backup.min-count", t).length, 1);
  });
});

describe("geo.min-distance", () => {
  it("passes when every pair is ≥ 100 km apart", () => {
    assert.deepEqual(checkRule("geo.min-distance", oneInstance("ovh:rbx", ["ovh:sbg", "ionos:de/txl"])), []);
  });
  it("flags a backup too close to the hosting site, with measured and required distance", () => {
    // Roubaix ↔ Gravelines ≈ 80 km
    const vs = checkRule("geo.min-distance", oneInstance("ovh:rbx", ["ovh:gra", "ionos:de/txl"]));
    assert.equal(vs.length, 1);
    const d = distanceKm(catalogueSite("ovh:rbx"), catalogueSite("ovh:gra"));
    assert.ok(d > 60 && d < 90, String(d));
    assert.match(vs[0]!.message, new RegExp(`bk-1 \\(ovh:gra, Gravelines, FR\\) and hosting server web-1 \\(ovh:rbx, Roubaix, FR\\) are ${d.toFixed(1)} km apart; required ≥ 100 km`));
  });
  it("flags two backups too close to each other", () => {
    // Frankfurt (IONOS) ↔ Limburg (OVH) ≈ 50 km
    const vs = checkRule("geo.min-distance", oneInstance("ovh:rbx", ["ionos:de/fra", "ovh:lim"]));
    assert.equal(vs.length, 1);
    assert.match(vs[0]!.message, /backup servers bk-1 \(ionos:de\/fra, Frankfurt am Main, DE\) and bk-2 \(ovh:lim/);
  });
  it("boundary: exactly minDistanceKm passes, a metre less fails (catalogue distance)", () => {
    const d = distanceKm(catalogueSite("ovh:rbx"), catalogueSite("ovh:sbg"));
    const pass = oneInstance("ovh:rbx", ["ovh:sbg", "ionos:de/txl"], { minDistanceKm: d });
    assert.deepEqual(checkRule("geo.min-distance", pass), []);
    const fail = oneInstance("ovh:rbx", ["ovh:sbg", "ionos:de/txl"], { minDistanceKm: d + 0.001 });
    assert.equal(checkRule("geo.min-distance", fail).length, 1);
  });
  it("boundary: sites built exactly 100 km apart pass at 100 km", () => {
    const host = customSite("ovh:h0", 48, 2, "Here", "FR");
    const b1 = siteNorthOf(host, 100, "ionos:n100", "North100");
    const b2 = customSite("ovh:far", 40, 20, "Far", "GR");
    assert.ok(Math.abs(distanceKm(host, b1) - 100) < 1e-6);
    const mk = (min: number) =>
      makeTopology({
        servers: [makeServer("web-1", "hosting", host), makeServer("bk-1", "backup", b1), makeServer("bk-2", "backup", b2)],
        policy: { minDistanceKm: min },
        clients: [{ client: "acme", instances: [makeInstance("acme-erp", "web-1", ["bk-1", "bk-2"])] }],
      });
    const exact = distanceKm(host, b1);
    assert.deepEqual(checkRule("geo.min-distance", mk(exact)), []);
    assert.deepEqual(checkRule("geo.min-distance", mk(99.999)), []);
    assert.equal(checkRule("geo.min-distance", mk(100.001)).length, 1);
  });
  it("the same site always violates, even with minDistanceKm 0", () => {
    const vs = checkRule("geo.min-distance", oneInstance("ovh:rbx", ["ovh:rbx", "ionos:de/txl"], { minDistanceKm: 0 }));
    assert.equal(vs.length, 1);
    assert.match(vs[0]!.message, /are at the same site/);
  });
  it("the same city at two providers always violates (OVH Paris and IONOS Paris)", () => {
    const vs = checkRule("geo.min-distance", oneInstance("ovh:par", ["ionos:fr/par", "ionos:de/txl"], { minDistanceKm: 0 }));
    assert.equal(vs.length, 1);
    assert.match(vs[0]!.message, /same city/);
  });
  it("IONOS de/fra and de/fra/2 are the same city", () => {
    const vs = checkRule("geo.min-distance", oneInstance("ovh:rbx", ["ionos:de/fra", "ionos:de/fra/2"]));
    assert.ok(vs.some((v) => /same city/.test(v.message)));
  });
});

describe("provider.diversity", () => {
  const sameProvider = (mode: "required" | "advisory" | "off") => oneInstance("ovh:rbx", ["ovh:sbg", "ovh:waw"], { providerDiversity: mode });
  it("passes with one backup at another provider", () => {
    assert.deepEqual(checkRule("provider.diversity", oneInstance("ovh:rbx", ["ovh:sbg", "ionos:de/txl"])), []);
  });
  it("required: mandatory violation when every backup is at the hosting provider", () => {
    const vs = checkRule("provider.diversity", sameProvider("required"));
    assert.equal(vs.length, 1);
    assert.equal(vs[0]!.severity, "mandatory");
    assert.match(vs[0]!.message, /every backup server \(bk-1, bk-2\) are at ovh; required ≥ 1 backup at another provider \(ionos\)/);
    assert.ok(hasMandatory(vs));
  });
  it("advisory: advisory violation", () => {
    const vs = checkRule("provider.diversity", sameProvider("advisory"));
    assert.equal(vs.length, 1);
    assert.equal(vs[0]!.severity, "advisory");
    assert.equal(hasMandatory(vs), false);
  });
  it("off: skipped", () => {
    assert.deepEqual(checkRule("provider.diversity", sameProvider("off")), []);
  });
});

describe("schedule.dumps", () => {
  it("passes with the default schedule", () => {
    assert.deepEqual(checkRule("schedule.dumps", exampleTopology()), []);
  });
  it("flags too few dumps a day", () => {
    const t = cloneTopology(exampleTopology());
    t.clients[0]!.instances[0]!.schedule.dumpTimes = [0];
    const vs = checkRule("schedule.dumps", t);
    assert.equal(vs.length, 1);
    assert.match(vs[0]!.message, /acme-erp: 1 dump\(s\) a day \(00:00\); required ≥ 2/);
  });
  it("flags a short retention; minRetentionDays is the boundary", () => {
    const t = cloneTopology(exampleTopology());
    t.clients[0]!.instances[0]!.schedule.retentionDays = 6;
    const vs = checkRule("schedule.dumps", t);
    assert.equal(vs.length, 1);
    assert.match(vs[0]!.message, /dumps kept 6 day\(s\); required ≥ 7/);
    t.clients[0]!.instances[0]!.schedule.retentionDays = 7;
    assert.deepEqual(checkRule("schedule.dumps", t), []);
  });
  it("follows minDumpsPerDay", () => {
    const t = cloneTopology(exampleTopology());
    t.fleet.policy.minDumpsPerDay = 3;
    assert.equal(checkRule("schedule.dumps", t).length, 3);
  });
});

describe("schedule.staggered", () => {
  it("passes with planned replications", () => {
    assert.deepEqual(checkRule("schedule.staggered", exampleTopology()), []);
  });
  it("passes with many runs and dumps", () => {
    const t = cloneTopology(exampleTopology());
    for (const c of t.clients) for (const i of c.instances) i.schedule = { dumpTimes: [0, 360, 720, 1080], retentionDays: 7, replicationsPerDay: 12 };
    assert.deepEqual(checkRule("schedule.staggered", t), []);
  });
  it("moves runs out of the dump windows even when an even spread cannot avoid them", () => {
    // 48 runs a day (every 30 min) cannot all avoid a 60-minute window evenly: runs are moved one by one.
    const t = cloneTopology(exampleTopology());
    t.fleet.policy.dumpWindowMinutes = 60;
    t.clients[0]!.instances[0]!.schedule.replicationsPerDay = 48;
    assert.deepEqual(checkRule("schedule.staggered", t), []);
  });
  it("flags replications inside a dump window when the windows leave no room", () => {
    // Dumps at 00:00 and 12:00 with 12-hour windows: the whole day is a dump window.
    const t = cloneTopology(exampleTopology());
    t.fleet.policy.dumpWindowMinutes = 720;
    const vs = checkRule("schedule.staggered", t);
    assert.ok(vs.length > 0);
    assert.ok(
      vs.some((v) => v.instance === "acme-erp" && /replication by bk-sbg starts during a dump: .*12:00 is inside dump window 12:00–00:00/.test(v.message)),
      vs.map((v) => v.message).join("\n"),
    );
  });
  it("flags backup servers starting at the same minute", () => {
    // 31 backup servers × 48 runs > 1440 minutes, and no free minute: some must coincide.
    const sites = ["ovh:sbg", "ionos:de/txl"];
    const backups = Array.from({ length: 31 }, (_, i) => makeServer(`bk-${i}`, "backup", sites[i % 2]!));
    const t = makeTopology({
      servers: [makeServer("web-1", "hosting", "ovh:rbx"), ...backups],
      policy: { dumpWindowMinutes: 720 },
      clients: [{ client: "acme", instances: [makeInstance("acme-erp", "web-1", backups.map((b) => b.name), { schedule: { replicationsPerDay: 48 } })] }],
    });
    const vs = checkRule("schedule.staggered", t);
    assert.ok(vs.some((v) => /backup servers bk-\d+, bk-\d+ all start replicating at \d\d:\d\d; required different start times/.test(v.message)), vs.slice(0, 3).map((v) => v.message).join("\n"));
  });
});

describe("rpo.max", () => {
  it("passes with the defaults (database ≈ 12.7 h, files 3 h)", () => {
    assert.deepEqual(checkRule("rpo.max", exampleTopology()), []);
  });
  it("flags a files RPO above maxRpoHours.files", () => {
    const t = cloneTopology(exampleTopology());
    t.clients[0]!.instances[0]!.schedule.replicationsPerDay = 1; // 2 servers, 1 run each → 12 h gaps
    const vs = checkRule("rpo.max", t);
    assert.equal(vs.length, 1);
    assert.match(vs[0]!.message, /acme-erp: worst-case files RPO 12\.00 h \(replications: bk-sbg 00:30; bk-txl 12:30\); required ≤ 8 h/);
  });
  it("flags a database RPO above maxRpoHours.database; the bound itself passes", () => {
    const t = cloneTopology(exampleTopology());
    t.clients[0]!.instances[0]!.schedule.dumpTimes = [0]; // one dump a day → ≈ 24.7 h
    const vs = checkRule("rpo.max", t);
    assert.equal(vs.length, 1);
    assert.match(vs[0]!.message, /database RPO 24\.73 h \(dumps 00:00;/);
    // worst case is 24 h + 30 min window + 14 min offset = 1484 min
    t.fleet.policy.maxRpoHours.database = 1484 / 60;
    assert.deepEqual(checkRule("rpo.max", t), []);
    t.fleet.policy.maxRpoHours.database = 1483 / 60;
    assert.equal(checkRule("rpo.max", t).length, 1);
  });
  it("counts the worst client minute offset", () => {
    const t = exampleTopology();
    // default schedule: 12 h + 30 min + 14 min = 12.73 h; 12.5 h would pass only without offset
    t.fleet.policy.maxRpoHours.database = 12.5;
    assert.equal(checkRule("rpo.max", t).length, 3);
  });
  it("flags an instance that is never replicated", () => {
    const t = cloneTopology(exampleTopology());
    t.clients[0]!.instances[0]!.backupServers = [];
    assert.ok(checkRule("rpo.max", t).some((v) => /never/.test(v.message)));
  });
});

/** The topology with binlogs on (and so shipped) on every hosting server, or off on `off`. */
function withBinlogs(t: Topology, off: string[] = []): Topology {
  const out = cloneTopology(t);
  for (const s of out.fleet.servers) if (s.role === "hosting") s.binlog = { enabled: !off.includes(s.name), serverId: derivedServerId(s.name), serverIdDeclared: false };
  return out;
}

describe("rpo.max with binlogs shipped (database RPO from the shipping lag)", () => {
  it("the database RPO is the lag limit, in minutes, and what the dumps give no longer decides it", () => {
    const t = withBinlogs(exampleTopology());
    t.clients[0]!.instances[0]!.schedule.dumpTimes = [0]; // one dump a day: ≈ 24.7 h without binlogs
    assert.deepEqual(checkRule("rpo.max", t), []);
    const ctx = createRuleContext(t);
    const rpo = rpoOf(ctx, t.clients[0]!.instances[0]!);
    assert.equal(rpo.databaseFrom, "binlogs");
    assert.equal(rpo.databaseHours, DEFAULT_BINLOG_MAX_LAG_SECONDS / 3600);
    assert.ok(rpo.dumpsHours > 24.5 && rpo.dumpsHours < 25, String(rpo.dumpsHours));
  });
  it("a lag limit beyond maxRpoHours.databaseWithBinlogs is mandatory, says both and what to change; the bound itself passes", () => {
    const t = withBinlogs(exampleTopology());
    t.fleet.binlog = { ...binlogSettingsOf(t.fleet), maxLagSeconds: 16 * 60 };
    const vs = checkRule("rpo.max", t);
    assert.equal(vs.length, 3, vs.map((v) => v.message).join("\n")); // every instance of the example
    assert.ok(vs.every((v) => v.severity === "mandatory"));
    assert.match(vs[0]!.message, /worst-case database RPO 16 min \(binlogs of web-\w+ pulled every 60 s by bk-\w+, bk-\w+, alerted beyond binlog\.maxLagSeconds 960 s\); required ≤ 15 min \(maxRpoHours\.databaseWithBinlogs\): lower the fleet's binlog\.maxLagSeconds/);
    t.fleet.binlog.maxLagSeconds = 15 * 60;
    assert.deepEqual(checkRule("rpo.max", t), []);
    t.fleet.policy.maxRpoHours.databaseWithBinlogs = 14 / 60;
    assert.equal(checkRule("rpo.max", t).length, 3);
  });
  it("binlogs off on one hosting server: its instances keep the dumps' RPO and bound, the others the binlogs'", () => {
    const t = withBinlogs(exampleTopology(), ["web-rbx"]);
    for (const i of t.clients.flatMap((c) => c.instances)) i.schedule.dumpTimes = [0];
    const ctx = createRuleContext(t);
    const onRbx = t.clients.flatMap((c) => c.instances).filter((i) => i.hostingServer === "web-rbx").map((i) => i.name).sort();
    assert.ok(onRbx.length > 0);
    for (const i of t.clients.flatMap((c) => c.instances)) assert.equal(rpoOf(ctx, i).databaseFrom, onRbx.includes(i.name) ? "dumps" : "binlogs", i.name);
    assert.deepEqual(checkRule("rpo.max", t).map((v) => v.instance).sort(), onRbx);
  });
  it("an instance no backup server replicates has no binlogs shipped either: never", () => {
    const t = withBinlogs(exampleTopology());
    t.clients[0]!.instances[0]!.backupServers = [];
    const rpo = rpoOf(createRuleContext(t), t.clients[0]!.instances[0]!);
    assert.equal(rpo.databaseFrom, "dumps");
    assert.ok(checkRule("rpo.max", t).some((v) => v.instance === t.clients[0]!.instances[0]!.name && /database RPO ∞/.test(v.message)));
  });
});

describe("binlog.off", () => {
  it("names, as advisory, each instance of a hosting server whose binlogs the fleet turned off, with its dump-cycle RPO", () => {
    const t = withBinlogs(exampleTopology(), ["web-rbx"]);
    const vs = checkRule("binlog.off", t);
    const onRbx = t.clients.flatMap((c) => c.instances).filter((i) => i.hostingServer === "web-rbx");
    assert.deepEqual(vs.map((v) => v.instance).sort(), onRbx.map((i) => i.name).sort());
    assert.ok(vs.every((v) => v.severity === "advisory" && v.servers?.join() === "web-rbx"));
    assert.match(vs[0]!.message, /binary logs are off on web-rbx \(servers\[\]\.binlog\.enabled: false in the fleet stack file\).*worst-case database RPO 12\.\d\d h instead of minutes/);
  });
  it("says nothing with binlogs on, for a server without binlog settings (an older fleet state), or a lost one", () => {
    assert.deepEqual(checkRule("binlog.off", withBinlogs(exampleTopology())), []);
    assert.deepEqual(checkRule("binlog.off", exampleTopology()), []);
    const t = withBinlogs(exampleTopology(), ["web-rbx"]);
    t.fleet.servers.find((s) => s.name === "web-rbx")!.state = "lost";
    assert.deepEqual(checkRule("binlog.off", t), []);
  });
});

describe("rules hold for every minute offset", () => {
  it("planned replications never enter a dump window for offsets 0..MAX", () => {
    const t = generatedTopology(40);
    for (let off = 0; off <= MAX_MINUTE_OFFSET; off++) {
      for (const p of planReplications(t, { minuteOffset: off })) {
        const inst = t.clients.flatMap((c) => c.instances).find((i) => i.name === p.instance)!;
        for (const time of p.times) {
          for (const d of inst.schedule.dumpTimes) {
            const delta = (((time - d) % 1440) + 1440) % 1440;
            assert.ok(delta >= t.fleet.policy.dumpWindowMinutes, `${p.instance} ${p.backupServer} ${time} offset ${off}`);
          }
        }
      }
    }
  });
});

// Snapshot retention: the fleet key `snapshots` (defaults, validation), the rule retention.snapshots
// (against the files RPO, minRetentionDays and the disk budget) and what the renderer passes to
// dolibarr-replicate.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_SNAPSHOT_RETENTION } from "../../infra/model/defaults";
import { ConfigError } from "../../infra/model/errors";
import { parseFleetConfig } from "../../infra/model/parse";
import type { SnapshotRetention, Topology } from "../../infra/model/types";
import { renderBackupInstance } from "../../infra/render/server";
import { checkRule, checkTopology, hasMandatory } from "../../infra/rules";
import { worstCaseSnapshots } from "../../infra/rules/rules";
import { exampleTopology, generatedTopology } from "../support/topology";
import { samplePlan, sampleTopology } from "../support/jobs-topology";
import { prng } from "../support/dolibarr-fixture";
import { testHostKey } from "../support/host-keys";

const fleetValues = (snapshots?: unknown) => ({
  servers: [
    { name: "web-rbx", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.10", hostKey: testHostKey("203.0.113.10") } },
    { name: "bk-txl", role: "backup", provider: "ionos", site: "de/txl", ssh: { host: "198.51.100.30", hostKey: testHostKey("198.51.100.30") } },
  ],
  ...(snapshots === undefined ? {} : { snapshots }),
});
const src = { stack: "fleet", file: "stacks/Pulumi.fleet.yaml" };

function withRetention(t: Topology, r: Partial<SnapshotRetention>): Topology {
  return { ...t, fleet: { ...t.fleet, snapshots: { ...DEFAULT_SNAPSHOT_RETENTION, ...r } } };
}

describe("fleet key snapshots", () => {
  it("defaults to 48 h / 14 days / 8 weeks, budget 60, suspicious above 30%", () => {
    const fleet = parseFleetConfig(fleetValues(), src);
    assert.deepEqual(fleet.snapshots, { keepHours: 48, keepDays: 14, keepWeeks: 8, maxSnapshots: 60, suspiciousChangePercent: 30 });
  });

  it("takes partial overrides and keeps the other defaults", () => {
    const fleet = parseFleetConfig(fleetValues({ keepDays: 30, suspiciousChangePercent: 50 }), src);
    assert.equal(fleet.snapshots!.keepDays, 30);
    assert.equal(fleet.snapshots!.suspiciousChangePercent, 50);
    assert.equal(fleet.snapshots!.keepHours, 48);
  });

  it("names the key and what is expected on bad values", () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ keepHours: -1 }, /snapshots\.keepHours.*≥ 0/s],
      [{ suspiciousChangePercent: 0 }, /snapshots\.suspiciousChangePercent.*≥ 1/s],
      [{ suspiciousChangePercent: 101 }, /snapshots\.suspiciousChangePercent.*≤ 100/s],
      [{ keep: 7 }, /unknown key "keep"/],
      [{ maxSnapshots: "many" }, /snapshots\.maxSnapshots.*expected a number/s],
    ];
    for (const [v, re] of bad) {
      assert.throws(
        () => parseFleetConfig(fleetValues(v), src),
        (e: unknown) => e instanceof ConfigError && re.test(e.message),
        JSON.stringify(v),
      );
    }
  });
});

describe("rule retention.snapshots", () => {
  it("the defaults pass on the example and a generated fleet", () => {
    assert.deepEqual(checkRule("retention.snapshots", exampleTopology()), []);
    assert.equal(hasMandatory(checkTopology(generatedTopology(50)).filter((v) => v.ruleId === "retention.snapshots")), false);
  });

  it("flags a recent window shorter than two files-RPO periods", () => {
    const v = checkRule("retention.snapshots", withRetention(exampleTopology(), { keepHours: 12 }));
    assert.ok(v.length > 0);
    assert.match(v[0]!.message, /kept only 12 h; required ≥ 16 h/);
    assert.equal(v[0]!.severity, "mandatory");
    assert.equal(v[0]!.file, exampleTopology().fleet.file);
  });

  it("flags a retention shorter than minRetentionDays", () => {
    const v = checkRule("retention.snapshots", withRetention(exampleTopology(), { keepDays: 3, keepWeeks: 0 }));
    assert.match(v.map((x) => x.message).join("\n"), /reach back 3 day\(s\); required ≥ 7/);
  });

  it("flags a worst case above the disk budget, and the count matches the generated cases", () => {
    const rand = prng(11);
    for (let i = 0; i < 200; i++) {
      const r = { keepHours: 16 + Math.floor(rand() * 200), keepDays: 7 + Math.floor(rand() * 60), keepWeeks: Math.floor(rand() * 30), maxSnapshots: 1 + Math.floor(rand() * 150) };
      const t = withRetention(exampleTopology(), r);
      const over = t.clients.flatMap((c) => c.instances).filter((inst) => worstCaseSnapshots(r, inst.schedule.replicationsPerDay, inst.snapshotsKeep) > r.maxSnapshots);
      const v = checkRule("retention.snapshots", t).filter((x) => /disk budget/.test(x.message));
      assert.deepEqual(v.map((x) => x.instance).sort(), over.map((x) => x.name).sort(), JSON.stringify(r));
    }
    assert.equal(worstCaseSnapshots({ keepHours: 48, keepDays: 14, keepWeeks: 8 }, 4, 1), 30);
  });

  it("skips instances whose snapshots are off", () => {
    const t = withRetention(exampleTopology(), { keepHours: 1 });
    for (const c of t.clients) for (const i of c.instances) i.snapshotsKeep = 0;
    assert.deepEqual(checkRule("retention.snapshots", t), []);
  });
});

describe("renderBackupInstance: retention settings", () => {
  it("passes the fleet's retention and the instance's floor to dolibarr-replicate", () => {
    const topo = sampleTopology();
    topo.fleet.snapshots = { keepHours: 72, keepDays: 10, keepWeeks: 4, maxSnapshots: 50, suspiciousChangePercent: 25 };
    const inst = topo.clients[0]!.instances[1]!;
    const env = renderBackupInstance(topo, inst, samplePlan("acme-test", "bk-log")).files[0]!.content;
    assert.match(env, /^SNAPSHOTS='1'$/m);
    assert.match(env, /^SNAPSHOT_KEEP_HOURS='72'$/m);
    assert.match(env, /^SNAPSHOT_KEEP_DAYS='10'$/m);
    assert.match(env, /^SNAPSHOT_KEEP_WEEKS='4'$/m);
    assert.match(env, /^SNAPSHOT_KEEP_MIN='3'$/m);
    assert.match(env, /^SUSPICIOUS_CHANGE_PERCENT='25'$/m);
    const off = renderBackupInstance(topo, { ...inst, snapshotsKeep: 0 }, samplePlan("acme-test", "bk-log")).files[0]!.content;
    assert.match(off, /^SNAPSHOTS='0'$/m);
  });
});

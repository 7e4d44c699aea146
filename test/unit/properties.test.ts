// Property-based tests (fast-check, thousands of generated cases, counterexamples shrunk):
// the replication planner staggers and keeps out of dump windows for every minute offset, its RPO
// stays within bounds derived from the schedule, and the distance rule is symmetric and exact at
// its boundary.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MAX_MINUTE_OFFSET } from "../../infra/model/defaults";
import { distanceKm, haversineKm } from "../../infra/model/geo";
import { dumpCompletionMinutes, planInstance, planReplications, rpoMinutes, worstCaseRpo, worstRpoMinutes } from "../../infra/model/schedule";
import { inDailyWindow, MINUTES_PER_DAY } from "../../infra/model/time";
import type { Site } from "../../infra/model/types";
import { checkTopology } from "../../infra/rules";
import { customSite, makeInstance, makePolicy, makeServer, makeTopology, siteNorthOf } from "../support/topology";

const RUNS = { numRuns: 1000 };

/** An instance schedule and policy the config accepts, within the ranges a fleet would use. */
const scheduleArb = fc.record({
  dumpTimes: fc.uniqueArray(fc.integer({ min: 0, max: MINUTES_PER_DAY - 1 }), { minLength: 1, maxLength: 6 }).map((a) => a.sort((x, y) => x - y)),
  replicationsPerDay: fc.integer({ min: 1, max: 12 }),
  backups: fc.integer({ min: 1, max: 4 }),
  dumpWindowMinutes: fc.integer({ min: 1, max: 120 }),
});

function setup(s: { dumpTimes: number[]; replicationsPerDay: number; backups: number; dumpWindowMinutes: number }) {
  const backupNames = Array.from({ length: s.backups }, (_, i) => `bk-${i}`);
  const inst = makeInstance("acme-erp", "web-1", backupNames, { schedule: { dumpTimes: s.dumpTimes, replicationsPerDay: s.replicationsPerDay } });
  const topology = makeTopology({
    servers: [makeServer("web-1", "hosting", "ovh:rbx"), ...backupNames.map((b, i) => makeServer(b, "backup", ["ovh:sbg", "ionos:de/txl", "ovh:waw", "ionos:gb/lhr"][i]!))],
    policy: { dumpWindowMinutes: s.dumpWindowMinutes },
    clients: [{ client: "acme", instances: [inst] }],
  });
  return { inst: topology.clients[0]!.instances[0]!, topology };
}

const maxGap = (times: readonly number[]): number => {
  const t = [...times].sort((a, b) => a - b);
  let g = 0;
  for (let i = 0; i < t.length; i++) g = Math.max(g, (i + 1 < t.length ? t[i + 1]! : t[0]! + MINUTES_PER_DAY) - t[i]!);
  return g;
};

describe("planner (property-based)", () => {
  it("every backup server runs replicationsPerDay times; no two start at the same minute; none starts in a dump window, for every minute offset", () => {
    fc.assert(
      fc.property(scheduleArb, (s) => {
        const { inst, topology } = setup(s);
        for (let off = 0; off <= MAX_MINUTE_OFFSET; off++) {
          const plans = planInstance(topology.fleet, inst, { minuteOffset: off });
          assert.equal(plans.length, s.backups);
          const all = new Set<number>();
          for (const p of plans) {
            assert.equal(new Set(p.times).size, s.replicationsPerDay, `${p.backupServer}: ${p.times}`);
            for (const t of p.times) {
              assert.ok(!all.has(t), `two servers start at ${t} (offset ${off})`);
              all.add(t);
              for (const d of s.dumpTimes) assert.ok(!inDailyWindow(t, d, s.dumpWindowMinutes), `run ${t} in dump window ${d}+${s.dumpWindowMinutes} (offset ${off})`);
            }
          }
        }
        // The rules agree: nothing the planner produces breaks schedule.staggered.
        assert.deepEqual(checkTopology(topology, { only: ["schedule.staggered"] }), []);
      }),
      RUNS,
    );
  });

  it("is a function of the instance and the policy: the same plan in any topology, and the offset only shifts it", () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: 0, max: MAX_MINUTE_OFFSET }), (s, off) => {
        const { inst, topology } = setup(s);
        const alone = planInstance(topology.fleet, inst, { minuteOffset: off });
        assert.deepEqual(planReplications(topology, { minuteOffset: off }), alone);
        const base = planInstance(topology.fleet, inst);
        alone.forEach((p, i) => assert.deepEqual(p.times, base[i]!.times.map((t) => (t + off) % MINUTES_PER_DAY).sort((a, b) => a - b)));
      }),
      RUNS,
    );
  });

  it("worst-case RPO within its bounds: files ≥ a day over all runs and ≤ a day; database between the longest dump gap + window and that + the files RPO", () => {
    fc.assert(
      fc.property(scheduleArb, fc.array(fc.tuple(fc.integer({ min: -60, max: 60 }), fc.integer({ min: -60, max: 60 })), { maxLength: 3 }), (s, bounds) => {
        const { inst, topology } = setup(s);
        const plans = planInstance(topology.fleet, inst);
        const rpo = worstCaseRpo(topology, inst, plans);
        const files = Math.round(rpo.filesHours * 60);
        const database = Math.round(rpo.databaseHours * 60);
        const runs = s.backups * s.replicationsPerDay;
        assert.ok(files >= Math.floor(MINUTES_PER_DAY / runs), `files ${files} < ${MINUTES_PER_DAY}/${runs}`);
        assert.ok(files <= MINUTES_PER_DAY, `files ${files}`);
        const dumpGap = maxGap(s.dumpTimes);
        // a dump is complete after the dump window, or after the longest dump (maxDumpMinutes) when that is longer
        const done = Math.max(...inst.schedule.dumpTimes.map((d) => dumpCompletionMinutes(topology, inst, d)));
        assert.ok(done >= s.dumpWindowMinutes);
        assert.ok(database >= dumpGap + done, `database ${database} < ${dumpGap} + ${done}`);
        assert.ok(database <= dumpGap + done + files, `database ${database} > ${dumpGap} + ${done} + ${files}`);
        // And rpo.max agrees with the measure: passes exactly when the bound allows it.
        const strict = makePolicy({ dumpWindowMinutes: s.dumpWindowMinutes, maxRpoHours: { files: files / 60, database: database / 60 } });
        assert.deepEqual(checkTopology({ ...topology, fleet: { ...topology.fleet, policy: strict } }, { only: ["rpo.max"] }), []);
        // Other bounds around the measure: the planner spreads pulls within the slack the policy leaves,
        // so the plan may change with the bound (a tighter one may even be met by another spread). A
        // bound this plan meets is met by the plan made under it, and the rule fires exactly for the
        // measures of the plan made under the bound that are above it.
        for (const [df, dd] of [[-1, -1], ...bounds]) {
          const limit = { files: Math.max(1, files + df!), database: Math.max(1, database + dd!) };
          const policy = makePolicy({ dumpWindowMinutes: s.dumpWindowMinutes, maxRpoHours: { files: limit.files / 60, database: limit.database / 60 } });
          const other = { ...topology, fleet: { ...topology.fleet, policy } };
          const rpoOther = worstCaseRpo(other, inst, planInstance(other.fleet, inst));
          const over = Number(Math.round(rpoOther.filesHours * 60) > limit.files) + Number(Math.round(rpoOther.databaseHours * 60) > limit.database);
          if (files <= limit.files && database <= limit.database) assert.equal(over, 0, `bound ${JSON.stringify(limit)} met by the plan ${files}/${database}, not by ${JSON.stringify(rpoOther)}`);
          assert.equal(checkTopology(other, { only: ["rpo.max"] }).length, over);
        }
      }),
      RUNS,
    );
  });
});

describe("worst case over the client minute offsets (property-based)", () => {
  it("worstRpoMinutes is the worst of rpoMinutes over the runs moved by every offset 0..MAX_MINUTE_OFFSET", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: MINUTES_PER_DAY - 1 }), { maxLength: 60 }),
        fc.uniqueArray(fc.integer({ min: 0, max: MINUTES_PER_DAY - 1 }), { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 6, maxLength: 6 }),
        (runs, dumpTimes, completions) => {
          runs.sort((a, b) => a - b);
          // a completion per dump (a queue may finish a dump days later)
          const done = (d: number) => completions[dumpTimes.indexOf(d)]!;
          let files = runs.length === 0 ? Infinity : 0;
          let database = runs.length === 0 || dumpTimes.length === 0 ? Infinity : 0;
          for (let off = 0; off <= MAX_MINUTE_OFFSET; off++) {
            const moved = runs.map((t) => (t + off) % MINUTES_PER_DAY).sort((a, b) => a - b);
            const m = rpoMinutes(moved, dumpTimes, done);
            files = Math.max(files, m.files);
            database = Math.max(database, m.database);
          }
          assert.deepEqual(worstRpoMinutes(runs, dumpTimes, done), { files, database });
        },
      ),
      RUNS,
    );
  });
});

const latLon = fc.record({
  latitude: fc.double({ min: -80, max: 80, noNaN: true }),
  longitude: fc.double({ min: -179.9, max: 179.9, noNaN: true }),
});
let siteCount = 0;
const siteAt = (p: { latitude: number; longitude: number }, provider: "ovh" | "ionos" = "ovh"): Site =>
  customSite(`${provider}:x${++siteCount}`, p.latitude, p.longitude, `town-${siteCount}`);

describe("distance rule (property-based)", () => {
  it("distances are symmetric, zero only for one point, and obey the triangle inequality", () => {
    fc.assert(
      fc.property(latLon, latLon, latLon, (a, b, c) => {
        const ab = haversineKm(a, b);
        assert.ok(Math.abs(ab - haversineKm(b, a)) < 1e-9);
        assert.ok(ab >= 0 && ab <= 20_016);
        assert.ok(haversineKm(a, a) < 1e-9);
        assert.ok(haversineKm(a, c) <= ab + haversineKm(b, c) + 1e-6);
      }),
      RUNS,
    );
  });

  it("geo.min-distance is symmetric: swapping the hosting and a backup site, or the order of backups, changes no verdict", () => {
    fc.assert(
      fc.property(latLon, latLon, latLon, fc.integer({ min: 0, max: 1500 }), (h, b1, b2, min) => {
        const sites = [siteAt(h), siteAt(b1, "ionos"), siteAt(b2)];
        const verdict = (hs: Site, x: Site, y: Site, order: string[]) =>
          checkTopology(
            makeTopology({
              servers: [makeServer("web", "hosting", hs), makeServer("bk-a", "backup", x), makeServer("bk-b", "backup", y)],
              policy: { minDistanceKm: min },
              clients: [{ client: "acme", instances: [makeInstance("acme-erp", "web", order)] }],
            }),
            { only: ["geo.min-distance"] },
          )
            .map((v) => [...(v.servers ?? [])].sort().join("+"))
            .sort();
        const [s0, s1, s2] = sites as [Site, Site, Site];
        const base = verdict(s0, s1, s2, ["bk-a", "bk-b"]);
        assert.deepEqual(verdict(s0, s1, s2, ["bk-b", "bk-a"]), base);
        // Which pairs are too close does not depend on who holds which role.
        const pairs = (x: string[]) => x.length;
        assert.equal(pairs(verdict(s1, s0, s2, ["bk-a", "bk-b"])), pairs(base));
        const tooClose = [distanceKm(s0, s1) < min, distanceKm(s0, s2) < min, distanceKm(s1, s2) < min].filter(Boolean).length;
        assert.equal(base.length, tooClose);
      }),
      { numRuns: 500 },
    );
  });

  it("the boundary is exact: a backup just beyond minDistanceKm passes, just within fails", () => {
    fc.assert(
      fc.property(
        fc.record({ latitude: fc.double({ min: -60, max: 60, noNaN: true }), longitude: fc.double({ min: -170, max: 170, noNaN: true }) }),
        fc.integer({ min: 1, max: 2000 }),
        fc.double({ min: 0.01, max: 0.5, noNaN: true }),
        (h, min, fraction) => {
          const delta = Math.min(fraction * min, 5);
          const hosting = siteAt(h);
          const far = makeServer("bk-far", "backup", siteNorthOf(customSite("ionos:far0", 0, 0), 0, "ionos:far"));
          const verdict = (km: number) => {
            const near = siteNorthOf(hosting, km, `ionos:n${++siteCount}`);
            // The other backup is far from both (the antipode side), so only the pair under test counts.
            const other = { ...far, site: customSite(`ovh:o${siteCount}`, -h.latitude, h.longitude > 0 ? h.longitude - 180 : h.longitude + 180, "antipode") };
            return checkTopology(
              makeTopology({
                servers: [makeServer("web", "hosting", hosting), makeServer("bk-near", "backup", near), other],
                policy: { minDistanceKm: min },
                clients: [{ client: "acme", instances: [makeInstance("acme-erp", "web", ["bk-near", "bk-far"])] }],
              }),
              { only: ["geo.min-distance"] },
            ).filter((v) => v.servers?.includes("bk-near") && v.servers.includes("web"));
          };
          assert.equal(verdict(min + delta).length, 0, `${min + delta} km from a ${min} km minimum`);
          assert.equal(verdict(min - delta).length, 1, `${min - delta} km from a ${min} km minimum`);
        },
      ),
      RUNS,
    );
  });
});

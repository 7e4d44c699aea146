// The fleet key `drills` (issue 21): defaults, values kept, and every bad value refused with the
// file, the key and what is expected.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DEFAULT_DRILL_SETTINGS, DRILL_LIMITS, drillSettingsOf } from "../../infra/model/drills";
import type { DrillSettings } from "../../infra/model/types";
import { renderBackupInstance } from "../../infra/render/server";
import { samplePlan, sampleTopology } from "../support/jobs-topology";
import { ConfigError } from "../../infra/model/errors";
import { parseFleetConfig } from "../../infra/model/parse";
import { assertRefused } from "../support/config-errors";
import { testHostKey } from "../support/host-keys";

const src = { stack: "fleet", file: "stacks/Pulumi.fleet.yaml" };
const servers = [
  { name: "web-rbx", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.10", hostKey: testHostKey("203.0.113.10") } },
  { name: "bk-sbg", role: "backup", provider: "ovh", site: "sbg", ssh: { host: "203.0.113.20", hostKey: testHostKey("203.0.113.20") } },
];
const fleetWithDrills = (drills: unknown) => parseFleetConfig(drills === undefined ? { servers } : { servers, drills }, src);
/** The defaults of the keys a case does not set. */
const sample = { sampleDocumentsPercent: 1, sampleDocumentsMin: 20 };


describe("fleet key drills", () => {
  it("defaults: on, 60 min maximum RTO, stale after 8 days, a sample of 1 % of the files and at least 20", () => {
    assert.deepEqual(fleetWithDrills(undefined).drills, { enabled: true, maxRtoMinutes: 60, staleDays: 8, sampleDocumentsPercent: 1, sampleDocumentsMin: 20 });
    assert.deepEqual(fleetWithDrills({}).drills, DEFAULT_DRILL_SETTINGS);
  });

  it("each key is kept, the others defaulted", () => {
    assert.deepEqual(fleetWithDrills({ enabled: false }).drills, { enabled: false, maxRtoMinutes: 60, staleDays: 8, ...sample });
    assert.deepEqual(fleetWithDrills({ maxRtoMinutes: 15 }).drills, { enabled: true, maxRtoMinutes: 15, staleDays: 8, ...sample });
    assert.deepEqual(fleetWithDrills({ staleDays: 15 }).drills, { enabled: true, maxRtoMinutes: 60, staleDays: 15, ...sample });
    assert.deepEqual(fleetWithDrills({ sampleDocumentsPercent: 0.25 }).drills, { enabled: true, maxRtoMinutes: 60, staleDays: 8, sampleDocumentsPercent: 0.25, sampleDocumentsMin: 20 });
    assert.deepEqual(fleetWithDrills({ sampleDocumentsPercent: 100, sampleDocumentsMin: 0 }).drills, { enabled: true, maxRtoMinutes: 60, staleDays: 8, sampleDocumentsPercent: 100, sampleDocumentsMin: 0 });
    assert.deepEqual(fleetWithDrills({ sampleDocumentsPercent: 0, sampleDocumentsMin: 500 }).drills, { enabled: true, maxRtoMinutes: 60, staleDays: 8, sampleDocumentsPercent: 0, sampleDocumentsMin: 500 });
  });

  it("drillSettingsOf: a fleet parsed before drills existed gets the defaults", () => {
    assert.deepEqual(drillSettingsOf({}), DEFAULT_DRILL_SETTINGS);
    assert.deepEqual(drillSettingsOf({ drills: { enabled: false, maxRtoMinutes: 5, staleDays: 9, sampleDocumentsPercent: 2, sampleDocumentsMin: 3 } }), { enabled: false, maxRtoMinutes: 5, staleDays: 9, sampleDocumentsPercent: 2, sampleDocumentsMin: 3 });
    // a Fleet built before the sample's keys existed (policy pack, older outputs): their defaults
    assert.deepEqual(drillSettingsOf({ drills: { enabled: false, maxRtoMinutes: 5, staleDays: 9 } as DrillSettings }), { enabled: false, maxRtoMinutes: 5, staleDays: 9, ...sample });
  });

  it("refuses bad values, naming the file, the key and what is expected", () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ enabled: "yes" }, /drills\.enabled: expected true or false/],
      [{ maxRtoMinutes: 0 }, /drills\.maxRtoMinutes: expected at least 1 minute/],
      [{ maxRtoMinutes: 90.5 }, /drills\.maxRtoMinutes: expected whole minutes/],
      [{ maxRtoMinutes: "1h" }, /drills\.maxRtoMinutes: expected whole minutes/],
      [{ maxRtoMinutes: 2000 }, /drills\.maxRtoMinutes: expected at most 1440 minutes/],
      [{ staleDays: 3 }, /drills\.staleDays: expected at least 7 days: the drills run weekly/],
      [{ staleDays: 400 }, /drills\.staleDays: expected at most 366 days/],
      [{ staleDays: 8.5 }, /drills\.staleDays: expected whole days/],
      [{ sampleDocumentsPercent: -1 }, /drills\.sampleDocumentsPercent: expected a percentage from 0 to 100 \(0: no random sample/],
      [{ sampleDocumentsPercent: 101 }, /drills\.sampleDocumentsPercent: expected a percentage from 0 to 100 \(100: every file/],
      [{ sampleDocumentsPercent: "1%" }, /drills\.sampleDocumentsPercent: expected a percentage of the files, a number from 0 to 100/],
      [{ sampleDocumentsPercent: 0.125 }, /drills\.sampleDocumentsPercent: expected at most two decimals/],
      [{ sampleDocumentsMin: 2.5 }, /drills\.sampleDocumentsMin: expected a whole number of files/],
      [{ sampleDocumentsMin: -1 }, /drills\.sampleDocumentsMin: expected 0 or more files/],
      [{ sampleDocumentsMin: 2_000_000 }, /drills\.sampleDocumentsMin: expected at most 1000000 files \(use sampleDocumentsPercent/],
      [{ sampleDocumentsMin: "20" }, /drills\.sampleDocumentsMin: expected a whole number of files/],
      [{ staleAfter: 8 }, /drills\.staleAfter: unknown key "staleAfter"; expected only the keys enabled, maxRtoMinutes, staleDays, sampleDocumentsPercent, sampleDocumentsMin/],
      [true, /drills: expected a mapping/],
    ];
    assertRefused(cases, fleetWithDrills, /stacks\/Pulumi\.fleet\.yaml/);
  });

  it("property: every whole number in the bounds is accepted, every one outside refused", () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 2000 }), fc.integer({ min: -10, max: 500 }), (rto, stale) => {
        const inBounds = rto >= DRILL_LIMITS.maxRtoMinutes.min && rto <= DRILL_LIMITS.maxRtoMinutes.max && stale >= DRILL_LIMITS.staleDays.min && stale <= DRILL_LIMITS.staleDays.max;
        if (inBounds) assert.deepEqual(fleetWithDrills({ maxRtoMinutes: rto, staleDays: stale }).drills, { enabled: true, maxRtoMinutes: rto, staleDays: stale, ...sample });
        else assert.throws(() => fleetWithDrills({ maxRtoMinutes: rto, staleDays: stale }), ConfigError);
      }),
      { numRuns: 300 },
    );
  });
});

describe("the drill's sample in the instance's env (renderBackupInstance)", () => {
  const envOf = (drills: DrillSettings | undefined): string => {
    const topo = sampleTopology();
    if (drills) topo.fleet.drills = drills;
    else delete topo.fleet.drills;
    return renderBackupInstance(topo, topo.clients[0]!.instances[1]!, samplePlan("acme-test", "bk-log")).files[0]!.content;
  };

  it("renders the fleet's sampleDocumentsPercent and sampleDocumentsMin for dolibarr-drill, the defaults when unset", () => {
    const env = envOf({ ...DEFAULT_DRILL_SETTINGS, sampleDocumentsPercent: 0.5, sampleDocumentsMin: 100 });
    assert.match(env, /^DRILL_SAMPLE_PERCENT='0\.5'$/m);
    assert.match(env, /^DRILL_SAMPLE_MIN='100'$/m);
    assert.match(env, /read by dolibarr-replicate, dolibarr-restore and dolibarr-drill/);
    const defaults = envOf(undefined);
    assert.match(defaults, /^DRILL_SAMPLE_PERCENT='1'$/m);
    assert.match(defaults, /^DRILL_SAMPLE_MIN='20'$/m);
  });

  it("property: every accepted value reaches the env as the drill reads it (a number, no exponent)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: DRILL_LIMITS.sampleDocumentsMin.max }), (hundredths, min) => {
        const percent = hundredths / 100;
        const parsed = fleetWithDrills({ sampleDocumentsPercent: percent, sampleDocumentsMin: min }).drills!;
        const env = envOf(parsed);
        const got = /^DRILL_SAMPLE_PERCENT='([^']*)'$/m.exec(env)![1]!;
        assert.match(got, /^\d+(\.\d+)?$/, "dolibarr-drill's pattern for the share");
        assert.equal(Number(got), percent);
        assert.match(env, new RegExp(`^DRILL_SAMPLE_MIN='${min}'$`, "m"));
      }),
      { numRuns: 200 },
    );
  });
});

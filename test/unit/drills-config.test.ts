// The fleet key `drills` (issue 21): defaults, values kept, and every bad value refused with the
// file, the key and what is expected.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DEFAULT_DRILL_SETTINGS, DRILL_LIMITS, drillSettingsOf } from "../../infra/model/drills";
import { ConfigError } from "../../infra/model/errors";
import { parseFleetConfig } from "../../infra/model/parse";
import { assertRefused } from "../support/config-errors";

const src = { stack: "fleet", file: "stacks/Pulumi.fleet.yaml" };
const servers = [
  { name: "web-rbx", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.10" } },
  { name: "bk-sbg", role: "backup", provider: "ovh", site: "sbg", ssh: { host: "203.0.113.20" } },
];
const fleetWithDrills = (drills: unknown) => parseFleetConfig(drills === undefined ? { servers } : { servers, drills }, src);


describe("fleet key drills", () => {
  it("defaults: on, 60 min maximum RTO, stale after 8 days", () => {
    assert.deepEqual(fleetWithDrills(undefined).drills, { enabled: true, maxRtoMinutes: 60, staleDays: 8 });
    assert.deepEqual(fleetWithDrills({}).drills, DEFAULT_DRILL_SETTINGS);
  });

  it("each key is kept, the others defaulted", () => {
    assert.deepEqual(fleetWithDrills({ enabled: false }).drills, { enabled: false, maxRtoMinutes: 60, staleDays: 8 });
    assert.deepEqual(fleetWithDrills({ maxRtoMinutes: 15 }).drills, { enabled: true, maxRtoMinutes: 15, staleDays: 8 });
    assert.deepEqual(fleetWithDrills({ staleDays: 15 }).drills, { enabled: true, maxRtoMinutes: 60, staleDays: 15 });
  });

  it("drillSettingsOf: a fleet parsed before drills existed gets the defaults", () => {
    assert.deepEqual(drillSettingsOf({}), DEFAULT_DRILL_SETTINGS);
    assert.deepEqual(drillSettingsOf({ drills: { enabled: false, maxRtoMinutes: 5, staleDays: 9 } }), { enabled: false, maxRtoMinutes: 5, staleDays: 9 });
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
      [{ staleAfter: 8 }, /drills\.staleAfter: unknown key "staleAfter"; expected only the keys enabled, maxRtoMinutes, staleDays/],
      [true, /drills: expected a mapping/],
    ];
    assertRefused(cases, fleetWithDrills, /stacks\/Pulumi\.fleet\.yaml/);
  });

  it("property: every whole number in the bounds is accepted, every one outside refused", () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 2000 }), fc.integer({ min: -10, max: 500 }), (rto, stale) => {
        const inBounds = rto >= DRILL_LIMITS.maxRtoMinutes.min && rto <= DRILL_LIMITS.maxRtoMinutes.max && stale >= DRILL_LIMITS.staleDays.min && stale <= DRILL_LIMITS.staleDays.max;
        if (inBounds) assert.deepEqual(fleetWithDrills({ maxRtoMinutes: rto, staleDays: stale }).drills, { enabled: true, maxRtoMinutes: rto, staleDays: stale });
        else assert.throws(() => fleetWithDrills({ maxRtoMinutes: rto, staleDays: stale }), ConfigError);
      }),
      { numRuns: 300 },
    );
  });
});

// When each instance's weekly restore drill runs on a backup server: a day of the week and a time
// of day, spread over the week by a hash of (instance, backup server) so that the drills of a
// server's instances (and of one instance on its backup servers) fall on different days and
// times, and never inside a dump window of the instance or a replication window of that server.
// A server-wide lock in dolibarr-drill keeps two drills of one server from running at once even
// when two slots meet (the instances of other client stacks are not known here).
import { createHash } from "node:crypto";

export const DRILL_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;
export type DrillWeekday = (typeof DRILL_WEEKDAYS)[number];

/** Candidate start times, every this many minutes of the day. */
export const DRILL_SLOT_MINUTES = 10;
/** No drill starts from this long before a dump to this long after it (the dump and its replication). */
export const DRILL_DUMP_MARGIN = { before: 30, after: 90 } as const;
/** No drill starts from this long before a replication of the server to this long after it. */
export const DRILL_REPLICATION_MARGIN = { before: 15, after: 30 } as const;

export interface DrillSlot {
  weekday: DrillWeekday;
  /** Minutes since midnight, in the fleet's time zone. */
  minute: number;
}

const MINUTES_PER_DAY = 1440;

function hashNumber(text: string): number {
  return createHash("sha256").update(text).digest().readUInt32BE(0);
}

/** The distance in minutes from `a` forward to `b` on the 24 h clock. */
function forward(a: number, b: number): number {
  return (((b - a) % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
}

function inWindow(minute: number, at: number, margin: { before: number; after: number }): boolean {
  return forward(minute, at) <= margin.before || forward(at, minute) <= margin.after;
}

/**
 * The start times of the day a drill may take: none inside a dump's or a replication's window.
 * `replicationSpread`: the replications may start up to that many minutes after the times given
 * (the client's minute offset, not known when the slot is chosen).
 */
export function drillCandidates(dumpTimes: readonly number[], replicationTimes: readonly number[], replicationSpread = 0, runMinutes = 0): number[] {
  const out: number[] = [];
  const replication = { before: DRILL_REPLICATION_MARGIN.before, after: DRILL_REPLICATION_MARGIN.after + replicationSpread };
  const dump = { before: Math.max(DRILL_DUMP_MARGIN.before, runMinutes), after: DRILL_DUMP_MARGIN.after };
  for (let m = 0; m < MINUTES_PER_DAY; m += DRILL_SLOT_MINUTES) {
    if (dumpTimes.some((t) => inWindow(m, t, dump))) continue;
    if (replicationTimes.some((t) => inWindow(m, t, replication))) continue;
    out.push(m);
  }
  return out;
}

/**
 * The weekly slot of `instance`'s drill on `backupServer`, at least `runMinutes` (the fleet's maximum
 * RTO: a drill that long still ends in time) before the instance's next dump, where the drill must be
 * gone (dolibarr-drill stops at the next dump time, DRILL_STOP_AT). Replications so frequent that
 * they leave no time free give way first (the drill reads a snapshot: a replication running
 * meanwhile delays neither), then the run time (rule drill.window says so), then the dumps.
 */
export function drillSlot(instance: string, backupServer: string, dumpTimes: readonly number[], replicationTimes: readonly number[], replicationSpread = 0, runMinutes = 0): DrillSlot {
  let candidates = drillCandidates(dumpTimes, replicationTimes, replicationSpread, runMinutes);
  if (candidates.length === 0) candidates = drillCandidates(dumpTimes, [], 0, runMinutes);
  if (candidates.length === 0) candidates = drillCandidates(dumpTimes, []);
  if (candidates.length === 0) candidates = drillCandidates([], []);
  const h = hashNumber(`${instance}\u0000${backupServer}`);
  return { weekday: DRILL_WEEKDAYS[h % 7]!, minute: candidates[Math.floor(h / 7) % candidates.length]! };
}

/** Minutes from `minute` forward to the next of `dumpTimes` (the drill's time to run); undefined without dumps. */
export function minutesToNextDump(minute: number, dumpTimes: readonly number[]): number | undefined {
  if (dumpTimes.length === 0) return undefined;
  return Math.min(...dumpTimes.map((t) => forward(minute, t) || MINUTES_PER_DAY));
}

// Replication times, computed from the topology (never typed by hand), and the resulting
// worst-case recovery point objective (RPO) of each instance.
//
// Plan of one instance, deterministic:
//  1. each of its backup servers runs `replicationsPerDay` times a day, evenly spread over 24 h
//     (period P = 1440 / replicationsPerDay minutes);
//  2. its backup servers, in the order the instance lists them, get phases spread evenly over one
//     period (slot j starts j·P/count minutes later), the first one starting right when the first
//     dump window closes (dumpTimes[0] + dumpWindowMinutes) so a fresh dump leaves the hosting server
//     at once. The plan depends only on the instance and the fleet policy, so the policy pack, which
//     sees one instance and its servers, computes exactly what the Pulumi program deployed; and a
//     backup server listed first by some instances and second by others spreads its load;
//  3. a phase is moved forward minute by minute until no run of that server starts in a "forbidden
//     zone" [dump − MAX_MINUTE_OFFSET, dump + dumpWindowMinutes) and no run coincides with a run of
//     another backup server of the instance. Keeping MAX_MINUTE_OFFSET minutes clear before each dump
//     makes the plan valid for every per-client minute offset 0..MAX_MINUTE_OFFSET the Pulumi program
//     may add (the offset moves all runs of a client together, so they still never coincide).
import { MAX_MINUTE_OFFSET } from "./defaults";
import { inDailyWindow, MINUTES_PER_DAY, mod } from "./time";
import type { Fleet, FleetPolicy, Instance, ReplicationPlan, Topology } from "./types";

export { MAX_MINUTE_OFFSET };

export interface PlanOptions {
  /** Minutes (integer 0..MAX_MINUTE_OFFSET) added to every replication time, e.g. a stable random per-client offset. */
  minuteOffset?: number;
}

export interface Rpo {
  /** Worst-case age of the newest copy of code and documents on any backup server, hours. */
  filesHours: number;
  /** Worst-case age of the newest dump present on any backup server, hours. */
  databaseHours: number;
}

function checkOffset(offset: number): number {
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_MINUTE_OFFSET) {
    throw new RangeError(`minuteOffset must be an integer 0..${MAX_MINUTE_OFFSET}, got ${offset}`);
  }
  return offset;
}

/** Replication plans of every instance of the topology: one per (instance, backup server), in config order. */
export function planReplications(topology: Topology, options: PlanOptions = {}): ReplicationPlan[] {
  const offset = checkOffset(options.minuteOffset ?? 0);
  const plans: ReplicationPlan[] = [];
  for (const client of topology.clients) {
    for (const inst of client.instances) plans.push(...plan(topology.fleet.policy, inst, offset));
  }
  return plans;
}

/**
 * The plans of one instance (same result as planReplications for that instance): a function of the
 * instance and the fleet policy only.
 */
export function planInstance(fleet: Pick<Fleet, "policy">, instance: Instance, options: PlanOptions = {}): ReplicationPlan[] {
  return plan(fleet.policy, instance, checkOffset(options.minuteOffset ?? 0));
}

/** Start minutes of `n` runs a day from phase `phase`, evenly spread. */
export function evenRuns(n: number, phase: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(mod(Math.round(phase + (k * MINUTES_PER_DAY) / n), MINUTES_PER_DAY));
  return out;
}

function plan(policy: FleetPolicy, inst: Instance, offset: number): ReplicationPlan[] {
  const { dumpTimes, replicationsPerDay } = inst.schedule;
  const n = Math.max(1, Math.floor(replicationsPerDay));
  const window = policy.dumpWindowMinutes;
  const period = MINUTES_PER_DAY / n;
  const forbidden = (t: number): boolean =>
    dumpTimes.some((d) => inDailyWindow(t, d - MAX_MINUTE_OFFSET, window + MAX_MINUTE_OFFSET));

  const distinct = [...new Set(inst.backupServers)];
  const anchor = dumpTimes.length > 0 ? dumpTimes[0]! + window : 0;
  const taken = new Set<number>();
  const timesOf = new Map<string, number[]>();

  distinct.forEach((server, j) => {
    const base = anchor + Math.round((j * period) / distinct.length);
    let chosen: number[] | undefined;
    for (let shift = 0; shift < Math.ceil(period) && !chosen; shift++) {
      const runs = evenRuns(n, base + shift);
      if (runs.every((t) => !forbidden(t) && !taken.has(t)) && new Set(runs).size === runs.length) chosen = runs;
    }
    if (!chosen) {
      // No even phase fits (very many runs, or long dump windows): move each run on its own.
      chosen = evenRuns(n, base).map((t0) => {
        for (let s = 0; s < MINUTES_PER_DAY; s++) {
          const t = mod(t0 + s, MINUTES_PER_DAY);
          if (!forbidden(t) && !taken.has(t)) {
            taken.add(t);
            return t;
          }
        }
        return t0;
      });
    }
    for (const t of chosen) taken.add(t);
    timesOf.set(server, chosen);
  });

  return distinct.map((server) => ({
    instance: inst.name,
    backupServer: server,
    times: timesOf
      .get(server)!
      .map((t) => mod(t + offset, MINUTES_PER_DAY))
      .sort((a, b) => a - b),
  }));
}

/** The same plans with every time moved by `minutes` (what a per-client minute offset does). */
export function shiftPlans(plans: readonly ReplicationPlan[], minutes: number): ReplicationPlan[] {
  return plans.map((p) => ({
    ...p,
    times: p.times.map((t) => mod(t + minutes, MINUTES_PER_DAY)).sort((a, b) => a - b),
  }));
}

/**
 * Worst-case RPO of `instance` over a 24 h cycle under `plans` (only the instance's plans are used).
 * Replications are taken as instantaneous at their start; a dump is complete dumpWindowMinutes after
 * it starts. Database: at any moment, time since the newest dump already copied to at least one
 * backup server. Files: the largest gap between two replication starts, all backup servers together.
 * Infinity when nothing is ever replicated (or, for the database, never dumped).
 */
export function computeRpo(topology: Topology, instance: Instance | string, plans: readonly ReplicationPlan[]): Rpo {
  const inst = typeof instance === "string" ? findInstance(topology, instance) : instance;
  const runs = runsOf(inst.name, plans);
  const m = rpoMinutes(runs, inst.schedule.dumpTimes, topology.fleet.policy.dumpWindowMinutes);
  return { filesHours: m.files / 60, databaseHours: m.database / 60 };
}

/**
 * The RPO the instance can have under any per-client minute offset 0..MAX_MINUTE_OFFSET added to
 * `plans` (the plans as computed without offset): the worst of each measure over the range.
 */
export function worstCaseRpo(topology: Topology, instance: Instance | string, plans: readonly ReplicationPlan[]): Rpo {
  const inst = typeof instance === "string" ? findInstance(topology, instance) : instance;
  const runs = runsOf(inst.name, plans);
  let files = 0;
  let database = 0;
  for (let off = 0; off <= MAX_MINUTE_OFFSET; off++) {
    const shifted = off === 0 ? runs : runs.map((t) => mod(t + off, MINUTES_PER_DAY)).sort((a, b) => a - b);
    const m = rpoMinutes(shifted, inst.schedule.dumpTimes, topology.fleet.policy.dumpWindowMinutes);
    files = Math.max(files, m.files);
    database = Math.max(database, m.database);
  }
  return { filesHours: files / 60, databaseHours: database / 60 };
}

function findInstance(topology: Topology, name: string): Instance {
  for (const c of topology.clients) for (const i of c.instances) if (i.name === name) return i;
  throw new Error(`no instance "${name}" in the topology of fleet "${topology.fleet.stack}"`);
}

/** Distinct replication start minutes of one instance, sorted. */
function runsOf(instance: string, plans: readonly ReplicationPlan[]): number[] {
  const set = new Set<number>();
  for (const p of plans) if (p.instance === instance) for (const t of p.times) set.add(mod(t, MINUTES_PER_DAY));
  return [...set].sort((a, b) => a - b);
}

/** RPO in minutes from sorted distinct run minutes, dump minutes and the dump window. */
export function rpoMinutes(runs: readonly number[], dumpTimes: readonly number[], dumpWindow: number): { files: number; database: number } {
  if (runs.length === 0) return { files: Infinity, database: Infinity };
  const gapAfter = (i: number): number =>
    i + 1 < runs.length ? runs[i + 1]! - runs[i]! : runs[0]! + MINUTES_PER_DAY - runs[i]!;
  let files = 0;
  for (let i = 0; i < runs.length; i++) files = Math.max(files, gapAfter(i));
  if (dumpTimes.length === 0) return { files, database: Infinity };
  let database = 0;
  for (let i = 0; i < runs.length; i++) {
    // Age, at run i, of the newest complete dump (the one it copies).
    let age = Infinity;
    for (const d of dumpTimes) {
      let a = mod(runs[i]! - d, MINUTES_PER_DAY);
      if (a < dumpWindow) a += MINUTES_PER_DAY;
      age = Math.min(age, a);
    }
    // Until the next run, that dump is the newest one off the hosting server.
    database = Math.max(database, age + gapAfter(i));
  }
  return { files, database };
}

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
//  4. fleet-wide spread: the phases of step 2 start `spread` minutes after the dump window closes,
//     where `spread` is drawn from a stable hash of the instance name among the spreads (below the
//     gap between the instance's own backup servers) whose plan keeps the files RPO of the unspread
//     one and fits maxRpoHours, for every client minute offset: the slack the RPO policy leaves.
//     When the unspread plan itself breaks maxRpoHours, a spread that meets it is taken if any does.
//     The N instances a backup server serves thus start their pulls spread over that slack instead
//     of all at dump + window, and the plan stays a function of the instance and the policy: a
//     client stack's program and the policy pack, which see one client, deploy and check exactly
//     what the offline check, which sees the whole fleet, measures with backupLoad(). (A spread by rank among all the fleet's instances would move the
//     timers of every client each time a client is added, and no client stack could compute it.)
//
// Dump queue: a hosting server runs at most maxConcurrentDumps dumps at once (the rest wait, see
// dolibarr-dump). M instances dumping at the same minute finish within ceil(M / N) × maxDumpMinutes;
// when that exceeds the dump window the first replications after it copy the previous dump, and the
// worst-case RPO (worstCaseRpo, dumpCompletionMinutes) counts it. The queue is measured over the
// topology given plus Topology.otherDumps: the offline check sees every client of the fleet; the
// program of one client stack reads the dumps of the others from their stack files, and passes
// them to the policy pack in its Instance components (model/contract.ts).
import { MAX_MINUTE_OFFSET, fleetMaxConcurrentDumps, isLost, policyMaxDumpMinutes } from "./defaults";
import { MINUTES_PER_DAY, mod } from "./time";
import type { ClientStack, DumpCounts, Fleet, FleetPolicy, Instance, ReplicationPlan, Topology } from "./types";

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

/** 32-bit FNV-1a hash of a string: stable across runs, platforms and Node versions. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Which spreads an instance may get: a function of its schedule, its number of backup servers and the
 * policy only (not of its name), so it is computed once per distinct schedule of a fleet.
 * A spread s is admissible when the plan moved by s keeps the files RPO of the unmoved plan (no uneven
 * gaps) and both worst-case RPO measures within maxRpoHours, for every client minute offset (a dump
 * taken complete after the dump window or the longest dump, as worstCaseRpo counts an unqueued one).
 * Every spread of the range is measured: admissibility is not monotonic in the spread (a run moved out
 * of a dump window makes uneven gaps at some spreads only), and when the unmoved plan itself breaks
 * the policy a moved one may meet it. Empty when no spread meets the policy (the plan stays unmoved
 * and rpo.max reports it).
 */
const spreadMeasures = new Map<string, ReadonlyArray<{ files: number; database: number }>>();
const spreadBounds = new Map<string, readonly number[]>();

/** Worst-case RPO minutes of the plan moved by each spread 0..span−1 (independent of maxRpoHours). */
function measuresBySpread(policy: FleetPolicy, inst: Instance, backups: number, done: number): ReadonlyArray<{ files: number; database: number }> {
  const key = JSON.stringify([policy.dumpWindowMinutes, done, inst.schedule.dumpTimes, inst.schedule.replicationsPerDay, backups]);
  const cached = spreadMeasures.get(key);
  if (cached) return cached;
  const n = Math.max(1, Math.floor(inst.schedule.replicationsPerDay));
  const span = Math.max(1, Math.floor(MINUTES_PER_DAY / n / Math.max(1, backups)));
  // A stand-in with the same schedule and count of backup servers (names do not matter to the plan).
  const probe: Instance = { ...inst, name: "probe", backupServers: Array.from({ length: backups }, (_, i) => `b${i}`) };
  const zone = forbiddenZone(inst.schedule.dumpTimes, policy.dumpWindowMinutes);
  const out: Array<{ files: number; database: number }> = [];
  for (let spread = 0; spread < span; spread++) {
    out.push(worstRpoMinutes(runsOf("probe", planAt(policy, probe, 0, spread, zone)), inst.schedule.dumpTimes, done));
  }
  spreadMeasures.set(key, out);
  return out;
}

function admissibleSpreads(policy: FleetPolicy, inst: Instance, backups: number): readonly number[] {
  const done = Math.max(policy.dumpWindowMinutes, policyMaxDumpMinutes(policy));
  const key = JSON.stringify([policy.dumpWindowMinutes, done, policy.maxRpoHours.files, policy.maxRpoHours.database, inst.schedule.dumpTimes, inst.schedule.replicationsPerDay, backups]);
  const cached = spreadBounds.get(key);
  if (cached) return cached;
  const measures = measuresBySpread(policy, inst, backups, done);
  // Measures are whole minutes, bounds are hours (145/60 h × 60 may be 144.99999999999997): the
  // tolerance of rule rpo.max.
  const maxFiles = policy.maxRpoHours.files * 60 + 1e-6;
  const maxDatabase = policy.maxRpoHours.database * 60 + 1e-6;
  const base = measures[0]!;
  const out: number[] = [];
  measures.forEach((m, spread) => {
    if (m.files <= base.files && m.files <= maxFiles && m.database <= maxDatabase) out.push(spread);
  });
  spreadBounds.set(key, out);
  return out;
}

function chooseSpread(policy: FleetPolicy, inst: Instance): number {
  const spreads = admissibleSpreads(policy, inst, new Set(inst.backupServers).size);
  // Drawn among the admissible spreads by a stable hash of the name (when they are 0..max, as usual,
  // that is hash mod (max + 1)); none: the unmoved plan.
  return spreads.length === 0 ? 0 : spreads[stableHash(inst.name) % spreads.length]!;
}

function plan(policy: FleetPolicy, inst: Instance, offset: number): ReplicationPlan[] {
  return planAt(policy, inst, offset, chooseSpread(policy, inst));
}

/** The replication spread (minutes after the dump window) the planner gives an instance. */
export function replicationSpread(fleet: Pick<Fleet, "policy">, instance: Instance): number {
  return chooseSpread(fleet.policy, instance);
}

/**
 * Minutes of the day in a forbidden zone [dump − MAX_MINUTE_OFFSET, dump + window), as a table (the
 * spread search plans each instance schedule once per candidate spread).
 */
function forbiddenZone(dumpTimes: readonly number[], window: number): Uint8Array {
  const zone = new Uint8Array(MINUTES_PER_DAY);
  for (const d of dumpTimes) {
    for (let k = -MAX_MINUTE_OFFSET; k < Math.min(window, MINUTES_PER_DAY); k++) zone[mod(d + k, MINUTES_PER_DAY)] = 1;
  }
  return zone;
}

function planAt(
  policy: FleetPolicy,
  inst: Instance,
  offset: number,
  spread: number,
  zone: Uint8Array = forbiddenZone(inst.schedule.dumpTimes, policy.dumpWindowMinutes),
): ReplicationPlan[] {
  const { dumpTimes, replicationsPerDay } = inst.schedule;
  const n = Math.max(1, Math.floor(replicationsPerDay));
  const window = policy.dumpWindowMinutes;
  const period = MINUTES_PER_DAY / n;
  const forbidden = (t: number): boolean => zone[mod(t, MINUTES_PER_DAY)] === 1;

  const distinct = [...new Set(inst.backupServers)];
  const anchor = (dumpTimes.length > 0 ? dumpTimes[0]! + window : 0) + spread;
  const taken = new Set<number>();
  const timesOf = new Map<string, number[]>();

  distinct.forEach((server, j) => {
    const base = anchor + Math.round((j * period) / distinct.length);
    let chosen: number[] | undefined;
    // The runs of evenRuns(n, phase), checked without building them (tried for up to a period of phases).
    const fits = (phase: number): boolean => {
      for (let k = 0; k < n; k++) {
        const t = mod(Math.round(phase + (k * MINUTES_PER_DAY) / n), MINUTES_PER_DAY);
        if (forbidden(t) || taken.has(t)) return false;
      }
      return true;
    };
    for (let shift = 0; shift < Math.ceil(period) && !chosen; shift++) {
      if (!fits(base + shift)) continue;
      const runs = evenRuns(n, base + shift);
      if (new Set(runs).size === runs.length) chosen = runs;
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
  const m = rpoMinutes(runs, inst.schedule.dumpTimes, dumpCompletion(topology, inst));
  return { filesHours: m.files / 60, databaseHours: m.database / 60 };
}

/**
 * The RPO the instance can have under any per-client minute offset 0..MAX_MINUTE_OFFSET added to
 * `plans` (the plans as computed without offset): the worst of each measure over the range.
 */
export function worstCaseRpo(topology: Topology, instance: Instance | string, plans: readonly ReplicationPlan[]): Rpo {
  const inst = typeof instance === "string" ? findInstance(topology, instance) : instance;
  const m = worstRpoMinutes(runsOf(inst.name, plans), inst.schedule.dumpTimes, dumpCompletion(topology, inst));
  return { filesHours: m.files / 60, databaseHours: m.database / 60 };
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

/**
 * RPO in minutes from sorted distinct run minutes, dump minutes and the minutes after its start by
 * which a dump is complete: one number (the dump window) or one per dump time (queue included).
 */
export function rpoMinutes(
  runs: readonly number[],
  dumpTimes: readonly number[],
  dumpWindow: number | ((dumpTime: number) => number),
): { files: number; database: number } {
  const doneAfter = typeof dumpWindow === "number" ? () => dumpWindow : dumpWindow;
  if (runs.length === 0) return { files: Infinity, database: Infinity };
  let files = 0;
  for (let i = 0; i < runs.length; i++) files = Math.max(files, gapAfter(runs, i));
  if (dumpTimes.length === 0) return { files, database: Infinity };
  const dumps = dumpTimes.map((d) => ({ d, done: doneAfter(d) }));
  let database = 0;
  // Until the next run, the dump run i copies is the newest one off the hosting server.
  for (let i = 0; i < runs.length; i++) database = Math.max(database, copiedDumpAge(runs[i]!, dumps) + gapAfter(runs, i));
  return { files, database };
}

/** Minutes from run i to the next one (the first one of the next day after the last). */
function gapAfter(runs: readonly number[], i: number): number {
  return i + 1 < runs.length ? runs[i + 1]! - runs[i]! : runs[0]! + MINUTES_PER_DAY - runs[i]!;
}

/** Age, at a run starting at minute t, of the newest complete dump (the one it copies). */
function copiedDumpAge(t: number, dumps: readonly { d: number; done: number }[]): number {
  let age = Infinity;
  // The dump started at d (mod a day) that is complete at t: at least `done` minutes old (a dump not
  // complete yet, a queued one may finish days later, leaves the run an older one).
  for (const { d, done } of dumps) age = Math.min(age, done + mod(t - d - done, MINUTES_PER_DAY));
  return age;
}

/**
 * The worst of rpoMinutes over the runs moved by every minute offset 0..MAX_MINUTE_OFFSET, without
 * moving them: an offset moves every run together, so the gap after each run (the files RPO) stays;
 * only the age of the dump each run copies changes. That age grows by a minute a minute except where
 * a dump completes (it drops), so over a run's offsets it is largest at the last offset or just
 * before a completion.
 */
export function worstRpoMinutes(
  runs: readonly number[],
  dumpTimes: readonly number[],
  dumpWindow: number | ((dumpTime: number) => number),
): { files: number; database: number } {
  const { files } = rpoMinutes(runs, [], 0);
  if (runs.length === 0 || dumpTimes.length === 0) return { files, database: Infinity };
  const doneAfter = typeof dumpWindow === "number" ? () => dumpWindow : dumpWindow;
  const dumps = dumpTimes.map((d) => ({ d, done: doneAfter(d) }));
  let database = 0;
  for (let i = 0; i < runs.length; i++) {
    const gap = gapAfter(runs, i);
    let age = copiedDumpAge(runs[i]! + MAX_MINUTE_OFFSET, dumps);
    for (const { d, done } of dumps) {
      const completes = mod(d + done - runs[i]!, MINUTES_PER_DAY);
      if (completes >= 1 && completes <= MAX_MINUTE_OFFSET) age = Math.max(age, copiedDumpAge(runs[i]! + completes - 1, dumps));
    }
    database = Math.max(database, age + gap);
  }
  return { files, database };
}

// ---- the dump queue of the hosting servers ----------------------------------------------------

/** Per hosting server, per dump minute: the instances (names) that start a dump then. */
export type DumpQueues = Map<string, Map<number, string[]>>;

const queuesCache = new WeakMap<Topology, DumpQueues>();

/** The dumps each hosting server starts at each minute, over the whole topology (cached per topology object). */
export function dumpQueues(topology: Topology): DumpQueues {
  const cached = queuesCache.get(topology);
  if (cached) return cached;
  const out: DumpQueues = new Map();
  for (const c of topology.clients) {
    for (const i of c.instances) {
      let byMinute = out.get(i.hostingServer);
      if (!byMinute) out.set(i.hostingServer, (byMinute = new Map()));
      for (const d of new Set(i.schedule.dumpTimes)) byMinute.set(d, [...(byMinute.get(d) ?? []), i.name]);
    }
  }
  queuesCache.set(topology, out);
  return out;
}

/** Dumps the fleet's other client stacks start on `hostingServer` at `dumpTime` (Topology.otherDumps). */
export function otherDumpsAt(topology: Topology, hostingServer: string, dumpTime: number): number {
  const n = topology.otherDumps?.[hostingServer]?.[String(dumpTime)];
  return typeof n === "number" && Number.isInteger(n) && n > 0 ? n : 0;
}

/**
 * The dumps of `clients` per hosting server and minute, as counts (what Topology.otherDumps holds
 * for a topology that does not include these clients).
 */
export function dumpCounts(clients: readonly ClientStack[]): DumpCounts {
  const out: DumpCounts = {};
  for (const c of clients) {
    for (const i of c.instances) {
      const byMinute = (out[i.hostingServer] ??= {});
      for (const d of new Set(i.schedule.dumpTimes)) byMinute[String(d)] = (byMinute[String(d)] ?? 0) + 1;
    }
  }
  return out;
}

/**
 * Worst case, in minutes after `dumpTime`, by which the instance's dump started then is complete:
 * the dump window, or longer when the hosting server's queue at that minute holds more than
 * maxConcurrentDumps dumps (ceil(M / N) waves of at most maxDumpMinutes each).
 */
export function dumpCompletionMinutes(topology: Topology, instance: Instance, dumpTime: number): number {
  const window = topology.fleet.policy.dumpWindowMinutes;
  const queued = (dumpQueues(topology).get(instance.hostingServer)?.get(dumpTime)?.length ?? 1) + otherDumpsAt(topology, instance.hostingServer, dumpTime);
  const waves = Math.ceil(Math.max(1, queued) / fleetMaxConcurrentDumps(topology.fleet));
  return Math.max(window, waves * policyMaxDumpMinutes(topology.fleet.policy));
}

function dumpCompletion(topology: Topology, instance: Instance): (dumpTime: number) => number {
  return (d) => dumpCompletionMinutes(topology, instance, d);
}

/** A hosting server's dump queue at one minute that does not drain within the dump window. */
export interface QueueOverflow {
  hostingServer: string;
  dumpTime: number;
  instances: string[];
  /** Minutes the last of them may finish after dumpTime. */
  drainMinutes: number;
}

/** Every (hosting server, minute) whose queue of dumps outlasts the dump window. */
export function queueOverflows(topology: Topology): QueueOverflow[] {
  const out: QueueOverflow[] = [];
  const n = fleetMaxConcurrentDumps(topology.fleet);
  const each = policyMaxDumpMinutes(topology.fleet.policy);
  for (const [hostingServer, byMinute] of dumpQueues(topology)) {
    for (const [dumpTime, instances] of [...byMinute.entries()].sort((a, b) => a[0] - b[0])) {
      const drainMinutes = Math.ceil((instances.length + otherDumpsAt(topology, hostingServer, dumpTime)) / n) * each;
      if (drainMinutes > topology.fleet.policy.dumpWindowMinutes) out.push({ hostingServer, dumpTime, instances, drainMinutes });
    }
  }
  return out;
}

// ---- the load of the backup servers -----------------------------------------------------------

/** How many pulls one backup server starts at once, at worst, under the plans. */
export interface BackupLoad {
  backupServer: string;
  /** Instances it pulls. */
  instances: number;
  /** Pulls it starts a day. */
  pullsPerDay: number;
  /** The most pulls starting within any `windowMinutes` (cyclic) window of the day. */
  peak: number;
  /** Start minute of that busiest window. */
  peakAt: number;
}

/** Fleet-wide load of each backup server (plans of the whole topology, active servers only). */
export function backupLoad(topology: Topology, plans: readonly ReplicationPlan[], windowMinutes = 15): BackupLoad[] {
  const lost = new Set(topology.fleet.servers.filter(isLost).map((s) => s.name));
  const byServer = new Map<string, { instances: Set<string>; starts: number[] }>();
  for (const p of plans) {
    if (lost.has(p.backupServer)) continue;
    let e = byServer.get(p.backupServer);
    if (!e) byServer.set(p.backupServer, (e = { instances: new Set(), starts: [] }));
    e.instances.add(p.instance);
    e.starts.push(...p.times.map((t) => mod(t, MINUTES_PER_DAY)));
  }
  const out: BackupLoad[] = [];
  for (const [backupServer, e] of [...byServer.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const perMinute = new Array<number>(MINUTES_PER_DAY).fill(0);
    for (const t of e.starts) perMinute[t]!++;
    let sum = 0;
    for (let k = 0; k < windowMinutes; k++) sum += perMinute[mod(-k, MINUTES_PER_DAY)]!;
    let peak = 0;
    let peakAt = 0;
    // window [t - windowMinutes + 1, t]
    for (let t = 0; t < MINUTES_PER_DAY; t++) {
      if (t > 0) sum += perMinute[t]! - perMinute[mod(t - windowMinutes, MINUTES_PER_DAY)]!;
      if (sum > peak) {
        peak = sum;
        peakAt = mod(t - windowMinutes + 1, MINUTES_PER_DAY);
      }
    }
    out.push({ backupServer, instances: e.instances.size, pullsPerDay: e.starts.length, peak, peakAt });
  }
  return out;
}

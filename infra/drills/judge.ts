// How one backup server's restore drills of one instance are judged (issue 21), for `npm run
// status` and the client reports. Pure: what the server said in, a verdict with its reasons out;
// a broken or hostile record gives a reason, never an exception.
//  - failing: the last drill failed;
//  - unknown: the last drill's status file cannot be read, is another instance's, has a result
//    other than "ok" or "failed", or no valid (or a future) finishedAt;
//  - stale: the newest successful drill is older than staleDays; or there never was one and the
//    server's copy of the instance is older than staleDays (or its age is unknown): a copy younger
//    than that was simply not due for its first drill yet;
//  - ok otherwise. An RTO above maxRtoMinutes, or a successful drill without one, is a warning:
//    the copy was proven restorable, only slower than promised.
import type { DrillSettings } from "../model/types";
import type { Freshness } from "../status/snapshot";
import { formatAge, formatDuration } from "./format";
import type { DrillRecord } from "./record";

/** What a backup server says about the drills of one instance (plain data: it is in the status snapshot). */
export interface DrillFacts {
  server: string;
  /** The last drill's status file (<instance>.drill.json); absent: none there. */
  last?: DrillRecord;
  /** The newest record of the history with result ok (<instance>.jsonl); absent: none. */
  lastOk?: DrillRecord;
  /** Why a file could not be read (not JSON, not an object) or the server did not answer. */
  error?: string;
  /** Keys of the wrong type, dropped from the records. */
  problems?: string[];
}

export interface DrillState {
  server: string;
  status: Freshness;
  /** The last drill as read (result, when, its RTO on success, its message). */
  last?: { result: string; finishedAt: string; ageMs: number; rtoMs?: number; message?: string };
  /** The newest successful drill. */
  lastOk?: { finishedAt: string; ageMs: number; rtoMs?: number };
  /** Why the status is not ok. */
  reasons: string[];
  /** Worth reading, not a worse status: an RTO above the maximum, a dropped key. */
  warnings: string[];
  /** Said for clarity only (no drill due yet, nothing to drill). */
  notes: string[];
}

export interface DrillContext {
  instance: string;
  /** Since when the server holds a copy of the instance (epoch ms); undefined when unknown. */
  copySinceMs?: number;
  /** The server holds a complete copy (without one there is nothing to drill). */
  hasCopy: boolean;
}

const DAY_MS = 86_400_000;
/** A finishedAt this far ahead of the collector's clock is no drill that happened: a wrong clock or a forged file. */
export const DRILL_FUTURE_TOLERANCE_MS = 3_600_000;

/** Why a record cannot be taken as one of this instance's drills, or undefined. */
export function drillRecordProblem(r: DrillRecord, instance: string, now: number): string | undefined {
  if (r.instance !== undefined && r.instance !== instance) return `is for instance ${JSON.stringify(r.instance)}`;
  if (r.result === undefined) return "has no result";
  if (r.result !== "ok" && r.result !== "failed") return `has result ${JSON.stringify(r.result)} (expected "ok" or "failed")`;
  const t = r.finishedAt === undefined ? NaN : Date.parse(r.finishedAt);
  if (!Number.isFinite(t)) return r.finishedAt === undefined ? "has no finishedAt" : `has finishedAt ${JSON.stringify(r.finishedAt)}, not a time`;
  if (t - now > DRILL_FUTURE_TOLERANCE_MS) return `finished in the future (${r.finishedAt}): is the server's clock right?`;
  return undefined;
}

/** The verdict on one backup server's drills of one instance at `now` (epoch ms). */
export function judgeDrill(facts: DrillFacts, context: DrillContext, settings: DrillSettings, now: number): DrillState {
  const s = facts.server;
  const state: DrillState = { server: s, status: "ok", reasons: [], warnings: [], notes: [] };
  const staleMs = settings.staleDays * DAY_MS;
  for (const p of facts.problems ?? []) state.warnings.push(`drills on ${s}: ${p} (dropped)`);
  if (facts.error) {
    state.status = "unknown";
    state.reasons.push(`drills on ${s}: ${facts.error}`);
    return state;
  }
  const at = (r: DrillRecord) => Date.parse(r.finishedAt!);
  let lastOk: DrillRecord | undefined;
  if (facts.last) {
    const problem = drillRecordProblem(facts.last, context.instance, now);
    if (problem) {
      state.status = "unknown";
      state.reasons.push(`the last drill's status on ${s} ${problem}`);
    } else {
      const r = facts.last;
      state.last = { result: r.result!, finishedAt: r.finishedAt!, ageMs: Math.max(0, now - at(r)), ...(r.rtoMs !== undefined ? { rtoMs: r.rtoMs } : {}), ...(r.message !== undefined ? { message: r.message } : {}) };
      if (r.result === "ok") lastOk = r;
    }
  }
  if (facts.lastOk) {
    const problem = drillRecordProblem(facts.lastOk, context.instance, now);
    if (problem) state.warnings.push(`the newest successful drill in the history on ${s} ${problem}: not counted`);
    else if (facts.lastOk.result === "ok" && (lastOk === undefined || at(facts.lastOk) > at(lastOk))) lastOk = facts.lastOk;
  }
  if (lastOk) state.lastOk = { finishedAt: lastOk.finishedAt!, ageMs: Math.max(0, now - at(lastOk)), ...(lastOk.rtoMs !== undefined ? { rtoMs: lastOk.rtoMs } : {}) };
  const okSince = state.lastOk ? `newest successful drill ${formatAge(state.lastOk.ageMs)} ago` : "no successful drill";
  if (state.status !== "ok") return state;

  if (state.last?.result === "failed") {
    state.status = "failing";
    state.reasons.push(`last drill on ${s} failed ${formatAge(state.last.ageMs)} ago (${okSince}): ${state.last.message ?? "no message"}`);
  } else if (state.lastOk) {
    if (state.lastOk.ageMs > staleMs) {
      state.status = "stale";
      state.reasons.push(`${okSince} on ${s} > ${settings.staleDays} d`);
    }
  } else if (!context.hasCopy) {
    state.notes.push(`no complete copy on ${s} yet: nothing to drill`);
  } else if (context.copySinceMs !== undefined && now - context.copySinceMs <= staleMs) {
    state.notes.push(`not drilled yet on ${s}: its copy is ${formatAge(now - context.copySinceMs)} old (the first drill is due within ${settings.staleDays} d)`);
  } else {
    state.status = "stale";
    state.reasons.push(`never drilled on ${s} (its copy is ${context.copySinceMs === undefined ? "of unknown age" : `${formatAge(now - context.copySinceMs)} old`}, > ${settings.staleDays} d)`);
  }
  // The RTO of the newest successful drill: the restore the company can promise today.
  if (state.lastOk) {
    const rto = state.lastOk.rtoMs;
    if (rto === undefined) state.warnings.push(`the newest successful drill on ${s} reports no RTO (rtoMs)`);
    else if (rto > settings.maxRtoMinutes * 60_000) state.warnings.push(`RTO on ${s} ${formatDuration(rto)} > maximum ${settings.maxRtoMinutes} min`);
  }
  return state;
}

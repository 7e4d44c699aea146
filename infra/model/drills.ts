// The weekly restore drill (issue 21): the fleet's settings, their defaults, and what they mean for
// the status and the client reports. Pure.
import type { DrillSettings, Fleet } from "./types";

/**
 * 60 minutes: the bound. A drill restores the whole instance (database load, files, PHP
 * start, first page) on a backup server; a Dolibarr instance of a few GB comes back in minutes
 * (`npm run bench`: 46–48 s per GB of mirror), so an hour leaves room for a large one and flags one
 * whose restore has grown beyond what the company promises.
 */
export const DEFAULT_DRILL_MAX_RTO_MINUTES = 60;

/**
 * 8 days: the drills run weekly; one more day absorbs a drill that moved by a few hours (a reboot,
 * a long replication it waited for) without letting a missed week go unnoticed.
 */
export const DEFAULT_DRILL_STALE_DAYS = 8;

export const DEFAULT_DRILL_SETTINGS: Readonly<DrillSettings> = Object.freeze({
  enabled: true,
  maxRtoMinutes: DEFAULT_DRILL_MAX_RTO_MINUTES,
  staleDays: DEFAULT_DRILL_STALE_DAYS,
});

/** Bounds of the fleet key `drills` (beyond them a value is a typo, not a choice). */
export const DRILL_LIMITS = Object.freeze({
  maxRtoMinutes: { min: 1, max: 24 * 60 },
  /** Below 7 a weekly drill would be stale before its next run. */
  staleDays: { min: 7, max: 366 },
});

/** The fleet's drill settings, defaults filled in (a Fleet parsed before drills existed gets the defaults). */
export function drillSettingsOf(fleet: Pick<Fleet, "drills">): DrillSettings {
  return fleet.drills ?? { ...DEFAULT_DRILL_SETTINGS };
}

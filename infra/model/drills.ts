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

/**
 * 1 %: the share of an instance's restored code and documents whose SHA-256 each drill compares
 * with what the replication received (the mirror's `.sha256`), at random, besides every file
 * received since the last drill. A weekly 1 % reaches about 40 % of the files within a year, and a
 * change made to many files (bit rot of a disk area, a script run over the mirror) within a week.
 */
export const DEFAULT_DRILL_SAMPLE_PERCENT = 1;

/** 20 files: the sample's floor, for small instances where 1 % would be a handful. */
export const DEFAULT_DRILL_SAMPLE_MIN = 20;

export const DEFAULT_DRILL_SETTINGS: Readonly<DrillSettings> = Object.freeze({
  enabled: true,
  maxRtoMinutes: DEFAULT_DRILL_MAX_RTO_MINUTES,
  staleDays: DEFAULT_DRILL_STALE_DAYS,
  sampleDocumentsPercent: DEFAULT_DRILL_SAMPLE_PERCENT,
  sampleDocumentsMin: DEFAULT_DRILL_SAMPLE_MIN,
});

/** Bounds of the fleet key `drills` (beyond them a value is a typo, not a choice). */
export const DRILL_LIMITS = Object.freeze({
  maxRtoMinutes: { min: 1, max: 24 * 60 },
  /** Below 7 a weekly drill would be stale before its next run. */
  staleDays: { min: 7, max: 366 },
  /** 100: every file, every week (a full check; the drill then reads the whole copy once more). */
  sampleDocumentsPercent: { min: 0, max: 100 },
  /** Beyond a million files a floor is no floor: use the percentage. */
  sampleDocumentsMin: { min: 0, max: 1_000_000 },
});

/** The fleet's drill settings, defaults filled in (a Fleet parsed before drills existed gets the defaults). */
export function drillSettingsOf(fleet: Pick<Fleet, "drills">): DrillSettings {
  return { ...DEFAULT_DRILL_SETTINGS, ...fleet.drills };
}

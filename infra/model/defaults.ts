// Defaults of the stack configs, and why they are what they are.
import type { FleetPolicy, Schedule, SnapshotRetention } from "./types";

/** Pulumi project name = namespace of every config key ("dolibarr-backup:servers"). */
export const CONFIG_NAMESPACE = "dolibarr-backup";

/**
 * Fleet policy defaults: the company's written procedure, made measurable.
 *
 * - minBackupServers 2: "mirrored to dedicated backup servers (OVH and IONOS)": two, at two sites.
 * - minDistanceKm 100: far enough that one fire, flood or regional power cut takes out at most one
 *   copy (the 2021 OVH Strasbourg fire destroyed SBG2 and part of SBG1, which sat a few metres apart),
 *   near enough to allow e.g. Roubaix ↔ Strasbourg (≈ 400 km) or Frankfurt ↔ Strasbourg (≈ 180 km).
 *   Roubaix ↔ Gravelines (≈ 80 km), the same campus or the same city always fail.
 * - providerDiversity "required": one provider's outage, account suspension or billing incident must
 *   not take every copy: at least one backup at a provider other than the hosting one.
 * - minDumpsPerDay 2 and minRetentionDays 7: "dumped twice a day at 12:00 and 00:00, kept 7 rolling days".
 * - dumpWindowMinutes 30: a Dolibarr database dump (mysqldump --single-transaction | gzip) takes
 *   seconds to a few minutes; no replication may start in the 30 minutes after a dump starts, so it
 *   never copies a half-written dump.
 * - maxDumpMinutes 10: the longest one dump may take (a large Dolibarr database dumps in a few
 *   minutes); with maxConcurrentDumps the queue of a hosting server's dumps starting together drains
 *   in ceil(count / maxConcurrentDumps) × maxDumpMinutes, which must fit in the dump window, or the
 *   first replications copy the previous dump (the worst-case RPO counts it).
 * - maxRpoHours files 8: with the default 4 replications a day per backup server a single server
 *   leaves at most 6 h between copies; 8 h tolerates one late run without tolerating a lost day.
 * - maxRpoHours database 14: dumps every 12 h are the floor of the database RPO; replications start
 *   right after the dump window (30 min) plus the per-client minute offset (≤ 14 min), so a compliant
 *   schedule measures ≈ 12.7 h; 14 h flags schedules where the dump waits hours for its first copy.
 * - maxRpoHours databaseWithBinlogs 0.25 (15 min): an instance whose hosting server's binlogs are
 *   shipped loses at most what its backup servers had not pulled yet; each pulls every minute and
 *   alerts beyond binlog.maxLagSeconds (default 300 s). 15 min is the bound: three times the
 *   default lag limit, and a fleet that lets a backup server fall an hour behind unnoticed is refused.
 */
export const DEFAULT_POLICY: Readonly<FleetPolicy> = Object.freeze({
  minBackupServers: 2,
  minDistanceKm: 100,
  providerDiversity: "required",
  minDumpsPerDay: 2,
  minRetentionDays: 7,
  dumpWindowMinutes: 30,
  maxDumpMinutes: 10,
  maxRpoHours: Object.freeze({ files: 8, database: 14, databaseWithBinlogs: 0.25 }),
});

/** Per-instance schedule defaults: 00:00 and 12:00, 7 days, 4 replications a day per backup server. */
export const DEFAULT_SCHEDULE: Readonly<Schedule> = Object.freeze({
  dumpTimes: Object.freeze([0, 720]) as unknown as number[],
  retentionDays: 7,
  replicationsPerDay: 4,
});

/**
 * Dated hard-link snapshots kept on each backup server. 7: a mirror alone copies a ransomware-encrypted
 * or mistakenly deleted documents directory within hours; a week of daily snapshots costs only the
 * changed files (hard links) and matches the 7 days of dumps kept on the hosting server.
 */
export const DEFAULT_SNAPSHOTS_KEEP = 7;

/**
 * Snapshot retention by age, not by count (fleet key `snapshots`). With 4 replications a day, keeping
 * the 7 newest snapshots left no good copy 42 hours after ransomware started rewriting documents in
 * place. Every snapshot of the last 48 h (8 at 4 runs a day: two days to notice a slow change), the
 * newest of each day for 14 days and of each week for 8 weeks: about 28 snapshots, each costing only
 * the files changed since the previous one (hard links). maxSnapshots 60 is the disk budget the rule
 * retention.snapshots checks the worst case against. suspiciousChangePercent 30: a normal day changes
 * a few percent of a Dolibarr documents tree; an encryption run rewrites most of it.
 */
export const DEFAULT_SNAPSHOT_RETENTION: Readonly<SnapshotRetention> = Object.freeze({
  keepHours: 48,
  keepDays: 14,
  keepWeeks: 8,
  maxSnapshots: 60,
  suspiciousChangePercent: 30,
});

/** The fleet's snapshot retention, defaults filled in. */
export function snapshotRetentionOf(fleet: { snapshots?: SnapshotRetention | undefined }): SnapshotRetention {
  return fleet.snapshots ?? DEFAULT_SNAPSHOT_RETENTION;
}

export const DEFAULT_MIRROR_ROOT = "/srv/dolibarr-backup/mirrors";
export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_SSH_USER = "root";
export const DEFAULT_DUMP_ROOT = "/var/backups/dolibarr";

/** Linux user and group names are at most 32 characters (useradd refuses longer ones). */
export const MAX_UNIX_NAME = 32;
/** A backup server's Unix user on the hosting servers is "dbk-<backup server>" (infra/render/paths.ts backupUser). */
export const BACKUP_USER_PREFIX = "dbk-";
/** So a backup server's name is at most 28 characters. */
export const MAX_BACKUP_SERVER_NAME = MAX_UNIX_NAME - BACKUP_USER_PREFIX.length;

/** Where an instance's dumps stay on its hosting server unless dumpDir says otherwise. */
export function defaultDumpDir(instance: string): string {
  return `${DEFAULT_DUMP_ROOT}/${instance}`;
}

/**
 * The Pulumi program adds a stable minute offset 0..MAX_MINUTE_OFFSET per client stack to every
 * replication time of that client, so that many clients do not start at the same minute. The planner
 * keeps every start out of the dump windows for any offset in this range, and the rules check the
 * worst case over the range.
 */
export const MAX_MINUTE_OFFSET = 14;

/** Bounds accepted in configs (beyond them a schedule is a typo, not a choice). */
export const LIMITS = Object.freeze({
  maxReplicationsPerDay: 48,
  maxDumpsPerDay: 24,
  maxRetentionDays: 3650,
  maxSnapshotsKeep: 3650,
  maxDumpWindowMinutes: 720,
  maxConcurrentDumps: 64,
});

/**
 * Time zone of every timer of a fleet (OnCalendar=… Europe/Paris): "00:00" means the same instant on
 * every server whatever zone its system clock is set to. Paris: the company's own zone, where its
 * written procedure says "00:00 and 12:00".
 */
export const DEFAULT_TIME_ZONE = "Europe/Paris";

/**
 * Dumps one hosting server runs at once; the others wait in a queue (a flock semaphore in
 * dolibarr-dump). 2: each dump runs `zstd -T0` on every core; two at once keep a hosting server's
 * PHP responsive on a small machine while a queue of 6 still drains in 3 × maxDumpMinutes.
 */
export const DEFAULT_MAX_CONCURRENT_DUMPS = 2;

/** The fleet's timer time zone (a hand-made or older Fleet without one gets the default). */
export function fleetTimeZone(fleet: { timeZone?: string }): string {
  return fleet.timeZone ?? DEFAULT_TIME_ZONE;
}

/**
 * How dolibarr-dump checks the file it wrote (DUMP_VERIFY): "frames" walks the zstd frames to the
 * last block and the content checksum without decompressing (every backup server decompresses each
 * dump it pulls); "full" also decompresses the stream while it is written, about 20% more time.
 */
export const DUMP_VERIFICATIONS = ["frames", "full"] as const;
export type DumpVerification = (typeof DUMP_VERIFICATIONS)[number];
export const DEFAULT_DUMP_VERIFICATION: DumpVerification = "frames";

export function fleetDumpVerification(fleet: { dumpVerification?: DumpVerification }): DumpVerification {
  return fleet.dumpVerification ?? DEFAULT_DUMP_VERIFICATION;
}

/** Dumps a hosting server of the fleet runs at once. */
export function fleetMaxConcurrentDumps(fleet: { maxConcurrentDumps?: number }): number {
  return fleet.maxConcurrentDumps ?? DEFAULT_MAX_CONCURRENT_DUMPS;
}

/** Worst-case duration of one dump, minutes. */
export function policyMaxDumpMinutes(policy: { maxDumpMinutes?: number }): number {
  return policy.maxDumpMinutes ?? DEFAULT_POLICY.maxDumpMinutes!;
}

/** Is the server usable (not declared lost)? */
export function isLost(server: { state?: string }): boolean {
  return server.state === "lost";
}

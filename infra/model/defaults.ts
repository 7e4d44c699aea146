// Defaults of the stack configs, and why they are what they are.
import type { FleetPolicy, Schedule } from "./types";

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
 * - maxRpoHours files 8: with the default 4 replications a day per backup server a single server
 *   leaves at most 6 h between copies; 8 h tolerates one late run without tolerating a lost day.
 * - maxRpoHours database 14: dumps every 12 h are the floor of the database RPO; replications start
 *   right after the dump window (30 min) plus the per-client minute offset (≤ 14 min), so a compliant
 *   schedule measures ≈ 12.7 h; 14 h flags schedules where the dump waits hours for its first copy.
 */
export const DEFAULT_POLICY: Readonly<FleetPolicy> = Object.freeze({
  minBackupServers: 2,
  minDistanceKm: 100,
  providerDiversity: "required",
  minDumpsPerDay: 2,
  minRetentionDays: 7,
  dumpWindowMinutes: 30,
  maxRpoHours: Object.freeze({ files: 8, database: 14 }),
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
});

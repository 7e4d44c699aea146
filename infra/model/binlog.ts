// Binary logs of the hosting servers' MariaDB, the base of point-in-time recovery (issue 20):
// the fleet's settings, their defaults and the server_id each hosting server gets. Pure.
import type { BinlogSettings, Fleet, Server, ServerBinlog } from "./types";

/**
 * Where the binary logs go on a hosting server: a directory of their own, outside MariaDB's
 * datadir (a restore or a datadir rebuild never takes them along) and not under /var/log (log
 * rotation and log cleaners must never touch them). Writable under Debian's mariadb.service
 * (ProtectSystem=full leaves /var writable).
 */
export const DEFAULT_BINLOG_DIR = "/var/lib/mysql-binlog";
/** File name prefix of the binary logs in that directory: binlog.000001, binlog.index. */
export const BINLOG_BASENAME = "binlog";

/**
 * 64 MiB per file (MariaDB's default is 1 GiB): a file closes after at most 64 MiB of changes, so
 * what a backup server has to fetch again after an interruption, and what a replay reads beyond the
 * asked second, stays small; a Dolibarr server writes a few MB to a few hundred MB a day.
 */
export const DEFAULT_BINLOG_MAX_FILE_MB = 64;

/**
 * Days the binary logs are kept: the retention of the dumps (policy.minRetentionDays) plus 2. A
 * replay starts at the newest dump before the asked time; the oldest dump kept is up to
 * retention days + the gap between two dumps (12 h) old, and one more day of margin covers a
 * dump cycle that failed or queued. Fewer than minRetentionDays + 1 is refused.
 */
export const BINLOG_KEEP_MARGIN_DAYS = 2;

/**
 * Seconds a backup server's copy of a hosting server's binlogs may lag (now minus the newest event
 * it holds) before its chain check alerts: the worst case (5 min). The pulls run every
 * minute and the heartbeat writes every 30 s, so a healthy chain shows 0 to ~40 s.
 */
export const DEFAULT_BINLOG_MAX_LAG_SECONDS = 300;

/** Seconds between two binlog pulls of a hosting server by a backup server (its timer). */
export const BINLOG_PULL_SECONDS = 60;
/**
 * The second of each minute at which a backup server pulls (its timer's OnCalendar): the fleet's
 * backup servers spread evenly over the minute, in name order, the lost ones counted too (marking a
 * server lost must leave the others' pushes as they were). Two backup servers of one hosting
 * server then never pull at the same second (they are at least BINLOG_PULL_SECONDS / N apart, N
 * backup servers in the fleet): when the hosting server dies, the freshest copy trails it by at most
 * the longest stretch of the minute between its backup servers' seconds, where timers started by
 * one deploy would all have run in step and lost the same last minute.
 */
export function binlogPullSecond(fleet: Pick<Fleet, "servers">, backupServer: string): number {
  const backups = fleet.servers
    .filter((s) => s.role === "backup")
    .map((s) => s.name)
    .sort();
  const index = backups.indexOf(backupServer);
  if (index < 0) throw new Error(`binlog pulls: ${backupServer} is not a backup server of the fleet`);
  return Math.floor((index * BINLOG_PULL_SECONDS) / backups.length);
}

/** Seconds between two heartbeat writes on a hosting server with binlogs on (its timer). */
export const BINLOG_HEARTBEAT_SECONDS = 30;

export function defaultBinlogKeepDays(minRetentionDays: number): number {
  return minRetentionDays + BINLOG_KEEP_MARGIN_DAYS;
}

/** MariaDB's server_id (and gtid_domain_id) range: 1..2^32-1 (0 would refuse to log with GTIDs). */
export const SERVER_ID_MAX = 4294967295;

/**
 * The server_id a server gets unless its config says `binlog.serverId`: FNV-1a (32 bits) of its
 * name, mapped onto 1..2^32-1. A function of the name alone (unique in the fleet), so it never
 * changes while the server keeps its name, whatever else the fleet adds or removes; two names
 * meeting on one id (about one chance in 10^8 for a fleet of 10 hosting servers) are caught by the
 * rule binlog.server-id, and fixed with an explicit `binlog.serverId`.
 */
export function derivedServerId(serverName: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(`dolibarr-backup:${serverName}`, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % SERVER_ID_MAX) + 1;
}

/** The fleet's binlog settings, defaults filled in (an older Fleet without them gets the defaults). */
export function binlogSettingsOf(fleet: Pick<Fleet, "binlog" | "policy">): BinlogSettings {
  return (
    fleet.binlog ?? {
      dir: DEFAULT_BINLOG_DIR,
      keepDays: defaultBinlogKeepDays(fleet.policy.minRetentionDays),
      maxFileMB: DEFAULT_BINLOG_MAX_FILE_MB,
      maxLagSeconds: DEFAULT_BINLOG_MAX_LAG_SECONDS,
    }
  );
}

/**
 * The hosting server's binlog, when this program configures it; undefined when the fleet turned it
 * off for the server (binlog.enabled: false, e.g. a shared MariaDB it does not own) or the Server
 * comes from a fleet parsed before binlogs existed (nothing was ever configured there).
 */
export function binlogOf(server: Pick<Server, "role" | "binlog">): ServerBinlog | undefined {
  if (server.role !== "hosting" || !server.binlog || !server.binlog.enabled) return undefined;
  return server.binlog;
}

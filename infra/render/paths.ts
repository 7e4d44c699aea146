// Where the dolibarr-backup jobs live on the servers. One place, so the renderers, the
// Pulumi program, the tests and docs/server-jobs.md agree.
import { BACKUP_USER_PREFIX } from "../model/defaults";
import { drillSettingsOf } from "../model/drills";
import { DEFAULT_TEXTFILE_DIR } from "../model/notifications";
import type { Fleet } from "../model/types";
import { drillStatusFile } from "../drills/record";

export const PATHS = {
  /** The jobs' executables. */
  sbin: "/usr/local/sbin",
  /** Shared shell helpers sourced by the jobs. */
  lib: "/usr/local/lib/dolibarr-backup",
  /** Config root: instances/<instance>.env, ssh/. */
  confDir: "/etc/dolibarr-backup",
  instancesDir: "/etc/dolibarr-backup/instances",
  /** Backup servers: id_ed25519 (their own key) and known_hosts (pinned hosting server keys). */
  sshDir: "/etc/dolibarr-backup/ssh",
  stateDir: "/var/lib/dolibarr-backup",
  /** Backup servers: the restore drills' default work root (dolibarr-drill --work-root). */
  drillDir: "/var/lib/dolibarr-backup/drill",
  /** <instance>.dump.json (hosting) and <instance>.replicate.json (backup). */
  statusDir: "/var/lib/dolibarr-backup/status",
  /** Notification spool (spool/, tmp/, reported/) of dolibarr-notify. */
  notifyDir: "/var/lib/dolibarr-backup/notify",
  /** <instance>.<job>.log: the log lines of each job's last run. */
  logDir: "/var/lib/dolibarr-backup/log",
  /** Hosting servers: export/<backupServer>/<instance>/{code,documents,dumps}, read-only bind mounts. */
  exportRoot: "/var/lib/dolibarr-backup/export",
  /** Hosting servers: homes of the dbk-<backupServer> users (root-owned; .ssh/authorized_keys). */
  usersHome: "/var/lib/dolibarr-backup/users",
  unitDir: "/etc/systemd/system",
  rrsync: "/usr/bin/rrsync",
} as const;

/** Where the server's jobs write their node_exporter textfile metrics. */
export function metricsDir(fleet: Pick<Fleet, "metrics">): string {
  return fleet.metrics?.textfileDir ?? DEFAULT_TEXTFILE_DIR;
}

/**
 * Backup servers: the directories that hold client data and must sit on an encrypted volume
 * (fleet key encryptionAtRest): the mirror root (mirrors, snapshots, binlogs) and, with drills
 * on, the drills' work root. Read by the deploy's check and by npm run status.
 */
export function atRestDirs(fleet: Pick<Fleet, "mirrorRoot" | "drills">): string[] {
  return [fleet.mirrorRoot, ...(drillSettingsOf(fleet).enabled ? [PATHS.drillDir] : [])];
}

/** Prefix of the Unix user a backup server logs in as on a hosting server (the model checks the names' length). */
export { BACKUP_USER_PREFIX };

export const SCRIPT = {
  common: `${PATHS.lib}/common.sh`,
  dump: `${PATHS.sbin}/dolibarr-dump`,
  export: `${PATHS.sbin}/dolibarr-export`,
  replicate: `${PATHS.sbin}/dolibarr-replicate`,
  restore: `${PATHS.sbin}/dolibarr-restore`,
  drill: `${PATHS.sbin}/dolibarr-drill`,
  notify: `${PATHS.sbin}/dolibarr-notify`,
  binlogSetup: `${PATHS.sbin}/dolibarr-binlog-setup`,
  binlogReplay: `${PATHS.sbin}/dolibarr-binlog-replay`,
  binlogPull: `${PATHS.sbin}/dolibarr-binlog-pull`,
} as const;

/**
 * Hosting servers: the name of the binlog directory's read-only export in each backup server's
 * rrsync root (EXPORT_ROOT/<backup>/.binlog). It starts with a dot: no instance can have that name
 * (instance names start with a letter or a digit, model/schema.ts).
 */
export const BINLOG_EXPORT_NAME = ".binlog";

/** Backup servers: the pull config of one hosting server's binlogs (fleet stack). */
export function binlogPullEnvPath(hostingServer: string): string {
  return `${PATHS.confDir}/binlog/${hostingServer}.env`;
}

/**
 * Backup servers: where one hosting server's binlogs are kept (binlog.NNNNNN, binlog.index,
 * SHA256SUMS): the contract path dolibarr-restore --at reads (BINLOG_DIR of the instance env).
 */
export function binlogMirrorDir(mirrorRoot: string, hostingServer: string): string {
  return `${mirrorRoot}/.binlogs/${hostingServer}`;
}

/** Backup servers: the chain check's status of one hosting server's binlogs. */
export function binlogStatusPath(hostingServer: string): string {
  return `${PATHS.statusDir}/binlog-${hostingServer}.json`;
}

/** Hosting servers: the MariaDB drop-in with the binlog settings (infra/render/binlog.ts). */
export const mariadbBinlogDropInPath = "/etc/mysql/mariadb.conf.d/60-dolibarr-backup-binlog.cnf";
/** Hosting servers: the drop-in as rendered, from which dolibarr-binlog-setup installs and applies it. */
export const mariadbBinlogRenderedPath = `${PATHS.confDir}/mariadb-binlog.cnf`;

/** The server's identity, metrics directory and non-secret notifier settings (0644), read by every job. */
export const serverEnvPath = `${PATHS.confDir}/server.env`;
/** The notifiers' URLs (0600, secret), read by dolibarr-notify only. */
export const notifySecretsPath = `${PATHS.confDir}/notify.secrets`;
/** Watched by dolibarr-notify.path: events waiting for delivery. */
export const notifySpoolDir = `${PATHS.notifyDir}/spool`;

export const sshKeyPath = `${PATHS.sshDir}/id_ed25519`;
export const knownHostsPath = `${PATHS.sshDir}/known_hosts`;

export function instanceEnvPath(instance: string): string {
  return `${PATHS.instancesDir}/${instance}.env`;
}

/** Optional MariaDB client option file of an instance (0600); without it the dump uses root over the unix socket. */
export function mysqlOptionFilePath(instance: string): string {
  return `${PATHS.instancesDir}/${instance}.my.cnf`;
}

export function backupUser(backupServer: string): string {
  return `${BACKUP_USER_PREFIX}${backupServer}`;
}

export function backupUserHome(backupServer: string): string {
  return `${PATHS.usersHome}/${backupUser(backupServer)}`;
}

/** The rrsync root of one backup server's user on a hosting server. */
export function exportDir(backupServer: string): string {
  return `${PATHS.exportRoot}/${backupServer}`;
}

export function dumpStatusPath(instance: string): string {
  return `${PATHS.statusDir}/${instance}.dump.json`;
}

export function replicateStatusPath(instance: string): string {
  return `${PATHS.statusDir}/${instance}.replicate.json`;
}

/** Backup servers: the last restore drill of an instance (dolibarr-drill). */
export function drillStatusPath(instance: string): string {
  return drillStatusFile(PATHS.stateDir, instance);
}

export function unitPath(unit: string): string {
  return `${PATHS.unitDir}/${unit}`;
}

/** The drop-in that gives one instance's timer its OnCalendar= lines. */
export function timerDropInPath(template: "dolibarr-dump" | "dolibarr-replicate" | "dolibarr-drill", instance: string): string {
  return `${PATHS.unitDir}/${template}@${instance}.timer.d/schedule.conf`;
}

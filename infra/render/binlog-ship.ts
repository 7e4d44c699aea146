// Binlog shipping (issue 20, points 2 and 3): what the hosting servers and the backup servers get so
// that each backup server pulls every minute the binlogs of every hosting server it serves, and
// checks the chain. Pure.
//
// Who owns what:
//   fleet stack  – hosting server: the heartbeat timer (a write every 30 s, dolibarr-binlog-setup
//                  heartbeat); backup server: dolibarr-binlog-pull, its template units, and one pull
//                  config per hosting server with binlogs on (<conf>/binlog/<hosting>.env). The fleet
//                  knows no instance, so it enables no pull timer.
//   client stack – hosting server: BINLOG_SOURCE_DIR in the instance env, so dolibarr-export also
//                  exports the binlog directory on EXPORT_ROOT/<backup>/.binlog (shared, removed with
//                  the last instance exported to that backup server); backup server: BINLOG_DIR in the
//                  instance env and the line that enables dolibarr-binlog-pull@<hosting>.timer while
//                  any instance env of this backup server names that binlog dir, and disables it when
//                  the last one leaves (binlogPullTimerLine, run by create and delete alike).
import { binlogOf, binlogPullSecond, binlogSettingsOf } from "../model/binlog";
import { isLost } from "../model/defaults";
import { atRestOf } from "../model/at-rest";
import { rsyncSettingsOf } from "../model/rsync";
import { hostForRemotePath, isSshHost } from "../model/address";
import type { Fleet, Server } from "../model/types";
import { type ServerFile, checkSafePath, renderEnvFile, shq } from "./files";
import { BINLOG_EXPORT_NAME, PATHS, backupUser, binlogMirrorDir, binlogPullEnvPath, knownHostsPath, sshKeyPath, unitPath } from "./paths";
import {
  BINLOG_HEARTBEAT_SERVICE,
  BINLOG_HEARTBEAT_TIMER,
  BINLOG_PULL_SERVICE,
  BINLOG_PULL_TIMER,
  binlogHeartbeatServiceUnit,
  binlogHeartbeatTimerUnit,
  binlogPullServiceUnit,
  binlogPullTimerUnit,
} from "./units";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function checkServerName(name: string): void {
  if (!NAME_RE.test(name) || name.includes("..")) throw new Error(`server name '${name}' cannot be used in unit names and paths (letters, digits, _ . -)`);
}

/** The hosting servers whose binlogs the backup servers pull: binlogs on, not lost. */
export function shippedHostingServers(fleet: Fleet): Server[] {
  return fleet.servers.filter((s) => s.role === "hosting" && !isLost(s) && binlogOf(s) !== undefined);
}

/** The pull config of one hosting server's binlogs on one backup server (fleet stack). */
export function renderBinlogPullEnv(fleet: Fleet, backup: Server, hosting: Server): string {
  if (backup.role !== "backup") throw new Error(`${backup.name} is not a backup server`);
  if (hosting.role !== "hosting" || !binlogOf(hosting)) throw new Error(`${hosting.name} is not a hosting server with binlogs on`);
  checkServerName(backup.name);
  checkServerName(hosting.name);
  checkSafePath("mirrorRoot", fleet.mirrorRoot);
  if (!isSshHost(hosting.ssh.host)) throw new Error(`hosting server ${hosting.name} ssh.host ${JSON.stringify(hosting.ssh.host)} cannot be written into a server's files: expected a host name or an IP address`);
  const s = binlogSettingsOf(fleet);
  return renderEnvFile(
    `Binlogs of hosting server ${hosting.name} pulled by backup server ${backup.name} (dolibarr-binlog-pull@${hosting.name}.timer).\nRendered by dolibarr-backup (fleet stack ${fleet.stack}); the timer is enabled by the client stacks while an instance of ${hosting.name} is mirrored here.`,
    {
      HOSTING_SERVER: hosting.name,
      BACKUP_SERVER: backup.name,
      SOURCE_HOST: hostForRemotePath(hosting.ssh.host),
      SOURCE_PORT: hosting.ssh.port,
      SOURCE_USER: backupUser(backup.name),
      // rrsync -ro EXPORT_ROOT/<backup>: the binlog directory's read-only bind mount in it.
      SOURCE_PATH: BINLOG_EXPORT_NAME,
      BINLOG_DIR: binlogMirrorDir(fleet.mirrorRoot, hosting.name),
      // Closed files kept at least this long (longer when an instance's retention is: the pull reads it).
      KEEP_DAYS: s.keepDays,
      MAX_LAG_SECONDS: s.maxLagSeconds,
      SSH_KEY: sshKeyPath,
      KNOWN_HOSTS: knownHostsPath,
      // The fleet's encryptionAtRest: required, the pull refuses to write outside an encrypted volume.
      AT_REST: atRestOf(fleet),
      // The fleet's minimum rsync: the pull refuses to run with an older one (model/rsync.ts).
      RSYNC_MIN_VERSION: rsyncSettingsOf(fleet).minVersion,
      RSYNC_MIN_PACKAGES: rsyncSettingsOf(fleet).minPackages.join(" "),
    },
  );
}

/** Fleet stack, backup server: the pull script's units and one pull config per shipped hosting server. */
export function binlogPullBaseFiles(fleet: Fleet, backup: Server): ServerFile[] {
  return [
    { path: unitPath(BINLOG_PULL_SERVICE), content: binlogPullServiceUnit(fleet), mode: "0644" },
    { path: unitPath(BINLOG_PULL_TIMER), content: binlogPullTimerUnit(binlogPullSecond(fleet, backup.name)), mode: "0644" },
    ...shippedHostingServers(fleet).map((h): ServerFile => ({ path: binlogPullEnvPath(h.name), content: renderBinlogPullEnv(fleet, backup, h), mode: "0644" })),
  ];
}

/** Fleet stack, hosting server with binlogs on: the heartbeat's units (none when binlogs are off). */
export function binlogHeartbeatFiles(server: Server): ServerFile[] {
  if (!binlogOf(server)) return [];
  return [
    { path: unitPath(BINLOG_HEARTBEAT_SERVICE), content: binlogHeartbeatServiceUnit(), mode: "0644" },
    { path: unitPath(BINLOG_HEARTBEAT_TIMER), content: binlogHeartbeatTimerUnit(), mode: "0644" },
  ];
}

/** The base bundle's create line of the heartbeat: on with the binlogs, off (if it was on) without. */
export function binlogHeartbeatCreateLine(server: Server): string | undefined {
  if (server.role !== "hosting") return undefined;
  return binlogOf(server) ? `systemctl enable --now ${BINLOG_HEARTBEAT_TIMER}` : `systemctl disable --now ${BINLOG_HEARTBEAT_TIMER} 2>/dev/null || true`;
}

export function binlogHeartbeatDeleteLine(server: Server): string | undefined {
  if (server.role !== "hosting") return undefined;
  return `systemctl disable --now ${BINLOG_HEARTBEAT_TIMER} 2>/dev/null || true`;
}

/** The pull timer of one hosting server on a backup server. */
export function binlogPullTimer(hostingServer: string): string {
  checkServerName(hostingServer);
  return `dolibarr-binlog-pull@${hostingServer}.timer`;
}

/**
 * Client stack, backup server (create AND delete of every instance's replication bundle): the pull
 * timer of the instance's hosting server runs while any instance env here names its binlog dir
 * (BINLOG_DIR='<mirrorRoot>/.binlogs/<hosting>'), and stops when none does any more: the last
 * instance of that hosting server left, or its binlogs were turned off. Idempotent; client stacks
 * sharing a hosting server never disable each other's pulls; the decisions of bundles applied at
 * once are serialized, so the last one sees the final set of envs. The pulled binlogs stay. No reload
 * of its own: the bundle's daemon-reload runs before it (one reload per bundle).
 */
export function binlogPullTimerLine(fleet: Fleet, hostingServer: string): string {
  const timer = binlogPullTimer(hostingServer);
  const marker = `BINLOG_DIR='${binlogMirrorDir(fleet.mirrorRoot, hostingServer)}'`;
  const decide = `if grep -qsxF ${shq(marker)} ${PATHS.instancesDir}/*.env; then systemctl enable --no-reload ${timer} && systemctl start ${timer}; else systemctl disable --no-reload --now ${timer} 2>/dev/null || true; fi`;
  // One decision at a time per server (a lock on the instances dir itself): the bundles of a client
  // stack are applied in parallel, and a `start` racing another bundle's `disable --now` of the same
  // timer was canceled by systemd ("Job ... canceled"), which failed that bundle.
  return `flock -w 300 ${PATHS.instancesDir} sh -c ${shq(decide)}`;
}

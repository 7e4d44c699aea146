// The systemd template units of the jobs, identical on every server of a role.
import { PATHS, SCRIPT, metricsDir, notifySpoolDir } from "./paths";
import type { Fleet } from "../model/types";
import { checkSafePath } from "./files";
import { BINLOG_HEARTBEAT_SECONDS, BINLOG_PULL_SECONDS } from "../model/binlog";

const CONFIG = `${PATHS.instancesDir}/%i.env`;

export const DUMP_SERVICE = "dolibarr-dump@.service";
export const DUMP_TIMER = "dolibarr-dump@.timer";
export const EXPORT_SERVICE = "dolibarr-export@.service";
export const REPLICATE_SERVICE = "dolibarr-replicate@.service";
export const REPLICATE_TIMER = "dolibarr-replicate@.timer";
export const DRILL_SERVICE = "dolibarr-drill@.service";
export const DRILL_TIMER = "dolibarr-drill@.timer";
export const BINLOG_PULL_SERVICE = "dolibarr-binlog-pull@.service";
export const BINLOG_PULL_TIMER = "dolibarr-binlog-pull@.timer";
export const BINLOG_HEARTBEAT_SERVICE = "dolibarr-binlog-heartbeat.service";
export const BINLOG_HEARTBEAT_TIMER = "dolibarr-binlog-heartbeat.timer";
export { BINLOG_HEARTBEAT_SECONDS, BINLOG_PULL_SECONDS };
export const NOTIFY_FAILED_SERVICE = "dolibarr-notify@.service";
export const NOTIFY_SERVICE = "dolibarr-notify.service";
export const NOTIFY_PATH = "dolibarr-notify.path";
export const NOTIFY_SWEEP_SERVICE = "dolibarr-notify-sweep.service";
export const NOTIFY_SWEEP_TIMER = "dolibarr-notify-sweep.timer";
/** The notifier's units whose state `npm run status` reads on every server (infra/status/collect.ts). */
export const NOTIFY_WATCHED_UNITS = [NOTIFY_PATH, NOTIFY_SERVICE, NOTIFY_SWEEP_TIMER, NOTIFY_SWEEP_SERVICE] as const;
/** Seconds the deliverer waits for a quiet spool before it exits: a burst of jobs finishing together is one run. */
export const NOTIFY_LINGER_SECONDS = 3;
/** Minutes between two safety-net sweeps of the spool (dolibarr-notify-sweep.timer). */
export const NOTIFY_SWEEP_MINUTES = 5;

/**
 * The delete line of a bundle that removes template units (`name@.timer`, given as file names): every
 * instance of them still loaded is stopped and disabled first, timers before services. A client
 * stack destroyed after its fleet, or never (its state lost), would otherwise leave enabled timers
 * whose service is gone: a failed unit at every tick, and a server systemd calls degraded.
 */
export function templateInstancesStopLine(unitFileNames: readonly string[]): string | undefined {
  const patterns = unitFileNames
    .filter((n) => /^[a-z0-9-]+@\.(timer|path|service)$/.test(n))
    .sort((a, b) => Number(b.endsWith(".timer")) - Number(a.endsWith(".timer")))
    .map((n) => `'${n.replace("@.", "@*.")}'`);
  if (patterns.length === 0) return undefined;
  return `for u in $(systemctl list-units --all --plain --no-legend ${patterns.join(" ")} 2>/dev/null | awk '{print $1}'); do systemctl disable --no-reload --now "$u" 2>/dev/null || true; systemctl reset-failed "$u" 2>/dev/null || true; done`;
}

/** Every job unit alerts when it fails, whatever the reason (killed, timed out, crashed). */
const ON_FAILURE = "OnFailure=dolibarr-notify@%n.service";

export function dumpServiceUnit(): string {
  return `[Unit]
Description=Dolibarr database dump of instance %i
Documentation=man:mariadb-dump(1)
After=mariadb.service mysql.service local-fs.target
ConditionPathExists=${CONFIG}
${ON_FAILURE}

[Service]
Type=oneshot
ExecStart=${SCRIPT.dump} %i
# Re-grant the backup servers' read ACLs (files moved in without inheriting them). Its failure
# fails the unit (OnFailure= alerts); the dump itself is already done and reported.
ExecStartPost=${SCRIPT.export} refresh %i
# 75: skipped because the previous dump of the instance still runs (logged).
SuccessExitStatus=75
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7
TimeoutStartSec=6h
# Scratch files of a killed run go with the service's private /tmp.
PrivateTmp=yes
`;
}

export function dumpTimerUnit(): string {
  return `[Unit]
Description=Dolibarr database dumps of instance %i (times in dolibarr-dump@%i.timer.d/schedule.conf)

[Timer]
Persistent=true
AccuracySec=1min

[Install]
WantedBy=timers.target
`;
}

export function exportServiceUnit(): string {
  return `[Unit]
Description=Read-only export of Dolibarr instance %i to its backup servers (bind mounts, ACLs)
After=local-fs.target remote-fs.target
ConditionPathExists=${CONFIG}
${ON_FAILURE}

[Service]
# No PrivateTmp= or other namespacing here: the bind mounts must land in the host's mount
# namespace, where sshd (and rrsync) see them.
Type=oneshot
RemainAfterExit=yes
ExecStart=${SCRIPT.export} apply %i
ExecReload=${SCRIPT.export} apply %i
ExecStop=${SCRIPT.export} unmount %i

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The sandbox of the jobs that receive from a hosting server (replication, binlog pull): a hosting
 * server may be compromised, and an rsync receiver running as root is what it talks to (the class
 * of CVE-2024-12086/12087: a sender that makes the receiver write or read outside its destination).
 * Writable: the mirror root (one mount, so that snapshots can hard-link the binlogs of
 * <mirrorRoot>/.binlogs: link() across two bind mounts fails with EXDEV, and a mount per instance
 * would make every snapshot's binlogs silently missing), the tool's state (status, logs, the
 * notification spool), the metrics directory and the locks; everything else read-only, /home and
 * /root hidden, no devices, no kernel knobs, no new privileges, only IP and Unix sockets. The
 * capabilities are those rsync -aHAX --numeric-ids needs to make an identical mirror (owners,
 * modes, times, ACLs, setgid directories; not CAP_MKNOD: a device node is not mirrored, not
 * CAP_SETFCAP: a file capability planted on the hosting server fails the pull loudly).
 * Not RestrictSUIDSGID=: it would refuse the setgid directories of a real instance's tree.
 */
export function receiverSandbox(fleet: Pick<Fleet, "mirrorRoot" | "metrics">): string {
  checkSafePath("mirrorRoot", fleet.mirrorRoot);
  checkSafePath("metrics.textfileDir", metricsDir(fleet));
  return `ProtectSystem=strict
ReadWritePaths=${fleet.mirrorRoot} ${PATHS.stateDir} -${metricsDir(fleet)} /run/lock
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
NoNewPrivileges=yes
RestrictNamespaces=yes
RestrictRealtime=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
CapabilityBoundingSet=${RECEIVER_CAPABILITIES.join(" ")}
UMask=0077`;
}

/** See receiverSandbox. */
export const RECEIVER_CAPABILITIES = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID"] as const;

export function replicateServiceUnit(fleet: Pick<Fleet, "mirrorRoot" | "metrics">): string {
  return `[Unit]
Description=Dolibarr mirror replication of instance %i
Wants=network-online.target
After=network-online.target local-fs.target
ConditionPathExists=${CONFIG}
${ON_FAILURE}

[Service]
Type=oneshot
ExecStart=${SCRIPT.replicate} %i
# 75: skipped because the previous replication of the instance still runs (logged).
SuccessExitStatus=75
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7
TimeoutStartSec=12h
${receiverSandbox(fleet)}
`;
}

export function replicateTimerUnit(): string {
  return `[Unit]
Description=Dolibarr mirror replications of instance %i (times in dolibarr-replicate@%i.timer.d/schedule.conf)

[Timer]
Persistent=true
AccuracySec=1min

[Install]
WantedBy=timers.target
`;
}

/**
 * The weekly restore drill of instance %i on this backup server (dolibarr-drill). Not sandboxed:
 * it starts its own MariaDB, PHP-FPM and nginx as transient units (each at a low CPU and I/O
 * weight, PHP and MariaDB without network). At a lower weight than the backups themselves.
 */
export function drillServiceUnit(): string {
  return `[Unit]
Description=Dolibarr restore drill of instance %i (restored, served, checked, timed; then removed)
After=network-online.target local-fs.target
ConditionPathExists=${CONFIG}
${ON_FAILURE}

[Service]
Type=oneshot
ExecStart=${SCRIPT.drill} %i
Nice=15
CPUWeight=20
IOWeight=20
IOSchedulingClass=idle
TimeoutStartSec=6h
`;
}

export function drillTimerUnit(): string {
  return `[Unit]
Description=Dolibarr restore drill of instance %i, weekly (day and time in dolibarr-drill@%i.timer.d/schedule.conf)

[Timer]
Persistent=true
AccuracySec=1min

[Install]
WantedBy=timers.target
`;
}

/** The pull of one hosting server's binlogs (%i) by this backup server, then its chain check. */
export function binlogPullServiceUnit(fleet: Pick<Fleet, "mirrorRoot" | "metrics">): string {
  return `[Unit]
Description=Dolibarr binlog pull of hosting server %i and its chain check
Wants=network-online.target
After=network-online.target local-fs.target
ConditionPathExists=${PATHS.confDir}/binlog/%i.env
${ON_FAILURE}

[Service]
Type=oneshot
ExecStart=${SCRIPT.binlogPull} %i
# 75: skipped because the previous pull of that hosting server still runs (a long first copy).
SuccessExitStatus=75
Nice=5
IOSchedulingClass=best-effort
IOSchedulingPriority=4
TimeoutStartSec=1h
${receiverSandbox(fleet)}
`;
}

/**
 * Every BINLOG_PULL_SECONDS, at `second` of the minute (binlogPullSecond: the backup servers of a
 * fleet pull at different seconds; a wall-clock calendar keeps them apart, where timers counted from
 * their start would run in step after one deploy), to the second (AccuracySec=1s: systemd's
 * default of a minute would make the lag up to twice as long). A pull still running at the next
 * second skips it. Enabled per hosting server by the client stacks' replication bundles while an
 * instance of that hosting server is mirrored here. The calendar fires once a minute, which is
 * BINLOG_PULL_SECONDS.
 */
export function binlogPullTimerUnit(second: number): string {
  if (!Number.isInteger(second) || second < 0 || second >= BINLOG_PULL_SECONDS) throw new Error(`binlog pull timer: second ${second} is not within 0..${BINLOG_PULL_SECONDS - 1}`);
  return `[Unit]
Description=Dolibarr binlog pulls of hosting server %i, every ${BINLOG_PULL_SECONDS} s (at the second of OnCalendar)

[Timer]
OnCalendar=*-*-* *:*:${String(second).padStart(2, "0")}
AccuracySec=1s

[Install]
WantedBy=timers.target
`;
}

/** A small write every BINLOG_HEARTBEAT_SECONDS on a hosting server: its binlogs' lag stays measurable when idle. */
export function binlogHeartbeatServiceUnit(): string {
  return `[Unit]
Description=Dolibarr binlog heartbeat (one row written with the time, for the backup servers' lag)
After=mariadb.service mysql.service

[Service]
Type=oneshot
ExecStart=${SCRIPT.binlogSetup} heartbeat
TimeoutStartSec=25s
PrivateTmp=yes
`;
}

export function binlogHeartbeatTimerUnit(): string {
  return `[Unit]
Description=Dolibarr binlog heartbeat, every ${BINLOG_HEARTBEAT_SECONDS} s

[Timer]
OnActiveSec=${BINLOG_HEARTBEAT_SECONDS}s
OnUnitActiveSec=${BINLOG_HEARTBEAT_SECONDS}s
AccuracySec=1s

[Install]
WantedBy=timers.target
`;
}

/** OnFailure= of the job units: alerts that the unit %i failed, unless the job already reported the run. */
export function notifyFailedServiceUnit(): string {
  return `[Unit]
Description=Alert: %i failed (dolibarr-backup notifier)

[Service]
Type=oneshot
ExecStart=${SCRIPT.notify} unit-failed %i
TimeoutStartSec=10min
PrivateTmp=yes
`;
}

/**
 * Delivers the spooled notifications (pings, e-mail, webhook), outside the jobs' units. Started by
 * dolibarr-notify.path, as often as jobs finish: no start limit (systemd's default, 5 starts in
 * 10 s, is met whenever a few jobs end within seconds, and a start-limited service fails its path
 * unit for good: no alert until the next deploy). Each run delivers until the spool has been
 * empty for NOTIFY_LINGER_SECONDS, so a burst is one run and the path unit re-triggers rarely.
 */
export function notifyServiceUnit(): string {
  return `[Unit]
Description=Delivery of the dolibarr-backup notifications (pings, e-mail, webhook)
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0

[Service]
Type=oneshot
ExecStart=${SCRIPT.notify} deliver --linger ${NOTIFY_LINGER_SECONDS}
TimeoutStartSec=30min
PrivateTmp=yes
`;
}

/**
 * Starts dolibarr-notify.service whenever the spool holds an event (and again while it does). The
 * trigger limit stays systemd's (200 in 2 s, stated here): a delivery run lasts at least its linger
 * time, so only a deliverer that dies at once could reach it (then the sweep re-arms the watcher
 * and `npm run status` reports it).
 */
export function notifyPathUnit(): string {
  return `[Unit]
Description=Notifications of the dolibarr-backup jobs waiting in ${notifySpoolDir}
StartLimitIntervalSec=0

[Path]
DirectoryNotEmpty=${notifySpoolDir}
MakeDirectory=yes
DirectoryMode=0700
TriggerLimitIntervalSec=2s
TriggerLimitBurst=200

[Install]
WantedBy=paths.target
`;
}

/** The safety net: re-arms a spool watcher that is not active and delivers what the spool holds. */
export function notifySweepServiceUnit(): string {
  return `[Unit]
Description=Safety net of the dolibarr-backup notifier: re-arms ${NOTIFY_PATH}, drains ${notifySpoolDir}
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0

[Service]
Type=oneshot
ExecStart=${SCRIPT.notify} sweep
TimeoutStartSec=30min
PrivateTmp=yes
`;
}

/** A minute after it starts (boot, deploy), then NOTIFY_SWEEP_MINUTES minutes after each sweep. */
export function notifySweepTimerUnit(): string {
  return `[Unit]
Description=Safety net of the dolibarr-backup notifier, every ${NOTIFY_SWEEP_MINUTES} min

[Timer]
OnActiveSec=1min
OnUnitActiveSec=${NOTIFY_SWEEP_MINUTES}min
AccuracySec=30s

[Install]
WantedBy=timers.target
`;
}

/** The drop-in that sets one instance timer's times. */
export function timerDropIn(comment: string, onCalendarLines: string): string {
  return `# ${comment}\n[Timer]\n${onCalendarLines}`;
}

// The systemd template units of the jobs, identical on every server of a role.
import { PATHS, SCRIPT, notifySpoolDir } from "./paths";

const CONFIG = `${PATHS.instancesDir}/%i.env`;

export const DUMP_SERVICE = "dolibarr-dump@.service";
export const DUMP_TIMER = "dolibarr-dump@.timer";
export const EXPORT_SERVICE = "dolibarr-export@.service";
export const REPLICATE_SERVICE = "dolibarr-replicate@.service";
export const REPLICATE_TIMER = "dolibarr-replicate@.timer";
export const NOTIFY_FAILED_SERVICE = "dolibarr-notify@.service";
export const NOTIFY_SERVICE = "dolibarr-notify.service";
export const NOTIFY_PATH = "dolibarr-notify.path";

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

export function replicateServiceUnit(): string {
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
PrivateTmp=yes
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

/** Delivers the spooled notifications (pings, e-mail, webhook), outside the jobs' units. */
export function notifyServiceUnit(): string {
  return `[Unit]
Description=Delivery of the dolibarr-backup notifications (pings, e-mail, webhook)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=${SCRIPT.notify} deliver
TimeoutStartSec=30min
PrivateTmp=yes
`;
}

/** Starts dolibarr-notify.service whenever the spool holds an event (and again while it does). */
export function notifyPathUnit(): string {
  return `[Unit]
Description=Notifications of the dolibarr-backup jobs waiting in ${notifySpoolDir}

[Path]
DirectoryNotEmpty=${notifySpoolDir}
MakeDirectory=yes
DirectoryMode=0700

[Install]
WantedBy=paths.target
`;
}

/** The drop-in that sets one instance timer's times. */
export function timerDropIn(comment: string, onCalendarLines: string): string {
  return `# ${comment}\n[Timer]\n${onCalendarLines}`;
}

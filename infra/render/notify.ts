// Pure renderers of the alert and metrics side of the jobs, part of every server's base
// installation (renderServerBase): the notifier script and units, the server's identity file
// read by every job (server.env) and the notifiers' secrets (notify.secrets, 0600).
// See docs/server-jobs.md "Alerts and metrics".
import { DEFAULT_NOTIFY_LOG_LINES, DEFAULT_NOTIFY_TIMEOUT_SECONDS } from "../model/notifications";
import type { Fleet, Server } from "../model/types";
import { type ServerFile, checkSafePath, renderEnvFile, shq } from "./files";
import { PATHS, SCRIPT, metricsDir, notifySecretsPath, serverEnvPath, unitPath } from "./paths";
import { readServerScript } from "./repo";
import {
  NOTIFY_FAILED_SERVICE,
  NOTIFY_PATH,
  NOTIFY_SERVICE,
  NOTIFY_SWEEP_SERVICE,
  NOTIFY_SWEEP_TIMER,
  notifyFailedServiceUnit,
  notifyPathUnit,
  notifyServiceUnit,
  notifySweepServiceUnit,
  notifySweepTimerUnit,
} from "./units";


/** /etc/dolibarr-backup/server.env: who this server is, where metrics go, the notifiers' non-secret settings. */
export function renderServerEnv(fleet: Fleet, server: Server): string {
  const n = fleet.notifications;
  checkSafePath("metrics.textfileDir", metricsDir(fleet));
  if (n?.email?.sendmail !== undefined) checkSafePath("notifications.email.sendmail", n.email.sendmail);
  const enabled = Boolean(n && (n.healthchecks || n.email || n.webhook));
  return renderEnvFile(
    `Server ${server.name} (${server.role}) of fleet ${fleet.stack}: identity, metrics and notifier settings.\nRendered by dolibarr-backup (fleet stack): read by every job. The notifiers' URLs are in ${notifySecretsPath}.`,
    {
      SERVER_NAME: server.name,
      SERVER_ROLE: server.role,
      FLEET_STACK: fleet.stack,
      METRICS_DIR: metricsDir(fleet),
      NOTIFY_ENABLED: enabled ? 1 : 0,
      NOTIFY_TIMEOUT_SECONDS: n?.timeoutSeconds ?? DEFAULT_NOTIFY_TIMEOUT_SECONDS,
      NOTIFY_LOG_LINES: n?.logLines ?? DEFAULT_NOTIFY_LOG_LINES,
      NOTIFY_MAIL_TO: n?.email?.to.join(" ") ?? "",
      NOTIFY_MAIL_FROM: n?.email?.from ?? "",
      NOTIFY_SENDMAIL: n?.email?.sendmail ?? "",
      NOTIFY_MAIL_EVENTS: n?.email?.events ?? "failures",
      NOTIFY_WEBHOOK_EVENTS: n?.webhook?.events ?? "failures",
    },
  );
}

/** /etc/dolibarr-backup/notify.secrets (0600): the ping and webhook URLs; empty values when not configured. */
export function renderNotifySecrets(fleet: Fleet): string {
  const n = fleet.notifications;
  const missing = (what: string) =>
    new Error(`fleet ${fleet.stack}: notifications.${what} is encrypted; render from the engine's decrypted config`);
  if (n?.healthchecks && n.healthchecks.pingUrl === undefined) throw missing("healthchecks.pingUrl");
  if (n?.webhook && n.webhook.url === undefined) throw missing("webhook.url");
  return renderEnvFile(
    `Notifier URLs of fleet ${fleet.stack} (secret; rendered by dolibarr-backup, fleet stack). Read by dolibarr-notify only.`,
    {
      NOTIFY_PING_URL: n?.healthchecks?.pingUrl ?? "",
      NOTIFY_WEBHOOK_URL: n?.webhook?.url ?? "",
    },
  );
}

/** The notifier's files of a server's base installation. */
export function notifyBaseFiles(fleet: Fleet, server: Server): ServerFile[] {
  return [
    { path: SCRIPT.notify, content: readServerScript("dolibarr-notify"), mode: "0755" },
    { path: unitPath(NOTIFY_FAILED_SERVICE), content: notifyFailedServiceUnit(), mode: "0644" },
    { path: unitPath(NOTIFY_SERVICE), content: notifyServiceUnit(), mode: "0644" },
    { path: unitPath(NOTIFY_PATH), content: notifyPathUnit(), mode: "0644" },
    { path: unitPath(NOTIFY_SWEEP_SERVICE), content: notifySweepServiceUnit(), mode: "0644" },
    { path: unitPath(NOTIFY_SWEEP_TIMER), content: notifySweepTimerUnit(), mode: "0644" },
    { path: serverEnvPath, content: renderServerEnv(fleet, server), mode: "0644" },
    { path: notifySecretsPath, content: renderNotifySecrets(fleet), mode: "0600", secret: true },
  ];
}

/**
 * create lines, after daemon-reload: the state dirs, the spool watcher and its safety-net timer
 * (a watcher or delivery left failed by an older version is cleared first: restarted clean).
 */
export function notifyCreateLines(fleet: Fleet): string[] {
  return [
    `install -d -m 0700 ${PATHS.notifyDir} ${PATHS.logDir}`,
    `install -d -m 0755 ${shq(metricsDir(fleet))}`,
    `systemctl reset-failed ${NOTIFY_PATH} ${NOTIFY_SERVICE} ${NOTIFY_SWEEP_SERVICE} ${NOTIFY_SWEEP_TIMER} 2>/dev/null || true`,
    `systemctl enable ${NOTIFY_PATH} ${NOTIFY_SWEEP_TIMER}`,
    `systemctl restart ${NOTIFY_PATH} ${NOTIFY_SWEEP_TIMER}`,
  ];
}

/** delete lines, before the files go: the watcher and its timer stop (the logs, metrics and spool stay). */
export function notifyDeleteLines(): string[] {
  return [
    `systemctl disable --now ${NOTIFY_SWEEP_TIMER} ${NOTIFY_PATH} 2>/dev/null || true`,
    `systemctl stop ${NOTIFY_SWEEP_SERVICE} 2>/dev/null || true`,
    // A sweep caught running is killed (SIGTERM: 'signal', a failed oneshot): not a failure of the server.
    `systemctl reset-failed ${NOTIFY_SWEEP_SERVICE} ${NOTIFY_SERVICE} 2>/dev/null || true`,
  ];
}

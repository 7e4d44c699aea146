// The fleet's notifiers (config key dolibarr-backup:notifications) and metrics directory
// (dolibarr-backup:metrics): every server of the fleet alerts on a failed dump, export refresh
// or replication, pings a dead-man's switch per instance and job, and writes node_exporter
// textfile metrics. See docs/server-jobs.md "Alerts and metrics".
//
// The ping and webhook URLs are secrets (they let anyone post to the switch or the webhook). A
// Notifications object is therefore never serialized: JSON.stringify leaves it out (the fleet
// stack exports the Fleet as plain JSON for its clients, which need no notifier) and
// util.inspect shows it redacted. Only the renderer reads it, into a 0600 file.
import { inspect } from "node:util";
import type { ConfigPath, ConfigSource, IssueCollector } from "./errors";
import type { FleetValues } from "./schema";

export type NotifyEvents = "failures" | "all";

export interface Notifications {
  /** healthchecks.io-style pings: <pingUrl>/<check>/start, <pingUrl>/<check>, <pingUrl>/<check>/fail. */
  healthchecks?: {
    /** Undefined when read from a stack file (encrypted there); the engine gives it decrypted. */
    pingUrl?: string;
  };
  /** Mails through the server's MTA (sendmail interface). */
  email?: { to: string[]; from?: string; sendmail: string; events: NotifyEvents };
  /** A JSON object POSTed for each event. */
  webhook?: { url?: string; events: NotifyEvents };
  /** Each notifier's timeout (connect and whole request), seconds. */
  timeoutSeconds: number;
  /** Lines of the job's log sent with a failure. */
  logLines: number;
}

export const DEFAULT_NOTIFY_TIMEOUT_SECONDS = 10;
export const DEFAULT_NOTIFY_LOG_LINES = 20;
export const DEFAULT_SENDMAIL = "/usr/sbin/sendmail";
/** Debian's prometheus-node-exporter reads *.prom files there (--collector.textfile.directory). */
export const DEFAULT_TEXTFILE_DIR = "/var/lib/prometheus/node-exporter";

/** http(s) URL without whitespace, quotes or backslashes (it goes into a sourced file and a curl config). */
const URL_RE = /^https?:\/\/[^\s"'\\`$]+$/;

/** Marks a Notifications object as never serialized (see the file's header). */
export function hideSecrets<T extends object>(value: T): T {
  Object.defineProperty(value, "toJSON", { value: () => undefined, enumerable: false });
  Object.defineProperty(value, inspect.custom, { value: () => "[notifications: secret]", enumerable: false });
  return value;
}

/** The fleet's notifiers from its validated config values; bad URLs are added to `issues`. */
export function notificationsFromValues(
  v: FleetValues["notifications"],
  source: ConfigSource,
  issues: IssueCollector,
): Notifications | undefined {
  if (!v) return undefined;
  const url = (value: string | { secure: string }, path: ConfigPath): string | undefined => {
    if (typeof value !== "string") return undefined; // encrypted in a stack file
    if (!URL_RE.test(value)) {
      // Never quote the value: it is a secret.
      issues.add(source, path, "expected an http:// or https:// URL without spaces or quotes (value not shown: it is a secret)");
      return undefined;
    }
    return value;
  };
  const n: Notifications = {
    timeoutSeconds: v.timeoutSeconds ?? DEFAULT_NOTIFY_TIMEOUT_SECONDS,
    logLines: v.logLines ?? DEFAULT_NOTIFY_LOG_LINES,
  };
  if (v.healthchecks) {
    const pingUrl = url(v.healthchecks.pingUrl, ["notifications", "healthchecks", "pingUrl"]);
    n.healthchecks = pingUrl !== undefined ? { pingUrl } : {};
  }
  if (v.email) {
    n.email = {
      to: [...v.email.to],
      ...(v.email.from ? { from: v.email.from } : {}),
      sendmail: v.email.sendmail ?? DEFAULT_SENDMAIL,
      events: v.email.events ?? "failures",
    };
  }
  if (v.webhook) {
    const u = url(v.webhook.url, ["notifications", "webhook", "url"]);
    n.webhook = { ...(u !== undefined ? { url: u } : {}), events: v.webhook.events ?? "failures" };
  }
  return hideSecrets(n);
}

/** Paths of the notifier secrets, for the stack-file check that they are encrypted. */
export const NOTIFICATION_SECRET_PATHS: readonly ConfigPath[] = [
  ["notifications", "healthchecks", "pingUrl"],
  ["notifications", "webhook", "url"],
];

// zod schemas of the config values (keys without the "dolibarr-backup:" namespace), and the
// translation of zod issues into ConfigIssues an ops engineer can act on.
// Only the shape is checked here; references between values (sites, servers) are checked in parse.ts.
import { z } from "zod";
import { isSshHost, sourceAddressProblem } from "./address";
import { SERVER_ID_MAX } from "./binlog";
import { DUMP_VERIFICATIONS, LIMITS } from "./defaults";
import { AT_REST_MODES } from "./at-rest";
import { PACKAGE_VERSION_RE, UPSTREAM_VERSION_RE } from "./rsync";
import { DRILL_LIMITS } from "./drills";
import { IssueCollector, type ConfigSource } from "./errors";
import { hostKeyProblem, missingHostKeyMessage } from "./host-key";
import { pathLengthProblem } from "./paths";
import { SAFE_DATABASE_RE, SAFE_PATH_HINT, SAFE_PATH_RE, databaseNameProblem } from "./safe";
import { isTimeOfDay, isTimeZone } from "./time";

/** Server, client and instance names: used in unit names, Unix paths and mirror paths. */
export const NAME_RE = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NAME_HINT = "expected a name of 1 to 63 lowercase letters, digits and '-', starting with a letter and not ending with '-' (e.g. acme-erp)";
/** Pulumi stack names as used in this project. */
export const STACK_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** MariaDB/MySQL database name (unquoted identifier); the renderers apply the same rule (safe.ts). */
const DB_RE = SAFE_DATABASE_RE;
/** Absolute Unix path made of safe characters (safe.ts: the renderers refuse any other). */
const PATH_RE = SAFE_PATH_RE;
const PATH_HINT = SAFE_PATH_HINT;
/**
 * OVH service names, as the API and the control panel show them: a dedicated server's is its
 * reverse host name (ns3012345.ip-203-0-113.eu, ks123456.kimsufi.com, sd-12345.dedibox.fr is not OVH);
 * a VPS's is vps-<8 hex>.vps.ovh.<net|ca|us> (or the older vps<digits>.ovh.<net|ca>).
 */
const OVH_DEDICATED_RE = /^(?=.{4,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,63}$/;
const OVH_VPS_RE = /^(?:vps-[0-9a-f]{8}\.vps\.ovh\.(?:net|ca|us)|vps\d{3,9}\.ovh\.(?:net|ca))$/;
/** OVH API application keys: letters and digits (16 in keys issued today). */
const OVH_APP_KEY_RE = /^[A-Za-z0-9]{8,64}$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Pulumi passphrase/KMS ciphertext as written in stack files. */
export const SECURE_RE = /^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$|^[A-Za-z0-9+/=:_-]{16,}$/;

const name = () => z.string().regex(NAME_RE, NAME_HINT);
const absPath = () =>
  z
    .string()
    .regex(PATH_RE, PATH_HINT)
    .superRefine((value, ctx) => {
      const problem = pathLengthProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });
const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** An allowed root: an absolute path as absPath, where <client> may stand for the client's name (model/paths.ts). */
const ROOT_RE = /^(?:\/(?!\.\.?(?:\/|$))(?:[A-Za-z0-9._@+-]|<client>)+)+$/;
const rootPath = () =>
  z
    .string()
    .regex(ROOT_RE, `${PATH_HINT}; <client> may stand for the client's name (e.g. /var/www/<client>)`)
    .superRefine((value, ctx) => {
      // as long as the longest client name (63) makes it
      const problem = pathLengthProblem(value.split("<client>").join("x".repeat(63)));
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

/** A secret: `{secure: <ciphertext>}` in a stack file, or the decrypted string from the engine. */
const secureValue = z.strictObject({
  secure: z.string().regex(SECURE_RE, "expected Pulumi ciphertext (written by `pulumi config set --secret`)"),
});
const secret = () =>
  z.union([z.string().min(1), secureValue], {
    error: "expected a Pulumi secret: {secure: v1:…} in the stack file (set it with `pulumi config set --secret`)",
  });

export const sshSchema = z.strictObject({
  host: z.string().refine(isSshHost, {
    error: "expected a host name (letters, digits, '-' and '.') or an IPv4/IPv6 address without zone (e.g. 203.0.113.10, 2001:db8::10)",
  }),
  port: int(1, 65535).optional(),
  user: z.string().regex(USER_RE, "expected a Unix user name (e.g. root)").optional(),
  // Mandatory (model/host-key.ts); checked below, where the host is known for the message.
  hostKey: z.string().optional(),
})
  .superRefine(
    (ssh, ctx) => {
      // Runs even when another key of ssh is wrong, so that a missing host key is never reported late.
      const host = typeof ssh.host === "string" && isSshHost(ssh.host) ? ssh.host : undefined;
      const port = typeof ssh.port === "number" ? ssh.port : undefined;
      if (ssh.hostKey === undefined) ctx.addIssue({ code: "custom", path: ["hostKey"], message: missingHostKeyMessage(host, port) });
      else if (typeof ssh.hostKey === "string") {
        const problem = hostKeyProblem(ssh.hostKey, host, port);
        if (problem) ctx.addIssue({ code: "custom", path: ["hostKey"], message: problem });
      }
    },
    { when: (payload) => typeof payload.value === "object" && payload.value !== null && !Array.isArray(payload.value) },
  )
  // The refinement above makes hostKey mandatory: the parsed type says so.
  .transform((ssh) => ({ ...ssh, hostKey: ssh.hostKey ?? "" }));

export const serverSchema = z.strictObject({
  name: name(),
  role: z.enum(["hosting", "backup"]),
  provider: z.enum(["ovh", "ionos"]),
  site: z.string().min(1),
  ssh: sshSchema,
  /**
   * Backup servers: the addresses their pulls come from (IP or CIDR), put in the from= of their keys
   * on the hosting servers. Default: the SSH host when it is an address.
   */
  sourceAddresses: z
    .array(
      z.string().superRefine((value, ctx) => {
        const problem = sourceAddressProblem(value);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    )
    .min(1)
    .max(32)
    .optional(),
  // "lost": the server is gone (datacenter fire, cancelled contract); nothing runs on it any more
  // and the rules name every instance that depended on it (see infra/rules/lost.ts).
  state: z.enum(["active", "lost"]).optional(),
  // Hosting servers: their MariaDB's binary logs (on by default; model/binlog.ts).
  binlog: z
    .strictObject({
      enabled: z.boolean().optional(),
      serverId: int(1, SERVER_ID_MAX).optional(),
    })
    .optional(),
  ovh: z
    .strictObject({
      serviceName: z.string(),
      kind: z.enum(["dedicated", "vps"]),
    })
    .superRefine(({ serviceName, kind }, ctx) => {
      const ok = kind === "vps" ? OVH_VPS_RE.test(serviceName) : OVH_DEDICATED_RE.test(serviceName);
      if (!ok) {
        ctx.addIssue({
          code: "custom",
          path: ["serviceName"],
          message:
            kind === "vps"
              ? `expected an OVH VPS service name such as vps-1a2b3c4d.vps.ovh.net, got "${serviceName}"`
              : `expected an OVH dedicated server service name (its host name, e.g. ns3012345.ip-203-0-113.eu), got "${serviceName}"`,
        });
      }
    })
    .optional(),
  ionos: z
    .strictObject({
      datacenterId: z.string().regex(UUID_RE, "expected an IONOS UUID (8-4-4-4-12 hex digits)"),
      serverId: z.string().regex(UUID_RE, "expected an IONOS UUID (8-4-4-4-12 hex digits)"),
    })
    .optional(),
});

export const policySchema = z.strictObject({
  minBackupServers: int(1, 16).optional(),
  minDistanceKm: z.number().min(0).max(20040).optional(),
  // YAML 1.1 readers (and some tools) turn an unquoted `off` into false.
  providerDiversity: z.preprocess((v) => (v === false ? "off" : v), z.enum(["required", "advisory", "off"])).optional(),
  minDumpsPerDay: int(1, LIMITS.maxDumpsPerDay).optional(),
  minRetentionDays: int(1, LIMITS.maxRetentionDays).optional(),
  dumpWindowMinutes: int(1, LIMITS.maxDumpWindowMinutes).optional(),
  maxDumpMinutes: int(1, LIMITS.maxDumpWindowMinutes).optional(),
  maxRpoHours: z
    .strictObject({
      files: z.number().gt(0).max(24 * 30).optional(),
      database: z.number().gt(0).max(24 * 30).optional(),
      databaseWithBinlogs: z.number().gt(0).max(24 * 30).optional(),
    })
    .optional(),
});

/** An e-mail address for a notification header (no display name, no comma, no newline). */
const EMAIL_RE = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const email = () => z.string().regex(EMAIL_RE, "expected an e-mail address (e.g. ops@example.com)");
const notifyEvents = () => z.enum(["failures", "all"]).optional();

/** Fleet notifiers (infra/model/notifications.ts); the URLs are secrets. */
export const notificationsSchema = z.strictObject({
  healthchecks: z.strictObject({ pingUrl: secret() }).optional(),
  email: z
    .strictObject({
      to: z.array(email()).min(1),
      from: email().optional(),
      sendmail: absPath().optional(),
      events: notifyEvents(),
    })
    .optional(),
  webhook: z.strictObject({ url: secret(), events: notifyEvents() }).optional(),
  timeoutSeconds: int(1, 120).optional(),
  logLines: int(1, 200).optional(),
});

export const metricsSchema = z.strictObject({ textfileDir: absPath() });

/** An operator's name: in the keys' comments (operator:<name>), the status and the access listing. */
export const OPERATOR_NAME_RE = /^[a-z][a-z0-9._-]{0,62}$/;
export const MAX_OPERATORS = 256;

/** Fleet key `operators`: the people who log in as the deploy user (model/operators.ts). */
export const operatorSchema = z.strictObject({
  name: z.string().regex(OPERATOR_NAME_RE, "expected an operator name of 1 to 63 lowercase letters, digits and . _ -, starting with a letter (e.g. alice or j.doe)"),
  publicKey: z.string({ error: 'expected the operator\'s OpenSSH public key line "ssh-ed25519 AAAA… comment" (the .pub file), as a string' }),
  servers: z.array(name()).min(1, { error: "expected at least one server name (leave servers out for every server)" }).max(1000).optional(),
  roles: z.array(z.enum(["hosting", "backup"])).min(1, { error: "expected hosting and/or backup (leave roles out for every server)" }).max(2).optional(),
});

const OVH_ENDPOINTS = ["ovh-eu", "ovh-ca", "ovh-us", "soyoustart-eu", "soyoustart-ca", "kimsufi-eu", "kimsufi-ca"] as const;

export const fleetValuesSchema = z.strictObject({
  stackKind: z.literal("fleet").optional(),
  servers: z.array(serverSchema).min(1),
  policy: policySchema.optional(),
  mirrorRoot: absPath().optional(),
  snapshots: z
    .strictObject({
      keepHours: int(0, 24 * 365).optional(),
      keepDays: int(0, 3650).optional(),
      keepWeeks: int(0, 520).optional(),
      maxSnapshots: int(1, 100_000).optional(),
      suspiciousChangePercent: int(1, 100).optional(),
    })
    .optional(),
  /** Directories below which instance directories may be, <client> standing for the client's name (model/paths.ts). */
  pathRoots: z.array(rootPath()).min(1).max(64).optional(),
  timeZone: z.string().refine(isTimeZone, { error: 'expected an IANA time zone name (e.g. "Europe/Paris", "UTC")' }).optional(),
  maxConcurrentDumps: int(1, LIMITS.maxConcurrentDumps).optional(),
  dumpVerification: z.enum(DUMP_VERIFICATIONS, { error: `expected one of ${DUMP_VERIFICATIONS.join(", ")}` }).optional(),
  sshPrivateKey: secret().optional(),
  operators: z.array(operatorSchema).max(MAX_OPERATORS).optional(),
  ovh: z
    .strictObject({
      endpoint: z.enum(OVH_ENDPOINTS),
      applicationKey: z.string().regex(OVH_APP_KEY_RE, "expected the OVH application key (letters and digits, from https://eu.api.ovh.com/createApp/)"),
      applicationSecret: secret(),
      consumerKey: secret(),
    })
    .optional(),
  ionos: z.strictObject({ token: secret() }).optional(),
  notifications: notificationsSchema.optional(),
  metrics: metricsSchema.optional(),
  binlog: z
    .strictObject({
      dir: absPath().optional(),
      keepDays: int(1, LIMITS.maxRetentionDays + 30).optional(),
      maxFileMB: int(4, 1024).optional(),
      // Backup servers: the lag of their binlog copy beyond which the chain check alerts (model/binlog.ts).
      maxLagSeconds: z
        .number({ error: "expected whole seconds (e.g. 300)" })
        .int({ error: "expected whole seconds (e.g. 300)" })
        .min(60, { error: "expected at least 60 seconds: the backup servers pull every minute and the heartbeat writes every 30 s, so a smaller limit alerts on a healthy chain" })
        .max(86400, { error: "expected at most 86400 seconds (a day): past that the database RPO is the dumps' anyway" })
        .optional(),
    })
    .optional(),
  // The backup servers' data directories on an encrypted volume (model/at-rest.ts).
  encryptionAtRest: z
    .enum(AT_REST_MODES, { error: `expected one of ${AT_REST_MODES.join(", ")} (required: the backup servers' jobs refuse to write a mirror, binlog or drill outside an encrypted volume; advisory: reported by npm run status; off: not checked)` })
    .optional(),
  // The minimum rsync of the backup servers' pulls (model/rsync.ts; the rule rsync.min-version).
  rsync: z
    .strictObject({
      minVersion: z.string().regex(UPSTREAM_VERSION_RE, "expected an upstream rsync version like 3.4.0").optional(),
      minPackages: z.array(z.string().regex(PACKAGE_VERSION_RE, "expected a Debian package version with its revision, like 3.2.7-1+deb12u1")).max(20).optional(),
    })
    .optional(),
  // The backup servers' weekly restore drills, as the status and the client reports judge them (model/drills.ts).
  drills: z
    .strictObject({
      enabled: z.boolean({ error: "expected true or false (false: no drill runs and the status judges none)" }).optional(),
      maxRtoMinutes: z
        .number({ error: "expected whole minutes (e.g. 60)" })
        .int({ error: "expected whole minutes (e.g. 60)" })
        .min(DRILL_LIMITS.maxRtoMinutes.min, { error: `expected at least ${DRILL_LIMITS.maxRtoMinutes.min} minute` })
        .max(DRILL_LIMITS.maxRtoMinutes.max, { error: `expected at most ${DRILL_LIMITS.maxRtoMinutes.max} minutes (a day)` })
        .optional(),
      staleDays: z
        .number({ error: "expected whole days (e.g. 8)" })
        .int({ error: "expected whole days (e.g. 8)" })
        .min(DRILL_LIMITS.staleDays.min, { error: `expected at least ${DRILL_LIMITS.staleDays.min} days: the drills run weekly, so a shorter limit calls a healthy drill stale before its next run` })
        .max(DRILL_LIMITS.staleDays.max, { error: `expected at most ${DRILL_LIMITS.staleDays.max} days (a year)` })
        .optional(),
      // The drills' check of the restored files against what the replication received (.sha256).
      sampleDocumentsPercent: z
        .number({ error: "expected a percentage of the files, a number from 0 to 100 (e.g. 1 or 0.5)" })
        .min(DRILL_LIMITS.sampleDocumentsPercent.min, { error: "expected a percentage from 0 to 100 (0: no random sample, only the files received since the last drill)" })
        .max(DRILL_LIMITS.sampleDocumentsPercent.max, { error: "expected a percentage from 0 to 100 (100: every file at every drill)" })
        .refine((p) => Math.abs(Math.round(p * 100) - p * 100) < 1e-9, { error: "expected at most two decimals (e.g. 0.25)" })
        .optional(),
      sampleDocumentsMin: z
        .number({ error: "expected a whole number of files (e.g. 20)" })
        .int({ error: "expected a whole number of files (e.g. 20)" })
        .min(DRILL_LIMITS.sampleDocumentsMin.min, { error: "expected 0 or more files" })
        .max(DRILL_LIMITS.sampleDocumentsMin.max, { error: `expected at most ${DRILL_LIMITS.sampleDocumentsMin.max} files (use sampleDocumentsPercent for a larger share)` })
        .optional(),
    })
    .optional(),
});

const timeOfDay = () =>
  z.string().refine(isTimeOfDay, { error: 'expected a 24-hour time "HH:MM" between "00:00" and "23:59", quoted' });

export const scheduleSchema = z.strictObject({
  dumpTimes: z.array(timeOfDay()).min(1).max(LIMITS.maxDumpsPerDay).optional(),
  retentionDays: int(1, LIMITS.maxRetentionDays).optional(),
  replicationsPerDay: int(1, LIMITS.maxReplicationsPerDay).optional(),
});

export const instanceSchema = z.strictObject({
  name: name(),
  hostingServer: name(),
  database: z.strictObject({
    name: z
      .string()
      .regex(DB_RE, "expected a MariaDB database name of letters, digits and '_' (e.g. dolibarr_acme)")
      .superRefine((value, ctx) => {
        const problem = DB_RE.test(value) ? databaseNameProblem(value) : undefined;
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
  }),
  codeRoot: absPath(),
  documentsDir: absPath(),
  dumpDir: absPath().optional(),
  backupServers: z.array(name()).min(1),
  schedule: scheduleSchema.optional(),
  snapshots: z.strictObject({ keep: int(0, LIMITS.maxSnapshotsKeep) }).optional(),
});

export const clientValuesSchema = z.strictObject({
  stackKind: z.literal("client").optional(),
  fleetStack: z.string().regex(STACK_RE, "expected the name of the fleet stack (e.g. fleet)"),
  client: name(),
  instances: z.array(instanceSchema).min(1),
});

export type FleetValues = z.infer<typeof fleetValuesSchema>;
export type ClientValues = z.infer<typeof clientValuesSchema>;
export type ServerValues = z.infer<typeof serverSchema>;
export type InstanceValues = z.infer<typeof instanceSchema>;

// ---- zod issues → ConfigIssues -------------------------------------------------------------

function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `"${v.length > 40 ? v.slice(0, 37) + "…" : v}"`;
  return String(v);
}

const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  array: "a list",
  object: "a mapping",
};

// zod's internal issue shape, as passed to error maps (only what we read).
interface RawIssue {
  code?: string;
  input?: unknown;
  expected?: string;
  values?: unknown[];
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  origin?: string;
  keys?: string[];
  inst?: unknown;
}

/** Message for each zod issue code, phrased as what is expected; used as zod's error map. */
export function zodMessage(raw: unknown): string | undefined {
  const iss = raw as RawIssue;
  const got = `got ${describeValue(iss.input)}`;
  switch (iss.code) {
    case "invalid_type": {
      const want = TYPE_WORDS[iss.expected ?? ""] ?? String(iss.expected);
      return iss.input === undefined ? `missing; expected ${want}` : `expected ${want}, ${got}`;
    }
    case "invalid_value": {
      const vals = (iss.values ?? []).map((v) => JSON.stringify(v));
      return vals.length === 1 ? `expected ${vals[0]}, ${got}` : `expected one of ${vals.join(", ")}, ${got}`;
    }
    case "too_small":
    case "too_big": {
      const small = iss.code === "too_small";
      const bound = small ? iss.minimum : iss.maximum;
      const op = small ? (iss.inclusive === false ? ">" : "≥") : iss.inclusive === false ? "<" : "≤";
      if (iss.origin === "array") {
        return small ? `expected at least ${bound} item(s), got ${(iss.input as unknown[])?.length ?? 0}` : `expected at most ${bound} item(s)`;
      }
      if (iss.origin === "string") return small ? "expected a non-empty string" : `expected at most ${bound} characters`;
      return `expected a number ${op} ${bound}, ${got}`;
    }
    case "unrecognized_keys": {
      const def = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def;
      const allowed = Object.keys(def?.shape ?? {});
      return allowed.length ? `expected only the keys ${allowed.join(", ")}` : "unknown key";
    }
    case "invalid_union":
      return `expected one of the accepted forms, ${got}`;
    default:
      return undefined;
  }
}

/** Validates `values` against `schema`; every problem is added to `issues` (paths prefixed by `base`). */
export function validate<T>(
  schema: z.ZodType<T>,
  values: unknown,
  source: Pick<ConfigSource, "file" | "locate">,
  issues: IssueCollector,
  base: ReadonlyArray<string | number> = [],
): T | undefined {
  const res = schema.safeParse(values, { error: zodMessage, reportInput: true });
  if (res.success) return res.data;
  for (const iss of res.error.issues) {
    const path = [...base, ...iss.path.map((p) => (typeof p === "number" ? p : String(p)))];
    if (iss.code === "unrecognized_keys") {
      for (const key of iss.keys) issues.add(source, [...path, key], `unknown key "${key}"; ${iss.message}`);
    } else {
      issues.add(source, path, iss.message);
    }
  }
  return undefined;
}

// The typed topology every part of the project works on: the offline check, the rules,
// the renderers of server files, the Pulumi program and the policy pack.
// Times of day are minutes since midnight (0..1439); config files write them "HH:MM".
import type { AtRestMode } from "./at-rest";
import type { RsyncSettings } from "./rsync";
import type { DumpVerification } from "./defaults";
import type { Instance } from "./instance";
import type { Notifications } from "./notifications";

export type Provider = "ovh" | "ionos";
export type ServerRole = "hosting" | "backup";
export type Severity = "mandatory" | "advisory";
export type ProviderDiversity = "required" | "advisory" | "off";

/** A datacenter or location from the site catalogue. */
export interface Site {
  /** Catalogue key, unique across providers: "ovh:rbx", "ionos:de/fra". */
  id: string;
  provider: Provider;
  /** The provider's own code: OVH datacenter ("rbx", "sbg") or IONOS location id ("de/fra"). */
  code: string;
  city: string;
  /** ISO 3166-1 alpha-2 country code. */
  country: string;
  latitude: number;
  longitude: number;
}

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  /**
   * Pinned public host key line ("ssh-ed25519 AAAA…", model/host-key.ts): mandatory, declared in the
   * fleet config and obtained out of band; every connection to the server pins it.
   */
  hostKey: string;
}

export interface OvhReference {
  serviceName: string;
  kind: "dedicated" | "vps";
}

export interface IonosReference {
  datacenterId: string;
  serverId: string;
}

export interface Server {
  name: string;
  role: ServerRole;
  provider: Provider;
  site: Site;
  ssh: SshEndpoint;
  /**
   * Backup servers: the addresses (IP or CIDR) their pulls come from, the from= of their keys on the
   * hosting servers. Resolved at parse time (default: the SSH host when it is an address).
   */
  sourceAddresses?: string[];
  ovh?: OvhReference;
  ionos?: IonosReference;
  /** "lost": gone with its datacenter; nothing is declared on it, the rules name who depended on it. Default active. */
  state?: ServerState;
  /**
   * Hosting servers: their MariaDB's binary logs (model/binlog.ts), resolved at parse time (on by
   * default, server_id derived from the name). Absent: nothing configured (older fleets).
   */
  binlog?: ServerBinlog;
}

/** A hosting server's binary logs: on or off (a MariaDB the fleet does not own), and its server_id. */
export interface ServerBinlog {
  enabled: boolean;
  /** MariaDB server_id and gtid_domain_id, unique in the fleet (rule binlog.server-id). */
  serverId: number;
  /** True when the config set it (binlog.serverId), false when derived from the name. */
  serverIdDeclared: boolean;
}

/** Fleet key `binlog`: where and how long every hosting server keeps its binary logs. */
export interface BinlogSettings {
  /** Directory of the binary logs on every hosting server (binlog.000001…, binlog.index). */
  dir: string;
  /** Days kept (binlog_expire_logs_seconds), ≥ minRetentionDays + 1. */
  keepDays: number;
  /** max_binlog_size in MiB. */
  maxFileMB: number;
  /** Backup servers: the binlog chain check alerts when their copy is older than this (seconds, default 300). */
  maxLagSeconds: number;
}

/** The weekly restore drills of the backup servers (fleet key `drills`, model/drills.ts). */
export interface DrillSettings {
  /** false: no drill runs, and the status judges none. */
  enabled: boolean;
  /** A drill whose measured RTO (restore + serve + first page) is above this is a warning. */
  maxRtoMinutes: number;
  /** A backup server's newest successful drill of an instance older than this makes it stale. */
  staleDays: number;
  /**
   * The share (percent, 0..100) of the restored code and documents a drill hashes at random and
   * compares with the received-hash manifest, besides every file received since the last drill.
   */
  sampleDocumentsPercent: number;
  /** The random sample holds at least this many files (all of them when fewer). */
  sampleDocumentsMin: number;
}

export type ServerState = "active" | "lost";

/**
 * A person who logs in to servers as their ssh.user (fleet key `operators`, model/operators.ts):
 * the program writes the key into the root-owned keys file sshd reads for that user.
 */
export interface Operator {
  name: string;
  /** "<type> <base64>", without the declared comment (the program writes operator:<name>). */
  publicKey: string;
  /** "SHA256:…" as ssh-keygen -l prints it. */
  fingerprint: string;
  /** Only these servers (by name); absent: every server (or those of `roles`). */
  servers?: string[];
  /** Only servers of these roles; absent: every role. */
  roles?: ServerRole[];
}

/** Fleet-wide thresholds of the rules; each has a default (see model/defaults.ts). */
export interface FleetPolicy {
  minBackupServers: number;
  minDistanceKm: number;
  providerDiversity: ProviderDiversity;
  minDumpsPerDay: number;
  minRetentionDays: number;
  /** Minutes after each dump start during which no replication may start. */
  dumpWindowMinutes: number;
  /** Worst-case duration of one dump (queue model; optional in hand-made fleets, default 10). */
  maxDumpMinutes?: number;
  /**
   * Worst-case recovery point objective allowed, in hours: files; the database from its dumps (no
   * binlogs); the database of an instance whose binlogs are shipped (optional in hand-made fleets,
   * default DEFAULT_POLICY's).
   */
  maxRpoHours: { files: number; database: number; databaseWithBinlogs?: number };
}

/**
 * Age-based retention of the hard-link snapshots each backup server takes after every accepted
 * replication, and the suspicious-change threshold (fleet config key `snapshots`).
 */
export interface SnapshotRetention {
  /** Every snapshot younger than this many hours is kept. */
  keepHours: number;
  /** The newest snapshot of each UTC day is kept this many days. */
  keepDays: number;
  /** The newest snapshot of each ISO week is kept this many weeks. */
  keepWeeks: number;
  /** Disk budget: at most this many snapshots per instance and backup server (checked by retention.snapshots). */
  maxSnapshots: number;
  /** A run changing or deleting more than this share (%) of the mirror's files or bytes pins the previous snapshot. */
  suspiciousChangePercent: number;
}

export interface Fleet {
  /** Pulumi stack name of the fleet stack ("fleet", "lab-fleet"). */
  stack: string;
  /** Path of the stack config file it was read from. */
  file: string;
  servers: Server[];
  policy: FleetPolicy;
  /** Root of the mirrors on every backup server: <mirrorRoot>/<instance>/{code,documents,dumps}. */
  mirrorRoot: string;
  /** Snapshot retention of every backup server; DEFAULT_SNAPSHOT_RETENTION when absent. */
  snapshots?: SnapshotRetention;
  /**
   * Directories below which instance directories and the mirror root may be (model/paths.ts).
   * Absent in the outputs of fleets deployed before it existed: DEFAULT_PATH_ROOTS then.
   */
  pathRoots?: string[];
  /** IANA time zone of every timer (OnCalendar=… <zone>). Default Europe/Paris (see fleetTimeZone). */
  timeZone?: string;
  /** Dumps a hosting server runs at once, the rest queue. Default 2 (see fleetMaxConcurrentDumps). */
  maxConcurrentDumps?: number;
  /** How each dump file is checked on the hosting server. Default "frames" (see fleetDumpVerification). */
  dumpVerification?: DumpVerification;
  /** Alert and dead-man's-switch notifiers (secret URLs: never serialized, see model/notifications.ts). */
  notifications?: Notifications;
  /** Where the jobs write their node_exporter textfile metrics. */
  metrics?: { textfileDir: string };
  /** Binary logs of the hosting servers (model/binlog.ts binlogSettingsOf fills the defaults in). */
  binlog?: BinlogSettings;
  /** Restore drills on the backup servers (model/drills.ts drillSettingsOf fills the defaults in). */
  drills?: DrillSettings;
  /** Backup servers' data on an encrypted volume: required, advisory (default) or off (model/at-rest.ts). */
  encryptionAtRest?: AtRestMode;
  /**
   * Who logs in (fleet key `operators`). Absent: SSH access is not managed (the servers' own
   * authorized_keys stay in force); a list (even empty): only the deploy key and these keys.
   */
  operators?: Operator[];
  /** The minimum rsync of the backup servers' pulls (model/rsync.ts rsyncSettingsOf fills the defaults in). */
  rsync?: RsyncSettings;
}

/** Schedule and Instance are derived from their zod schemas (instance.ts): one definition. */
export type { Instance, Schedule } from "./instance";

export interface ClientStack {
  /** Pulumi stack name ("client-acme"). */
  stack: string;
  file: string;
  client: string;
  /** Name of the fleet stack this client's servers are declared in. */
  fleetStack: string;
  instances: Instance[];
}

export interface Topology {
  fleet: Fleet;
  clients: ClientStack[];
  /**
   * Dumps the fleet's OTHER client stacks start on its hosting servers, when the topology holds only
   * some of the fleet's clients (the Pulumi program and the policy pack see one client stack): they
   * queue with this topology's dumps (model/schedule.ts dumpCompletionMinutes). Absent: none.
   */
  otherDumps?: DumpCounts;
}

/** Hosting server → dump start minute ("0".."1439") → number of instances starting a dump then. */
export type DumpCounts = Record<string, Record<string, number>>;

/** One replication job: a backup server pulling one instance, at computed times. */
export interface ReplicationPlan {
  instance: string;
  backupServer: string;
  /** Start times, minutes since midnight, sorted. */
  times: number[];
}

export interface Violation {
  /** Stable rule id, e.g. "geo.min-distance". */
  ruleId: string;
  severity: Severity;
  message: string;
  client?: string;
  instance?: string;
  servers?: string[];
  /** Stack config file the violation comes from, when known. */
  file?: string;
}

// From config values (as the Pulumi program gets them from pulumi.Config, or as read from a stack
// file) to the typed Fleet and ClientStack. Pure: no I/O, no engine.
import {
  BACKUP_USER_PREFIX,
  MAX_BACKUP_SERVER_NAME,
  MAX_UNIX_NAME,
  DEFAULT_MIRROR_ROOT,
  DEFAULT_DUMP_VERIFICATION,
  DEFAULT_MAX_CONCURRENT_DUMPS,
  DEFAULT_TIME_ZONE,
  DEFAULT_POLICY,
  DEFAULT_SCHEDULE,
  DEFAULT_SNAPSHOTS_KEEP,
  DEFAULT_SNAPSHOT_RETENTION,
  DEFAULT_SSH_PORT,
  DEFAULT_SSH_USER,
  defaultDumpDir,
} from "./defaults";
import { isIpAddress } from "./address";
import { DEFAULT_BINLOG_DIR, DEFAULT_BINLOG_MAX_FILE_MB, DEFAULT_BINLOG_MAX_LAG_SECONDS, defaultBinlogKeepDays, derivedServerId } from "./binlog";
import { DEFAULT_AT_REST } from "./at-rest";
import { DEFAULT_RSYNC } from "./rsync";
import { DEFAULT_DRILL_SETTINGS } from "./drills";
import { attachLocator, IssueCollector, type ConfigPath, type ConfigSource } from "./errors";
import { CLIENT_PLACEHOLDER, DEFAULT_PATH_ROOTS, PROJECT_DIRS, isAtOrBelow, nests, rootProblem, systemPathProblem } from "./paths";
import { unsafeKeyPaths } from "./safe";
import { clientValuesSchema, fleetValuesSchema, validate, type ClientValues, type FleetValues } from "./schema";
import { NOTIFICATION_SECRET_PATHS, notificationsFromValues } from "./notifications";
import { operatorsFromValues } from "./operators";
import { findSite, siteCodesOf, sitesWithCode } from "./sites";
import { parseTimeOfDay } from "./time";
import type { BinlogSettings, ClientStack, Fleet, FleetPolicy, Instance, Server } from "./types";

/** Config values keyed without namespace: { servers: [...], policy: {...} }. */
export type ConfigValues = Record<string, unknown>;

/**
 * Validates a fleet stack's config values and builds the Fleet. Throws ConfigError naming every problem.
 * `values` maps config keys without namespace (servers, policy, mirrorRoot, …) to their values.
 */
export function parseFleetConfig(values: ConfigValues, source: ConfigSource): Fleet {
  const issues = new IssueCollector();
  const fleet = fleetFromValues(values, source, issues);
  issues.throwIfAny();
  return fleet!;
}

/** Validates a client stack's config values and builds the ClientStack. Throws ConfigError. */
export function parseClientConfig(values: ConfigValues, source: ConfigSource): ClientStack {
  const issues = new IssueCollector();
  const client = clientFromValues(values, source, issues);
  issues.throwIfAny();
  return client!;
}

/**
 * Refuses keys that reach object prototypes, at every level: read as config they would hide values
 * (a "__proto__" mapping could silently lower the fleet policy). True when any was found.
 */
export function refuseUnsafeKeys(values: unknown, source: Pick<ConfigSource, "file" | "locate">, issues: IssueCollector): boolean {
  const paths = unsafeKeyPaths(values);
  for (const p of paths) {
    issues.add(source, p, `key "${String(p[p.length - 1])}" reaches the object prototype and is never a config key; remove it`);
  }
  return paths.length > 0;
}

/** As parseFleetConfig, adding problems to `issues` instead of throwing. */
export function fleetFromValues(values: ConfigValues, source: ConfigSource, issues: IssueCollector): Fleet | undefined {
  const before = issues.issues.length;
  if (refuseUnsafeKeys(values, source, issues)) return undefined;
  const v = validate(fleetValuesSchema, values, source, issues);
  if (source.origin === "file") checkFileOnlyFleetKeys(values, source, issues);
  if (!v) return undefined;

  const servers: Server[] = [];
  const seenNames = new Map<string, number>();
  const seenEndpoints = new Map<string, string>();
  v.servers.forEach((s, i) => {
    const at = (...rest: (string | number)[]): ConfigPath => ["servers", i, ...rest];
    const prev = seenNames.get(s.name);
    if (prev !== undefined) {
      issues.add(source, at("name"), `duplicate server name "${s.name}" (already servers[${prev}]); expected unique names`);
    } else seenNames.set(s.name, i);

    const site = findSite(s.provider, s.site);
    if (!site) {
      const elsewhere = sitesWithCode(s.site);
      const known = siteCodesOf(s.provider);
      issues.add(
        source,
        at("site"),
        elsewhere.length > 0
          ? `site "${s.site}" is a ${elsewhere.map((x) => x.provider).join("/")} site, not a ${s.provider} one (bad provider/site combination); expected one of the ${s.provider} sites: ${known}`
          : `unknown ${s.provider} site "${s.site}"; expected one of: ${known}`,
      );
    }
    if (s.ovh && s.provider !== "ovh") {
      issues.add(source, at("ovh"), `an ovh reference on a server whose provider is ${s.provider}; expected provider: ovh or no ovh key`);
    }
    if (s.role === "backup" && s.name.length > MAX_BACKUP_SERVER_NAME) {
      issues.add(
        source,
        at("name"),
        `backup server name "${s.name}" is ${s.name.length} characters: its user on the hosting servers, ${BACKUP_USER_PREFIX}${s.name}, would exceed Linux's ${MAX_UNIX_NAME}; expected at most ${MAX_BACKUP_SERVER_NAME} characters`,
      );
    }
    let sourceAddresses: string[] | undefined;
    if (s.role === "hosting" && s.sourceAddresses) {
      issues.add(source, at("sourceAddresses"), "only backup servers pull (their sourceAddresses go in the from= of their keys); expected no sourceAddresses on a hosting server");
    } else if (s.role === "backup") {
      if (s.sourceAddresses) sourceAddresses = [...s.sourceAddresses];
      else if (isIpAddress(s.ssh.host)) sourceAddresses = [s.ssh.host];
      else {
        issues.add(
          source,
          at("sourceAddresses"),
          `missing for backup server "${s.name}" declared by host name (${s.ssh.host}): its key on the hosting servers is bound with from=, which sshd matches against the connecting address only (UseDNS no is its default), so a name would never match; expected the IP addresses or CIDR blocks its pulls come from`,
        );
      }
    }
    let binlog: Server["binlog"];
    if (s.role === "backup" && s.binlog) {
      issues.add(source, at("binlog"), "only hosting servers write binary logs (their MariaDB holds the instances' databases); expected no binlog key on a backup server");
    } else if (s.role === "hosting") {
      binlog = {
        enabled: s.binlog?.enabled ?? true,
        serverId: s.binlog?.serverId ?? derivedServerId(s.name),
        serverIdDeclared: s.binlog?.serverId !== undefined,
      };
    }
    if (s.ionos && s.provider !== "ionos") {
      issues.add(source, at("ionos"), `an ionos reference on a server whose provider is ${s.provider}; expected provider: ionos or no ionos key`);
    }
    const port = s.ssh.port ?? DEFAULT_SSH_PORT;
    const endpoint = `${s.ssh.host.toLowerCase()}:${port}`;
    const other = seenEndpoints.get(endpoint);
    if (other !== undefined) {
      issues.add(source, at("ssh", "host"), `ssh endpoint ${endpoint} is already server "${other}"'s; expected one server per host and port`);
    } else seenEndpoints.set(endpoint, s.name);
    if (!site) return;
    servers.push({
      name: s.name,
      role: s.role,
      provider: s.provider,
      site,
      ssh: {
        host: s.ssh.host,
        port,
        user: s.ssh.user ?? DEFAULT_SSH_USER,
        hostKey: s.ssh.hostKey.trim(),
      },
      ...(sourceAddresses ? { sourceAddresses } : {}),
      ...(s.ovh ? { ovh: { serviceName: s.ovh.serviceName, kind: s.ovh.kind } } : {}),
      ...(s.ionos ? { ionos: { datacenterId: s.ionos.datacenterId, serverId: s.ionos.serverId } } : {}),
      ...(s.state === "lost" ? { state: "lost" as const } : {}),
      ...(binlog ? { binlog } : {}),
    });
  });
  const pathRoots = v.pathRoots ? [...v.pathRoots] : [...DEFAULT_PATH_ROOTS];
  (v.pathRoots ?? []).forEach((root, i) => {
    // a root with <client>: checked here with a neutral name, and for each client's name by the topology
    const problem = rootProblem(root.split(CLIENT_PLACEHOLDER).join("client"));
    if (problem) issues.add(source, ["pathRoots", i], root.includes(CLIENT_PLACEHOLDER) ? `${problem} (with <client> as "client")` : problem);
  });
  const mirrorRoot = v.mirrorRoot ?? DEFAULT_MIRROR_ROOT;
  // The mirror root is on the backup servers: any directory of its own, outside the system's.
  const mirrorProblem = systemPathProblem(mirrorRoot, PROJECT_DIRS.filter((d) => !nests(d, DEFAULT_MIRROR_ROOT)));
  if (mirrorProblem) issues.add(source, ["mirrorRoot"], `${v.mirrorRoot === undefined ? "the default mirror root: " : ""}${mirrorProblem}`);
  // The receiving units hide the homes (ProtectHome=, render/units.ts receiverSandbox), and systemd
  // cannot make a path below them writable: the pulls would stop at the next deploy.
  if (!mirrorProblem && isAtOrBelow(mirrorRoot, "/home")) issues.add(source, ["mirrorRoot"], `${mirrorRoot} is below /home, which the sandboxed replication and binlog pull cannot write (ProtectHome); expected a directory outside /home (e.g. a mount point such as /srv/backup or /data; bind-mount a /home partition there)`);
  const notifications = notificationsFromValues(v.notifications, source, issues);
  const policy = mergePolicy(v.policy);
  const binlog = binlogFromValues(v.binlog, policy, source, issues);
  const operators = operatorsFromValues(v.operators, new Set(v.servers.map((s) => s.name)), source, issues);
  if (issues.issues.length > before) return undefined;

  const fleet: Fleet = {
    stack: source.stack,
    file: source.file,
    servers,
    policy,
    mirrorRoot,
    pathRoots,
    timeZone: v.timeZone ?? DEFAULT_TIME_ZONE,
    maxConcurrentDumps: v.maxConcurrentDumps ?? DEFAULT_MAX_CONCURRENT_DUMPS,
    dumpVerification: v.dumpVerification ?? DEFAULT_DUMP_VERIFICATION,
    snapshots: { ...DEFAULT_SNAPSHOT_RETENTION, ...Object.fromEntries(Object.entries(v.snapshots ?? {}).filter(([, x]) => x !== undefined)) },
    ...(notifications ? { notifications } : {}),
    ...(v.metrics ? { metrics: { textfileDir: v.metrics.textfileDir } } : {}),
    binlog,
    encryptionAtRest: v.encryptionAtRest ?? DEFAULT_AT_REST,
    ...(operators ? { operators } : {}),
    rsync: { minVersion: v.rsync?.minVersion ?? DEFAULT_RSYNC.minVersion, minPackages: [...(v.rsync?.minPackages ?? DEFAULT_RSYNC.minPackages)] },
    drills: {
      enabled: v.drills?.enabled ?? DEFAULT_DRILL_SETTINGS.enabled,
      maxRtoMinutes: v.drills?.maxRtoMinutes ?? DEFAULT_DRILL_SETTINGS.maxRtoMinutes,
      staleDays: v.drills?.staleDays ?? DEFAULT_DRILL_SETTINGS.staleDays,
      sampleDocumentsPercent: v.drills?.sampleDocumentsPercent ?? DEFAULT_DRILL_SETTINGS.sampleDocumentsPercent,
      sampleDocumentsMin: v.drills?.sampleDocumentsMin ?? DEFAULT_DRILL_SETTINGS.sampleDocumentsMin,
    },
  };
  attachLocator(fleet, source.locate);
  return fleet;
}

/** The fleet key `binlog` with its defaults; keepDays must cover the dumps' retention (model/binlog.ts). */
function binlogFromValues(b: FleetValues["binlog"], policy: FleetPolicy, source: ConfigSource, issues: IssueCollector): BinlogSettings {
  const dir = b?.dir ?? DEFAULT_BINLOG_DIR;
  const keepDays = b?.keepDays ?? defaultBinlogKeepDays(policy.minRetentionDays);
  if (b?.dir !== undefined) {
    const problem =
      dir.split("/").length < 3
        ? `${dir} is a top-level directory; expected a directory of its own for the binary logs (e.g. ${DEFAULT_BINLOG_DIR})`
        : nests(dir, "/var/lib/mysql")
          ? `${dir} overlaps MariaDB's datadir /var/lib/mysql; expected a directory of its own outside it (e.g. ${DEFAULT_BINLOG_DIR})`
          : PROJECT_DIRS.find((d) => nests(dir, d)) !== undefined
            ? `${dir} overlaps the project's own directory ${PROJECT_DIRS.find((d) => nests(dir, d))}; expected a directory outside it`
            : undefined;
    if (problem) issues.add(source, ["binlog", "dir"], problem);
  }
  if (keepDays < policy.minRetentionDays + 1) {
    issues.add(
      source,
      ["binlog", "keepDays"],
      `${keepDays} day(s) does not cover the dumps' retention: a replay starts from the newest dump before the asked time, and the oldest dump kept is up to minRetentionDays (${policy.minRetentionDays}) + 12 h old; expected at least ${policy.minRetentionDays + 1} (default ${defaultBinlogKeepDays(policy.minRetentionDays)})`,
    );
  }
  return { dir, keepDays, maxFileMB: b?.maxFileMB ?? DEFAULT_BINLOG_MAX_FILE_MB, maxLagSeconds: b?.maxLagSeconds ?? DEFAULT_BINLOG_MAX_LAG_SECONDS };
}

function mergePolicy(p: FleetValues["policy"]): FleetPolicy {
  const d = DEFAULT_POLICY;
  return {
    minBackupServers: p?.minBackupServers ?? d.minBackupServers,
    minDistanceKm: p?.minDistanceKm ?? d.minDistanceKm,
    providerDiversity: p?.providerDiversity ?? d.providerDiversity,
    minDumpsPerDay: p?.minDumpsPerDay ?? d.minDumpsPerDay,
    minRetentionDays: p?.minRetentionDays ?? d.minRetentionDays,
    dumpWindowMinutes: p?.dumpWindowMinutes ?? d.dumpWindowMinutes,
    maxDumpMinutes: p?.maxDumpMinutes ?? d.maxDumpMinutes!,
    maxRpoHours: {
      files: p?.maxRpoHours?.files ?? d.maxRpoHours.files,
      database: p?.maxRpoHours?.database ?? d.maxRpoHours.database,
      databaseWithBinlogs: p?.maxRpoHours?.databaseWithBinlogs ?? d.maxRpoHours.databaseWithBinlogs!,
    },
  };
}

/** In a stack file: the kind is declared, the SSH key is there, and no secret is in clear text. */
function checkFileOnlyFleetKeys(values: ConfigValues, source: ConfigSource, issues: IssueCollector): void {
  if (values.stackKind === undefined) issues.add(source, ["stackKind"], 'missing; expected "fleet" in a fleet stack file');
  if (values.sshPrivateKey === undefined) {
    issues.add(source, ["sshPrivateKey"], "missing; expected the fleet's SSH private key as a Pulumi secret ({secure: v1:…})");
  }
  const mustBeSecure: ConfigPath[] = [["sshPrivateKey"], ["ovh", "applicationSecret"], ["ovh", "consumerKey"], ["ionos", "token"], ...NOTIFICATION_SECRET_PATHS];
  for (const path of mustBeSecure) {
    let v: unknown = values;
    for (const seg of path) v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[seg as string] : undefined;
    if (typeof v === "string") {
      issues.add(source, path, "a secret in clear text in a stack file; expected {secure: v1:…} (set it with `pulumi config set --secret`)");
    }
  }
}

/** As parseClientConfig, adding problems to `issues` instead of throwing. */
export function clientFromValues(values: ConfigValues, source: ConfigSource, issues: IssueCollector): ClientStack | undefined {
  const before = issues.issues.length;
  if (refuseUnsafeKeys(values, source, issues)) return undefined;
  if (source.origin === "file" && values.stackKind === undefined) {
    issues.add(source, ["stackKind"], 'missing; expected "client" in a client stack file');
  }
  const v = validate(clientValuesSchema, values, source, issues);
  if (!v) return undefined;

  const instances: Instance[] = [];
  const seen = new Map<string, number>();
  v.instances.forEach((inst, i) => {
    const at = (...rest: (string | number)[]): ConfigPath => ["instances", i, ...rest];
    const prev = seen.get(inst.name);
    if (prev !== undefined) {
      issues.add(source, at("name"), `duplicate instance name "${inst.name}" (already instances[${prev}]); expected names unique across the fleet`);
    } else seen.set(inst.name, i);

    const backups = new Map<string, number>();
    inst.backupServers.forEach((b, j) => {
      if (b === inst.hostingServer) {
        issues.add(source, at("backupServers", j), `"${b}" is the instance's hosting server; a backup is never on the hosting server, expected a backup server`);
      }
      const p = backups.get(b);
      if (p !== undefined) issues.add(source, at("backupServers", j), `"${b}" is listed twice (already backupServers[${p}]); expected distinct backup servers`);
      else backups.set(b, j);
    });

    const dumpTimes = (inst.schedule?.dumpTimes ?? []).map((t) => parseTimeOfDay(t)!);
    const times = new Map<number, number>();
    dumpTimes.forEach((t, j) => {
      const p = times.get(t);
      if (p !== undefined) issues.add(source, at("schedule", "dumpTimes", j), `dump time listed twice (already dumpTimes[${p}]); expected distinct times`);
      else times.set(t, j);
    });
    const dirs: Array<[string, string]> = [
      ["codeRoot", inst.codeRoot],
      ["documentsDir", inst.documentsDir],
    ];
    dirs.push(["dumpDir", inst.dumpDir ?? defaultDumpDir(inst.name)]);
    let harmful = false;
    for (const [key, dir] of dirs) {
      const problem = systemPathProblem(dir);
      if (problem) {
        issues.add(source, at(key), problem);
        harmful = true;
      }
    }
    for (const [key, dir] of harmful ? [] : dirs.slice(1)) {
      for (const [otherKey, other] of dirs) {
        if (otherKey === key) break;
        if (dir === other) issues.add(source, at(key), `same directory as ${otherKey} (${dir}); expected separate directories`);
        else if (nests(dir, other)) {
          issues.add(source, at(key), `${dir} and ${otherKey} ${other} are nested; expected directories apart (none inside another: each is exported and mirrored on its own)`);
        }
      }
    }
    instances.push(instanceFromValues(inst, v));
  });
  if (issues.issues.length > before) return undefined;

  const client: ClientStack = {
    stack: source.stack,
    file: source.file,
    client: v.client,
    fleetStack: v.fleetStack,
    instances,
  };
  attachLocator(client, source.locate);
  return client;
}

function instanceFromValues(inst: ClientValues["instances"][number], v: ClientValues): Instance {
  const dumpTimes = inst.schedule?.dumpTimes
    ? inst.schedule.dumpTimes.map((t) => parseTimeOfDay(t)!).sort((a, b) => a - b)
    : [...DEFAULT_SCHEDULE.dumpTimes];
  return {
    name: inst.name,
    client: v.client,
    hostingServer: inst.hostingServer,
    database: { name: inst.database.name },
    codeRoot: inst.codeRoot,
    documentsDir: inst.documentsDir,
    dumpDir: inst.dumpDir ?? defaultDumpDir(inst.name),
    backupServers: [...inst.backupServers],
    schedule: {
      dumpTimes,
      retentionDays: inst.schedule?.retentionDays ?? DEFAULT_SCHEDULE.retentionDays,
      replicationsPerDay: inst.schedule?.replicationsPerDay ?? DEFAULT_SCHEDULE.replicationsPerDay,
    },
    snapshotsKeep: inst.snapshots?.keep ?? DEFAULT_SNAPSHOTS_KEEP,
  };
}

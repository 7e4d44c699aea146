// Fleet status: what the servers say about every instance (a StatusSnapshot, collected over SSH by
// collect.ts), and how fresh each instance is against its computed worst-case RPO (assess).
// Pure: the collection and the rendering (render.ts) are separate, so tests feed real-looking
// snapshots to both.
import { judgeDrill, type DrillFacts, type DrillState } from "../drills/judge";
import { DEFAULT_AT_REST, assessAtRest, atRestOf, type AtRestFact, type AtRestMode } from "../model/at-rest";
import { DEFAULT_RSYNC, rsyncProblem, rsyncSettingsOf, type RsyncFact, type RsyncSettings } from "../model/rsync";
import { drillSettingsOf } from "../model/drills";
import { distanceKm } from "../model/geo";
import { instanceRpo, type DatabaseRpoSource } from "../model/rpo";
import { planReplications } from "../model/schedule";
import type { DrillSettings, Server, Topology } from "../model/types";
import { accessManaged, operatorsOn } from "../model/operators";
import { fingerprintOfBlob, parsePublicKey, OPERATOR_KEY_TYPES } from "../model/ssh-keys";
import { ACCESS_KEYS_PATTERN } from "../render/operators";
import { describeStray, strayKeys, type DeclaredKey, type FoundKeysFile } from "./keys";

/** A server as the status page shows it. */
export interface StatusServer {
  name: string;
  role: Server["role"];
  provider: Server["provider"];
  site: { id: string; city: string; country: string; latitude: number; longitude: number };
  state: "active" | "lost";
  /** Answered over SSH (undefined: not asked, e.g. lost). */
  reachable?: boolean;
  error?: string;
  /** What the server says about its systemd and its notifier (collected with its instances' facts). */
  health?: ServerHealth;
  /** Backup servers: the fleet's encryptionAtRest, which judges health.atRest (absent: the default). */
  atRest?: AtRestMode;
  /** The keys the fleet declares for the deploy user (fleet key operators, plus the deploy key); absent: access not managed. */
  declaredKeys?: DeclaredKey[];
  /** Backup servers: the fleet's minimum rsync, which judges health.rsync (absent: the default). */
  rsync?: RsyncSettings;
}

/** One of the notifier's units as `systemctl show` describes it. */
export interface NotifierUnitFacts {
  unit: string;
  loadState?: string;
  activeState?: string;
  subState?: string;
  result?: string;
  unitFileState?: string;
}

/** A server's own health: its systemd, and whether its alerts can leave it. */
export interface ServerHealth {
  /** `systemctl is-system-running` ("running", "degraded", …); "unavailable" when systemd does not run there. */
  systemState?: string;
  /** The units `systemctl --failed` lists. */
  failedUnits?: string[];
  /** The notifier's units (dolibarr-notify.path, its service, the sweep timer and service). */
  notifier?: NotifierUnitFacts[];
  /** The notification spool: events waiting, and the oldest one's age by the server's own clock. */
  spool?: { count: number; oldestAgeSeconds?: number };
  /** Backup servers: their data directories (mirror root, drills' work root), encrypted or not. */
  atRest?: AtRestFact[];
  /** Fleets declaring operators: the authorized keys files found for the deploy user. */
  sshKeys?: SshKeysFacts;
  /** Backup servers: their rsync (dbk_rsync_fact); absent when their scripts predate the report. */
  rsync?: RsyncFact;
}

/** What sshd reads for the deploy user, and the keys files found (status/keys.ts judges them). */
export interface SshKeysFacts {
  files: FoundKeysFile[];
  /** sshd -T's AuthorizedKeysFile for the deploy user (patterns, %u unexpanded). */
  authorizedKeysFiles?: string[];
  /** sshd -T's AuthorizedKeysCommand ("none" when unset). */
  authorizedKeysCommand?: string;
  /** sshd -T could not be run (not root?). */
  error?: string;
}

/** What a hosting server says about one instance's dumps. */
export interface DumpFacts {
  /** Newest dump file's UTC stamp (YYYYMMDDTHHMMSSZ), from the dump directory. */
  newestDump?: string;
  dumpCount?: number;
  /** The last run's status file (<instance>.dump.json), as written by dolibarr-dump. */
  lastRun?: { result?: string; finishedAt?: string; message?: string };
  error?: string;
}

/**
 * What a backup server says about the binary logs it pulls from one hosting server
 * (status/binlog-<hosting>.json, written by dolibarr-binlog-pull every minute).
 */
export interface BinlogFacts {
  ok?: boolean;
  checkedAt?: string;
  /** The newest second a restore (`dolibarr-restore --at`) can reach from the instances' newest dumps. */
  newestRecoverableUtc?: string;
  /** Each instance's newest recoverable second, as the pull writes it (collect keeps only the instance's own). */
  recoverableByInstance?: Record<string, string>;
  lagSeconds?: number;
  maxLagSeconds?: number;
  problems?: string[];
  /**
   * Spans no restore can reach: binlog files missing behind every instance's newest dump (the
   * chain is ok again, restores to now work), from the last transaction before them to the
   * opening of the file after them ("" when unknown). Shown as a reason, never a worse status.
   */
  holes?: BinlogHole[];
  error?: string;
}

export interface BinlogHole {
  files: string[];
  fromUtc?: string;
  toUtc?: string;
}

/** What a backup server says about its mirror of one instance. */
export interface MirrorFacts {
  server: string;
  /** The mirror's .complete marker: the last accepted replication. */
  complete?: { finishedAt?: string; newestDump?: string; entries?: number };
  /** Newest snapshot's stamp (.snapshots/<stamp>). */
  newestSnapshot?: string;
  /** Oldest snapshot's stamp: the copy is at least that old (a drill is due once it is staleDays old). */
  oldestSnapshot?: string;
  /** When the mirror directory was created (its birth time, where the filesystem records one), ISO UTC. */
  bornAt?: string;
  snapshotCount?: number;
  /** The last run's status file (<instance>.replicate.json). */
  lastRun?: { result?: string; finishedAt?: string; message?: string; warnings?: string };
  /** The binary logs of the instance's hosting server held there (absent: binlogs off or not shipped yet). */
  binlog?: BinlogFacts;
  error?: string;
}

export interface InstanceFacts {
  name: string;
  client: string;
  hostingServer: string;
  backupServers: string[];
  /**
   * Worst-case RPO the rules computed for the instance (plans of the whole fleet, queue included):
   * database from its binlogs when they are shipped (databaseFrom "binlogs"; the copies are then
   * judged by their newest recoverable second), else from its dumps; dumps: the dump cycle's bound,
   * which the dumps and their copies keep either way (absent in older snapshots: database).
   */
  rpoHours: { files: number; database: number; dumps?: number };
  databaseFrom?: DatabaseRpoSource;
  dump: DumpFacts;
  mirrors: MirrorFacts[];
  /** What each backup server says about its restore drills of the instance (absent: drills off, or an older snapshot). */
  drills?: DrillFacts[];
}

/** Everything collected from one fleet at one moment. */
export interface StatusSnapshot {
  fleet: string;
  collectedAt: string;
  timeZone: string;
  servers: StatusServer[];
  links: Array<{ instance: string; from: string; to: string; km: number }>;
  instances: InstanceFacts[];
  /** The fleet's drill settings the drills are judged by (absent in older snapshots: no drill judged). */
  drills?: DrillSettings;
}

export type Freshness = "ok" | "stale" | "failing" | "unknown";

export interface MirrorState {
  server: string;
  status: Freshness;
  /** Age of the last accepted replication (files), hours. */
  filesAgeHours?: number;
  /** Age of the newest dump that replication carried (database), hours. */
  databaseAgeHours?: number;
  snapshotAgeHours?: number;
  /** The newest second of the database a restore from this server reaches (binlogs), ISO UTC. */
  recoverableAt?: string;
  reasons: string[];
}

export interface InstanceState {
  name: string;
  client: string;
  hostingServer: string;
  status: Freshness;
  /** Age of the newest dump on the hosting server, hours. */
  dumpAgeHours?: number;
  /** Best (freshest) over the backup servers. */
  filesAgeHours?: number;
  databaseAgeHours?: number;
  /** The newest recoverable second over the usable backup servers (binlogs), ISO UTC. */
  recoverableAt?: string;
  rpoHours: InstanceFacts["rpoHours"];
  databaseFrom?: DatabaseRpoSource;
  mirrors: MirrorState[];
  /** The restore drills, one per backup server that was asked (none when the fleet's drills are off). */
  drills: DrillState[];
  reasons: string[];
  /** Worth reading without making the instance worse than ok: an RTO above the maximum, a dropped key. */
  warnings: string[];
}

/** A server's own items: its systemd and its notifier. */
export interface ServerState {
  name: string;
  role: Server["role"];
  /** False for a server not asked (lost, or a snapshot that was never collected): nothing judged. */
  checked: boolean;
  status: Freshness;
  reasons: string[];
  /** Worth reading without making the server worse than ok (encryptionAtRest: advisory). */
  warnings: string[];
}

export interface StatusReport {
  snapshot: StatusSnapshot;
  instances: InstanceState[];
  servers: ServerState[];
  /** 0 when every instance and every server is ok, 1 otherwise. */
  exitCode: number;
}

/** A binlog status older than this (or than the fleet's binlog.maxLagSeconds, whichever is more) means its pull stopped. */
export const BINLOG_STATUS_MAX_AGE_SECONDS = 300;

/** A notification older than this in a server's spool means its delivery is stuck. */
export const SPOOL_MAX_AGE_MINUTES = 10;

/** The notifier's units that must be active on every server: the spool watcher and the safety net's timer. */
const NOTIFIER_ARMED = ["dolibarr-notify.path", "dolibarr-notify-sweep.timer"];

/**
 * A server's own status (pure):
 *  - failing: a notifier unit failed, or the spool watcher or its timer is not active (no alert
 *    leaves the server), a notification waits in the spool for more than SPOOL_MAX_AGE_MINUTES,
 *    or systemd is degraded (every failed unit named);
 *  - unknown: the server did not answer, or its report has no health part, or systemd does not run;
 *  - ok otherwise, and for a server not asked (lost, or a snapshot without collection).
 */
export function assessServer(server: StatusServer): ServerState {
  const base = { name: server.name, role: server.role, checked: true, warnings: [] as string[] };
  if (server.state === "lost" || server.reachable === undefined) return { ...base, checked: false, status: "ok", reasons: [] };
  if (server.reachable === false) return { ...base, status: "unknown", reasons: [`${server.name} did not answer: ${server.error ?? "no message"}`] };
  const h = server.health;
  if (!h) return { ...base, status: "unknown", reasons: [`${server.name}: its report holds no health (systemd, notifier)`] };
  const atRest = server.role === "backup" ? assessAtRest(server.atRest ?? DEFAULT_AT_REST, server.name, h.atRest) : { failing: [], warnings: [] };
  const failing: string[] = [];
  const unknown: string[] = [];
  if (h.systemState === undefined || h.systemState === "unavailable" || h.systemState === "") {
    unknown.push(`${server.name}: systemd does not run there (systemctl is-system-running: ${h.systemState || "no answer"}): its timers, jobs and notifier cannot run`);
  } else {
    for (const u of h.notifier ?? []) {
      if (u.activeState === "failed") failing.push(`notifier: ${u.unit} failed (${u.result ?? "no result"}): alerts of this server are not delivered until it is re-armed`);
      else if (NOTIFIER_ARMED.includes(u.unit) && u.activeState !== "active") {
        failing.push(`notifier: ${u.unit} is ${u.loadState === "not-found" ? "not installed" : u.activeState ?? "in no state"}${u.unitFileState ? ` (${u.unitFileState})` : ""}: the spool is not watched`);
      }
    }
    for (const unit of NOTIFIER_ARMED) if (h.notifier && !h.notifier.some((u) => u.unit === unit)) failing.push(`notifier: ${unit} is not reported`);
    const failed = h.failedUnits ?? [];
    if (h.systemState === "initializing" || h.systemState === "starting") {
      unknown.push(`systemd is still ${h.systemState} (booting)${failed.length ? `; failed unit(s) so far: ${failed.join(", ")}` : ""}`);
    } else if (h.systemState !== "running" || failed.length > 0) {
      failing.push(`systemd is ${h.systemState}${failed.length ? `: failed unit(s) ${failed.join(", ")}` : ""}`);
    }
  }
  const spool = h.spool;
  if (spool && spool.count > 0 && spool.oldestAgeSeconds !== undefined && spool.oldestAgeSeconds > SPOOL_MAX_AGE_MINUTES * 60) {
    failing.push(`notifier: ${spool.count} notification(s) waiting in the spool, the oldest ${Math.round(spool.oldestAgeSeconds / 60)} min old (> ${SPOOL_MAX_AGE_MINUTES} min): delivery is stuck`);
  }
  failing.push(...atRest.failing);
  const keys = server.declaredKeys ? assessKeys(server.declaredKeys, h.sshKeys) : { failing: [], warnings: [], unknown: [] };
  failing.push(...keys.failing);
  unknown.push(...keys.unknown);
  // The pulls' rsync below the fleet's minimum: they refuse to run (failing); not reported (scripts
  // from before the report): a warning until the fleet is deployed.
  const warnings = [...atRest.warnings, ...keys.warnings];
  if (server.role === "backup") {
    const problem = rsyncProblem(server.rsync ?? DEFAULT_RSYNC, server.name, h.rsync);
    if (problem && h.rsync?.version) failing.push(problem);
    else if (problem) warnings.push(problem);
  }
  const reasons = [...failing, ...unknown];
  return { ...base, status: failing.length ? "failing" : unknown.length ? "unknown" : "ok", reasons: reasons.map((r) => (r.startsWith(server.name) ? r : `${server.name}: ${r}`)), warnings };
}

/**
 * The deploy user's keys (fleets declaring operators): an undeclared key in a file sshd reads, a
 * keys file other than the rendered one, or an AuthorizedKeysCommand is failing (someone the fleet
 * does not name can log in); an undeclared key in a ~/.ssh file sshd ignores is a warning (it is
 * accepted again if the drop-in goes); no report, or sshd -T not run, is unknown.
 */
export function assessKeys(declared: readonly DeclaredKey[], facts: SshKeysFacts | undefined): { failing: string[]; warnings: string[]; unknown: string[] } {
  const failing: string[] = [];
  const warnings: string[] = [];
  const unknown: string[] = [];
  if (!facts) return { failing, warnings, unknown: ["its report holds no SSH keys part (deployed before operators?)"] };
  if (facts.error) unknown.push(`sshd -T could not say which keys files sshd reads for the deploy user (${facts.error.split("\n").pop()})`);
  const akf = facts.authorizedKeysFiles;
  if (akf && (akf.length !== 1 || akf[0] !== ACCESS_KEYS_PATTERN)) {
    failing.push(`sshd reads ${akf.join(" ") || "no file"} for the deploy user, not ${ACCESS_KEYS_PATTERN} alone: the drop-in is not in force`);
  }
  const akc = facts.authorizedKeysCommand;
  if (akc && akc.toLowerCase() !== "none") failing.push(`sshd runs AuthorizedKeysCommand ${akc} for the deploy user: the keys it gives are not checked`);
  const j = strayKeys(declared, facts.files);
  for (const k of j.stray) (k.readBySshd ? failing : warnings).push(describeStray(k));
  for (const p of j.problems) (p.readBySshd ? failing : warnings).push(p.message);
  return { failing, warnings, unknown };
}

/** The keys declared for `server`: the deploy key (when known) and the operators whose key opens it. */
export function declaredKeysOf(topology: Topology, server: Server, deployPublicKey?: string): DeclaredKey[] {
  const out: DeclaredKey[] = [];
  if (deployPublicKey) out.push({ fingerprint: fingerprintOfBlob(parsePublicKey(deployPublicKey, [...OPERATOR_KEY_TYPES, "ssh-dss"]).blob), who: "deploy" });
  for (const o of operatorsOn(topology.fleet, server)) out.push({ fingerprint: o.fingerprint, who: `operator:${o.name}` });
  return out;
}

/** "20260101T120000Z" → epoch ms; undefined when not a stamp. */
export function stampMs(stamp: string | undefined): number | undefined {
  const m = stamp && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp);
  if (!m) return undefined;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/** ISO time → epoch ms; undefined when absent or not a date. */
function isoMs(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
}

const hoursSince = (now: number, t: number | undefined): number | undefined => (t === undefined ? undefined : Math.max(0, (now - t) / 3_600_000));

const RANK: Record<Freshness, number> = { ok: 0, stale: 1, unknown: 2, failing: 3 };
const worst = (xs: readonly Freshness[]): Freshness => xs.reduce<Freshness>((a, b) => (RANK[b] > RANK[a] ? b : a), "ok");

/** The servers and links of a topology with each instance's worst-case RPO: the snapshot's skeleton, before collection. */
export function snapshotSkeleton(topology: Topology, collectedAt: Date, timeZone: string, opts: { deployPublicKey?: string } = {}): StatusSnapshot {
  const plans = planReplications(topology);
  const byName = new Map(topology.fleet.servers.map((s) => [s.name, s]));
  const instances = topology.clients.flatMap((c) => c.instances);
  const drills = drillSettingsOf(topology.fleet);
  return {
    fleet: topology.fleet.stack,
    collectedAt: collectedAt.toISOString(),
    timeZone,
    servers: topology.fleet.servers.map((s) => ({
      name: s.name,
      role: s.role,
      provider: s.provider,
      site: { id: s.site.id, city: s.site.city, country: s.site.country, latitude: s.site.latitude, longitude: s.site.longitude },
      state: s.state === "lost" ? "lost" : "active",
      ...(accessManaged(topology.fleet) ? { declaredKeys: declaredKeysOf(topology, s, opts.deployPublicKey) } : {}),
      ...(s.role === "backup" ? { atRest: atRestOf(topology.fleet), rsync: rsyncSettingsOf(topology.fleet) } : {}),
    })),
    links: instances.flatMap((i) =>
      i.backupServers
        .filter((b) => byName.has(b) && byName.has(i.hostingServer))
        .map((b) => ({ instance: i.name, from: i.hostingServer, to: b, km: Math.round(distanceKm(byName.get(i.hostingServer)!.site, byName.get(b)!.site)) })),
    ),
    instances: instances.map((i) => {
      const rpo = instanceRpo(topology, i, plans);
      return {
        name: i.name,
        client: i.client,
        hostingServer: i.hostingServer,
        backupServers: [...i.backupServers],
        rpoHours: { files: rpo.filesHours, database: rpo.databaseHours, dumps: rpo.dumpsHours },
        databaseFrom: rpo.databaseFrom,
        dump: {},
        mirrors: i.backupServers.map((server) => ({ server })),
        ...(drills.enabled ? { drills: i.backupServers.map((server) => ({ server })) } : {}),
      };
    }),
    drills,
  };
}

/**
 * Freshness of every instance at `now` (default: the snapshot's time):
 *  - failing: the last dump or a last replication failed, or the hosting server is lost;
 *  - stale: the freshest copy of the files, or of the database (the newest dump a complete mirror
 *    holds), on any backup server is older than the instance's worst-case RPO; or the newest dump on
 *    the hosting server is older than the database RPO;
 *  - unknown: nothing could be read (server unreachable, no status yet);
 *  - with the fleet's drills on, each backup server's restore drills too (drills/judge.ts): a
 *    failed last drill is failing, a newest success older than drills.staleDays stale.
 * A backup server's own mirror is judged the same way (the map colors each link).
 */
export function assess(snapshot: StatusSnapshot, now: Date = new Date(snapshot.collectedAt)): StatusReport {
  const t = now.getTime();
  const servers = new Map(snapshot.servers.map((s) => [s.name, s]));
  const instances = snapshot.instances.map((inst): InstanceState => {
    const reasons: string[] = [];
    const rpo = inst.rpoHours;
    const dumpsRpo = rpo.dumps ?? rpo.database;
    const byBinlogs = inst.databaseFrom === "binlogs";
    const fmt = (h: number) => (h < 1 ? `${Math.round(h * 60)} min` : `${h.toFixed(1)} h`);
    // hosting server
    let hostingStatus: Freshness = "ok";
    const hosting = servers.get(inst.hostingServer);
    const dumpAge = hoursSince(t, stampMs(inst.dump.newestDump));
    if (hosting?.state === "lost") {
      hostingStatus = "failing";
      reasons.push(`hosting server ${inst.hostingServer} is lost`);
    } else if (inst.dump.error) {
      hostingStatus = "unknown";
      reasons.push(`${inst.hostingServer}: ${inst.dump.error}`);
    } else if (inst.dump.lastRun?.result === "failed") {
      hostingStatus = "failing";
      reasons.push(`last dump failed: ${inst.dump.lastRun.message ?? "no message"}`);
    } else if (dumpAge === undefined) {
      hostingStatus = "unknown";
      reasons.push(`no dump on ${inst.hostingServer}`);
    } else if (dumpAge > dumpsRpo) {
      hostingStatus = "stale";
      reasons.push(`newest dump ${fmt(dumpAge)} old > ${byBinlogs ? "dump cycle" : "database RPO"} ${fmt(dumpsRpo)}`);
    }
    // backup servers
    const mirrors = inst.mirrors.map((m): MirrorState => {
      const r: string[] = [];
      const server = servers.get(m.server);
      const filesAge = hoursSince(t, isoMs(m.complete?.finishedAt));
      const databaseAge = hoursSince(t, stampMs(m.complete?.newestDump));
      const snapshotAge = hoursSince(t, stampMs(m.newestSnapshot));
      let status: Freshness = "ok";
      if (server?.state === "lost") {
        status = "failing";
        r.push(`${m.server} is lost`);
      } else if (m.error) {
        status = "unknown";
        r.push(`${m.server}: ${m.error}`);
      } else if (m.lastRun?.result === "failed" || m.lastRun?.result === "suspicious") {
        // suspicious: mirror complete, but a change pinned the previous snapshot (docs/server-jobs.md)
        status = "failing";
        r.push(`last replication on ${m.server} ${m.lastRun.result === "failed" ? "failed" : "was a suspicious change"}: ${m.lastRun.message ?? "no message"}`);
      } else if (filesAge === undefined) {
        status = "unknown";
        r.push(`no complete mirror on ${m.server}`);
      } else if (filesAge > rpo.files || (databaseAge ?? Infinity) > dumpsRpo) {
        status = "stale";
        if (filesAge > rpo.files) r.push(`mirror on ${m.server} ${fmt(filesAge)} old > files RPO ${fmt(rpo.files)}`);
        if ((databaseAge ?? Infinity) > dumpsRpo) r.push(`newest dump on ${m.server} ${databaseAge === undefined ? "missing" : `${fmt(databaseAge)} old`} > ${byBinlogs ? "dump cycle" : "database RPO"} ${fmt(dumpsRpo)}`);
      }
      // Binlogs (point in time): a chain the pull calls broken, or a pull that stopped reporting,
      // makes the copy stale: its database is then only as fresh as its newest dump.
      const binlog = m.binlog;
      let recoverableAt: string | undefined;
      if (binlog && server?.state !== "lost" && !m.error) {
        const checked = isoMs(binlog.checkedAt);
        const limit = Math.max(binlog.maxLagSeconds ?? BINLOG_STATUS_MAX_AGE_SECONDS, BINLOG_STATUS_MAX_AGE_SECONDS);
        if (binlog.error) {
          r.push(`binlogs on ${m.server}: ${binlog.error}`);
          if (status === "ok") status = "unknown";
        } else if (checked === undefined || (t - checked) / 1000 > limit) {
          r.push(`binlogs on ${m.server}: last checked ${checked === undefined ? "never" : `${Math.round((t - checked) / 60_000)} min ago`} (dolibarr-binlog-pull@${inst.hostingServer} does not run)`);
          if (status === "ok") status = "stale";
        } else if (binlog.ok === false) {
          r.push(`binlogs on ${m.server}: ${(binlog.problems ?? []).join("; ") || "chain not ok"}`);
          if (status === "ok") status = "stale";
        }
        // A hole (a gap behind every dump) is reported, not judged: restores to now still work.
        for (const h of binlog.holes ?? []) {
          const span = h.files.length > 1 ? `${h.files[0]}..${h.files[h.files.length - 1]}` : (h.files[0] ?? "?");
          r.push(`binlogs on ${m.server}: no restore possible between ${h.fromUtc || `the end of the file before ${span}`} and ${h.toUtc || `the start of the file after ${span}`} (gap ${span})`);
        }
        if (binlog.newestRecoverableUtc && isoMs(binlog.newestRecoverableUtc) !== undefined) recoverableAt = new Date(isoMs(binlog.newestRecoverableUtc)!).toISOString();
      }
      // With binlogs shipped, the database RPO is minutes: the copy is judged by its newest
      // recoverable second, and a backup server that holds no binlog status is not up to it.
      if (byBinlogs && server?.state !== "lost" && !m.error && !binlog?.error) {
        const recoverableAge = hoursSince(t, isoMs(recoverableAt));
        if (recoverableAge === undefined || recoverableAge > rpo.database) {
          r.push(
            binlog === undefined
              ? `binlogs of ${inst.hostingServer} on ${m.server}: no status (dolibarr-binlog-pull@${inst.hostingServer} has not reported), so no second past the newest dump is recoverable there`
              : recoverableAge === undefined
                ? `no second of ${inst.name} is recoverable on ${m.server} yet: none of its dumps there starts in the binlogs held (before its first replication), or the chain is broken`
                : `newest recoverable second on ${m.server} ${fmt(recoverableAge)} old > database RPO ${fmt(rpo.database)}`,
          );
          if (status === "ok") status = "stale";
        }
      }
      return {
        server: m.server,
        status,
        ...(recoverableAt !== undefined ? { recoverableAt } : {}),
        ...(filesAge !== undefined ? { filesAgeHours: filesAge } : {}),
        ...(databaseAge !== undefined ? { databaseAgeHours: databaseAge } : {}),
        ...(snapshotAge !== undefined ? { snapshotAgeHours: snapshotAge } : {}),
        reasons: r,
      };
    });
    const usable = mirrors.filter((m) => m.status !== "failing" && m.filesAgeHours !== undefined);
    const filesAge = usable.length ? Math.min(...usable.map((m) => m.filesAgeHours!)) : undefined;
    const dbAges = usable.map((m) => m.databaseAgeHours).filter((x): x is number => x !== undefined);
    const databaseAge = dbAges.length ? Math.min(...dbAges) : undefined;
    const recoverable = mirrors
      .filter((m) => m.status !== "failing" && m.recoverableAt !== undefined)
      .map((m) => m.recoverableAt!)
      .sort()
      .pop();
    const recoverableAge = hoursSince(t, isoMs(recoverable));
    // The instance is as fresh as its freshest copy; a failing or stale mirror is still reported.
    let copies: Freshness;
    if (filesAge === undefined) copies = mirrors.some((m) => m.status === "failing") ? "failing" : "unknown";
    else if (filesAge > rpo.files || (databaseAge ?? Infinity) > dumpsRpo || (byBinlogs && (recoverableAge ?? Infinity) > rpo.database)) copies = "stale";
    else copies = "ok";
    if (copies === "stale") {
      const database = byBinlogs
        ? `database: newest recoverable second ${recoverableAge === undefined ? "none" : `${fmt(recoverableAge)} old`} (RPO ${fmt(rpo.database)}), newest dump ${databaseAge === undefined ? "none" : fmt(databaseAge)} (dump cycle ${fmt(dumpsRpo)})`
        : `database ${databaseAge === undefined ? "none" : fmt(databaseAge)} (RPO ${fmt(rpo.database)})`;
      reasons.push(`freshest copy: files ${fmt(filesAge!)} (RPO ${fmt(rpo.files)}), ${database}`);
    }
    for (const m of mirrors) reasons.push(...m.reasons);
    const drills = assessDrills(inst, snapshot, t);
    for (const d of drills) reasons.push(...d.reasons);
    const status = worst([hostingStatus, copies, ...mirrors.map((m) => m.status), ...drills.map((d) => d.status)]);
    return {
      name: inst.name,
      client: inst.client,
      hostingServer: inst.hostingServer,
      status,
      ...(dumpAge !== undefined ? { dumpAgeHours: dumpAge } : {}),
      ...(filesAge !== undefined ? { filesAgeHours: filesAge } : {}),
      ...(databaseAge !== undefined ? { databaseAgeHours: databaseAge } : {}),
      ...(recoverable !== undefined ? { recoverableAt: recoverable } : {}),
      rpoHours: rpo,
      ...(inst.databaseFrom ? { databaseFrom: inst.databaseFrom } : {}),
      mirrors,
      drills,
      reasons,
      warnings: drills.flatMap((d) => d.warnings),
    };
  });
  const serverStates = snapshot.servers.map(assessServer);
  return { snapshot, instances, servers: serverStates, exitCode: instances.every((i) => i.status === "ok") && serverStates.every((s) => s.status === "ok") ? 0 : 1 };
}

/**
 * The drills of one instance, one per backup server that answered: a lost server drills nothing
 * (its mirror is failing already), an unreadable mirror or a silent server leaves the drills
 * unknown (the mirror's reason says why). A server's copy dates from its mirror's birth time or
 * its oldest snapshot, whichever is older.
 */
function assessDrills(inst: InstanceFacts, snapshot: StatusSnapshot, now: number): DrillState[] {
  const settings = snapshot.drills;
  if (!settings?.enabled || !inst.drills) return [];
  const servers = new Map(snapshot.servers.map((s) => [s.name, s]));
  return inst.drills.flatMap((facts): DrillState[] => {
    if (servers.get(facts.server)?.state === "lost") return [];
    const mirror = inst.mirrors.find((m) => m.server === facts.server);
    if (mirror?.error) return [{ server: facts.server, status: "unknown", reasons: [], warnings: [], notes: [`${facts.server}: ${mirror.error}`] }];
    const since = [isoMs(mirror?.bornAt), stampMs(mirror?.oldestSnapshot)].filter((x): x is number => x !== undefined);
    const context = { instance: inst.name, hasCopy: mirror?.complete?.finishedAt !== undefined, ...(since.length ? { copySinceMs: Math.min(...since) } : {}) };
    return [judgeDrill(facts, context, settings, now)];
  });
}

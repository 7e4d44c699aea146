// The rules of the backup procedure. Each is a pure function of the Topology: the offline check,
// the Pulumi program and the policy pack (which rebuilds a Topology from resource properties) all
// call these same functions. A topology that was never validated (policy pack) must not crash them:
// unknown servers are reported by topology.references and skipped by the other rules.
import { sameSshHost } from "../model/address";
import { BINLOG_PULL_SECONDS, binlogOf, binlogSettingsOf } from "../model/binlog";
import { fleetMaxConcurrentDumps, isLost, MAX_MINUTE_OFFSET, snapshotRetentionOf } from "../model/defaults";
import { distanceKm, sameCity } from "../model/geo";
import { maxBinlogDatabaseRpoHours } from "../model/rpo";
import { dumpCompletionMinutes } from "../model/schedule";
import { DRILL_DUMP_MARGIN, drillCandidates } from "../model/drill-slot";
import { drillSettingsOf } from "../model/drills";
import { rsyncSettingsOf, rsyncSettingsProblems, RSYNC_CVE_FLOOR } from "../model/rsync";
import { checkLost, LOST_RULE_ID } from "./lost";
import { formatTimeOfDay, inDailyWindow } from "../model/time";
import type { Severity, Topology, Violation } from "../model/types";
import { createRuleContext, describeServer, hours, instancesOf, km, knownBackups, minutesOrHours, rpoOf, violation, type RuleContext } from "./context";

export interface Rule {
  /** Stable id, used in reports, tests and the policy pack. */
  id: string;
  /** Severity unless the fleet policy says otherwise (see `configuredBy`). */
  defaultSeverity: Severity;
  description: string;
  /** The fleet policy keys that set its thresholds or severity. */
  configuredBy: string[];
  check(topology: Topology, context?: RuleContext): Violation[];
}

function rule(
  id: string,
  defaultSeverity: Severity,
  configuredBy: string[],
  description: string,
  body: (ctx: RuleContext, out: Violation[]) => void,
): Rule {
  return {
    id,
    defaultSeverity,
    description,
    configuredBy,
    check(topology, context) {
      const out: Violation[] = [];
      body(context ?? createRuleContext(topology), out);
      return out;
    },
  };
}

const list = (xs: string[]): string => xs.join(", ");
const times = (ts: readonly number[]): string => ts.map(formatTimeOfDay).join(" ");

export const topologyReferences = rule(
  "topology.references",
  "mandatory",
  [],
  "Every server an instance names exists in its fleet with the right role (hosting or backup); server names are unique in the fleet and instance names across all its clients.",
  (ctx, out) => {
    const { fleet } = ctx.topology;
    const seen = new Set<string>();
    for (const s of fleet.servers) {
      if (seen.has(s.name)) out.push(violation("topology.references", "mandatory", undefined, [s.name], `fleet "${fleet.stack}": server name "${s.name}" is declared twice`, fleet.file));
      seen.add(s.name);
    }
    const owners = new Map<string, string>();
    for (const ref of instancesOf(ctx.topology)) {
      const { instance: inst, client } = ref;
      const V = (servers: string[], msg: string) => out.push(violation("topology.references", "mandatory", ref, servers, `instance ${inst.name}: ${msg}`));
      const owner = owners.get(inst.name);
      if (owner !== undefined) V([], `name also used by client ${owner}; instance names must be unique across fleet "${fleet.stack}"`);
      else owners.set(inst.name, client.client);
      if (client.fleetStack !== fleet.stack) V([], `client ${client.client} belongs to fleet "${client.fleetStack}", not "${fleet.stack}"`);
      const hosting = ctx.servers.get(inst.hostingServer);
      if (!hosting) V([inst.hostingServer], `hosting server ${inst.hostingServer} is not in fleet "${fleet.stack}"`);
      else if (hosting.role !== "hosting") V([inst.hostingServer], `hosting server ${inst.hostingServer} has role ${hosting.role}, expected hosting`);
      const listed = new Set<string>();
      for (const b of inst.backupServers) {
        if (listed.has(b)) V([b], `backup server ${b} is listed twice`);
        listed.add(b);
        const s = ctx.servers.get(b);
        if (!s) V([b], `backup server ${b} is not in fleet "${fleet.stack}"`);
        else if (s.role !== "backup" && b !== inst.hostingServer) V([b], `backup server ${b} has role ${s.role}, expected backup`);
      }
    }
  },
);

export const serversLost = rule(
  LOST_RULE_ID,
  "mandatory",
  [],
  "No instance depends on a server the fleet marks `state: lost`: an instance whose hosting server is lost is restored onto another hosting server and moved there; a lost backup server is replaced by an active one at least minDistanceKm away (the violation names the candidates).",
  (ctx, out) => checkLost(ctx, out),
);

export const backupNotHosting = rule(
  "backup.not-hosting",
  "mandatory",
  [],
  "A backup server is never the instance's hosting server (by name, nor by SSH host and port).",
  (ctx, out) => {
    for (const ref of instancesOf(ctx.topology)) {
      const { instance: inst } = ref;
      const hosting = ctx.servers.get(inst.hostingServer);
      for (const b of new Set(inst.backupServers)) {
        const s = ctx.servers.get(b);
        if (b === inst.hostingServer) {
          out.push(violation("backup.not-hosting", "mandatory", ref, [b], `instance ${inst.name}: its hosting server ${b} is also listed as a backup server; a copy on the hosting server is no backup`));
        } else if (s && hosting && sameSshHost(s.ssh.host, hosting.ssh.host) && s.ssh.port === hosting.ssh.port) {
          out.push(violation("backup.not-hosting", "mandatory", ref, [b, hosting.name], `instance ${inst.name}: backup server ${b} is the same machine as hosting server ${hosting.name} (${s.ssh.host}:${s.ssh.port})`));
        }
      }
    }
  },
);

export const backupMinCount = rule(
  "backup.min-count",
  "mandatory",
  ["minBackupServers"],
  "Each instance has at least minBackupServers backup servers, at as many distinct sites.",
  (ctx, out) => {
    const min = ctx.topology.fleet.policy.minBackupServers;
    for (const ref of instancesOf(ctx.topology)) {
      const { instance: inst } = ref;
      const backups = knownBackups(ctx, inst).filter((s) => s.name !== inst.hostingServer && s.role === "backup");
      const names = backups.map((s) => s.name);
      if (backups.length < min) {
        out.push(violation("backup.min-count", "mandatory", ref, names, `instance ${inst.name}: ${backups.length} valid backup server(s)${names.length ? ` (${list(names)})` : ""}; required ≥ ${min} at distinct sites`));
        continue;
      }
      const sites = new Map<string, string[]>();
      for (const s of backups) sites.set(s.site.id, [...(sites.get(s.site.id) ?? []), s.name]);
      if (sites.size < min) {
        const shared = [...sites.entries()].filter(([, v]) => v.length > 1).map(([id, v]) => `${list(v)} at ${id}`);
        out.push(violation("backup.min-count", "mandatory", ref, names, `instance ${inst.name}: backup servers at only ${sites.size} distinct site(s) (${shared.join("; ")}); required ≥ ${min} distinct sites`));
      }
    }
  },
);

export const geoMinDistance = rule(
  "geo.min-distance",
  "mandatory",
  ["minDistanceKm"],
  "Every backup site is at least minDistanceKm (great-circle) from the hosting site and from the instance's other backup sites; the same site or the same city always fails.",
  (ctx, out) => {
    const min = ctx.topology.fleet.policy.minDistanceKm;
    for (const ref of instancesOf(ctx.topology)) {
      const { instance: inst } = ref;
      const hosting = ctx.servers.get(inst.hostingServer);
      const backups = knownBackups(ctx, inst).filter((s) => s.name !== inst.hostingServer);
      const pairs: Array<[typeof backups[number], typeof backups[number], string]> = [];
      if (hosting) for (const b of backups) pairs.push([hosting, b, "hosting"]);
      for (let i = 0; i < backups.length; i++) for (let j = i + 1; j < backups.length; j++) pairs.push([backups[i]!, backups[j]!, "backup"]);
      for (const [a, b, kind] of pairs) {
        const what = kind === "hosting" ? `backup server ${describeServer(b)} and hosting server ${describeServer(a)}` : `backup servers ${describeServer(a)} and ${describeServer(b)}`;
        if (a.site.id === b.site.id) {
          out.push(violation("geo.min-distance", "mandatory", ref, [a.name, b.name], `instance ${inst.name}: ${what} are at the same site; required ≥ ${min} km apart`));
          continue;
        }
        const d = distanceKm(a.site, b.site);
        if (sameCity(a.site, b.site)) {
          out.push(violation("geo.min-distance", "mandatory", ref, [a.name, b.name], `instance ${inst.name}: ${what} are in the same city (${km(d)}); required different cities ≥ ${min} km apart`));
        } else if (d < min) {
          out.push(violation("geo.min-distance", "mandatory", ref, [a.name, b.name], `instance ${inst.name}: ${what} are ${km(d)} apart; required ≥ ${min} km`));
        }
      }
    }
  },
);

export const providerDiversity = rule(
  "provider.diversity",
  "mandatory",
  ["providerDiversity"],
  'At least one backup server is at a provider other than the hosting server\'s. providerDiversity "required" makes it mandatory, "advisory" advisory, "off" skips it.',
  (ctx, out) => {
    const mode = ctx.topology.fleet.policy.providerDiversity;
    if (mode === "off") return;
    const severity: Severity = mode === "required" ? "mandatory" : "advisory";
    for (const ref of instancesOf(ctx.topology)) {
      const { instance: inst } = ref;
      const hosting = ctx.servers.get(inst.hostingServer);
      if (!hosting) continue;
      const backups = knownBackups(ctx, inst).filter((s) => s.name !== inst.hostingServer);
      if (backups.length === 0) continue;
      if (backups.every((s) => s.provider === hosting.provider)) {
        out.push(violation("provider.diversity", severity, ref, [hosting.name, ...backups.map((s) => s.name)], `instance ${inst.name}: hosting server ${hosting.name} and every backup server (${list(backups.map((s) => s.name))}) are at ${hosting.provider}; required ≥ 1 backup at another provider (${hosting.provider === "ovh" ? "ionos" : "ovh"})`));
      }
    }
  },
);

export const scheduleDumps = rule(
  "schedule.dumps",
  "mandatory",
  ["minDumpsPerDay", "minRetentionDays"],
  "Each instance's database is dumped at least minDumpsPerDay times a day and its dumps are kept at least minRetentionDays days on the hosting server.",
  (ctx, out) => {
    const { minDumpsPerDay, minRetentionDays } = ctx.topology.fleet.policy;
    for (const ref of instancesOf(ctx.topology)) {
      const { instance: inst } = ref;
      const s = inst.schedule;
      const distinct = new Set(s.dumpTimes).size;
      if (distinct < minDumpsPerDay) {
        out.push(violation("schedule.dumps", "mandatory", ref, [inst.hostingServer], `instance ${inst.name}: ${distinct} dump(s) a day (${times(s.dumpTimes) || "none"}); required ≥ ${minDumpsPerDay}`));
      }
      if (!(s.retentionDays >= minRetentionDays)) {
        out.push(violation("schedule.dumps", "mandatory", ref, [inst.hostingServer], `instance ${inst.name}: dumps kept ${s.retentionDays} day(s); required ≥ ${minRetentionDays}`));
      }
    }
  },
);

export const scheduleStaggered = rule(
  "schedule.staggered",
  "mandatory",
  ["dumpWindowMinutes"],
  `The backup servers of an instance never start a replication at the same minute, and no replication starts inside a dump window [dump, dump + dumpWindowMinutes), whatever the per-client minute offset (0..${MAX_MINUTE_OFFSET}).`,
  (ctx, out) => {
    const w = ctx.topology.fleet.policy.dumpWindowMinutes;
    for (const ref of instancesOf(ctx.topology)) {
      const { instance: inst } = ref;
      const plans = ctx.plansByInstance.get(inst.name) ?? [];
      const byMinute = new Map<number, string[]>();
      for (const p of plans) for (const t of new Set(p.times)) byMinute.set(t, [...(byMinute.get(t) ?? []), p.backupServer]);
      for (const [t, servers] of [...byMinute.entries()].sort((a, b) => a[0] - b[0])) {
        if (servers.length > 1) {
          out.push(violation("schedule.staggered", "mandatory", ref, servers, `instance ${inst.name}: backup servers ${list(servers)} all start replicating at ${formatTimeOfDay(t)}; required different start times`));
        }
      }
      for (const p of plans) {
        const bad: string[] = [];
        for (const t of p.times) {
          const d = inst.schedule.dumpTimes.find((d) => inDailyWindow(t, d - MAX_MINUTE_OFFSET, w + MAX_MINUTE_OFFSET));
          if (d === undefined) continue;
          bad.push(
            inDailyWindow(t, d, w)
              ? `${formatTimeOfDay(t)} is inside dump window ${formatTimeOfDay(d)}–${formatTimeOfDay(d + w)}`
              : `${formatTimeOfDay(t)} + a client minute offset of up to ${MAX_MINUTE_OFFSET} min reaches dump window ${formatTimeOfDay(d)}–${formatTimeOfDay(d + w)}`,
          );
        }
        if (bad.length) {
          out.push(violation("schedule.staggered", "mandatory", ref, [p.backupServer], `instance ${inst.name}: replication by ${p.backupServer} starts during a dump: ${bad.join("; ")}; required no start in [dump, dump + ${w} min)`));
        }
      }
    }
  },
);

export const rpoMax = rule(
  "rpo.max",
  "mandatory",
  ["maxRpoHours.files", "maxRpoHours.database", "maxRpoHours.databaseWithBinlogs", "dumpWindowMinutes"],
  `The worst-case recovery point of each instance, over a 24 h cycle and any per-client minute offset (0..${MAX_MINUTE_OFFSET}), is within maxRpoHours: files = largest gap between replication starts of all its backup servers; database, when its hosting server's binlogs are shipped = the lag a backup server's copy may reach before its chain check alerts (binlog.maxLagSeconds), within maxRpoHours.databaseWithBinlogs; without binlogs = time since the newest dump already copied to a backup server, within maxRpoHours.database.`,
  (ctx, out) => {
    const max = ctx.topology.fleet.policy.maxRpoHours;
    for (const ref of instancesOf(ctx.topology)) {
      const { instance: inst } = ref;
      const plans = ctx.plansByInstance.get(inst.name) ?? [];
      const rpo = rpoOf(ctx, inst);
      const servers = plans.map((p) => p.backupServer);
      const sched = plans.map((p) => `${p.backupServer} ${times(p.times)}`).join("; ") || "no replication";
      const w = ctx.topology.fleet.policy.dumpWindowMinutes;
      const queued = inst.schedule.dumpTimes
        .map((d) => ({ d, done: dumpCompletionMinutes(ctx.topology, inst, d) }))
        .filter((q) => q.done > w)
        .map((q) => `the dump queue of ${inst.hostingServer} at ${formatTimeOfDay(q.d)} (max ${fleetMaxConcurrentDumps(ctx.topology.fleet)} at once) may finish it ${q.done} min after its start, after the ${w}-min dump window: raise maxConcurrentDumps or dumpWindowMinutes, or move some instances' dumpTimes`);
      // Compare in minutes: thresholds are written in hours, measures are whole minutes; a threshold
      // such as 16.4 h is 984 min, which floating point may compute as 983.9999999999999.
      const within = (hoursMeasured: number, maxHours: number): boolean => Math.round(hoursMeasured * 60) <= maxHours * 60 + 1e-6;
      if (!within(rpo.filesHours, max.files)) {
        out.push(violation("rpo.max", "mandatory", ref, servers, `instance ${inst.name}: worst-case files RPO ${hours(rpo.filesHours)} (replications: ${sched}); required ≤ ${max.files} h`));
      }
      if (rpo.databaseFrom === "binlogs") {
        const maxDb = maxBinlogDatabaseRpoHours(ctx.topology.fleet.policy);
        if (!within(rpo.databaseHours, maxDb)) {
          const lag = binlogSettingsOf(ctx.topology.fleet).maxLagSeconds;
          out.push(violation("rpo.max", "mandatory", ref, servers, `instance ${inst.name}: worst-case database RPO ${minutesOrHours(rpo.databaseHours)} (binlogs of ${inst.hostingServer} pulled every ${BINLOG_PULL_SECONDS} s by ${list(servers)}, alerted beyond binlog.maxLagSeconds ${lag} s); required ≤ ${minutesOrHours(maxDb)} (maxRpoHours.databaseWithBinlogs): lower the fleet's binlog.maxLagSeconds`));
        }
      } else if (!within(rpo.databaseHours, max.database)) {
        out.push(violation("rpo.max", "mandatory", ref, servers, `instance ${inst.name}: worst-case database RPO ${hours(rpo.databaseHours)} (dumps ${times(inst.schedule.dumpTimes) || "none"}; replications: ${sched}); required ≤ ${max.database} h${queued.length ? `; ${queued.join("; ")}` : ""}`));
      }
    }
  },
);

/** Most snapshots an age-based retention can hold at once for an instance (the disk budget's measure). */
export function worstCaseSnapshots(r: { keepHours: number; keepDays: number; keepWeeks: number }, replicationsPerDay: number, keepMin: number): number {
  return Math.max(keepMin, Math.ceil((r.keepHours * replicationsPerDay) / 24) + r.keepDays + r.keepWeeks);
}

export const retentionSnapshots = rule(
  "retention.snapshots",
  "mandatory",
  ["snapshots.keepHours", "snapshots.keepDays", "snapshots.keepWeeks", "snapshots.maxSnapshots", "maxRpoHours.files", "minRetentionDays"],
  "Snapshot retention (fleet key snapshots) keeps every snapshot for at least two files-RPO periods (the last good copy survives a bad run), reaches back at least minRetentionDays (as long as the dumps), and its worst-case number of snapshots (keepHours x replications a day / 24 + keepDays + keepWeeks) fits the disk budget maxSnapshots.",
  (ctx, out) => {
    const { fleet } = ctx.topology;
    const r = snapshotRetentionOf(fleet);
    const { maxRpoHours, minRetentionDays } = fleet.policy;
    for (const ref of instancesOf(ctx.topology)) {
      const { instance: inst } = ref;
      if (!(inst.snapshotsKeep > 0)) continue; // snapshots off for this instance (mirror only)
      const V = (msg: string) => out.push(violation("retention.snapshots", "mandatory", ref, [...inst.backupServers], `instance ${inst.name}: ${msg}`, fleet.file));
      if (r.keepHours < 2 * maxRpoHours.files) {
        V(`snapshots are all kept only ${r.keepHours} h; required ≥ ${2 * maxRpoHours.files} h (2 x maxRpoHours.files ${maxRpoHours.files} h) so that the last good copy outlives a bad run`);
      }
      const spanDays = Math.max(r.keepHours / 24, r.keepDays, r.keepWeeks * 7);
      if (spanDays < minRetentionDays) {
        V(`snapshots reach back ${Math.round(spanDays * 10) / 10} day(s); required ≥ ${minRetentionDays} (minRetentionDays, as long as the dumps are kept)`);
      }
      const worst = worstCaseSnapshots(r, inst.schedule.replicationsPerDay, inst.snapshotsKeep);
      if (worst > r.maxSnapshots) {
        V(`up to ${worst} snapshots per backup server (${r.keepHours} h x ${inst.schedule.replicationsPerDay} a day + ${r.keepDays} daily + ${r.keepWeeks} weekly); disk budget snapshots.maxSnapshots is ${r.maxSnapshots}`);
      }
    }
  },
);

export const binlogOff = rule(
  "binlog.off",
  "advisory",
  [],
  "Every hosting server that carries an instance has its binary logs on and shipped to the instance's backup servers, so a lost server costs the database minutes, not the hours since its last dump. A server whose MariaDB the program may not configure (a shared one it does not own) turns them off with servers[].binlog.enabled: false; its instances are reported here with the dump-cycle RPO they keep.",
  (ctx, out) => {
    for (const ref of instancesOf(ctx.topology)) {
      const { instance: inst } = ref;
      const hosting = ctx.servers.get(inst.hostingServer);
      // Off by the fleet's word only: a Server without binlog settings (a fleet state from before
      // binlogs) says nothing either way.
      if (!hosting || hosting.role !== "hosting" || isLost(hosting) || hosting.binlog?.enabled !== false) continue;
      const rpo = rpoOf(ctx, inst);
      out.push(
        violation(
          "binlog.off",
          "advisory",
          ref,
          [hosting.name],
          `instance ${inst.name}: binary logs are off on ${hosting.name} (servers[].binlog.enabled: false in the fleet stack file), so its database can only be restored to a dump: worst-case database RPO ${hours(rpo.databaseHours)} instead of minutes; turn them on unless that MariaDB is not the company's to configure`,
        ),
      );
    }
  },
);

export const binlogServerId = rule(
  "binlog.server-id",
  "mandatory",
  [],
  "Every hosting server whose binary logs are on has a server_id (also its GTID domain) of its own in the fleet: two servers writing one GTID domain make GTIDs ambiguous in every backup server's chain and in a replay.",
  (ctx, out) => {
    const { fleet } = ctx.topology;
    const byId = new Map<number, string[]>();
    for (const s of fleet.servers) {
      const b = binlogOf(s);
      if (!b || isLost(s)) continue;
      byId.set(b.serverId, [...(byId.get(b.serverId) ?? []), s.name]);
    }
    for (const [id, names] of byId) {
      if (names.length < 2) continue;
      out.push(
        violation(
          "binlog.server-id",
          "mandatory",
          undefined,
          names,
          `fleet "${fleet.stack}": hosting servers ${list(names)} all get server_id ${id}; expected one per server: set servers[].binlog.serverId (1..4294967295) on all but one of them`,
          fleet.file,
        ),
      );
    }
  },
);

export const drillWindow = rule(
  "drill.window",
  "advisory",
  ["drills.maxRtoMinutes"],
  "With restore drills on (fleet drills.enabled), each instance's dumps leave its weekly drill a start at least drills.maxRtoMinutes before the instance's next dump, where dolibarr-drill stops: a drill that takes the maximum RTO still ends, so the drills can prove it.",
  (ctx, out) => {
    const drills = drillSettingsOf(ctx.topology.fleet);
    if (!drills.enabled) return;
    for (const ref of instancesOf(ctx.topology)) {
      const { instance: inst } = ref;
      if (inst.schedule.dumpTimes.length === 0 || drillCandidates(inst.schedule.dumpTimes, [], 0, drills.maxRtoMinutes).length > 0) continue;
      out.push(
        violation(
          "drill.window",
          "advisory",
          ref,
          knownBackups(ctx, inst).map((s) => s.name),
          `instance ${inst.name}: its dumps (${times(inst.schedule.dumpTimes)}) leave no drill start ${drills.maxRtoMinutes} min (drills.maxRtoMinutes) before the next dump, where the drill stops: a drill as long as the maximum RTO would be cut; required a gap of at least ${drills.maxRtoMinutes} min plus ${DRILL_DUMP_MARGIN.after} min after a dump`,
        ),
      );
    }
  },
);

export const rsyncMinVersion = rule(
  "rsync.min-version",
  "mandatory",
  ["rsync.minVersion", "rsync.minPackages"],
  `The fleet's minimum rsync (rsync.minVersion, default ${RSYNC_CVE_FLOOR}; rsync.minPackages, distribution packages carrying the same fixes) is at least ${RSYNC_CVE_FLOOR}, the release that fixed CVE-2024-12084..12088 (a malicious sender against the pulls' rsync). The backup servers' pulls refuse to run with an older rsync, and npm run status reports each backup server's rsync against it.`,
  (ctx, out) => {
    const { fleet } = ctx.topology;
    for (const problem of rsyncSettingsProblems(rsyncSettingsOf(fleet))) {
      out.push(violation("rsync.min-version", "mandatory", undefined, [], `fleet "${fleet.stack}": ${problem}`, fleet.file));
    }
  },
);

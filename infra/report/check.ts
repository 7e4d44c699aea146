// The offline check as data: per fleet, per client, per instance the facts an ops engineer reviews
// (sites, distances, providers, dump and replication times, RPO) and the violations of the rules.
// Pure: no I/O. Formatting is in text.ts.
import { distanceKm } from "../model/geo";
import type { InstanceRpo } from "../model/rpo";
import type { FleetPolicy, Provider, Site, Topology, Violation } from "../model/types";
import { checkTopology, createRuleContext } from "../rules";
import { rpoOf } from "../rules/context";

export interface ServerLine {
  name: string;
  /** Undefined when the server is not in the fleet (then a violation says so). */
  provider?: Provider;
  site?: Site;
}

export interface BackupLine extends ServerLine {
  /** Great-circle km from the hosting site, when both are known. */
  distanceFromHostingKm?: number;
  /** Replication start minutes without the per-client offset. */
  times: number[];
}

export interface InstanceReport {
  name: string;
  hosting: ServerLine;
  database: string;
  dumpTimes: number[];
  retentionDays: number;
  dumpDir: string;
  replicationsPerDay: number;
  snapshotsKeep: number;
  backups: BackupLine[];
  backupPairs: Array<{ a: string; b: string; km: number }>;
  /** Worst case over the per-client minute offsets. */
  rpo: InstanceRpo;
  violations: Violation[];
}

export interface ClientReport {
  client: string;
  stack: string;
  file: string;
  instances: InstanceReport[];
  /** Every violation of the client's instances. */
  violations: Violation[];
}

export interface FleetReport {
  stack: string;
  file: string;
  policy: FleetPolicy;
  serverCount: { hosting: number; backup: number };
  clients: ClientReport[];
  /** Violations not tied to a client (e.g. duplicate server names). */
  fleetViolations: Violation[];
  violations: Violation[];
}

export interface CheckReport {
  fleets: FleetReport[];
  violations: Violation[];
  counts: { fleets: number; clients: number; instances: number; mandatory: number; advisory: number };
  /** 0 when no mandatory violation, else 1 (config errors, exit 2, never get this far). */
  exitCode: 0 | 1;
}

export function buildFleetReport(topology: Topology): FleetReport {
  const ctx = createRuleContext(topology);
  const violations = checkTopology(topology, { context: ctx });
  const { fleet } = topology;
  const line = (name: string): ServerLine => {
    const s = ctx.servers.get(name);
    return s ? { name, provider: s.provider, site: s.site } : { name };
  };
  const byClient = new Map<string, Violation[]>();
  for (const v of violations) {
    if (v.client === undefined) continue;
    const k = `${v.client}\u0000${v.file ?? ""}`;
    const list = byClient.get(k);
    if (list) list.push(v);
    else byClient.set(k, [v]);
  }
  const clients: ClientReport[] = topology.clients.map((client) => {
    const clientViolations = byClient.get(`${client.client}\u0000${client.file}`) ?? [];
    const instances = client.instances.map((inst): InstanceReport => {
      const hosting = line(inst.hostingServer);
      const plans = ctx.plansByInstance.get(inst.name) ?? [];
      const backups: BackupLine[] = [...new Set(inst.backupServers)].map((name) => {
        const l = line(name);
        const times = plans.find((p) => p.backupServer === name)?.times ?? [];
        return {
          ...l,
          ...(l.site && hosting.site ? { distanceFromHostingKm: distanceKm(hosting.site, l.site) } : {}),
          times,
        };
      });
      const backupPairs: InstanceReport["backupPairs"] = [];
      for (let i = 0; i < backups.length; i++) {
        for (let j = i + 1; j < backups.length; j++) {
          const a = backups[i]!;
          const b = backups[j]!;
          if (a.site && b.site) backupPairs.push({ a: a.name, b: b.name, km: distanceKm(a.site, b.site) });
        }
      }
      return {
        name: inst.name,
        hosting,
        database: inst.database.name,
        dumpTimes: inst.schedule.dumpTimes,
        retentionDays: inst.schedule.retentionDays,
        dumpDir: inst.dumpDir,
        replicationsPerDay: inst.schedule.replicationsPerDay,
        snapshotsKeep: inst.snapshotsKeep,
        backups,
        backupPairs,
        rpo: rpoOf(ctx, inst),
        violations: clientViolations.filter((v) => v.instance === inst.name),
      };
    });
    return { client: client.client, stack: client.stack, file: client.file, instances, violations: clientViolations };
  });
  const attributed = new Set(clients.flatMap((c) => c.violations));
  return {
    stack: fleet.stack,
    file: fleet.file,
    policy: fleet.policy,
    serverCount: {
      hosting: fleet.servers.filter((s) => s.role === "hosting").length,
      backup: fleet.servers.filter((s) => s.role === "backup").length,
    },
    clients,
    fleetViolations: violations.filter((v) => !attributed.has(v)),
    violations,
  };
}

/** Checks every topology (one per fleet) and gathers the report. */
export function buildCheckReport(topologies: readonly Topology[]): CheckReport {
  const fleets = topologies.map(buildFleetReport);
  const violations = fleets.flatMap((f) => f.violations);
  const mandatory = violations.filter((v) => v.severity === "mandatory").length;
  return {
    fleets,
    violations,
    counts: {
      fleets: fleets.length,
      clients: fleets.reduce((n, f) => n + f.clients.length, 0),
      instances: fleets.reduce((n, f) => n + f.clients.reduce((m, c) => m + c.instances.length, 0), 0),
      mandatory,
      advisory: violations.length - mandatory,
    },
    exitCode: mandatory > 0 ? 1 : 0,
  };
}

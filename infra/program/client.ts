// A client stack: its instances checked by the rules against its fleet BEFORE anything is declared
// (a mandatory violation fails the preview and creates nothing), then one Instance component per
// instance and a stable random minute offset for the client's replications.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { AccessDeclaration } from "../components/contract";
import { InstanceComponent, serverHandle, type ServerHandle } from "../components/instance";
import { lostInstanceRemains } from "../components/lost";
import { isLost, MAX_MINUTE_OFFSET } from "../model/defaults";
import { isConfigError } from "../model/errors";
import { distanceKm } from "../model/geo";
import { maxBinlogDatabaseRpoHours, withDatabaseSource, type DatabaseRpoSource } from "../model/rpo";
import { computeRpo } from "../model/schedule";
import { formatTimeOfDay } from "../model/time";
import { buildTopology } from "../model/topology";
import type { ClientStack, DumpCounts, Instance, ReplicationPlan, Server, Topology, Violation } from "../model/types";
import { databaseRpoText, formatConfigError } from "../report/text";
import { checkTopology } from "../rules";
import { checkRestrictedSsh, type InstanceAccess } from "../rules/access";
import type { FleetView } from "./fleet-outputs";

export interface ClientCheck {
  topology: Topology;
  access: InstanceAccess[];
  violations: Violation[];
}

/** The access the fleet declared on an instance's hosting server for the instance's backup servers. */
export function accessOf(view: FleetView, instance: Instance): AccessDeclaration[] {
  return (view.access[instance.hostingServer] ?? []).filter((a) => instance.backupServers.includes(a.backupServer));
}

/**
 * The client's topology against its fleet (references checked: a RunError naming each problem),
 * with the dumps of the fleet's other client stacks, which queue with this one's on the same
 * hosting servers (what the offline check, which sees every client, counts).
 */
export function clientTopology(client: ClientStack, view: FleetView, otherDumps: DumpCounts = {}): Topology {
  let topology: Topology;
  try {
    topology = buildTopology(view.fleet, [client]);
  } catch (err) {
    if (isConfigError(err)) throw new pulumi.RunError(formatConfigError(err));
    throw err;
  }
  return Object.keys(otherDumps).length > 0 ? { ...topology, otherDumps } : topology;
}

/**
 * Builds the client's topology against its fleet and runs every rule (for every minute offset the
 * program may draw) plus the restricted-SSH rule on the fleet's access declarations. Throws a
 * RunError naming each mandatory violation; advisory ones are returned.
 */
export function checkClient(client: ClientStack, view: FleetView, otherDumps: DumpCounts = {}): ClientCheck {
  const topology = clientTopology(client, view, otherDumps);
  const access: InstanceAccess[] = client.instances.map((i) => ({
    client: client.client,
    instance: i.name,
    hostingServer: i.hostingServer,
    backupServers: i.backupServers,
    access: accessOf(view, i),
    file: client.file,
  }));
  const violations = [...checkTopology(topology), ...checkRestrictedSsh(access)];
  const mandatory = violations.filter((v) => v.severity === "mandatory");
  if (mandatory.length > 0) {
    const error = new pulumi.RunError(
      `client ${client.client} (${client.file}) breaks ${mandatory.length} mandatory rule(s); nothing was created or changed:\n` +
        mandatory.map((v) => `  ✖ ${v.ruleId}: ${v.message}`).join("\n"),
    );
    throw Object.assign(error, { violations });
  }
  return { topology, access, violations };
}

/** The violations a RunError of checkClient carries (every one, advisory included); undefined for other errors. */
export function violationsOfError(err: unknown): Violation[] | undefined {
  const v = (err as { violations?: unknown } | null)?.violations;
  return Array.isArray(v) ? (v as Violation[]) : undefined;
}

export interface ClientResources {
  minuteOffset: random.RandomInteger;
  instances: InstanceComponent[];
}

/** The stack outputs of a client stack (some values are outputs). */
export type ClientStackOutputs = Record<string, unknown>;

/**
 * The client stack's program: checks first (throws before any resource), then declares the
 * resources and returns the stack outputs.
 */
export function runClient(
  client: ClientStack,
  view: FleetView,
  opts: pulumi.ComponentResourceOptions = {},
  log: { warn(message: string): void } = { warn: (m) => void pulumi.log.warn(m) },
  otherDumps: DumpCounts = {},
): { outputs: ClientStackOutputs; resources: ClientResources } {
  const check = checkClient(client, view, otherDumps);
  for (const v of check.violations) log.warn(`${v.ruleId} (advisory): ${v.message}`);
  return declareClient(client, view, check, opts);
}

/**
 * The client stack's resources for a checked topology (runClient checks first; the tests also
 * declare what a failing check would have registered, to run the policy pack on it).
 */
export function declareClient(
  client: ClientStack,
  view: FleetView,
  check: Pick<ClientCheck, "topology" | "violations">,
  opts: pulumi.ComponentResourceOptions = {},
): { outputs: ClientStackOutputs; resources: ClientResources } {
  const { topology, violations } = check;

  const privateKey = pulumi.secret(view.sshPrivateKey);
  // Each server with the host key the fleet config pins (readFleetView refused a fleet without one).
  const server = (name: string): Server => topology.fleet.servers.find((s) => s.name === name)!;
  // One handle per server: the instances share its session lanes.
  const handles = new Map<string, ServerHandle>();
  const handle = (name: string): ServerHandle => {
    if (!handles.has(name)) handles.set(name, serverHandle(server(name), privateKey));
    return handles.get(name)!;
  };
  // Stable for the life of the stack (no keepers): drawn once, at the first `pulumi up`.
  // (a changed range draws a new value: @pulumi/random replaces on a change of min or max)
  const minuteOffset = new random.RandomInteger(
    `${client.client}/minute-offset`,
    { min: 0, max: MAX_MINUTE_OFFSET },
    opts,
  );
  const offset = minuteOffset.result;
  // The secret every instance's dump account password derives from (one resource per client, not per instance).
  const dbSecret = new random.RandomPassword(`${client.client}/db-secret`, { length: 64, special: false }, opts);
  const instances = client.instances.map(
    (instance) =>
      new InstanceComponent(
        {
          topology,
          client,
          instance,
          hosting: handle(instance.hostingServer),
          backups: instance.backupServers.map(handle),
          access: accessOf(view, instance),
          minuteOffset: offset,
          dbSecret: dbSecret.result,
        },
        opts,
      ),
  );
  // What each instance may have left on a lost server stays inert, never deleted (components/lost.ts):
  // nothing SSHes to it. (An instance that still names a lost server failed checkClient above.)
  const lost = topology.fleet.servers.filter(isLost);
  instances.forEach((component, k) => {
    for (const server of lost) lostInstanceRemains(client.instances[k]!.name, server, component);
  });
  const summary = pulumi.all(instances.map((i) => i.replications)).apply((plans) =>
    Object.fromEntries(client.instances.map((inst, k) => [inst.name, instanceSummary(topology, inst, plans[k]!)])),
  );
  const outputs: ClientStackOutputs = {
    stackKind: "client",
    client: client.client,
    fleetStack: client.fleetStack,
    minuteOffset: offset,
    instances: summary,
    summary: pulumi.all([summary, offset]).apply(([s, o]) => summaryText(client, s, o)),
    advisories: violations.map((v) => `${v.ruleId}: ${v.message}`),
  };
  return { outputs, resources: { minuteOffset, instances } };
}

export interface SiteSummary {
  server: string;
  provider: string;
  site: string;
  city: string;
  country: string;
}

export interface InstanceSummary {
  hosting: SiteSummary;
  backups: Array<SiteSummary & { distanceKm: number; replicationTimes: string[] }>;
  database: string;
  /** Daily dump start times (server local time): the next dump is the next of these. */
  dumpTimes: string[];
  retentionDays: number;
  dumpDir: string;
  mirror: string;
  snapshotsKeep: number;
  /** Worst-case RPO with the deployed replication times; database from binlogs when shipped, else from the dumps. */
  rpoHours: { files: number; database: number; dumps: number };
  databaseRpoFrom: DatabaseRpoSource;
  /** Allowed by the fleet policy. */
  maxRpoHours: { files: number; database: number; databaseWithBinlogs: number };
}

function siteSummary(s: Server): SiteSummary {
  return { server: s.name, provider: s.provider, site: s.site.id, city: s.site.city, country: s.site.country };
}

const round = (x: number, digits: number) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

export function instanceSummary(topology: Topology, inst: Instance, plans: readonly ReplicationPlan[]): InstanceSummary {
  const fleet = topology.fleet;
  const byName = (n: string) => fleet.servers.find((s) => s.name === n)!;
  const hosting = byName(inst.hostingServer);
  const rpo = withDatabaseSource(topology, inst, plans, computeRpo(topology, inst, plans));
  return {
    hosting: siteSummary(hosting),
    backups: inst.backupServers.map((b) => {
      const s = byName(b);
      const times = plans.find((p) => p.backupServer === b)?.times ?? [];
      return { ...siteSummary(s), distanceKm: round(distanceKm(hosting.site, s.site), 1), replicationTimes: times.map(formatTimeOfDay) };
    }),
    database: inst.database.name,
    dumpTimes: inst.schedule.dumpTimes.map(formatTimeOfDay),
    retentionDays: inst.schedule.retentionDays,
    dumpDir: inst.dumpDir,
    mirror: `${fleet.mirrorRoot}/${inst.name}`,
    snapshotsKeep: inst.snapshotsKeep,
    rpoHours: { files: round(rpo.filesHours, 2), database: round(rpo.databaseHours, 2), dumps: round(rpo.dumpsHours, 2) },
    databaseRpoFrom: rpo.databaseFrom,
    maxRpoHours: { files: fleet.policy.maxRpoHours.files, database: fleet.policy.maxRpoHours.database, databaseWithBinlogs: maxBinlogDatabaseRpoHours(fleet.policy) },
  };
}

/** The same summary as a few lines for `pulumi stack output summary`. */
export function summaryText(client: ClientStack, instances: Record<string, InstanceSummary>, offset: number): string {
  const lines = [`client ${client.client} (fleet ${client.fleetStack}), replication minute offset +${offset} min; times are the servers' local time`];
  for (const [name, s] of Object.entries(instances)) {
    lines.push(`instance ${name}: hosted on ${s.hosting.server} (${s.hosting.site}, ${s.hosting.city})`);
    lines.push(`  dumps of ${s.database} daily at ${s.dumpTimes.join(", ")}, kept ${s.retentionDays} days in ${s.dumpDir}`);
    for (const b of s.backups) {
      lines.push(`  mirror on ${b.server} (${b.site}, ${b.city}, ${b.distanceKm} km away) at ${b.replicationTimes.join(", ")}`);
    }
    lines.push(
      `  worst-case RPO: files ${s.rpoHours.files} h (max ${s.maxRpoHours.files} h), database ${databaseRpoText(s.databaseRpoFrom, s.rpoHours, s.maxRpoHours)}`,
    );
  }
  return lines.join("\n");
}

// What the component resources carry as properties: the contract between the Pulumi program
// (which registers them) and the policy pack (which rebuilds a Topology from them to run the
// same rules). Plain data only, so it survives the engine's serialization unchanged.
// Defined in the model so that the rules and the policy pack import nothing from the Pulumi layer;
// infra/components/contract.ts re-exports it.
import { otherDumpsAt } from "./schedule";
import type { ClientStack, Fleet, FleetPolicy, Instance, Provider, ReplicationPlan, Server, ServerBinlog, ServerRole, ServerState, Site, Topology } from "./types";

export const PACKAGE = "dolibarr-backup";

export const TYPES = {
  hostingServer: `${PACKAGE}:fleet:HostingServer`,
  backupServer: `${PACKAGE}:fleet:BackupServer`,
  instance: `${PACKAGE}:client:Instance`,
} as const;

/** Properties of a HostingServer / BackupServer component (fleet stack). */
export interface ServerProps {
  name: string;
  role: ServerRole;
  provider: Provider;
  site: Site;
  address: string;
  fleetStack: string;
  /** A hosting server's binary logs (on or off, server_id), for binlog.server-id; absent on backup servers. */
  binlog?: ServerBinlog;
  /** The operators whose key the server's keys file holds (fleet key operators); absent: access not managed. */
  operators?: { name: string; fingerprint: string }[];
}

/** A server as seen from a client stack: the facts the rules need. */
export interface ServerFacts {
  name: string;
  role: ServerRole;
  provider: Provider;
  site: Site;
  address: string;
  /** "lost" when the fleet marks it so (servers.lost and every rule skipping lost servers read it); absent when active. */
  state?: ServerState;
  /** A hosting server's binary logs (rpo.max and binlog.off read them); absent on backup servers. */
  binlog?: ServerBinlog;
}

/**
 * The Fleet fields an Instance component does NOT carry in its `fleet` property, each with where
 * the policy pack gets it instead (or why no rule needs it). Every other field of Fleet is carried:
 * FleetSettings is derived from Fleet, so a field added to Fleet lands in the contract by itself,
 * and FLEET_SETTING_KEYS and the pack's schema (policies/topology.ts) do not compile until it is
 * listed there too (or here, with a reason).
 */
export const FLEET_FIELDS_CARRIED_ELSEWHERE = Object.freeze({
  stack: "InstanceProps.fleetStack",
  file: "derived from the fleet stack's name (stacks/Pulumi.<stack>.yaml)",
  servers: "InstanceProps.hostingServer and backupServers: the facts of the instance's own servers",
  policy: "InstanceProps.policy",
  mirrorRoot: "InstanceProps.mirrorRoot",
  notifications: "secret URLs (never serialized into resources); no rule reads them",
  operators: "ServerProps.operators of the fleet's server components (pushed.operator-keys); no client-stack rule reads them",
} as const satisfies Partial<Record<keyof Fleet, string>>);

/** The fleet-wide settings an Instance carries: every Fleet field but those carried elsewhere. */
export type FleetSettings = Omit<Fleet, keyof typeof FLEET_FIELDS_CARRIED_ELSEWHERE>;

/** Every key of FleetSettings (the compiler refuses this object when one is missing or extra). */
export const FLEET_SETTING_KEYS: Readonly<Record<keyof FleetSettings, true>> = Object.freeze({
  snapshots: true,
  pathRoots: true,
  timeZone: true,
  maxConcurrentDumps: true,
  dumpVerification: true,
  metrics: true,
  binlog: true,
  drills: true,
  encryptionAtRest: true,
  rsync: true,
} satisfies Record<keyof FleetSettings, true>);

/** The FleetSettings of a fleet (plain data; fields the fleet leaves unset are left out). */
export function fleetSettingsOf(fleet: Fleet): FleetSettings {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(FLEET_SETTING_KEYS) as (keyof FleetSettings)[]) {
    if (fleet[k] !== undefined) out[k] = JSON.parse(JSON.stringify(fleet[k]));
  }
  return out as FleetSettings;
}

/** How one backup server is let into the hosting server for one instance. */
export interface AccessDeclaration {
  backupServer: string;
  /** Unix user on the hosting server. */
  user: string;
  /** The authorized_keys options in force for that user, e.g. ["restrict", "from=\"…\"", "command=\"…\""]. */
  keyOptions: string[];
}

/** Properties of an Instance component (client stack). */
export interface InstanceProps {
  fleetStack: string;
  client: string;
  instance: Instance;
  hostingServer: ServerFacts;
  backupServers: ServerFacts[];
  policy: FleetPolicy;
  mirrorRoot: string;
  /** The fleet's other settings the rules read (FleetSettings: time zone, dump queue width, snapshots, …). */
  fleet: FleetSettings;
  /**
   * Dumps the fleet's OTHER client stacks start on the instance's hosting server at its dump minutes
   * ("minute" → count; minutes without any left out): they queue with this stack's dumps.
   */
  otherDumps: Record<string, number>;
  replications: ReplicationPlan[];
  access: AccessDeclaration[];
}

/** The contract's facts of a server (address: "host", "host:port" or "[v6]:port"). */
export function serverFactsOf(s: Server): ServerFacts {
  const address = s.ssh.port === 22 ? s.ssh.host : s.ssh.host.includes(":") ? `[${s.ssh.host}]:${s.ssh.port}` : `${s.ssh.host}:${s.ssh.port}`;
  return { name: s.name, role: s.role, provider: s.provider, site: s.site, address, ...(s.state === "lost" ? { state: s.state } : {}), ...(s.role === "hosting" && s.binlog ? { binlog: { ...s.binlog } } : {}) };
}

/**
 * Everything an Instance component carries but its replications (which wait for the client's
 * minute offset): built here, next to the contract, so that the components only pass it on.
 */
export function instanceContract(args: {
  topology: Topology;
  client: ClientStack;
  instance: Instance;
  hosting: Server;
  backups: readonly Server[];
  access: AccessDeclaration[];
}): Omit<InstanceProps, "replications"> {
  const { topology, instance } = args;
  const fleet = topology.fleet;
  const otherDumps: Record<string, number> = {};
  for (const d of new Set(instance.schedule.dumpTimes)) {
    const n = otherDumpsAt(topology, instance.hostingServer, d);
    if (n > 0) otherDumps[String(d)] = n;
  }
  return {
    fleetStack: fleet.stack,
    client: args.client.client,
    instance: args.instance,
    hostingServer: serverFactsOf(args.hosting),
    backupServers: args.backups.map(serverFactsOf),
    policy: fleet.policy,
    mirrorRoot: fleet.mirrorRoot,
    fleet: fleetSettingsOf(fleet),
    otherDumps,
    access: args.access,
  };
}

/** Type tokens of the stock resources the program declares (@pulumi/command, @pulumi/random). */
export const STOCK_TYPES = {
  remoteCommand: "command:remote:Command",
  randomInteger: "random:index/randomInteger:RandomInteger",
  randomPassword: "random:index/randomPassword:RandomPassword",
} as const;

// Rebuilds the typed Topology of a stack from its component resources (infra/components/contract.ts),
// so that the policy pack runs the very rules of infra/rules on what the Pulumi program registered.
// Pure: no engine, no @pulumi/policy runtime; the policies and the unit tests call it the same way.
import { z } from "zod";
import type { AccessDeclaration, FleetSettings, InstanceProps, ServerFacts, ServerProps } from "../infra/model/contract";
import { TYPES } from "../infra/model/contract";
import { DUMP_VERIFICATIONS } from "../infra/model/defaults";
import { instanceModelSchema } from "../infra/model/instance";
import { DEFAULT_BINLOG_MAX_LAG_SECONDS } from "../infra/model/binlog";
import { AT_REST_MODES } from "../infra/model/at-rest";
import { DEFAULT_DRILL_SAMPLE_MIN, DEFAULT_DRILL_SAMPLE_PERCENT } from "../infra/model/drills";
import { DEFAULT_MIRROR_ROOT, DEFAULT_POLICY, DEFAULT_SSH_PORT, DEFAULT_SSH_USER } from "../infra/model/defaults";
import type {
  ClientStack,
  DumpCounts,
  FleetPolicy,
  Instance,
  ReplicationPlan,
  Server,
  Site,
  Topology,
} from "../infra/model/types";
import type { InstanceAccess } from "../infra/rules/access";

/** The part of a CrossGuard PolicyResource the pack reads (tests build these by hand). */
export interface ResourceLike {
  type: string;
  urn: string;
  name: string;
  props: Record<string, unknown>;
}

/** A component resource whose properties do not follow the contract: the rules cannot see it. */
export interface ContractProblem {
  urn: string;
  type: string;
  name: string;
  message: string;
}

/** What the policies need from one stack. */
export interface StackModel {
  /** The stack's topology: the fleet as far as the stack knows it, and its clients' instances. */
  topology: Topology;
  /** URN of the Instance component of each instance (by instance name): where violations are reported. */
  instanceUrns: Map<string, string>;
  /** URN of each HostingServer/BackupServer component (fleet stacks), by server name. */
  serverUrns: Map<string, string>;
  /** The operators each server's props declare (fleet stacks with operators): for pushed.operator-keys. */
  serverOperators: Map<string, { name: string; fingerprint: string }[]>;
  /** Access declarations of each instance, for access.restricted-ssh. */
  access: InstanceAccess[];
  /** Replication plans as registered by the program (times include the client's minute offset). */
  replications: ReplicationPlan[];
  /**
   * Instances whose registered replications are unknown (first preview of a client stack: the
   * client's minute offset is not known yet), with the engine's UnknownValueError. The rules do not
   * need them (they plan replications themselves); only the plan comparison does.
   */
  unknownReplications: Map<string, Error>;
  /** Instances whose registered replications were read (known and well-formed). */
  replicationsRead: Set<string>;
  problems: ContractProblem[];
  /** Component resources of this project found in the stack (0: not a dolibarr-backup stack). */
  components: number;
}

// ---- zod schemas of the contract: the engine hands back plain JSON, checked before it is trusted ----

const siteSchema: z.ZodType<Site> = z.object({
  id: z.string().min(1),
  provider: z.enum(["ovh", "ionos"]),
  code: z.string().min(1),
  city: z.string(),
  country: z.string(),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
});

const serverBinlogSchema = z.object({ enabled: z.boolean(), serverId: z.number().int(), serverIdDeclared: z.boolean() });

const serverPropsSchema: z.ZodType<ServerProps> = z.object({
  name: z.string().min(1),
  role: z.enum(["hosting", "backup"]),
  provider: z.enum(["ovh", "ionos"]),
  site: siteSchema,
  address: z.string(),
  fleetStack: z.string().min(1),
  binlog: serverBinlogSchema.optional(),
  operators: z.array(z.object({ name: z.string().min(1), fingerprint: z.string().min(1) })).optional(),
});

const serverFactsSchema: z.ZodType<ServerFacts> = z.object({
  name: z.string().min(1),
  role: z.enum(["hosting", "backup"]),
  provider: z.enum(["ovh", "ionos"]),
  site: siteSchema,
  address: z.string(),
  state: z.enum(["active", "lost"]).optional(),
  binlog: serverBinlogSchema.optional(),
});

/**
 * The fleet settings an Instance carries. One schema per key of FleetSettings (the `satisfies`
 * refuses to compile when the model's Fleet gains a field that is not listed here).
 */
const fleetSettingsShape = {
  snapshots: z
    .object({ keepHours: z.number(), keepDays: z.number(), keepWeeks: z.number(), maxSnapshots: z.number(), suspiciousChangePercent: z.number() })
    .optional(),
  pathRoots: z.array(z.string()).optional(),
  timeZone: z.string().min(1).optional(),
  maxConcurrentDumps: z.number().int().min(1).optional(),
  dumpVerification: z.enum(DUMP_VERIFICATIONS).optional(),
  metrics: z.object({ textfileDir: z.string() }).optional(),
  // maxLagSeconds: absent from the outputs of a stack deployed before it existed (the default then).
  binlog: z.object({ dir: z.string().min(1), keepDays: z.number(), maxFileMB: z.number(), maxLagSeconds: z.number().default(DEFAULT_BINLOG_MAX_LAG_SECONDS) }).optional(),
  // absent from the outputs of a stack deployed before drills existed (the defaults then)
  // (the sample's keys: absent from the outputs of a stack deployed before them, the defaults then)
  drills: z
    .object({
      enabled: z.boolean(),
      maxRtoMinutes: z.number(),
      staleDays: z.number(),
      sampleDocumentsPercent: z.number().default(DEFAULT_DRILL_SAMPLE_PERCENT),
      sampleDocumentsMin: z.number().default(DEFAULT_DRILL_SAMPLE_MIN),
    })
    .optional(),
  // absent from the outputs of a stack deployed before it existed (the default then)
  encryptionAtRest: z.enum(AT_REST_MODES).optional(),
  // absent from the outputs of a stack deployed before it existed (the default then)
  rsync: z.object({ minVersion: z.string(), minPackages: z.array(z.string()) }).optional(),
} satisfies { [K in keyof FleetSettings]-?: z.ZodType<FleetSettings[K]> };
const fleetSettingsSchema: z.ZodType<FleetSettings> = z.object(fleetSettingsShape);

const minutes = () => z.number().int().min(0).max(1439);

/** The Instance shape is the model's (one definition, its type derived from it). */
const instanceSchema: z.ZodType<Instance> = instanceModelSchema;

const policySchema: z.ZodType<FleetPolicy> = z.object({
  minBackupServers: z.number(),
  minDistanceKm: z.number(),
  providerDiversity: z.enum(["required", "advisory", "off"]),
  minDumpsPerDay: z.number(),
  minRetentionDays: z.number(),
  dumpWindowMinutes: z.number(),
  maxDumpMinutes: z.number().optional(),
  maxRpoHours: z.object({ files: z.number(), database: z.number(), databaseWithBinlogs: z.number().optional() }),
});

const accessSchema: z.ZodType<AccessDeclaration> = z.object({
  backupServer: z.string().min(1),
  user: z.string(),
  keyOptions: z.array(z.string()),
});

const replicationSchema: z.ZodType<ReplicationPlan> = z.object({
  instance: z.string().min(1),
  backupServer: z.string().min(1),
  times: z.array(minutes()),
});

/** InstanceProps but the replications, read apart: they may be unknown during a preview. */
const instancePropsSchema: z.ZodType<Omit<InstanceProps, "replications">> = z.object({
  fleetStack: z.string().min(1),
  client: z.string().min(1),
  instance: instanceSchema,
  hostingServer: serverFactsSchema,
  backupServers: z.array(serverFactsSchema),
  policy: policySchema,
  mirrorRoot: z.string(),
  fleet: fleetSettingsSchema,
  otherDumps: z.record(z.string().regex(/^\d{1,4}$/), z.number().int().min(0)),
  access: z.array(accessSchema),
});
const replicationsSchema = z.array(replicationSchema);

const SERVER_KEYS: readonly (keyof ServerProps)[] = ["name", "role", "provider", "site", "address", "fleetStack", "binlog", "operators"];
const INSTANCE_KEYS: readonly (keyof InstanceProps)[] = [
  "fleetStack", "client", "instance", "hostingServer", "backupServers", "policy", "mirrorRoot", "fleet", "otherDumps", "replications", "access",
];

/** The engine's UnknownValueError (a value not known during preview), without loading its module. */
export function isUnknownValueError(e: unknown): e is Error {
  return e instanceof Error && e.constructor.name === "UnknownValueError";
}

/**
 * What is wrong with a component's properties, for ops and for the program's author: missing
 * contract keys first (stack policies see the outputs given to registerOutputs(), not the
 * constructor's inputs), then zod's issues.
 */
function contractMessage(contract: string, keys: readonly string[], props: Record<string, unknown>, error?: z.ZodError): string {
  const present = new Set(Object.keys(props));
  const missing = keys.filter((k) => !present.has(k));
  const parts: string[] = [];
  if (missing.length > 0) {
    parts.push(
      `outputs lack ${missing.join(", ")}: the component must pass the contract's ${contract} to registerOutputs() (stack policies see outputs, not constructor inputs)`,
    );
  }
  if (error) {
    const issues = error.issues.filter((i) => !(i.path.length === 1 && missing.includes(String(i.path[0]))));
    if (issues.length > 0) parts.push(`properties do not match ${contract} (infra/components/contract.ts): ${describeIssues(issues)}`);
  }
  return parts.join("; ");
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join(".") : "(properties)"}: ${i.message}`)
    .join("; ") + (issues.length > 5 ? `; … ${issues.length - 5} more` : "");
}

// ---- helpers ----

/** Stack name from a URN `urn:pulumi:<stack>::<project>::<type>::<name>` ("" if not a URN). */
export function stackOfUrn(urn: string): string {
  const m = /^urn:pulumi:([^:]+)::/.exec(urn);
  return m ? m[1]! : "";
}

/** Where a stack's config lives in this repo (Pulumi.yaml: stackConfigDir stacks). */
export function stackFile(stack: string): string {
  return `stacks/Pulumi.${stack}.yaml`;
}

/**
 * SSH endpoint from a server's `address`: "host", "host:port" or "[v6]:port" (a bare IPv6 address
 * has no port). backup.not-hosting compares host and port to spot one machine under two names.
 */
export function endpointOfAddress(address: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(address);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : DEFAULT_SSH_PORT };
  const hostPort = /^([^:]+):(\d{1,5})$/.exec(address);
  if (hostPort) return { host: hostPort[1]!, port: Number(hostPort[2]) };
  return { host: address, port: DEFAULT_SSH_PORT };
}

function serverFromFacts(f: ServerFacts & Pick<ServerProps, "binlog">): Server {
  // The facts carry no SSH user nor host key; the rules only compare host and port (the pack's
  // ssh-host-key-pinned policy checks the key each remote command pins).
  return {
    name: f.name,
    role: f.role,
    provider: f.provider,
    site: f.site,
    ssh: { ...endpointOfAddress(f.address), user: DEFAULT_SSH_USER, hostKey: "" },
    ...(f.state === "lost" ? { state: f.state } : {}),
    ...(f.binlog ? { binlog: f.binlog } : {}),
  };
}

const sameFacts = (a: Server, b: Server): boolean =>
  a.role === b.role && a.provider === b.provider && a.site.id === b.site.id &&
  a.site.latitude === b.site.latitude && a.site.longitude === b.site.longitude && (a.state ?? "active") === (b.state ?? "active");

const samePolicy = (a: object, b: object): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Rebuilds the Topology of one stack from its resources. Fleet stacks contribute their
 * HostingServer/BackupServer components (with the default fleet policy: the thresholds live in
 * client stacks' Instance properties); client stacks contribute their Instance components, each
 * carrying the facts of its servers and the fleet policy. Resources of other types are ignored;
 * components whose properties break the contract are listed in `problems` and left out.
 */
export function topologyFromResources(resources: readonly ResourceLike[]): StackModel {
  const problems: ContractProblem[] = [];
  const servers = new Map<string, Server>();
  const serverUrns = new Map<string, string>();
  const serverOperators = new Map<string, { name: string; fingerprint: string }[]>();
  const instanceUrns = new Map<string, string>();
  const access: InstanceAccess[] = [];
  const replications: ReplicationPlan[] = [];
  const unknownReplications = new Map<string, Error>();
  const replicationsRead = new Set<string>();
  const clients = new Map<string, ClientStack>();
  let fleetStack: string | undefined;
  let policy: FleetPolicy | undefined;
  let mirrorRoot: string | undefined;
  let settings: FleetSettings | undefined;
  const otherDumps: DumpCounts = {};
  let components = 0;

  const problem = (r: ResourceLike, message: string) =>
    problems.push({ urn: r.urn, type: r.type, name: r.name, message });

  const addServer = (r: ResourceLike, s: Server): boolean => {
    const known = servers.get(s.name);
    if (known && !sameFacts(known, s)) {
      problem(r, `server ${s.name} is described twice with different facts (${known.role} at ${known.site.id} vs ${s.role} at ${s.site.id})`);
      return false;
    }
    if (!known) servers.set(s.name, s);
    return true;
  };

  const claimFleet = (r: ResourceLike, stack: string): boolean => {
    if (fleetStack === undefined) fleetStack = stack;
    if (fleetStack !== stack) {
      problem(r, `belongs to fleet stack "${stack}", but this stack's other components belong to "${fleetStack}"`);
      return false;
    }
    return true;
  };

  const isComponent = (t: string) => t === TYPES.hostingServer || t === TYPES.backupServer || t === TYPES.instance;
  for (const r of resources) {
    if (isComponent(r.type) && Object.keys(r.props ?? {}).length === 0) {
      components++;
      problem(r, "has no properties: the component must call registerOutputs() with its contract properties (infra/components/contract.ts), or no policy can check it");
      continue;
    }
    if (r.type === TYPES.hostingServer || r.type === TYPES.backupServer) {
      components++;
      const parsed = serverPropsSchema.safeParse(r.props);
      if (!parsed.success) {
        problem(r, contractMessage("ServerProps", SERVER_KEYS, r.props, parsed.error));
        continue;
      }
      const p = parsed.data;
      const expectedRole = r.type === TYPES.hostingServer ? "hosting" : "backup";
      if (p.role !== expectedRole) {
        problem(r, `a ${r.type} component with role "${p.role}"`);
        continue;
      }
      if (!claimFleet(r, p.fleetStack)) continue;
      if (addServer(r, serverFromFacts(p))) {
        serverUrns.set(p.name, r.urn);
        if (p.operators) serverOperators.set(p.name, p.operators);
      }
    } else if (r.type === TYPES.instance) {
      components++;
      // Everything but the replications must be known: it is plain data from the stack configs.
      const known: Record<string, unknown> = {};
      for (const k of Object.keys(r.props)) if (k !== "replications") known[k] = r.props[k];
      const parsed = instancePropsSchema.safeParse(known);
      if (!parsed.success) {
        problem(r, contractMessage("InstanceProps", INSTANCE_KEYS, r.props, parsed.error));
        continue;
      }
      const p = parsed.data;
      let registered: ReplicationPlan[] | Error | undefined;
      try {
        const rp = replicationsSchema.safeParse(r.props.replications);
        if (rp.success) registered = rp.data;
        else problem(r, contractMessage("InstanceProps", INSTANCE_KEYS, r.props, new z.ZodError(rp.error.issues.map((i) => ({ ...i, path: ["replications", ...i.path] })))));
      } catch (e) {
        if (!isUnknownValueError(e)) throw e;
        registered = e;
      }
      if (p.instance.client !== p.client) {
        problem(r, `instance ${p.instance.name} names client "${p.instance.client}" but the component says "${p.client}"`);
        continue;
      }
      if (p.hostingServer.name !== p.instance.hostingServer) {
        problem(r, `instance ${p.instance.name} is hosted on "${p.instance.hostingServer}" but the hosting server facts describe "${p.hostingServer.name}"`);
        continue;
      }
      const missing = p.instance.backupServers.filter((b) => !p.backupServers.some((f) => f.name === b));
      if (missing.length > 0) {
        problem(r, `instance ${p.instance.name}: no facts registered for backup server(s) ${missing.join(", ")}`);
        continue;
      }
      if (instanceUrns.has(p.instance.name)) {
        problem(r, `instance ${p.instance.name} is registered twice (also ${instanceUrns.get(p.instance.name)})`);
        continue;
      }
      if (!claimFleet(r, p.fleetStack)) continue;
      if (policy !== undefined && !samePolicy(policy, p.policy)) {
        problem(r, `instance ${p.instance.name} carries a fleet policy different from the other instances of the stack`);
        continue;
      }
      if (settings !== undefined && !samePolicy(settings, p.fleet)) {
        problem(r, `instance ${p.instance.name} carries fleet settings different from the other instances of the stack`);
        continue;
      }
      const queued = otherDumps[p.instance.hostingServer] ?? {};
      const clash = Object.entries(p.otherDumps).find(([m, n]) => queued[m] !== undefined && queued[m] !== n);
      if (clash) {
        problem(r, `instance ${p.instance.name} counts ${clash[1]} dump(s) of other client stacks on ${p.instance.hostingServer} at minute ${clash[0]}, another instance of the stack ${queued[clash[0]]}`);
        continue;
      }
      if (![p.hostingServer, ...p.backupServers].every((f) => addServer(r, serverFromFacts(f)))) continue;
      policy ??= p.policy;
      mirrorRoot ??= p.mirrorRoot;
      settings ??= p.fleet;
      if (Object.keys(p.otherDumps).length > 0) otherDumps[p.instance.hostingServer] = { ...queued, ...p.otherDumps };

      instanceUrns.set(p.instance.name, r.urn);
      const stack = stackOfUrn(r.urn);
      let client = clients.get(p.client);
      if (!client) {
        client = { stack, file: stackFile(stack), client: p.client, fleetStack: p.fleetStack, instances: [] };
        clients.set(p.client, client);
      }
      client.instances.push(p.instance);
      access.push({
        client: p.client,
        instance: p.instance.name,
        hostingServer: p.instance.hostingServer,
        backupServers: p.instance.backupServers,
        access: p.access,
        file: client.file,
      });
      if (registered instanceof Error) unknownReplications.set(p.instance.name, registered);
      else if (registered) {
        replications.push(...registered);
        replicationsRead.add(p.instance.name);
      }
    }
  }

  const fleetName = fleetStack ?? (resources.length > 0 ? stackOfUrn(resources[0]!.urn) : "");
  const topology: Topology = {
    fleet: {
      stack: fleetName,
      file: stackFile(fleetName),
      servers: [...servers.values()],
      policy: policy ?? { ...DEFAULT_POLICY, maxRpoHours: { ...DEFAULT_POLICY.maxRpoHours } },
      mirrorRoot: mirrorRoot ?? DEFAULT_MIRROR_ROOT,
      ...settings,
    },
    clients: [...clients.values()],
    ...(Object.keys(otherDumps).length > 0 ? { otherDumps } : {}),
  };
  return { topology, instanceUrns, serverUrns, serverOperators, access, replications, unknownReplications, replicationsRead, problems, components };
}

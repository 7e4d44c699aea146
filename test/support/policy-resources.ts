// Hand-built stacks for the policy pack's tests: component resources as the engine hands them to a
// stack policy (PolicyResource, props behind @pulumi/policy's unknown-checking proxy), a fake
// StackValidationArgs, and a runner that collects reportViolation calls, in the manner of the
// public CrossGuard packs' tests (pulumi-policy-aws: createStackValidationArgs / runStackPolicy).
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import type { AccessDeclaration, FleetSettings, InstanceProps, ServerFacts, ServerProps } from "../../infra/components/contract";
import { TYPES } from "../../infra/components/contract";
import { DEFAULT_POLICY, DEFAULT_SCHEDULE, defaultDumpDir } from "../../infra/model/defaults";
import { planInstance, shiftPlans } from "../../infra/model/schedule";
import { siteById } from "../../infra/model/sites";
import type { Fleet, FleetPolicy, Instance, ReplicationPlan, Schedule, ServerRole, Site } from "../../infra/model/types";
import { buildPolicies } from "../../policies/policies";
import { isSecretValue, isUnknown, registeredOutputs, type MockRecorder } from "./pulumi-mocks";
import { testHostKey } from "./host-keys";

// The engine wraps props in this proxy (it throws on values unknown during preview); the typings of
// @pulumi/policy do not export it, the module does.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy = require("@pulumi/policy/proxy") as {
  unknownCheckingProxy<T>(x: T): T;
  unknownArrayValue: string;
  unknownStringValue: string;
  unknownObjectValue: string;
};
const { unknownCheckingProxy } = proxy;

/**
 * The sentinels of values unknown during preview, as the engine sends them (the same strings go
 * over the wire in a Struct and come out of @pulumi/policy's deserializer).
 */
export const UNKNOWN = { array: proxy.unknownArrayValue, string: proxy.unknownStringValue, object: proxy.unknownObjectValue };

/** A copy of `props` with the value at `path` replaced (e.g. by an UNKNOWN sentinel). */
export function withValue<T extends object>(props: T, path: readonly (string | number)[], value: unknown): T {
  const copy = JSON.parse(JSON.stringify(props)) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[path[path.length - 1]!] = value;
  return copy as T;
}

export const PROJECT = "dolibarr-backup";
export const FLEET_STACK = "fleet";

/** A site of the catalogue ("ovh:rbx", "ionos:de/txl"). */
export function site(id: string): Site {
  const s = siteById(id);
  if (!s) throw new Error(`test fixture: no site ${id} in the catalogue`);
  return { ...s };
}

/** A made-up site (same shape as the catalogue's), e.g. at an exact distance from another one. */
export function customSite(id: string, provider: Site["provider"], city: string, latitude: number, longitude: number, country = "FR"): Site {
  return { id, provider, code: id.split(":")[1] ?? id, city, country, latitude, longitude };
}

let nextAddress = 10;
/** Facts of a server as an Instance carries them. Default address: a fresh documentation IP. */
export function facts(name: string, role: ServerRole, at: Site | string, address?: string): ServerFacts {
  const s = typeof at === "string" ? site(at) : at;
  return { name, role, provider: s.provider, site: s, address: address ?? `203.0.113.${nextAddress++}` };
}

/** The compliant example: ACME's ERP in Roubaix (OVH), mirrored to Strasbourg (OVH, ≈ 350 km) and Berlin (IONOS). */
export const HOSTING = facts("web-ovh-rbx-1", "hosting", "ovh:rbx", "203.0.113.1");
export const BACKUP_SBG = facts("bk-ovh-sbg-1", "backup", "ovh:sbg", "203.0.113.2");
export const BACKUP_TXL = facts("bk-ionos-txl-1", "backup", "ionos:de/txl", "198.51.100.2");

export function fleetPolicy(overrides: Partial<FleetPolicy> = {}): FleetPolicy {
  return { ...DEFAULT_POLICY, maxRpoHours: { ...DEFAULT_POLICY.maxRpoHours }, ...overrides };
}

/** The authorized_keys options the program writes for one replication link. */
export function restrictedOptions(backup: ServerFacts, instance: string): string[] {
  return ["restrict", `from="${backup.address}"`, `command="rrsync -ro /var/lib/dolibarr-backup/${instance}"`];
}

export function access(backup: ServerFacts, instance: string, keyOptions?: string[]): AccessDeclaration {
  return { backupServer: backup.name, user: `bk-${instance}`, keyOptions: keyOptions ?? restrictedOptions(backup, instance) };
}

export interface InstanceSpec {
  name?: string;
  client?: string;
  hosting?: ServerFacts;
  backups?: ServerFacts[];
  /** Names listed in instance.backupServers (default: the backups' names). */
  backupNames?: string[];
  schedule?: Partial<Schedule>;
  policy?: Partial<FleetPolicy>;
  /** Client minute offset added to the planned replication times (0..14). */
  minuteOffset?: number;
  /** Replace the registered replications (default: the plan moved by minuteOffset). */
  replications?: ReplicationPlan[];
  /** Replace the access declarations (default: one restricted key per backup server). */
  access?: AccessDeclaration[];
  fleetStack?: string;
  /** The fleet's other settings (default none: the model's defaults). */
  fleet?: FleetSettings;
  /** Dumps of other client stacks on the hosting server ("minute" → count). */
  otherDumps?: Record<string, number>;
}

/** InstanceProps as the program registers them, compliant unless the spec says otherwise. */
export function instanceProps(spec: InstanceSpec = {}): InstanceProps {
  const name = spec.name ?? "acme-erp";
  const client = spec.client ?? "acme";
  const hosting = spec.hosting ?? HOSTING;
  const backups = spec.backups ?? [BACKUP_SBG, BACKUP_TXL];
  const policy = fleetPolicy(spec.policy);
  const schedule: Schedule = { ...DEFAULT_SCHEDULE, dumpTimes: [...DEFAULT_SCHEDULE.dumpTimes], ...spec.schedule };
  const instance: Instance = {
    name,
    client,
    hostingServer: hosting.name,
    database: { name: `dolibarr_${name.replace(/-/g, "_")}` },
    codeRoot: `/var/www/${name}/htdocs`,
    documentsDir: `/var/lib/dolibarr/${name}/documents`,
    dumpDir: defaultDumpDir(name),
    backupServers: spec.backupNames ?? backups.map((b) => b.name),
    schedule,
    snapshotsKeep: 7,
  };
  const fleet: Fleet = {
    stack: spec.fleetStack ?? FLEET_STACK,
    file: `stacks/Pulumi.${spec.fleetStack ?? FLEET_STACK}.yaml`,
    servers: [hosting, ...backups].map((f) => ({ name: f.name, role: f.role, provider: f.provider, site: f.site, ssh: { host: f.address, port: 22, user: "root", hostKey: testHostKey(f.name) } })),
    policy,
    mirrorRoot: "/srv/dolibarr-backup/mirrors",
    ...spec.fleet,
  };
  const replications = spec.replications ?? shiftPlans(planInstance(fleet, instance), spec.minuteOffset ?? 0);
  return {
    fleetStack: fleet.stack,
    client,
    instance,
    hostingServer: hosting,
    backupServers: backups,
    policy,
    mirrorRoot: fleet.mirrorRoot,
    fleet: { ...spec.fleet },
    otherDumps: { ...spec.otherDumps },
    replications,
    access: spec.access ?? backups.map((b) => access(b, name)),
  };
}

export function serverProps(f: ServerFacts, fleetStack = FLEET_STACK): ServerProps {
  return { ...f, fleetStack };
}

const EMPTY_OPTIONS = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

export function urn(stack: string, type: string, name: string): string {
  return `urn:pulumi:${stack}::${PROJECT}::${type}::${name}`;
}

/** A resource of a stack as a stack policy sees it; props go through JSON (the wire) and the proxy. */
export function resource(type: string, name: string, props: object, stack: string): PolicyResource {
  const wire = unknownCheckingProxy(JSON.parse(JSON.stringify(props)) as Record<string, unknown>);
  return {
    type,
    name,
    urn: urn(stack, type, name),
    props: wire,
    opts: EMPTY_OPTIONS,
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  } as PolicyResource;
}

export function instanceResource(props: InstanceProps, stack = `client-${props.client}`): PolicyResource {
  return resource(TYPES.instance, props.instance.name, props, stack);
}

/** A HostingServer/BackupServer component of `stack`, registered for fleet `fleetStack` (default: that stack). */
export function serverResource(f: ServerFacts, stack = FLEET_STACK, fleetStack = stack): PolicyResource {
  return resource(f.role === "hosting" ? TYPES.hostingServer : TYPES.backupServer, f.name, serverProps(f, fleetStack), stack);
}

/** The stack resource every stack has, and a resource of another package: both ignored. */
export function otherResources(stack: string): PolicyResource[] {
  return [
    resource("pulumi:pulumi:Stack", `${PROJECT}-${stack}`, {}, stack),
    resource("pulumi-nodejs:dynamic/dolibarr-backup:SshCommand", "install-timer", { create: "systemctl enable --now x.timer" }, stack),
  ];
}

/** A client stack made of Instance components (and the usual other resources). */
export function clientStack(...props: InstanceProps[]): PolicyResource[] {
  const stack = `client-${props[0]?.client ?? "acme"}`;
  return [...otherResources(stack), ...props.map((p) => instanceResource(p, stack))];
}

export class NotApplicable extends Error {
  constructor(readonly reason: string | undefined) {
    super(`not applicable: ${reason ?? ""}`);
  }
}

/** StackValidationArgs as the analyzer builds them, with the policy's config (default none). */
export function stackArgs(resources: PolicyResource[], config: object = {}): StackValidationArgs {
  return {
    resources,
    stackTags: new Map<string, string>(),
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
}

export interface Reported {
  message: string;
  urn?: string;
}

export interface PolicyRun {
  violations: Reported[];
  /** Set when the policy declared itself not applicable. */
  notApplicable?: string;
}

/** Runs a stack policy like the analyzer does, collecting every reportViolation call. */
export async function runStackPolicy(policy: StackValidationPolicy, args: StackValidationArgs): Promise<PolicyRun> {
  const violations: Reported[] = [];
  try {
    await Promise.resolve(
      policy.validateStack(args, (message, urn) => violations.push(urn === undefined ? { message } : { message, urn })),
    );
  } catch (e) {
    if (e instanceof NotApplicable) return { violations, notApplicable: e.reason ?? "" };
    throw e;
  }
  return { violations };
}

/** ResourceValidationArgs as the analyzer builds them for one resource (its inputs). */
export function resourceArgs(r: PolicyResource, config: object = {}): ResourceValidationArgs {
  return {
    type: r.type,
    props: r.props,
    urn: r.urn,
    name: r.name,
    opts: r.opts,
    stackTags: new Map<string, string>(),
    // as the analyzer does: by the class's Pulumi type token
    isType: (cls: unknown) => (cls as { __pulumiType?: string }).__pulumiType === r.type,
    asType: (cls: unknown) => ((cls as { __pulumiType?: string }).__pulumiType === r.type ? r.props : undefined),
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  } as unknown as ResourceValidationArgs;
}

/**
 * Runs a resource policy on each resource like the analyzer's `analyze` call does, collecting every
 * reportViolation call with the resource's URN. Resources the policy says it does not apply to are
 * skipped; the engine's UnknownValueError (the analyzer's "can't run during preview") propagates.
 */
export async function runResourcePolicy(policy: ResourceValidationPolicy, resources: PolicyResource[], config: object = {}): Promise<PolicyRun> {
  const violations: Reported[] = [];
  const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
  for (const r of resources) {
    for (const validate of validations) {
      try {
        await Promise.resolve(validate(resourceArgs(r, config), (message, urn) => violations.push({ message, urn: urn ?? r.urn })));
      } catch (e) {
        if (!(e instanceof NotApplicable)) throw e;
      }
    }
  }
  return { violations };
}

type AnyPolicy = StackValidationPolicy | ResourceValidationPolicy;

/** The pack's policy of that name (fails the test if there is none). */
export function policyNamed(name: string): AnyPolicy {
  const p = buildPolicies().find((x) => x.name === name);
  if (!p) throw new Error(`no policy named ${name} in the pack; have ${buildPolicies().map((x) => x.name).join(", ")}`);
  return p;
}

/** Runs any policy of the pack: a stack policy on the stack, a resource policy on each resource. */
export function runAnyPolicy(p: AnyPolicy, resources: PolicyResource[], config: object = {}): Promise<PolicyRun> {
  return "validateStack" in p ? runStackPolicy(p, stackArgs(resources, config)) : runResourcePolicy(p, resources, config);
}

/** Runs the named policy on the resources. */
export function runPolicy(name: string, resources: PolicyResource[], config: object = {}): Promise<PolicyRun> {
  return runAnyPolicy(policyNamed(name), resources, config);
}

/** Runs every policy of the pack; violations by policy name (only those with some). */
export async function runAll(resources: PolicyResource[]): Promise<Map<string, Reported[]>> {
  const out = new Map<string, Reported[]>();
  for (const p of buildPolicies()) {
    const run = await runAnyPolicy(p, resources);
    if (run.violations.length > 0) out.set(p.name, run.violations);
  }
  return out;
}

/** A value the mocks recorded, as the policy SDK hands it to a policy: secrets unwrapped, unknowns as sentinels. */
function wire(v: unknown): unknown {
  if (isUnknown(v)) return UNKNOWN.string;
  if (isSecretValue(v)) return wire((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(wire);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wire(x)]));
  return v;
}

const COMPONENT_TYPES: readonly string[] = [TYPES.hostingServer, TYPES.backupServer, TYPES.instance];

/** The resources a mocked program registered, as a policy sees them: components by their registered outputs, the rest by their inputs. */
export function policyResources(mocks: MockRecorder, stack: string): PolicyResource[] {
  return mocks.resources.map((r) => resource(r.type, r.name, wire(COMPONENT_TYPES.includes(r.type) ? registeredOutputs(r.name) : r.inputs) as object, stack));
}

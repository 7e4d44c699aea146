// The policies of the pack: one stack policy per rule of infra/rules (same id, dashes for dots),
// plus the restricted-SSH rule of infra/rules/access.ts and two checks of the component contract.
// Kept apart from index.ts (which starts the analyzer) so that tests can run every policy.
// Only types come from @pulumi/policy here: loading this module starts nothing.
import type {
  EnforcementLevel,
  ReportViolation,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { describeSite } from "../infra/model/sites";
import type { Violation } from "../infra/model/types";
import { RULES } from "../infra/rules";
import { accessRestrictedSsh } from "../infra/rules/access";
import { replicationMismatches } from "./replications";
import { topologyFromResources, type ResourceLike, type StackModel } from "./topology";

export const PACK_NAME = "dolibarr-backup";

/** Policy names of the pack's own checks (not rules of infra/rules). */
export const COMPONENT_PROPERTIES = "component-properties";
export const REPLICATIONS_AS_PLANNED = "replications-as-planned";

/** "geo.min-distance" → "geo-min-distance". */
export function policyName(ruleId: string): string {
  return ruleId.replace(/[^A-Za-z0-9-_]+/g, "-");
}

/**
 * Enforcement of each policy when the pack config says nothing: mandatory for the geography and
 * every safety rule, advisory for provider diversity (the fleet policy may still call it required:
 * raise it with the config) and for the plan-consistency check. A rule added to infra/rules later
 * gets its own default severity.
 */
export const DEFAULT_ENFORCEMENT: Readonly<Record<string, EnforcementLevel>> = Object.freeze({
  "topology-references": "mandatory",
  "backup-not-hosting": "mandatory",
  "backup-min-count": "mandatory",
  "geo-min-distance": "mandatory",
  "provider-diversity": "advisory",
  "schedule-dumps": "mandatory",
  "schedule-staggered": "mandatory",
  "rpo-max": "mandatory",
  "retention-snapshots": "mandatory",
  "access-restricted-ssh": "mandatory",
  [COMPONENT_PROPERTIES]: "mandatory",
  [REPLICATIONS_AS_PLANNED]: "advisory",
});

/** What ops do about a violation of each rule (shown by the engine with the violation). */
const REMEDIATION: Readonly<Record<string, string>> = Object.freeze({
  "topology.references":
    "Name only servers of the fleet stack, hosting servers as hostingServer and backup servers in backupServers (client stack file), and keep server and instance names unique.",
  "backup.not-hosting":
    "Remove the hosting server (or the same machine under another name) from the instance's backupServers in the client stack file.",
  "backup.min-count":
    "List at least minBackupServers backup servers, each at a different site, in the instance's backupServers (client stack file); add backup servers to the fleet stack if needed.",
  "geo.min-distance":
    "Replace the backup server that is too close by one at a site at least minDistanceKm away from the hosting site and from the other backup sites (client stack file: backupServers).",
  "provider.diversity":
    "Add or swap in a backup server at the other provider (OVH ↔ IONOS) in the instance's backupServers.",
  "schedule.dumps":
    "Set at least minDumpsPerDay dump times and retentionDays ≥ minRetentionDays in the instance's schedule (client stack file), or leave the defaults.",
  "schedule.staggered":
    "Change the instance's dumpTimes or replicationsPerDay (client stack file) so that the planner can keep replication starts out of the dump windows; replication times are computed, never typed.",
  "rpo.max":
    "Raise replicationsPerDay or add dump times (client stack file) until the worst-case RPO is within the fleet policy's maxRpoHours.",
  "retention.snapshots":
    "Adjust the fleet's snapshots key (keepHours ≥ 2 x maxRpoHours.files, keepDays/keepWeeks reaching minRetentionDays, maxSnapshots as the disk budget allows) or the instance's replicationsPerDay.",
  "access.restricted-ssh":
    'Let each backup server in with one authorized_keys line: restrict,from="<backup server address>",command="rrsync -ro <instance dir>" (the Pulumi program writes it; run `pulumi up` on the client stack after fixing it).',
});

// ---- running a rule against a stack ----

function uniq<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/** Where a violation is shown: the instance's component, else a server's, else the stack. */
export function urnOf(v: Violation, model: StackModel): string | undefined {
  if (v.instance !== undefined) {
    const urn = model.instanceUrns.get(v.instance);
    if (urn !== undefined) return urn;
  }
  for (const s of v.servers ?? []) {
    const urn = model.serverUrns.get(s);
    if (urn !== undefined) return urn;
  }
  return undefined;
}

/**
 * The rule's message, followed by what an ops engineer needs to act: the sites of the servers it
 * names (unless the message already describes them), the client and stack file, the fleet policy
 * keys that set the threshold, and the rule's own severity when the fleet policy lowered it.
 */
export function formatViolation(
  v: Violation,
  model: StackModel,
  rule: { id: string; defaultSeverity: string; configuredBy: readonly string[] },
): string {
  const lines = [v.message];
  const servers = model.topology.fleet.servers;
  const described = uniq(v.servers ?? [])
    .filter((name) => !v.message.includes(`${name} (`))
    .map((name) => servers.find((s) => s.name === name))
    .filter((s) => s !== undefined)
    .map((s) => `${s.name} (${s.role}, ${s.provider}, ${s.site.id}, ${describeSite(s.site)})`);
  if (described.length > 0) lines.push(`servers: ${described.join("; ")}`);
  const where: string[] = [];
  if (v.client !== undefined) where.push(`client ${v.client}`);
  if (v.file !== undefined) where.push(`config ${v.file}`);
  if (rule.configuredBy.length > 0 && model.topology.fleet.stack !== "") {
    where.push(
      `set by fleet policy ${rule.configuredBy.join(", ")} (${model.topology.fleet.file})`,
    );
  }
  if (where.length > 0) lines.push(where.join("; "));
  if (v.severity !== rule.defaultSeverity) lines.push(`rule ${v.ruleId}: ${v.severity} under this fleet's policy`);
  return lines.join("\n");
}

function stackModel(args: StackValidationArgs): StackModel {
  const model = topologyFromResources(args.resources as readonly ResourceLike[]);
  if (model.components === 0) args.notApplicable("no dolibarr-backup component (HostingServer, BackupServer, Instance) in this stack");
  return model;
}

function report(
  violations: readonly Violation[],
  model: StackModel,
  rule: { id: string; defaultSeverity: string; configuredBy: readonly string[] },
  reportViolation: ReportViolation,
): void {
  for (const v of violations) reportViolation(formatViolation(v, model, rule), urnOf(v, model));
}

/** One stack policy per rule of the rules module, in the module's order. */
function rulePolicies(): StackValidationPolicy[] {
  return RULES.map((rule) => {
    const name = policyName(rule.id);
    return {
      name,
      description: `[${rule.id}] ${rule.description}`,
      enforcementLevel: DEFAULT_ENFORCEMENT[name] ?? rule.defaultSeverity,
      ...(REMEDIATION[rule.id] ? { remediationSteps: REMEDIATION[rule.id] } : {}),
      tags: ["dolibarr-backup", rule.id.split(".")[0]!],
      validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const model = stackModel(args);
        report(rule.check(model.topology), model, rule, reportViolation);
      },
    };
  });
}

function accessPolicy(): StackValidationPolicy {
  const rule = accessRestrictedSsh;
  const name = policyName(rule.id);
  return {
    name,
    description: `[${rule.id}] ${rule.description}`,
    enforcementLevel: DEFAULT_ENFORCEMENT[name] ?? rule.defaultSeverity,
    remediationSteps: REMEDIATION[rule.id]!,
    tags: ["dolibarr-backup", "access"],
    validateStack: (args, reportViolation) => {
      const model = stackModel(args);
      report(rule.check(model.access), model, rule, reportViolation);
    },
  };
}

function componentPropertiesPolicy(): StackValidationPolicy {
  return {
    name: COMPONENT_PROPERTIES,
    description:
      "[pack] Every HostingServer, BackupServer and Instance component registers the properties of infra/components/contract.ts; a component the pack cannot read escapes every other policy.",
    enforcementLevel: DEFAULT_ENFORCEMENT[COMPONENT_PROPERTIES]!,
    remediationSteps:
      "Make the component call registerOutputs() with the contract's properties (ServerProps or InstanceProps), then preview again.",
    tags: ["dolibarr-backup", "contract"],
    validateStack: (args, reportViolation) => {
      const model = stackModel(args);
      for (const p of model.problems) reportViolation(`${p.type} ${p.name}: ${p.message}`, p.urn);
    },
  };
}

function replicationsPolicy(): StackValidationPolicy {
  return {
    name: REPLICATIONS_AS_PLANNED,
    description:
      "[pack] The replication times each Instance registers are the rules module's plan (planInstance) moved by one client minute offset, for exactly the instance's backup servers: what runs is what the rules checked.",
    enforcementLevel: DEFAULT_ENFORCEMENT[REPLICATIONS_AS_PLANNED]!,
    remediationSteps:
      "Compute replication times in the program with planReplications/planInstance from infra/model (plus the client's minute offset); never type or adjust them by hand.",
    tags: ["dolibarr-backup", "contract"],
    validateStack: (args, reportViolation) => {
      const model = stackModel(args);
      for (const m of replicationMismatches(model)) reportViolation(m.message, model.instanceUrns.get(m.instance));
      // Times unknown during this preview (new client: minute offset not known yet): let the engine
      // say this policy could not run in preview; it runs at `pulumi up`.
      const unknown = model.unknownReplications.values().next();
      if (!unknown.done) throw unknown.value;
    },
  };
}

/** Every policy of the pack, in report order. */
export function buildPolicies(): StackValidationPolicy[] {
  return [...rulePolicies(), accessPolicy(), componentPropertiesPolicy(), replicationsPolicy()];
}

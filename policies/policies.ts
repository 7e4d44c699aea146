// The policies of the pack: one stack policy per rule of infra/rules (same id, dashes for dots),
// plus the restricted-SSH rule of infra/rules/access.ts, two checks of the component contract, and
// the rules of infra/rules/pushed.ts on what the stack's remote commands really push.
// Kept apart from index.ts (which starts the analyzer) so that tests can run every policy.
// Loading this module starts nothing (only PolicyPack's constructor starts the analyzer's server).
import { remote } from "@pulumi/command";
import {
  validateResourceOfType,
  type EnforcementLevel,
  type ReportViolation,
  type ResourceValidationPolicy,
  type StackValidationArgs,
  type StackValidationPolicy,
} from "@pulumi/policy";
import { describeSite } from "../infra/model/sites";
import type { Violation } from "../infra/model/types";
import { RULES } from "../infra/rules";
import { accessRestrictedSsh } from "../infra/rules/access";
import { commandHostKeyProblem, HOST_KEY_RULE, HOST_KEY_RULE_DESCRIPTION } from "../infra/rules/host-keys";
import { checkPushedAuthorizedKeys, checkPushedOperatorKeys, checkPushedTimers, checkReplicationSources, PUSHED_RULE_DESCRIPTIONS, PUSHED_RULES, type PushedViolation } from "../infra/rules/pushed";
import { readPush, scanPushes } from "./pushed";
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
 * Rules whose severity the fleet policy sets (provider.diversity: providerDiversity required →
 * mandatory, advisory → advisory). The engine has one level per policy, so such a rule has two:
 * `<name>` (mandatory) reports the violations the fleet policy makes mandatory, `<name>-advisory`
 * (advisory) those it makes advisory. The pack then agrees with whatever the fleet policy says.
 */
export const FLEET_SETS_SEVERITY: ReadonlySet<string> = new Set(["provider.diversity"]);
export const ADVISORY_SUFFIX = "-advisory";

/**
 * Enforcement of each policy when the pack config says nothing: the rule's own default severity,
 * which is the fleet policy's default (DEFAULT_POLICY: providerDiversity "required" → mandatory),
 * mandatory for every check of what is pushed, advisory for the plan-consistency check of the
 * components' registered times (the pushed timers themselves are checked by pushed-timers).
 * A rule added to infra/rules later gets its own default severity.
 */
export const DEFAULT_ENFORCEMENT: Readonly<Record<string, EnforcementLevel>> = Object.freeze({
  "topology-references": "mandatory",
  "servers-lost": "mandatory",
  "backup-not-hosting": "mandatory",
  "backup-min-count": "mandatory",
  "geo-min-distance": "mandatory",
  "provider-diversity": "mandatory",
  [`provider-diversity${ADVISORY_SUFFIX}`]: "advisory",
  "schedule-dumps": "mandatory",
  "schedule-staggered": "mandatory",
  "rpo-max": "mandatory",
  "retention-snapshots": "mandatory",
  "binlog-off": "advisory",
  "binlog-server-id": "mandatory",
  "drill-window": "advisory",
  "rsync-min-version": "mandatory",
  "access-restricted-ssh": "mandatory",
  [COMPONENT_PROPERTIES]: "mandatory",
  [REPLICATIONS_AS_PLANNED]: "advisory",
  "pushed-authorized-keys": "mandatory",
  "pushed-timers": "mandatory",
  "pushed-replication-sources": "mandatory",
  "pushed-operator-keys": "mandatory",
  "ssh-host-key-pinned": "mandatory",
});

/** What ops do about a violation of each rule (shown by the engine with the violation). */
const REMEDIATION: Readonly<Record<string, string>> = Object.freeze({
  "topology.references":
    "Name only servers of the fleet stack, hosting servers as hostingServer and backup servers in backupServers (client stack file), and keep server and instance names unique.",
  "servers.lost":
    "Restore an instance whose hosting server is lost onto another hosting server (scripts/failover.sh) and set its hostingServer; replace a lost backup server in backupServers by one the violation lists (client stack file).",
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
    "Raise replicationsPerDay or add dump times (client stack file) until the worst-case RPO is within the fleet policy's maxRpoHours; with binlogs shipped, lower the fleet's binlog.maxLagSeconds below maxRpoHours.databaseWithBinlogs.",
  "retention.snapshots":
    "Adjust the fleet's snapshots key (keepHours ≥ 2 x maxRpoHours.files, keepDays/keepWeeks reaching minRetentionDays, maxSnapshots as the disk budget allows) or the instance's replicationsPerDay.",
  "binlog.off":
    "Set servers[].binlog.enabled: true (or remove the key) on the hosting server in the fleet stack file, so that the program turns its MariaDB's binary logs on and the backup servers pull them; leave it off only for a MariaDB the company does not own.",
  "binlog.server-id":
    "Give all but one of the hosting servers sharing a server_id an explicit servers[].binlog.serverId (1..4294967295, unique in the fleet) in the fleet stack file.",
  "drill.window":
    "Space the instance's dumpTimes (client stack file) so that two of them are at least drills.maxRtoMinutes + 90 min apart, or lower the fleet's drills.maxRtoMinutes when its drills are known to be shorter (npm run status shows each drill's RTO).",
  "rsync.min-version":
    "Set the fleet's rsync.minVersion to 3.4.0 or later (or remove it: 3.4.0 is the default); a distribution's package that backports the fixes goes in rsync.minPackages (e.g. 3.2.7-1+deb12u1), then upgrade the backup servers' rsync to one of them.",
  "access.restricted-ssh":
    'Let each backup server in with one authorized_keys line: restrict,from="<backup server address>",command="rrsync -ro <instance dir>" (the Pulumi program writes it; run `pulumi up` on the client stack after fixing it).',
  "pushed.authorized-keys":
    'Push authorized_keys only through renderHostingAccess (infra/render/server.ts), which writes restrict,from="<backup address>",command="/usr/bin/rrsync -ro <dir>"; find what changed the bundle\'s files or its remote command\'s stdin.',
  "pushed.timers":
    "Render timer drop-ins only with renderHostingInstance/renderBackupInstance from the planner's times (plus the client's minute offset); never edit OnCalendar= or add timer settings by hand or in a transformation.",
  "ssh.host-key-pinned":
    "Declare the server's host key in the fleet stack file (servers[].ssh.hostKey), obtained out of band (provider console, or ssh-keyscan from a trusted network with its fingerprint compared), and build every remote command's connection with connectionOf (infra/components/remote.ts), which pins it.",
  "pushed.replication-sources":
    "Render replication configs only with renderBackupInstance; if the instance must be pulled from another hosting server, change hostingServer in the client stack file (the rules then check that server), never SOURCE_HOST.",
  "pushed.operator-keys":
    "Declare who logs in in the fleet's operators (name, publicKey, servers or roles) and let renderServerAccess (infra/render/operators.ts) write the keys file; find what changed the bundle's files or the server component's operators.",
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

/**
 * One stack policy per rule of the rules module, in the module's order; two for a rule whose
 * severity the fleet policy sets (FLEET_SETS_SEVERITY), split by the violations' severity.
 */
function rulePolicies(): StackValidationPolicy[] {
  return RULES.flatMap((rule) => {
    const name = policyName(rule.id);
    const split = FLEET_SETS_SEVERITY.has(rule.id);
    const policy = (policy: string, severity: string | undefined, what: string): StackValidationPolicy => ({
      name: policy,
      description: `[${rule.id}] ${rule.description}${what}`,
      enforcementLevel: DEFAULT_ENFORCEMENT[policy] ?? rule.defaultSeverity,
      ...(REMEDIATION[rule.id] ? { remediationSteps: REMEDIATION[rule.id] } : {}),
      tags: ["dolibarr-backup", rule.id.split(".")[0]!],
      validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const model = stackModel(args);
        const violations = rule.check(model.topology).filter((v) => severity === undefined || v.severity === severity);
        report(violations, model, rule, reportViolation);
      },
    });
    if (!split) return [policy(name, undefined, "")];
    return [
      policy(name, "mandatory", " (Violations the fleet policy makes mandatory.)"),
      policy(`${name}${ADVISORY_SUFFIX}`, "advisory", " (Violations the fleet policy makes advisory.)"),
    ];
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

// ---- what the remote commands really push (infra/rules/pushed.ts) ----

/**
 * ssh-host-key-pinned, a resource policy on every `command:remote:Command`: its connection pins a
 * valid host key (infra/rules/host-keys.ts), checked before the engine runs it.
 */
function hostKeyPinnedPolicy(): ResourceValidationPolicy {
  const name = policyName(HOST_KEY_RULE);
  return {
    name,
    description: `[${HOST_KEY_RULE}] ${HOST_KEY_RULE_DESCRIPTION}`,
    enforcementLevel: DEFAULT_ENFORCEMENT[name]!,
    remediationSteps: REMEDIATION[HOST_KEY_RULE]!,
    tags: ["dolibarr-backup", "access"],
    validateResource: validateResourceOfType(remote.Command, (_command, args, reportViolation) => {
      const problem = commandHostKeyProblem(args.props as Record<string, unknown>);
      if (problem) reportViolation(`${args.name}: ${problem}`);
    }),
  };
}

/** What a push policy reports for a violation: the command's URN, else the component's. */
function reportPushed(violations: readonly PushedViolation[], model: StackModel, reportViolation: ReportViolation): void {
  for (const v of violations) {
    const rule = { id: v.ruleId, defaultSeverity: "mandatory", configuredBy: v.configuredBy ?? [] };
    reportViolation(formatViolation(v, model, rule), v.bundle !== "" ? v.bundle : urnOf(v, model));
  }
}

/**
 * pushed-authorized-keys, a resource policy on every `command:remote:Command`: it runs on the
 * command's inputs before the engine creates or updates it, so at `pulumi up` (where every input is
 * known) an unrestricted key is refused before it reaches a server.
 */
function pushedAuthorizedKeysPolicy(): ResourceValidationPolicy {
  const name = policyName(PUSHED_RULES.authorizedKeys);
  return {
    name,
    description: `[${PUSHED_RULES.authorizedKeys}] ${PUSHED_RULE_DESCRIPTIONS[PUSHED_RULES.authorizedKeys]}`,
    enforcementLevel: DEFAULT_ENFORCEMENT[name]!,
    remediationSteps: REMEDIATION[PUSHED_RULES.authorizedKeys]!,
    tags: ["dolibarr-backup", "pushed", "access"],
    validateResource: validateResourceOfType(remote.Command, (_command, args, reportViolation) => {
      const read = readPush(args.name, args.props as Record<string, unknown>);
      if (read.kind === "malformed") {
        reportViolation(`${args.name}: ${read.message}; the authorized_keys it may write cannot be checked`);
      } else if (read.kind === "not-a-push") {
        if (read.mentionsAuthorizedKeys) {
          reportViolation(`${args.name}: its script writes or touches authorized_keys outside a push frame, where the pack cannot read the key lines; push them in a bundle (renderHostingAccess)`);
        }
      } else {
        const bundle = { id: args.urn, name: args.name, files: read.files };
        for (const v of checkPushedAuthorizedKeys(bundle)) reportViolation(v.message);
      }
    }),
  };
}

/** A stack policy over the stack's pushes: malformed frames reported, unknown ones make it "can't run during preview". */
function pushedStackPolicy(
  ruleId: string,
  check: (model: StackModel, scan: ReturnType<typeof scanPushes>) => PushedViolation[],
  /** Whether a push not known yet keeps the policy from running on this stack (default: always). */
  needsEveryPush: (model: StackModel) => boolean = () => true,
): StackValidationPolicy {
  const name = policyName(ruleId);
  return {
    name,
    description: `[${ruleId}] ${PUSHED_RULE_DESCRIPTIONS[ruleId as keyof typeof PUSHED_RULE_DESCRIPTIONS]}`,
    enforcementLevel: DEFAULT_ENFORCEMENT[name]!,
    remediationSteps: REMEDIATION[ruleId]!,
    tags: ["dolibarr-backup", "pushed"],
    validateStack: (args, reportViolation) => {
      const model = stackModel(args);
      const scan = scanPushes(args.resources as readonly ResourceLike[]);
      for (const m of scan.malformed) reportViolation(`${m.name}: ${m.message}; what it writes cannot be checked`, m.urn);
      reportPushed(check(model, scan), model, reportViolation);
      // A push not known yet (first preview: a public key or the client's minute offset is
      // computed at `pulumi up`): the engine says this policy could not run; it runs again at `up`.
      if (scan.unknown.length > 0 && needsEveryPush(model)) throw scan.unknown[0];
    },
  };
}

/** Every policy of the pack, in report order. */
export function buildPolicies(): Array<StackValidationPolicy | ResourceValidationPolicy> {
  return [
    ...rulePolicies(),
    accessPolicy(),
    componentPropertiesPolicy(),
    replicationsPolicy(),
    pushedAuthorizedKeysPolicy(),
    pushedStackPolicy(PUSHED_RULES.timers, (model, scan) => checkPushedTimers(model.topology, scan.bundles, { complete: scan.unknown.length === 0 })),
    pushedStackPolicy(PUSHED_RULES.replicationSources, (model, scan) => checkReplicationSources(model.topology, scan.bundles)),
    pushedStackPolicy(PUSHED_RULES.operatorKeys, (model, scan) => checkPushedOperatorKeys(model.serverOperators, scan.bundles, { complete: scan.unknown.length === 0 }),
      // only fleet stacks whose servers declare operators push keys files
      (model) => model.serverOperators.size > 0,
    ),
    hostKeyPinnedPolicy(),
  ];
}

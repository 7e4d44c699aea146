// The one rules module: checkTopology(topology) → violations, and the list of rules.
// Pure functions of the Topology, shared by the offline check, the Pulumi program and the policy pack.
import type { Topology, Violation } from "../model/types";
import { createRuleContext, type RuleContext } from "./context";
import {
  backupMinCount,
  backupNotHosting,
  binlogOff,
  binlogServerId,
  drillWindow,
  geoMinDistance,
  rsyncMinVersion,
  providerDiversity,
  retentionSnapshots,
  rpoMax,
  scheduleDumps,
  scheduleStaggered,
  serversLost,
  topologyReferences,
  type Rule,
} from "./rules";

export type { Rule } from "./rules";
export { createRuleContext, type RuleContext } from "./context";

/** Every rule, in the order they run and are reported. */
export const RULES: readonly Rule[] = Object.freeze([
  topologyReferences,
  serversLost,
  backupNotHosting,
  backupMinCount,
  geoMinDistance,
  providerDiversity,
  scheduleDumps,
  scheduleStaggered,
  rpoMax,
  retentionSnapshots,
  binlogOff,
  binlogServerId,
  drillWindow,
  rsyncMinVersion,
]);

export type RuleId =
  | "topology.references"
  | "servers.lost"
  | "backup.not-hosting"
  | "backup.min-count"
  | "geo.min-distance"
  | "provider.diversity"
  | "schedule.dumps"
  | "schedule.staggered"
  | "rpo.max"
  | "retention.snapshots"
  | "binlog.off"
  | "binlog.server-id"
  | "drill.window"
  | "rsync.min-version";

export const RULE_IDS: readonly RuleId[] = RULES.map((r) => r.id as RuleId);

export function ruleById(id: string): Rule | undefined {
  return RULES.find((r) => r.id === id);
}

export interface CheckOptions {
  /** Run only these rules (ids); default all. */
  only?: readonly string[];
  /** A context already made from this same topology by createRuleContext (saves planning twice). */
  context?: RuleContext;
}

/** Runs every rule on the topology; violations in rule order, then config order. */
export function checkTopology(topology: Topology, options: CheckOptions = {}): Violation[] {
  const ctx = options.context && options.context.topology === topology ? options.context : createRuleContext(topology);
  const rules = options.only ? RULES.filter((r) => options.only!.includes(r.id)) : RULES;
  return rules.flatMap((r) => r.check(topology, ctx));
}

/** Runs one rule by id (throws on an unknown id). */
export function checkRule(id: string, topology: Topology): Violation[] {
  const r = ruleById(id);
  if (!r) throw new Error(`unknown rule id "${id}"; known: ${RULE_IDS.join(", ")}`);
  return r.check(topology);
}

export function mandatory(violations: readonly Violation[]): Violation[] {
  return violations.filter((v) => v.severity === "mandatory");
}

export function hasMandatory(violations: readonly Violation[]): boolean {
  return violations.some((v) => v.severity === "mandatory");
}

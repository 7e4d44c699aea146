// What several rules need, derived once from the Topology (and only from it).
import { instanceRpo, type InstanceRpo } from "../model/rpo";
import { planReplications } from "../model/schedule";
import { describeSite } from "../model/sites";
import { formatHours, formatMinutesOrHours } from "../model/time";
import type { ClientStack, Instance, ReplicationPlan, Server, Severity, Topology, Violation } from "../model/types";

export interface RuleContext {
  topology: Topology;
  servers: Map<string, Server>;
  /** Plans without minute offset; the rules check them for every offset 0..MAX_MINUTE_OFFSET. */
  plans: ReplicationPlan[];
  plansByInstance: Map<string, ReplicationPlan[]>;
  /** Worst-case RPO per instance object, computed once (rpo.max and the check report both need it). */
  rpoCache: WeakMap<Instance, InstanceRpo>;
}

/** The worst-case RPO of an instance of the context's topology (over every minute offset), cached. */
export function rpoOf(ctx: RuleContext, instance: Instance): InstanceRpo {
  let rpo = ctx.rpoCache.get(instance);
  if (rpo === undefined) {
    rpo = instanceRpo(ctx.topology, instance, ctx.plansByInstance.get(instance.name) ?? []);
    ctx.rpoCache.set(instance, rpo);
  }
  return rpo;
}

export function createRuleContext(topology: Topology): RuleContext {
  const servers = new Map<string, Server>();
  for (const s of topology.fleet.servers) if (!servers.has(s.name)) servers.set(s.name, s);
  const plans = planReplications(topology);
  const plansByInstance = new Map<string, ReplicationPlan[]>();
  for (const p of plans) {
    const list = plansByInstance.get(p.instance);
    if (list) list.push(p);
    else plansByInstance.set(p.instance, [p]);
  }
  return { topology, servers, plans, plansByInstance, rpoCache: new WeakMap() };
}

export interface InstanceRef {
  client: ClientStack;
  instance: Instance;
}

export function* instancesOf(topology: Topology): Generator<InstanceRef> {
  for (const client of topology.clients) for (const instance of client.instances) yield { client, instance };
}

/** The backup servers of an instance that exist in the fleet and are not lost, once each, in listed order. */
export function knownBackups(ctx: RuleContext, instance: Instance): Server[] {
  const out: Server[] = [];
  const seen = new Set<string>();
  for (const name of instance.backupServers) {
    const s = ctx.servers.get(name);
    if (s && s.state !== "lost" && !seen.has(name)) {
      seen.add(name);
      out.push(s);
    }
  }
  return out;
}

/** "bk-waw-1 (ovh:waw, Ożarów Mazowiecki, PL)" */
export function describeServer(s: Server): string {
  return `${s.name} (${s.site.id}, ${describeSite(s.site)})`;
}

export function violation(
  ruleId: string,
  severity: Severity,
  ref: InstanceRef | undefined,
  servers: string[],
  message: string,
  file?: string,
): Violation {
  return {
    ruleId,
    severity,
    message,
    ...(ref ? { client: ref.client.client, instance: ref.instance.name } : {}),
    ...(servers.length ? { servers } : {}),
    ...(file ?? ref?.client.file ? { file: file ?? ref!.client.file } : {}),
  };
}

export const km = (d: number): string => `${d.toFixed(1)} km`;
export const hours = (h: number): string => formatHours(h, "∞ (never)");
export const minutesOrHours = (h: number): string => formatMinutesOrHours(h, "∞ (never)");

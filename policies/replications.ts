// Are the replication times an Instance registers those the rules checked? The rules plan
// replications themselves (planReplications, without offset) and check every client minute offset
// 0..MAX_MINUTE_OFFSET; the program deploys the plan moved by one offset. This compares the two.
// Compared per instance on all its start minutes together, so the result does not depend on the
// order of backup servers (the client stack's facts do not carry the fleet's server order).
import { MAX_MINUTE_OFFSET } from "../infra/model/defaults";
import { planInstance } from "../infra/model/schedule";
import { formatTimeOfDay, mod, MINUTES_PER_DAY } from "../infra/model/time";
import type { StackModel } from "./topology";

export interface ReplicationMismatch {
  instance: string;
  message: string;
}

const fmt = (ts: readonly number[]): string => ts.map(formatTimeOfDay).join(" ") || "none";
const sorted = (ts: Iterable<number>): number[] => [...new Set(ts)].sort((a, b) => a - b);
const sameList = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export function replicationMismatches(model: StackModel): ReplicationMismatch[] {
  const out: ReplicationMismatch[] = [];
  const { fleet } = model.topology;
  for (const client of model.topology.clients) {
    for (const inst of client.instances) {
      if (!model.replicationsRead.has(inst.name)) continue;
      const registered = model.replications.filter((p) => p.instance === inst.name);
      const backups = [...new Set(inst.backupServers)];
      const withPlan = new Set(registered.map((p) => p.backupServer));
      const missing = backups.filter((b) => !withPlan.has(b));
      const extra = [...withPlan].filter((b) => !backups.includes(b));
      if (missing.length > 0 || extra.length > 0) {
        const parts: string[] = [];
        if (missing.length > 0) parts.push(`no replication registered for backup server(s) ${missing.join(", ")}`);
        if (extra.length > 0) parts.push(`replication registered for ${extra.join(", ")}, not a backup server of the instance`);
        out.push({ instance: inst.name, message: `instance ${inst.name}: ${parts.join("; ")}` });
        continue;
      }
      const deployed = sorted(registered.flatMap((p) => p.times.map((t) => mod(t, MINUTES_PER_DAY))));
      const planned = sorted(planInstance(fleet, inst).flatMap((p) => p.times));
      let matches = false;
      for (let off = 0; off <= MAX_MINUTE_OFFSET && !matches; off++) {
        matches = sameList(deployed, sorted(planned.map((t) => mod(t + off, MINUTES_PER_DAY))));
      }
      if (!matches) {
        out.push({
          instance: inst.name,
          message:
            `instance ${inst.name}: registered replication starts ${fmt(deployed)} are not the planned ` +
            `${fmt(planned)} moved by a client offset of 0..${MAX_MINUTE_OFFSET} min; the rules checked the plan, not these times`,
        });
      }
    }
  }
  return out;
}

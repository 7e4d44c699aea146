// The recovery point of an instance as the rules, the check report, the program's summary and the
// status judge it: files from the replication plan; the database from its hosting server's binlog
// shipping when the binlogs are on and pulled, from the dump cycle otherwise (issue 20, point 5). Pure.
import { binlogOf, binlogSettingsOf } from "./binlog";
import { DEFAULT_POLICY, isLost } from "./defaults";
import { worstCaseRpo, type Rpo } from "./schedule";
import type { FleetPolicy, Instance, ReplicationPlan, Topology } from "./types";

export type DatabaseRpoSource = "binlogs" | "dumps";

export interface InstanceRpo extends Rpo {
  /**
   * Worst-case database RPO, hours: the binlog lag a backup server may reach before its chain check
   * alerts (binlog.maxLagSeconds) when binlogs are shipped, else the dump cycle (dumpsHours).
   */
  databaseHours: number;
  databaseFrom: DatabaseRpoSource;
  /**
   * Worst-case age of the newest dump on a backup server, hours: the database RPO without binlogs,
   * and with them the oldest starting point a replay may need (and the fallback if a chain breaks).
   */
  dumpsHours: number;
}

/** The fleet's bound on the database RPO of an instance whose binlogs are shipped, hours. */
export function maxBinlogDatabaseRpoHours(policy: Pick<FleetPolicy, "maxRpoHours">): number {
  return policy.maxRpoHours.databaseWithBinlogs ?? DEFAULT_POLICY.maxRpoHours.databaseWithBinlogs!;
}

/**
 * Whether the instance's database is shipped as binlogs: its hosting server is in the fleet, not lost,
 * with binlogs on, and at least one backup server replicates the instance (each backup server that
 * mirrors an instance of a hosting server pulls that server's binlogs).
 */
export function binlogsShipped(topology: Topology, instance: Instance, plans: readonly ReplicationPlan[]): boolean {
  const hosting = topology.fleet.servers.find((s) => s.name === instance.hostingServer);
  if (!hosting || isLost(hosting) || !binlogOf(hosting)) return false;
  return plans.some((p) => p.instance === instance.name && p.times.length > 0);
}

/** `schedule` (the RPO of the instance's dumps and replications under `plans`) with its database from its source. */
export function withDatabaseSource(topology: Topology, instance: Instance, plans: readonly ReplicationPlan[], schedule: Rpo): InstanceRpo {
  if (!binlogsShipped(topology, instance, plans)) return { ...schedule, databaseFrom: "dumps", dumpsHours: schedule.databaseHours };
  const lagHours = binlogSettingsOf(topology.fleet).maxLagSeconds / 3600;
  return { filesHours: schedule.filesHours, databaseHours: lagHours, databaseFrom: "binlogs", dumpsHours: schedule.databaseHours };
}

/** The instance's worst-case RPO over every per-client minute offset, database from its source. */
export function instanceRpo(topology: Topology, instance: Instance, plans: readonly ReplicationPlan[]): InstanceRpo {
  return withDatabaseSource(topology, instance, plans, worstCaseRpo(topology, instance, plans));
}

// Collects the drill histories of some instances from their backup servers over SSH, for the
// client reports: one connection per active backup server (the status's own SSH path and parser,
// infra/status/collect.ts), nothing written there.
import { isLost } from "../model/defaults";
import type { Instance, Topology } from "../model/types";
import { PATHS } from "../render/paths";
import { drillHistoryScript, parseServerReport, runOnServer, type CollectOptions } from "../status/collect";
import { stampMs } from "../status/snapshot";
import type { DrillRecord } from "./record";

/** What one backup server holds of one instance's drills. Plain data. */
export interface DrillHistoryFacts {
  instance: string;
  server: string;
  /** The history's readable records, oldest first. */
  records: DrillRecord[];
  /** Unreadable lines, dropped keys. */
  problems: string[];
  /** Lines of the history that are no record at all. */
  unreadableLines: number;
  /** The server holds a complete copy of the instance (its .complete marker). */
  hasCopy: boolean;
  /** Since when it holds a copy (the mirror's birth time or its oldest snapshot, the older), ISO UTC. */
  copySince?: string;
  /** The server is marked lost in the fleet: nothing asked. */
  lost?: boolean;
  /** Why the server could not be read (for the operator: it names the SSH endpoint). */
  error?: string;
}

/** The histories of `instances` on each of their backup servers (in parallel, one SSH session a server). */
export async function collectDrillHistories(topology: Topology, instances: readonly Instance[], options: CollectOptions): Promise<DrillHistoryFacts[]> {
  const byServer = new Map<string, string[]>();
  for (const i of instances) for (const b of i.backupServers) byServer.set(b, [...(byServer.get(b) ?? []), i.name]);
  const perServer = await Promise.all(
    [...byServer.entries()].map(async ([name, names]): Promise<DrillHistoryFacts[]> => {
      const server = topology.fleet.servers.find((s) => s.name === name);
      const blank = (instance: string) => ({ instance, server: name, records: [], problems: [], unreadableLines: 0, hasCopy: false });
      if (!server || isLost(server)) return names.map((n) => ({ ...blank(n), lost: true }));
      try {
        const stateDir = options.stateDirOf?.(server) ?? PATHS.stateDir;
        const report = parseServerReport(await runOnServer(server, drillHistoryScript(topology, names, stateDir), options));
        return names.map((n) => {
          const history = report.histories.get(n);
          const mirror = report.mirrors.get(n);
          const since = [mirror?.bornAt ? Date.parse(mirror.bornAt) : undefined, stampMs(mirror?.oldestSnapshot)].filter((x): x is number => x !== undefined && Number.isFinite(x));
          return {
            ...blank(n),
            records: history?.records ?? [],
            problems: [...(history?.problems ?? []), ...(mirror?.error ? [mirror.error] : [])],
            unreadableLines: history?.unreadableLines ?? 0,
            hasCopy: mirror?.complete?.finishedAt !== undefined,
            ...(since.length ? { copySince: new Date(Math.min(...since)).toISOString() } : {}),
          };
        });
      } catch (e) {
        return names.map((n) => ({ ...blank(n), error: (e as Error).message }));
      }
    }),
  );
  return perServer.flat();
}

// A client's drill report (issue 21), as data: its instances, where each is hosted and copied (the
// fleet model's sites), every backup server's drills of it, judged as `npm run status` judges them.
// Pure: the histories collected from the servers in, a ClientReport out (report-html.ts renders it).
import { drillSettingsOf } from "../model/drills";
import { distanceKm } from "../model/geo";
import type { DrillSettings, Provider, Server, Topology } from "../model/types";
import type { DrillHistoryFacts } from "./collect";
import { drillRecordProblem, judgeDrill, type DrillState } from "./judge";
import type { DrillRecord } from "./record";

const PROVIDER_NAMES: Record<Provider, string> = { ovh: "OVHcloud", ionos: "IONOS" };

/** A server as the client sees it: its name and where it stands, never how it is reached. */
export interface ReportSite {
  server: string;
  provider: string;
  /** The provider's datacenter or location code (rbx, de/fra). */
  code: string;
  city: string;
  country: string;
}

/** One backup server's copy of an instance and its drills. */
export interface ReportCopy {
  site: ReportSite;
  /** Great-circle distance from the hosting site. */
  distanceKm: number;
  /** "read": its history was read; "unreadable": the server did not answer; "lost": out of service. */
  availability: "read" | "unreadable" | "lost";
  /** The verdict on its drills (only when read). */
  state?: DrillState;
  /** Its drills, newest first (those that are this instance's drills at a valid time). */
  drills: DrillRecord[];
  /** Records of the history that could not be taken (unreadable, another instance's, no time). */
  unreadableRecords: number;
}

export interface ReportInstance {
  name: string;
  hosting: ReportSite;
  copies: ReportCopy[];
}

export interface ClientReport {
  client: string;
  fleet: string;
  /** When the report was made, ISO UTC. */
  generatedAt: string;
  settings: DrillSettings;
  instances: ReportInstance[];
}

function siteOf(server: Server): ReportSite {
  return { server: server.name, provider: PROVIDER_NAMES[server.provider] ?? server.provider, code: server.site.code, city: server.site.city, country: server.site.country };
}

/** The report of `client` from the histories collected on its backup servers, judged at `now`. */
export function buildClientReport(topology: Topology, client: string, facts: readonly DrillHistoryFacts[], now: Date): ClientReport {
  const settings = drillSettingsOf(topology.fleet);
  const servers = new Map(topology.fleet.servers.map((s) => [s.name, s]));
  const t = now.getTime();
  const instances = topology.clients
    .filter((c) => c.client === client)
    .flatMap((c) => c.instances)
    .map((inst): ReportInstance => {
      const hosting = servers.get(inst.hostingServer)!;
      const copies = inst.backupServers.map((name): ReportCopy => {
        const server = servers.get(name)!;
        const f = facts.find((x) => x.instance === inst.name && x.server === name);
        const base = { site: siteOf(server), distanceKm: Math.round(distanceKm(hosting.site, server.site)) };
        if (!f || f.lost) return { ...base, availability: "lost", drills: [], unreadableRecords: 0 };
        if (f.error) return { ...base, availability: "unreadable", drills: [], unreadableRecords: 0 };
        const valid = f.records.filter((r) => drillRecordProblem(r, inst.name, t) === undefined);
        const last = f.records[f.records.length - 1];
        const lastOk = [...f.records].reverse().find((r) => r.result === "ok");
        const copySince = f.copySince ? Date.parse(f.copySince) : undefined;
        const state = judgeDrill(
          { server: name, ...(last ? { last } : {}), ...(lastOk ? { lastOk } : {}) },
          { instance: inst.name, hasCopy: f.hasCopy, ...(copySince !== undefined && Number.isFinite(copySince) ? { copySinceMs: copySince } : {}) },
          settings,
          t,
        );
        const newestFirst = valid.sort((a, b) => Date.parse(b.finishedAt!) - Date.parse(a.finishedAt!));
        return { ...base, availability: "read", state, drills: newestFirst, unreadableRecords: f.records.length - valid.length + f.unreadableLines };
      });
      return { name: inst.name, hosting: siteOf(hosting), copies };
    });
  return { client, fleet: topology.fleet.stack, generatedAt: now.toISOString(), settings, instances };
}

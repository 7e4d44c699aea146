// Builders of typed topologies for tests (any engineer's): servers at catalogue or made-up sites,
// instances with default schedules, whole topologies. Everything is plain data, as types.ts defines it.
import { DEFAULT_MIRROR_ROOT, DEFAULT_POLICY, DEFAULT_SCHEDULE, DEFAULT_SNAPSHOTS_KEEP, defaultDumpDir } from "../../infra/model/defaults";
import { pointNorthOf } from "../../infra/model/geo";
import { siteById } from "../../infra/model/sites";
import type {
  ClientStack,
  Fleet,
  FleetPolicy,
  Instance,
  Provider,
  Schedule,
  Server,
  ServerRole,
  Site,
  Topology,
} from "../../infra/model/types";
import { testHostKey } from "./host-keys";

/** A catalogue site by id ("ovh:rbx", "ionos:de/fra"); throws on an unknown id. */
export function catalogueSite(id: string): Site {
  const s = siteById(id);
  if (!s) throw new Error(`no site ${id} in the catalogue`);
  return s;
}

/** A made-up site (for exact-distance tests): id "<provider>:<code>". */
export function customSite(id: string, latitude: number, longitude: number, city = id, country = "XX"): Site {
  const [provider, code] = id.split(":") as [Provider, string];
  return { id, provider, code, city, country, latitude, longitude };
}

/** A made-up site exactly `km` great-circle kilometres due north of `from`. */
export function siteNorthOf(from: Site, km: number, id: string, city = id): Site {
  const p = pointNorthOf(from, km);
  return customSite(id, p.latitude, p.longitude, city, from.country);
}

let hostCounter = 0;

/** A server at a site (catalogue id or Site); provider from the site; a unique documentation IP. */
export function makeServer(name: string, role: ServerRole, site: string | Site, overrides: Partial<Server> = {}): Server {
  const s = typeof site === "string" ? catalogueSite(site) : site;
  hostCounter++;
  return {
    name,
    role,
    provider: s.provider,
    site: s,
    ssh: { host: `203.0.113.${hostCounter % 250}`, port: 2200 + hostCounter, user: "root", hostKey: testHostKey(name) },
    ...overrides,
  };
}

export type InstanceOverrides = Partial<Omit<Instance, "schedule">> & { schedule?: Partial<Schedule> };

/** An instance with the default schedule (00:00, 12:00, 7 days, 4 replications a day). */
export function makeInstance(name: string, hostingServer: string, backupServers: string[], overrides: InstanceOverrides = {}): Instance {
  const { schedule, ...rest } = overrides;
  return {
    name,
    client: rest.client ?? name.split("-")[0]!,
    hostingServer,
    database: { name: `dolibarr_${name.replace(/-/g, "_")}` },
    codeRoot: `/var/www/${name}/htdocs`,
    documentsDir: `/var/lib/dolibarr/${name}/documents`,
    dumpDir: defaultDumpDir(name),
    backupServers,
    snapshotsKeep: DEFAULT_SNAPSHOTS_KEEP,
    ...rest,
    schedule: {
      dumpTimes: [...DEFAULT_SCHEDULE.dumpTimes],
      retentionDays: DEFAULT_SCHEDULE.retentionDays,
      replicationsPerDay: DEFAULT_SCHEDULE.replicationsPerDay,
      ...schedule,
    },
  };
}

export function makePolicy(p: Partial<Omit<FleetPolicy, "maxRpoHours">> & { maxRpoHours?: Partial<FleetPolicy["maxRpoHours"]> } = {}): FleetPolicy {
  return {
    ...DEFAULT_POLICY,
    ...p,
    maxRpoHours: { ...DEFAULT_POLICY.maxRpoHours, ...p.maxRpoHours },
  } as FleetPolicy;
}

export interface ClientSpec {
  client: string;
  instances: Instance[];
  stack?: string;
  file?: string;
}

export interface TopologySpec {
  servers: Server[];
  clients: ClientSpec[];
  policy?: Parameters<typeof makePolicy>[0];
  stack?: string;
  file?: string;
  mirrorRoot?: string;
}

export function makeClient(spec: ClientSpec, fleetStack = "fleet"): ClientStack {
  const stack = spec.stack ?? `client-${spec.client}`;
  return {
    stack,
    file: spec.file ?? `stacks/Pulumi.${stack}.yaml`,
    client: spec.client,
    fleetStack,
    instances: spec.instances.map((i) => ({ ...i, client: spec.client })),
  };
}

export function makeTopology(spec: TopologySpec): Topology {
  const stack = spec.stack ?? "fleet";
  const fleet: Fleet = {
    stack,
    file: spec.file ?? `stacks/Pulumi.${stack}.yaml`,
    servers: spec.servers,
    policy: makePolicy(spec.policy),
    mirrorRoot: spec.mirrorRoot ?? DEFAULT_MIRROR_ROOT,
  };
  return { fleet, clients: spec.clients.map((c) => makeClient(c, stack)) };
}

/**
 * A topology that passes every rule: hosting at OVH Roubaix and IONOS Frankfurt, backups at OVH
 * Strasbourg, OVH Warsaw and IONOS Berlin; client acme has two instances on one server.
 */
export function exampleTopology(): Topology {
  return makeTopology({
    servers: [
      makeServer("web-rbx", "hosting", "ovh:rbx"),
      makeServer("web-fra", "hosting", "ionos:de/fra"),
      makeServer("bk-sbg", "backup", "ovh:sbg"),
      makeServer("bk-waw", "backup", "ovh:waw"),
      makeServer("bk-txl", "backup", "ionos:de/txl"),
    ],
    clients: [
      {
        client: "acme",
        instances: [makeInstance("acme-erp", "web-rbx", ["bk-sbg", "bk-txl"]), makeInstance("acme-shop", "web-rbx", ["bk-sbg", "bk-txl"])],
      },
      { client: "globex", instances: [makeInstance("globex-erp", "web-fra", ["bk-sbg", "bk-waw"])] },
    ],
  });
}

/** A deep copy to modify in one test without touching another's. */
export function cloneTopology(t: Topology): Topology {
  return JSON.parse(JSON.stringify(t)) as Topology;
}

/**
 * A generated fleet for benchmarks and load tests: `clients` clients of one instance each, on
 * `hosting` hosting servers, every instance using 1 hosting + 2 backup servers (3 servers), backups
 * chosen so every rule passes.
 */
export function generatedTopology(clients: number, options: { hosting?: number } = {}): Topology {
  const hostingSites = ["ovh:rbx", "ovh:gra", "ionos:de/fra", "ovh:eri"];
  const backupSites = ["ovh:sbg", "ovh:waw", "ionos:de/txl", "ionos:es/vit"];
  const nHosting = options.hosting ?? 20;
  const servers: Server[] = [];
  for (let i = 0; i < nHosting; i++) servers.push(makeServer(`web-${i}`, "hosting", hostingSites[i % hostingSites.length]!));
  backupSites.forEach((s, i) => servers.push(makeServer(`bk-${i}`, "backup", s)));
  // Backup pairs per hosting site: ≥ 100 km apart, one at another provider.
  const pairs: Record<string, [number, number]> = {
    "ovh:rbx": [0, 2], // sbg + txl
    "ovh:gra": [2, 1], // txl + waw
    "ionos:de/fra": [0, 1], // sbg + waw
    "ovh:eri": [3, 2], // vit + txl
  };
  const specs: ClientSpec[] = [];
  for (let c = 0; c < clients; c++) {
    const h = c % nHosting;
    const [a, b] = pairs[hostingSites[h % hostingSites.length]!]!;
    const name = `c${c}`;
    specs.push({ client: name, instances: [makeInstance(`${name}-erp`, `web-${h}`, [`bk-${a}`, `bk-${b}`], { client: name })] });
  }
  return makeTopology({ servers, clients: specs });
}

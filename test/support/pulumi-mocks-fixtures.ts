// Small typed fixtures for the program's tests: sites, servers and a fleet, written by hand so
// the tests of the program do not depend on the stack config files.
import type { Fleet, FleetPolicy, Server, Site } from "../../infra/model/types";

export const SITES: Record<string, Site> = {
  rbx: { id: "ovh:rbx", provider: "ovh", code: "rbx", city: "Roubaix", country: "FR", latitude: 50.6916, longitude: 3.2003 },
  gra: { id: "ovh:gra", provider: "ovh", code: "gra", city: "Gravelines", country: "FR", latitude: 50.9867, longitude: 2.1258 },
  sbg: { id: "ovh:sbg", provider: "ovh", code: "sbg", city: "Strasbourg", country: "FR", latitude: 48.5846, longitude: 7.7507 },
  fra: { id: "ionos:de/fra", provider: "ionos", code: "de/fra", city: "Frankfurt", country: "DE", latitude: 50.1109, longitude: 8.6821 },
  txl: { id: "ionos:de/txl", provider: "ionos", code: "de/txl", city: "Berlin", country: "DE", latitude: 52.52, longitude: 13.405 },
};

export function server(name: string, role: Server["role"], site: Site, extra: Partial<Server> = {}): Server {
  return {
    name,
    role,
    provider: site.provider,
    site,
    ssh: { host: `${name}.example.net`, port: 22, user: "root" },
    ...extra,
  };
}

export const POLICY: FleetPolicy = {
  minBackupServers: 2,
  minDistanceKm: 200,
  providerDiversity: "advisory",
  minDumpsPerDay: 2,
  minRetentionDays: 7,
  dumpWindowMinutes: 30,
  maxRpoHours: { files: 12, database: 12 },
};

export function fleet(servers: Server[], extra: Partial<Fleet> = {}): Fleet {
  return { stack: "fleet", file: "stacks/Pulumi.fleet.yaml", servers, policy: POLICY, mirrorRoot: "/srv/dolibarr-mirrors", ...extra };
}

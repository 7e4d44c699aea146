// A small typed topology for the renderer tests: two hosting servers (OVH), two backup
// servers (IONOS), one client with two instances.
import type { Fleet, Instance, ReplicationPlan, Server, Site, Topology } from "../../infra/model/types";
import { testHostKey } from "./host-keys";

const RBX: Site = { id: "ovh:rbx", provider: "ovh", code: "rbx", city: "Roubaix", country: "FR", latitude: 50.69, longitude: 3.17 };
const GRA: Site = { id: "ovh:gra", provider: "ovh", code: "gra", city: "Gravelines", country: "FR", latitude: 50.99, longitude: 2.13 };
const FRA: Site = { id: "ionos:de/fra", provider: "ionos", code: "de/fra", city: "Frankfurt", country: "DE", latitude: 50.11, longitude: 8.68 };
const LOG: Site = { id: "ionos:es/vit", provider: "ionos", code: "es/vit", city: "Logroño", country: "ES", latitude: 42.46, longitude: -2.45 };

export function sampleServers(): Server[] {
  return [
    { name: "web1", role: "hosting", provider: "ovh", site: RBX, ssh: { host: "203.0.113.10", port: 22, user: "root", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfWeb1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx web1" } },
    { name: "web2", role: "hosting", provider: "ovh", site: GRA, ssh: { host: "203.0.113.11", port: 2222, user: "deploy", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfWeb2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" } },
    { name: "bk-fra", role: "backup", provider: "ionos", site: FRA, ssh: { host: "198.51.100.20", port: 22, user: "root", hostKey: testHostKey("bk-fra") } },
    { name: "bk-log", role: "backup", provider: "ionos", site: LOG, ssh: { host: "198.51.100.21", port: 22, user: "root", hostKey: testHostKey("bk-log") } },
  ];
}

export function sampleFleet(): Fleet {
  return {
    stack: "fleet",
    file: "stacks/Pulumi.fleet.yaml",
    servers: sampleServers(),
    policy: {
      minBackupServers: 2,
      minDistanceKm: 200,
      providerDiversity: "required",
      minDumpsPerDay: 2,
      minRetentionDays: 7,
      dumpWindowMinutes: 30,
      maxRpoHours: { files: 24, database: 24 },
    },
    mirrorRoot: "/srv/dolibarr-mirrors",
  };
}

export function sampleInstance(name = "acme-erp", overrides: Partial<Instance> = {}): Instance {
  return {
    name,
    client: "acme",
    hostingServer: "web1",
    database: { name: "dolibarr_acme" },
    codeRoot: `/var/www/${name}/htdocs`,
    documentsDir: `/var/lib/dolibarr/${name}/documents`,
    dumpDir: `/var/backups/dolibarr/${name}`,
    backupServers: ["bk-fra", "bk-log"],
    schedule: { dumpTimes: [0, 720], retentionDays: 7, replicationsPerDay: 4 },
    snapshotsKeep: 3,
    ...overrides,
  };
}

export function sampleTopology(): Topology {
  return {
    fleet: sampleFleet(),
    clients: [
      {
        stack: "client-acme",
        file: "stacks/Pulumi.client-acme.yaml",
        client: "acme",
        fleetStack: "fleet",
        instances: [sampleInstance(), sampleInstance("acme-test", { hostingServer: "web2", schedule: { dumpTimes: [90, 810], retentionDays: 3, replicationsPerDay: 2 } })],
      },
    ],
  };
}

export function samplePlan(instance = "acme-erp", backupServer = "bk-fra"): ReplicationPlan {
  return { instance, backupServer, times: [195, 555, 915, 1275] };
}

export const SAMPLE_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBackupKeyOfBkFraxxxxxxxxxxxxxxxxxxxxxxxxxx dolibarr-backup@bk-fra";

// Small typed fixtures for the program's tests: sites, servers and a fleet, written by hand so
// the tests of the program do not depend on the stack config files.
import { accessDeclaration } from "../../infra/components/servers";
import { parseClientConfig, parseFleetConfig } from "../../infra/model/parse";
import type { ClientStack, Fleet, FleetPolicy, Server, Site } from "../../infra/model/types";
import type { FleetView } from "../../infra/program/fleet-outputs";
import { renderHostingAccess } from "../../infra/render";
import { testHostKey } from "./host-keys";

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
    ssh: { host: `${name}.example.net`, port: 22, user: "root", hostKey: testHostKey(name) },
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

// ---- config values of a small fleet and its clients, parsed by the foundation's loaders ----

export const KEYS = {
  rbxHost: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMj/SnVs7DpCN9wBYLAepoGdFuyOy1cKArzuPwAqyVVJ",
  fraHost: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKPfY1HLzF6ttW3PBTGZAK4ziLpQUGa7pUifmE7Sf00L",
  sbgHost: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM93/AZCewHeJtS9Tgk6iABv48CKdHLIp99jm6jMQRtx",
  backupSbg: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM3IBTypiuk5c7CMA/mdHxROXY8N4+zfc1Fdee6JukmC dolibarr-backup@bk-sbg",
  backupTxl: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJVNQSstwvjI0S9ODsv82xuMn0hUuIgmR27cGfOxwyZn dolibarr-backup@bk-txl",
  backupGra: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMj/SnVs7DpCN9wBYLAepoGdFuyOy1cKArzuPwAqyVVJ dolibarr-backup@bk-gra",
};
/** `ssh-keygen -lf` of KEYS.rbxHost. */
export const RBX_HOST_FINGERPRINT = "SHA256:ZpBhdJ7/Q69PfBh0o3mCuApCukuWjGRX6EfdMEbmRpQ";

export const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nTEST-PRIVATE-KEY-NEVER-IN-CLEAR\n-----END OPENSSH PRIVATE KEY-----\n";

export const FLEET_SOURCE = { stack: "fleet", file: "stacks/Pulumi.fleet.yaml", origin: "engine" as const };
export const CLIENT_SOURCE = { stack: "client-acme", file: "stacks/Pulumi.client-acme.yaml", origin: "engine" as const };

export function parsedFleet(): Fleet {
  return parseFleetConfig(fleetValues(), FLEET_SOURCE);
}

export function parsedClient(values: Record<string, unknown> = clientValues()): ClientStack {
  return parseClientConfig(values, CLIENT_SOURCE);
}

/** Fleet config values (keys without namespace), as the engine hands them to the program. */
export function fleetValues(): Record<string, unknown> {
  return {
    stackKind: "fleet",
    servers: [
      {
        name: "web-rbx",
        role: "hosting",
        provider: "ovh",
        site: "rbx",
        ssh: { host: "203.0.113.10", hostKey: KEYS.rbxHost },
        ovh: { serviceName: "ns1.ip-203-0-113.eu", kind: "dedicated" },
      },
      // custom port, non-root user (commands through sudo), a comment after the pinned key
      { name: "web-fra", role: "hosting", provider: "ionos", site: "de/fra", ssh: { host: "198.51.100.10", port: 2222, user: "deploy", hostKey: `${KEYS.fraHost} root@web-fra` } },
      { name: "bk-sbg", role: "backup", provider: "ovh", site: "sbg", ssh: { host: "203.0.113.20", hostKey: KEYS.sbgHost } },
      { name: "bk-txl", role: "backup", provider: "ionos", site: "de/txl", ssh: { host: "198.51.100.20", hostKey: KEYS.rbxHost } },
      // ≈ 80 km from Roubaix: too close for web-rbx's instances
      { name: "bk-gra", role: "backup", provider: "ovh", site: "gra", ssh: { host: "203.0.113.30", hostKey: KEYS.fraHost } },
    ],
    mirrorRoot: "/srv/dolibarr-backup/mirrors",
    sshPrivateKey: PRIVATE_KEY,
  };
}

export function clientValues(extra: { instances?: unknown[] } = {}): Record<string, unknown> {
  return {
    stackKind: "client",
    fleetStack: "fleet",
    client: "acme",
    instances: extra.instances ?? [
      {
        name: "acme-erp",
        hostingServer: "web-rbx",
        database: { name: "dolibarr_acme" },
        codeRoot: "/var/www/acme/htdocs",
        documentsDir: "/var/lib/dolibarr/acme/documents",
        backupServers: ["bk-sbg", "bk-txl"],
      },
      {
        name: "acme-shop",
        hostingServer: "web-fra",
        database: { name: "dolibarr_shop" },
        codeRoot: "/var/www/shop/htdocs",
        documentsDir: "/var/lib/dolibarr/shop/documents",
        backupServers: ["bk-txl", "bk-sbg"],
        schedule: { dumpTimes: ["01:00", "13:00"], replicationsPerDay: 6 },
      },
    ],
  };
}

/** stdout of the fleet's remote commands under the mocks: the backup keys generated (no command reads a host key). */
export function fleetCommandStdout(name: string): string {
  const out: Record<string, string> = {
    "bk-sbg/ssh-key": `${KEYS.backupSbg}\n`,
    "bk-txl/ssh-key": `${KEYS.backupTxl}\n`,
    "bk-gra/ssh-key": `${KEYS.backupGra}\n`,
  };
  return out[name] ?? "";
}

/** What the fleet stack of fleetValues() exports for its clients (as a client stack reads it). */
export function fleetViewOf(fleet: Fleet): FleetView {
  const backups = fleet.servers.filter((s) => s.role === "backup");
  const keyOf: Record<string, string> = { "bk-sbg": KEYS.backupSbg, "bk-txl": KEYS.backupTxl, "bk-gra": KEYS.backupGra };
  return {
    fleet: JSON.parse(JSON.stringify(fleet)) as Fleet,
    hostKeys: Object.fromEntries(fleet.servers.map((s) => [s.name, s.ssh.hostKey])),
    access: Object.fromEntries(
      fleet.servers
        .filter((s) => s.role === "hosting")
        .map((h) => [h.name, backups.map((b) => accessDeclaration(b.name, renderHostingAccess(fleet, h, b, keyOf[b.name]!)))]),
    ),
    sshPrivateKey: PRIVATE_KEY,
  };
}

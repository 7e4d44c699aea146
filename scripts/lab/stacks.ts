// Turns the lab's running hosts (.lab/hosts.json, written by lab.sh) into ordinary stack configs:
// the lab is just another fleet for the program, with addresses, ports and host keys of its own.
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

export interface LabHost {
  name: string;
  ip: string;
  /** The same host's IPv6 address on the lab bridge (lab.sh: fd00:77:: and the IPv4's last octet). */
  ip6: string;
  role: "hosting" | "backup";
  sshUser: string;
  sshPort: number;
  hostKey: string;
}

/** Which real site each lab host stands for. */
export const LAB_SITES: Record<string, { provider: "ovh" | "ionos"; site: string }> = {
  "lab-host-ovh-rbx": { provider: "ovh", site: "rbx" },
  "lab-host-ionos-fra": { provider: "ionos", site: "de/fra" },
  "lab-backup-ovh-waw": { provider: "ovh", site: "waw" },
  "lab-backup-ionos-lhr": { provider: "ionos", site: "gb/lhr" },
  "lab-backup-ovh-gra": { provider: "ovh", site: "gra" },
};

export const LAB_FLEET_STACK = "lab-fleet";
const NS = "dolibarr-backup";

export interface LabClient {
  stack: string;
  client: string;
  instances: Array<{
    name: string;
    hostingServer: string;
    database: { name: string };
    codeRoot: string;
    documentsDir: string;
    backupServers: string[];
    schedule?: { replicationsPerDay?: number; dumpTimes?: string[]; retentionDays?: number };
    snapshots?: { keep: number };
  }>;
}

/** The clients deployed by the lab demo; their data is seeded by lab.sh. */
export const LAB_CLIENTS: LabClient[] = [
  {
    stack: "lab-client-acme",
    client: "acme",
    instances: [
      {
        name: "acme-erp",
        hostingServer: "lab-host-ovh-rbx",
        database: { name: "dolibarr_acme" },
        codeRoot: "/var/www/acme/htdocs",
        documentsDir: "/var/lib/dolibarr/acme/documents",
        backupServers: ["lab-backup-ovh-waw", "lab-backup-ionos-lhr"],
        snapshots: { keep: 3 },
      },
      {
        name: "acme-formation",
        hostingServer: "lab-host-ovh-rbx",
        database: { name: "dolibarr_acme_formation" },
        codeRoot: "/var/www/acme-formation/htdocs",
        documentsDir: "/var/lib/dolibarr/acme-formation/documents",
        backupServers: ["lab-backup-ovh-waw", "lab-backup-ionos-lhr"],
      },
    ],
  },
  {
    stack: "lab-client-bistro",
    client: "bistro",
    instances: [
      {
        name: "bistro-erp",
        hostingServer: "lab-host-ionos-fra",
        database: { name: "dolibarr_bistro" },
        codeRoot: "/var/www/bistro/htdocs",
        documentsDir: "/var/lib/dolibarr/bistro/documents",
        backupServers: ["lab-backup-ovh-waw", "lab-backup-ovh-gra"],
      },
    ],
  },
];

/** A client whose second backup (OVH Gravelines) is ~80 km from its hosting site (OVH Roubaix). */
export const LAB_CLIENT_TOO_CLOSE: LabClient = {
  stack: "lab-client-tooclose",
  client: "tooclose",
  instances: [
    {
      name: "tooclose-erp",
      hostingServer: "lab-host-ovh-rbx",
      database: { name: "dolibarr_tooclose" },
      codeRoot: "/var/www/tooclose/htdocs",
      documentsDir: "/var/lib/dolibarr/tooclose/documents",
      backupServers: ["lab-backup-ovh-gra", "lab-backup-ionos-lhr"],
    },
  ],
};

export function readLabHosts(file: string): LabHost[] {
  let hosts: unknown;
  try {
    hosts = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: cannot read the lab hosts (run \`bash scripts/lab/lab.sh up\` first): ${(err as Error).message}`);
  }
  if (!Array.isArray(hosts)) throw new Error(`${file}: expected a JSON array of hosts`);
  for (const [i, host] of hosts.entries()) {
    for (const key of ["name", "ip", "ip6", "role", "hostKey"]) {
      if (typeof (host as Record<string, unknown>)[key] !== "string") {
        throw new Error(`${file}: [${i}].${key}: expected a string (written by an older lab.sh? run \`bash scripts/lab/lab.sh up\`)`);
      }
    }
  }
  return hosts as LabHost[];
}

/** How the fleet reaches its servers: every host has an address of each family on the lab bridge. */
export type LabAddressFamily = "ipv4" | "ipv6";

/** A person who logs in to the lab hosts besides the deploy (fleet key operators). */
export interface LabOperator {
  name: string;
  publicKey: string;
}

/**
 * The lab fleet. Its SSH access is managed (fleet key operators, even with no operator): sshd on
 * every lab host accepts for root only the deploy key (the lab's key) and `operators`' keys.
 */
export function labFleetConfig(hosts: LabHost[], addressFamily: LabAddressFamily = "ipv4", operators: LabOperator[] = []): Record<string, unknown> {
  const servers = hosts.map((host) => {
    const site = LAB_SITES[host.name];
    if (!site) throw new Error(`lab host ${host.name}: no site in LAB_SITES (scripts/lab/stacks.ts)`);
    return {
      name: host.name,
      role: host.role,
      provider: site.provider,
      site: site.site,
      ssh: { host: addressFamily === "ipv6" ? host.ip6 : host.ip, port: host.sshPort, user: host.sshUser, hostKey: host.hostKey },
    };
  });
  // The lab's databases are a few hundred KB and dump in about a second: a dump slot is taken for
  // 2 minutes at most and 4 run at once, so that a scale client (20 or 50 instances on one host)
  // drains its dump queue within the 30-min dump window, as rpo.max requires.
  return { stackKind: "fleet", servers, maxConcurrentDumps: 4, policy: { maxDumpMinutes: 2 }, operators };
}

export function labClientConfig(client: LabClient): Record<string, unknown> {
  return { stackKind: "client", fleetStack: LAB_FLEET_STACK, client: client.client, instances: client.instances };
}

/**
 * Renders a stack config file. Keeps what `pulumi stack init` / `pulumi config set --secret`
 * wrote into an earlier version of the file (encryption salt, secret values), so that
 * rewriting the plain settings never loses a secret.
 */
export function renderStackFile(config: Record<string, unknown>, previous?: string): string {
  const kept: Record<string, unknown> = {};
  const document: Record<string, unknown> = {};
  if (previous) {
    const old = (yaml.load(previous) ?? {}) as { encryptionsalt?: string; config?: Record<string, unknown> };
    if (old.encryptionsalt) document.encryptionsalt = old.encryptionsalt;
    for (const [key, value] of Object.entries(old.config ?? {})) {
      if (value && typeof value === "object" && "secure" in value) kept[key] = value;
    }
  }
  const namespaced: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) namespaced[`${NS}:${key}`] = value;
  document.config = { ...namespaced, ...kept };
  return (
    "# Written by `npm run lab` from .lab/hosts.json: the lab's fleet, for this machine only (gitignored).\n" +
    yaml.dump(document, { lineWidth: 200, noRefs: true })
  );
}

export function writeStackFile(stacksDir: string, stack: string, config: Record<string, unknown>): string {
  const file = path.join(stacksDir, `Pulumi.${stack}.yaml`);
  const previous = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  fs.writeFileSync(file, renderStackFile(config, previous));
  return file;
}

/**
 * A client with `count` small instances on one hosting host (scale runs: e2e and `npm run bench`):
 * instance `<client>-NN` at /var/www/<client>-NN/htdocs, database dolibarr_<client>_NN.
 */
export function labScaleClient(count: number, client = `scale${count}`, hostingServer = "lab-host-ionos-fra"): LabClient {
  return {
    stack: `lab-client-${client}`,
    client,
    instances: Array.from({ length: count }, (_, k) => {
      const n = String(k + 1).padStart(2, "0");
      return {
        name: `${client}-${n}`,
        hostingServer,
        database: { name: `dolibarr_${client}_${n}` },
        codeRoot: `/var/www/${client}-${n}/htdocs`,
        documentsDir: `/var/lib/dolibarr/${client}-${n}/documents`,
        backupServers: ["lab-backup-ovh-waw", "lab-backup-ionos-lhr"],
      };
    }),
  };
}

// The fleet stack: provider facts checked first, then one component per server with its base
// installation, each backup server's own key, and each backup server's restricted user on each
// hosting server. Exports what the client stacks read (fleet-outputs.ts).
import * as pulumi from "@pulumi/pulumi";
import { isLost } from "../model/defaults";
import { lostFleetServer } from "../components/lost";
import { BackupServer, HostingServer } from "../components/servers";
import type { Fleet } from "../model/types";
import { checkServerFacts, factCheckError, type FactCheck, type FactClients } from "../providers/facts";
import { ionosClient, type IonosApi, type IonosCredentials } from "../providers/ionos";
import { ovhClient, type OvhApi, type OvhCredentials } from "../providers/ovh";
import { FLEET_OUTPUTS_VERSION } from "./fleet-outputs";

/** How the fact checks reach the providers; the tests inject fakes. */
export interface FactClientFactories {
  ovh?: (credentials: OvhCredentials) => OvhApi;
  ionos?: (credentials: IonosCredentials) => IonosApi;
}

export const REAL_FACT_CLIENTS: Required<FactClientFactories> = {
  ovh: (c) => ovhClient(c),
  ionos: (c) => ionosClient(c),
};

export interface FleetCredentials {
  ovh?: OvhCredentials;
  ionos?: IonosCredentials;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

const pulumiLogger: Logger = {
  info: (m) => void pulumi.log.info(m),
  warn: (m) => void pulumi.log.warn(m),
};

/**
 * Checks the declared provider and site of every server against the providers' APIs (where
 * credentials and references are configured), says in the preview what was and was not checked,
 * and throws a RunError listing every mismatch. Runs before any resource is declared.
 */
export async function checkFleetFacts(
  fleet: Fleet,
  credentials: FleetCredentials,
  factories: FactClientFactories = REAL_FACT_CLIENTS,
  log: Logger = pulumiLogger,
): Promise<FactCheck[]> {
  const clients: FactClients = {};
  const needs = (p: "ovh" | "ionos") => fleet.servers.some((s) => s.provider === p && (p === "ovh" ? s.ovh : s.ionos));
  if (credentials.ovh && factories.ovh && needs("ovh")) clients.ovh = factories.ovh(credentials.ovh);
  if (credentials.ionos && factories.ionos && needs("ionos")) {
    try {
      clients.ionos = factories.ionos(credentials.ionos);
    } catch (err) {
      log.warn(`IONOS facts not checked: ${(err as Error).message}`);
    }
  }
  const results = await checkServerFacts(fleet.servers, clients);
  for (const r of results) {
    if (r.status === "unchecked" && r.reason === "no-credentials") log.warn(r.message);
    else if (r.status === "verified" || r.status === "unchecked") log.info(r.message);
  }
  const error = factCheckError(results);
  if (error) throw new pulumi.RunError(error.message);
  return results;
}

export interface FleetProgramInput {
  fleet: Fleet;
  /** The fleet's SSH private key (a secret). */
  sshPrivateKey: pulumi.Input<string>;
  /** Results of checkFleetFacts, shown in the servers' outputs. */
  factChecks?: readonly FactCheck[];
}

export interface FleetResources {
  hosting: HostingServer[];
  backup: BackupServer[];
}

/** The stack outputs of a fleet stack (some values are outputs). */
export type FleetStackOutputs = Record<string, unknown>;

/** Declares the fleet's resources and returns the stack outputs. */
export function runFleet(
  input: FleetProgramInput,
  opts: pulumi.ComponentResourceOptions = {},
): { outputs: FleetStackOutputs; resources: FleetResources } {
  const { fleet } = input;
  const privateKey = pulumi.secret(input.sshPrivateKey);
  const factOf = (name: string) => input.factChecks?.find((f) => f.server === name);
  // A lost server (state: lost) runs nothing: its resources stay only as inert twins, never
  // deleted (components/lost.ts), so that nothing SSHes to it; the rules name the instances that
  // depended on it. Its key leaves the active hosting servers (their access bundles for it go).
  const active = fleet.servers.filter((s) => s.state !== "lost");
  for (const server of fleet.servers.filter(isLost)) lostFleetServer(fleet, server, opts);
  const backupServers = active.filter((s) => s.role === "backup");
  const hosting = active
    .filter((s) => s.role === "hosting")
    .map((server) => {
      const fc = factOf(server.name);
      return new HostingServer({ fleet, server, privateKey, backupServers, ...(fc ? { factCheck: fc } : {}) }, opts);
    });
  const backup = backupServers.map((server) => {
    const fc = factOf(server.name);
    return new BackupServer({ fleet, server, privateKey, ...(fc ? { factCheck: fc } : {}) }, opts);
  });
  for (const h of hosting) for (const b of backup) h.grantAccess(b);

  const all = [...hosting, ...backup];
  const outputs: FleetStackOutputs = {
    stackKind: "fleet",
    outputsVersion: FLEET_OUTPUTS_VERSION,
    fleetStack: fleet.stack,
    fleet: plainFleet(fleet),
    mirrorRoot: fleet.mirrorRoot,
    policy: fleet.policy,
    servers: Object.fromEntries(all.map((c) => [c.server.name, c.outputs])),
    hostKeys: Object.fromEntries(all.map((c) => [c.server.name, c.hostKey])),
    backupPublicKeys: Object.fromEntries(backup.map((b) => [b.server.name, b.publicKey])),
    access: Object.fromEntries(hosting.map((h) => [h.server.name, Object.values(h.access)])),
    factChecks: (input.factChecks ?? []).map((f) => ({ ...f })),
    sshPrivateKey: privateKey,
  };
  return { outputs, resources: { hosting, backup } };
}

/** The Fleet as plain JSON data (what a client stack rebuilds its topology from). */
export function plainFleet(fleet: Fleet): Fleet {
  return JSON.parse(JSON.stringify(fleet)) as Fleet;
}

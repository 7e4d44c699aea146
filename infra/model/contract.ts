// What the component resources carry as properties: the contract between the Pulumi program
// (which registers them) and the policy pack (which rebuilds a Topology from them to run the
// same rules). Plain data only, so it survives the engine's serialization unchanged.
// Defined in the model so that the rules and the policy pack import nothing from the Pulumi layer;
// infra/components/contract.ts re-exports it.
import type { FleetPolicy, Instance, Provider, ReplicationPlan, ServerRole, Site } from "./types";

export const PACKAGE = "dolibarr-backup";

export const TYPES = {
  hostingServer: `${PACKAGE}:fleet:HostingServer`,
  backupServer: `${PACKAGE}:fleet:BackupServer`,
  instance: `${PACKAGE}:client:Instance`,
} as const;

/** Properties of a HostingServer / BackupServer component (fleet stack). */
export interface ServerProps {
  name: string;
  role: ServerRole;
  provider: Provider;
  site: Site;
  address: string;
  fleetStack: string;
}

/** A server as seen from a client stack: the facts the rules need. */
export interface ServerFacts {
  name: string;
  role: ServerRole;
  provider: Provider;
  site: Site;
  address: string;
}

/** How one backup server is let into the hosting server for one instance. */
export interface AccessDeclaration {
  backupServer: string;
  /** Unix user on the hosting server. */
  user: string;
  /** The authorized_keys options in force for that user, e.g. ["restrict", "from=\"…\"", "command=\"…\""]. */
  keyOptions: string[];
}

/** Properties of an Instance component (client stack). */
export interface InstanceProps {
  fleetStack: string;
  client: string;
  instance: Instance;
  hostingServer: ServerFacts;
  backupServers: ServerFacts[];
  policy: FleetPolicy;
  mirrorRoot: string;
  replications: ReplicationPlan[];
  access: AccessDeclaration[];
}

/** Type tokens of the stock resources the program declares (@pulumi/command, @pulumi/random). */
export const STOCK_TYPES = {
  remoteCommand: "command:remote:Command",
  randomInteger: "random:index/randomInteger:RandomInteger",
  randomPassword: "random:index/randomPassword:RandomPassword",
} as const;

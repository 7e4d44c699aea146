// The fleet stack's outputs that client stacks read through a StackReference: the one interface
// between the two kinds of stack. Plain data except the SSH private key (a secret output).
import type { AccessDeclaration } from "../components/contract";
import { hostKeyProblem } from "../model/host-key";
import type { Fleet, FleetPolicy, Server } from "../model/types";

/** Bumped when a client stack could no longer read an older fleet's outputs. */
export const FLEET_OUTPUTS_VERSION = 1;

/** What a client stack needs from its fleet, as plain values. */
export interface FleetView {
  /** The fleet as parsed from its config (servers with their SSH endpoints, policy, mirrorRoot). */
  fleet: Fleet;
  /** SSH host key of every server, as the fleet config pins it (also in fleet.servers[].ssh.hostKey). */
  hostKeys: Record<string, string>;
  /** By hosting server: the restricted access of each backup server of the fleet. */
  access: Record<string, AccessDeclaration[]>;
  /** The fleet's SSH private key (kept a secret by the caller). */
  sshPrivateKey: string;
}

/** Output names the client stack reads. */
export const FLEET_OUTPUT_NAMES = {
  version: "outputsVersion",
  kind: "stackKind",
  fleet: "fleet",
  hostKeys: "hostKeys",
  access: "access",
  sshPrivateKey: "sshPrivateKey",
} as const;

export interface OutputDetails {
  value?: unknown;
  secretValue?: unknown;
}

/** Reads and checks the fleet's outputs; `get` is StackReference.getOutputDetails (or a test's). */
export async function readFleetView(
  fleetStack: string,
  get: (name: string) => Promise<OutputDetails>,
): Promise<FleetView> {
  const value = async (name: string): Promise<unknown> => {
    const d = await get(name);
    return d.value !== undefined ? d.value : d.secretValue;
  };
  const kind = await value(FLEET_OUTPUT_NAMES.kind);
  if (kind === undefined) {
    throw new Error(
      `fleet stack ${fleetStack} has no outputs: deploy it first (pulumi up --stack ${fleetStack}), then this client stack`,
    );
  }
  if (kind !== "fleet") throw new Error(`stack ${fleetStack} is a ${String(kind)} stack, not a fleet stack`);
  const version = await value(FLEET_OUTPUT_NAMES.version);
  if (version !== FLEET_OUTPUTS_VERSION) {
    throw new Error(
      `fleet stack ${fleetStack} exports outputs version ${String(version)}, this program reads version ${FLEET_OUTPUTS_VERSION}: ` +
        `run pulumi up on the fleet stack with this program first`,
    );
  }
  const fleet = (await value(FLEET_OUTPUT_NAMES.fleet)) as Fleet | undefined;
  if (!fleet || !Array.isArray(fleet.servers) || typeof fleet.stack !== "string") {
    throw new Error(`fleet stack ${fleetStack}: output "fleet" is missing or malformed`);
  }
  // Every server's host key is pinned in the fleet config (model/host-key.ts); a fleet deployed by an
  // older program may export servers without one: the client stack never connects to those.
  for (const s of fleet.servers as Partial<Server>[]) {
    const problem = typeof s.ssh?.hostKey === "string" ? hostKeyProblem(s.ssh.hostKey, s.ssh.host, s.ssh.port) : "missing";
    if (problem) {
      throw new Error(
        `fleet stack ${fleetStack}: server ${String(s.name)} has no valid pinned host key in the fleet's outputs (${problem.split(";")[0]}): ` +
          `declare ssh.hostKey in the fleet config (${fleet.file ?? `stacks/Pulumi.${fleetStack}.yaml`}) and run pulumi up --stack ${fleetStack} first`,
      );
    }
  }
  const key = await get(FLEET_OUTPUT_NAMES.sshPrivateKey);
  if (typeof key.secretValue !== "string") {
    throw new Error(`fleet stack ${fleetStack}: output "sshPrivateKey" is missing or not a secret`);
  }
  return {
    fleet,
    hostKeys: ((await value(FLEET_OUTPUT_NAMES.hostKeys)) ?? {}) as Record<string, string>,
    access: ((await value(FLEET_OUTPUT_NAMES.access)) ?? {}) as Record<string, AccessDeclaration[]>,
    sshPrivateKey: key.secretValue,
  };
}

/** Summary of one server in the fleet's outputs. */
export interface ServerSummary {
  name: string;
  role: Server["role"];
  provider: Server["provider"];
  site: string;
  city: string;
  country: string;
  coordinates: { latitude: number; longitude: number };
  address: string;
  sshPort: number;
  hostKey: string;
  hostKeyFingerprint: string;
  factCheck: { status: string; message?: string; reported?: string };
  publicKey?: string;
  access?: AccessDeclaration[];
}

export type { FleetPolicy };

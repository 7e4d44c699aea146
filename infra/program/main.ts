// The program's entry: reads the stack's config, then runs the fleet or the client program.
// Async: the provider facts (fleet) and the fleet's outputs (client) are read as plain values and
// checked before any resource is declared. Its returned object is the stack's outputs.
import * as pulumi from "@pulumi/pulumi";
import { isConfigError } from "../model/errors";
import { otherClientStacks, refuseFleetCollisions } from "../model/load";
import { dumpCounts } from "../model/schedule";
import { parseClientConfig, parseFleetConfig } from "../model/parse";
import type { ClientStack, Fleet } from "../model/types";
import { formatConfigError } from "../report/text";
import { runClient } from "./client";
import { fleetSecrets, readStackConfig, type RawStackConfig } from "./config";
import { checkFleetFacts, REAL_FACT_CLIENTS, runFleet, type FactClientFactories } from "./fleet";
import { readFleetView, type OutputDetails } from "./fleet-outputs";

export interface MainDeps {
  /** The stack's config (default: the engine's). */
  config?: () => RawStackConfig;
  /** Clients of the provider APIs for the fact checks (default: the real ones). */
  factClients?: FactClientFactories;
  /** Reads one output of the fleet stack (default: a StackReference). */
  fleetOutput?: (referenceName: string) => (name: string) => Promise<OutputDetails>;
  /** Where the fleet's other client stack files are (default: stacks/ of the project, the program's cwd). */
  stacksDir?: string;
}

function parseOrRunError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (isConfigError(err)) throw new pulumi.RunError(formatConfigError(err));
    throw err;
  }
}

/**
 * The StackReference name of the fleet stack: "<org>/<project>/<fleetStack>". The organization is
 * the current stack's (with the local or S3 backends: "organization"); DOLIBARR_BACKUP_FLEET_ORG
 * overrides it when the fleet lives in another organization of Pulumi Cloud.
 */
export function fleetReferenceName(fleetStack: string, env: NodeJS.ProcessEnv = process.env): string {
  let org = env.DOLIBARR_BACKUP_FLEET_ORG;
  if (!org) {
    try {
      org = pulumi.getOrganization();
    } catch {
      org = "organization";
    }
  }
  return `${org}/${pulumi.getProject()}/${fleetStack}`;
}

function stackReferenceOutputs(referenceName: string): (name: string) => Promise<OutputDetails> {
  const ref = new pulumi.StackReference(referenceName, { name: referenceName });
  return (name) => ref.getOutputDetails(name);
}

export async function fleetMain(raw: RawStackConfig, deps: MainDeps = {}): Promise<Record<string, unknown>> {
  const fleet: Fleet = parseOrRunError(() => parseFleetConfig(raw.values, raw.source));
  const secrets = fleetSecrets(raw);
  const factChecks = await checkFleetFacts(
    fleet,
    { ...(secrets.ovh ? { ovh: secrets.ovh } : {}), ...(secrets.ionos ? { ionos: secrets.ionos } : {}) },
    deps.factClients ?? REAL_FACT_CLIENTS,
  );
  return runFleet({ fleet, sshPrivateKey: secrets.sshPrivateKey, factChecks }).outputs;
}

export async function clientMain(raw: RawStackConfig, deps: MainDeps = {}): Promise<Record<string, unknown>> {
  const client: ClientStack = parseOrRunError(() => parseClientConfig(raw.values, raw.source));
  // The other client stacks of the fleet are in the repository: no shared database or directory,
  // and their dumps queue on the same hosting servers (the rules count them, as the offline check does).
  const others = parseOrRunError(() => otherClientStacks(client, deps.stacksDir));
  parseOrRunError(() => refuseFleetCollisions(client, deps.stacksDir, others));
  const referenceName = fleetReferenceName(client.fleetStack);
  const get = (deps.fleetOutput ?? stackReferenceOutputs)(referenceName);
  let view;
  try {
    view = await readFleetView(client.fleetStack, get);
  } catch (err) {
    throw new pulumi.RunError(`client ${client.client}: cannot read fleet stack ${referenceName}: ${(err as Error).message}`);
  }
  return runClient(client, view, {}, undefined, dumpCounts(others)).outputs;
}

/** The program: `pulumi up` calls it (infra/index.ts exports it). */
export async function main(deps: MainDeps = {}): Promise<Record<string, unknown>> {
  const raw = (deps.config ?? readStackConfig)();
  return raw.kind === "fleet" ? fleetMain(raw, deps) : clientMain(raw, deps);
}

// Checks the declared facts of the fleet's servers (provider, site) against the providers' APIs.
// Plain async functions with the API clients injected, so that the Pulumi program uses the real
// clients and the tests a fake API on 127.0.0.1. A server without a provider reference, or a fleet
// without credentials for its provider, keeps its declared facts: the result says so.
import type { Server } from "../model/types";
import { errorText, type FactCheck } from "./fact-check";
import { checkIonosServer, type IonosApi } from "./ionos";
import { checkOvhServer, type OvhApi } from "./ovh";

export type { FactCheck, FactStatus } from "./fact-check";
export { errorText } from "./fact-check";

export interface FactClients {
  ovh?: OvhApi;
  ionos?: IonosApi;
}

/** Checks every server of the fleet, one request at a time per provider (the APIs rate-limit). */
export async function checkServerFacts(servers: readonly Server[], clients: FactClients): Promise<FactCheck[]> {
  const results: FactCheck[] = [];
  for (const server of servers) {
    results.push(await checkOne(server, clients));
  }
  return results;
}

async function checkOne(server: Server, clients: FactClients): Promise<FactCheck> {
  const base = { server: server.name, provider: server.provider, declared: server.site.id };
  if (server.site.provider !== server.provider) {
    return {
      ...base,
      status: "mismatch",
      message: `server ${server.name}: declared provider ${server.provider} but site ${server.site.id} belongs to ${server.site.provider}`,
    };
  }
  try {
    if (server.provider === "ovh") {
      if (!server.ovh) {
        return { ...base, status: "unchecked", reason: "no-reference", message: `server ${server.name}: no OVH service name declared, using the declared site ${server.site.id}` };
      }
      if (!clients.ovh) {
        return { ...base, status: "unchecked", reason: "no-credentials", message: `server ${server.name}: no OVH API credentials in the fleet config, using the declared site ${server.site.id}` };
      }
      return { ...base, ...(await checkOvhServer(clients.ovh, server)) };
    }
    if (!server.ionos) {
      return { ...base, status: "unchecked", reason: "no-reference", message: `server ${server.name}: no IONOS datacenter/server id declared, using the declared site ${server.site.id}` };
    }
    if (!clients.ionos) {
      return { ...base, status: "unchecked", reason: "no-credentials", message: `server ${server.name}: no IONOS API token in the fleet config, using the declared site ${server.site.id}` };
    }
    return { ...base, ...(await checkIonosServer(clients.ionos, server)) };
  } catch (err) {
    return { ...base, status: "error", message: `server ${server.name}: ${server.provider.toUpperCase()} API check failed: ${errorText(err)}` };
  }
}

/** The error to raise when a check did not confirm a declared fact (mismatch or API error), or undefined. */
export function factCheckError(results: readonly FactCheck[]): Error | undefined {
  const bad = results.filter((r) => r.status === "mismatch" || r.status === "error");
  if (bad.length === 0) return undefined;
  return new Error(
    `the declared facts of ${bad.length} server(s) differ from what the providers report; fix the fleet config (or the provider reference):\n` +
      bad.map((r) => `  - ${r.message}`).join("\n"),
  );
}

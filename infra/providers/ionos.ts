// IONOS Cloud fact check: where does IONOS say a server is?
//   GET /datacenters/{datacenterId}                      -> { properties: { location: "de/fra" } }
//   GET /datacenters/{datacenterId}/servers/{serverId}   -> the server exists in that datacenter
// Through IONOS's official SDK (@ionos-cloud/sdk-nodejs, Cloud API v6), loaded when first used.
import type { Server } from "../model/types";
import { errorText, type FactCheck } from "./fact-check";

/** The part of the IONOS Cloud API the checks use. */
export interface IonosApi {
  /** The datacenter's location id ("de/fra", "de/txl", "es/vit", "de/fra/2"). */
  datacenterLocation(datacenterId: string): Promise<string>;
  /** The server's name; rejects when the server is not in that datacenter. */
  serverName(datacenterId: string, serverId: string): Promise<string>;
}

export interface IonosCredentials {
  token: string;
  /** API base URL, default the SDK's (https://api.ionos.com/cloudapi/v6). */
  endpoint?: string;
}

export class IonosApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "IonosApiError";
  }
}

/** Minimal shape of the SDK (v6) used here; the package is loaded at run time. */
interface IonosSdk {
  Configuration: new (params: { apiKey?: string; basePath?: string; baseOptions?: Record<string, unknown> }) => {
    setMaxRetries?(n: number): unknown;
    setMaxWaitTime?(ms: number): unknown;
  };
  DataCentersApi: new (configuration: unknown) => {
    datacentersFindById(request: { datacenterId: string; depth?: number }): Promise<{ data: { properties?: { location?: string } } }>;
  };
  ServersApi: new (configuration: unknown) => {
    datacentersServersFindById(request: { datacenterId: string; serverId: string; depth?: number }): Promise<{
      data: { id?: string; properties?: { name?: string } };
    }>;
  };
}

export const IONOS_SDK = "@ionos-cloud/sdk-nodejs";

function loadSdk(): IonosSdk {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(IONOS_SDK) as IonosSdk;
  } catch (err) {
    throw new IonosApiError(`the IONOS SDK (${IONOS_SDK}) is not installed: ${errorText(err)}`);
  }
}

/** The real client, through the official SDK. */
export function ionosClient(
  credentials: IonosCredentials,
  options: { timeoutMs?: number; /** The SDK waits min(2^try s, this) before EVERY try, the first included. */ backoffMs?: number } = {},
): IonosApi {
  const sdk = loadSdk();
  const configuration = new sdk.Configuration({
    apiKey: credentials.token,
    ...(credentials.endpoint ? { basePath: credentials.endpoint.replace(/\/+$/, "") } : {}),
    baseOptions: { timeout: options.timeoutMs ?? 20_000 },
  });
  configuration.setMaxRetries?.(2);
  configuration.setMaxWaitTime?.(options.backoffMs ?? 1000);
  const datacenters = new sdk.DataCentersApi(configuration);
  const servers = new sdk.ServersApi(configuration);
  return {
    async datacenterLocation(datacenterId) {
      try {
        const res = await datacenters.datacentersFindById({ datacenterId, depth: 0 });
        const location = res.data.properties?.location;
        if (typeof location !== "string" || location === "") {
          throw new IonosApiError(`datacenter ${datacenterId}: the API answered without a location`);
        }
        return location;
      } catch (err) {
        throw toIonosError(err, `GET /datacenters/${datacenterId}`);
      }
    },
    async serverName(datacenterId, serverId) {
      try {
        const res = await servers.datacentersServersFindById({ datacenterId, serverId, depth: 0 });
        return res.data.properties?.name ?? res.data.id ?? serverId;
      } catch (err) {
        throw toIonosError(err, `GET /datacenters/${datacenterId}/servers/${serverId}`);
      }
    },
  };
}

function toIonosError(err: unknown, what: string): IonosApiError {
  if (err instanceof IonosApiError) return err;
  const e = err as { response?: { status?: number; data?: { messages?: { message?: string }[] } }; message?: string };
  const status = e?.response?.status;
  if (typeof status === "number") {
    const detail = e.response?.data?.messages?.map((m) => m.message).filter(Boolean).join("; ");
    return new IonosApiError(`${what}: HTTP ${status}${detail ? ` ${detail}` : ""}`, status);
  }
  return new IonosApiError(`${what}: ${errorText(err)}`);
}

/** "de/fra/2" is in "de/fra"; "de/fra" is not in "de/fra/2". */
export function ionosLocationMatches(reported: string, declared: string): boolean {
  const r = reported.trim().toLowerCase();
  const d = declared.trim().toLowerCase();
  return r === d || r.startsWith(`${d}/`);
}

/** Compares IONOS's location of the server's datacenter with its declared site. */
export async function checkIonosServer(
  api: IonosApi,
  server: Server,
): Promise<Pick<FactCheck, "status" | "reported" | "message">> {
  const reference = server.ionos;
  if (!reference) throw new Error(`server ${server.name} has no IONOS reference`);
  const location = await api.datacenterLocation(reference.datacenterId);
  if (!ionosLocationMatches(location, server.site.code)) {
    return {
      status: "mismatch",
      reported: location,
      message:
        `server ${server.name}: declared at ${server.site.id} (${server.site.city}) but IONOS reports datacenter ` +
        `${reference.datacenterId} in location "${location}"`,
    };
  }
  const name = await api.serverName(reference.datacenterId, reference.serverId);
  return {
    status: "verified",
    reported: location,
    message: `server ${server.name}: IONOS confirms server ${name} (${reference.serverId}) in location "${location}" (${server.site.id})`,
  };
}

// OVH fact check: where does OVH say a dedicated server or VPS is?
//   dedicated server: GET /dedicated/server/{serviceName}  -> { datacenter: "rbx3" | "gra2" | "sbg1" | ... }
//   VPS:              GET /vps/{serviceName}/datacenter   -> { name: "gra", longName: "Gravelines", country: "fr" }
//                     (fallback GET /vps/{serviceName} -> { zone: "Region OpenStack: os-gra7" })
// The datacenter is reduced to the site code of the catalogue by its leading letters ("rbx3" -> "rbx").
import { canonicalSiteCode } from "../model/sites";
import type { Server } from "../model/types";
import { errorText, type FactCheck } from "./fact-check";

/** The part of the OVH API the checks use: an authenticated GET returning the parsed JSON body. */
export interface OvhApi {
  get(path: string): Promise<unknown>;
}

export interface OvhCredentials {
  /**
   * A preconfigured endpoint name of the `ovh` package ("ovh-eu", "ovh-ca", "kimsufi-eu", ...) or
   * a URL "https://host[:port][/basePath]" (default base path /1.0). Default "ovh-eu".
   */
  endpoint?: string;
  applicationKey: string;
  applicationSecret: string;
  consumerKey: string;
}

/** Error of an OVH API call, with the HTTP status when the API answered. */
export class OvhApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "OvhApiError";
  }
}

/** Minimal shape of the `ovh` package's client (v2), which ships no type declarations. */
interface OvhPackageClient {
  apiTimeDiff: number | null;
  requestPromised(method: string, path: string, params?: Record<string, unknown>): Promise<unknown>;
}
type OvhPackageFactory = (params: Record<string, unknown>) => OvhPackageClient;

/** Endpoint settings for the `ovh` package from a name or a URL. */
export function ovhEndpointParams(endpoint: string | undefined): Record<string, unknown> {
  const value = (endpoint ?? "").trim();
  if (value === "") return { endpoint: "ovh-eu" };
  if (!/^[a-z]+:\/\//i.test(value)) return { endpoint: value };
  const url = new URL(value);
  if (url.protocol !== "https:") {
    throw new OvhApiError(`OVH endpoint ${value}: only https is supported`);
  }
  const basePath = url.pathname.replace(/\/+$/, "");
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port === "" ? 443 : Number(url.port),
    basePath: basePath === "" ? "/1.0" : basePath,
  };
}

/**
 * The real client: the `ovh` package (signed requests). Trust of a private CA (a proxy, a test API)
 * comes from NODE_EXTRA_CA_CERTS, as for any Node.js HTTPS client.
 */
export function ovhClient(credentials: OvhCredentials, options: { timeoutMs?: number } = {}): OvhApi {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = require("ovh") as OvhPackageFactory;
  const client = factory({
    ...ovhEndpointParams(credentials.endpoint),
    appKey: credentials.applicationKey,
    appSecret: credentials.applicationSecret,
    consumerKey: credentials.consumerKey,
    timeout: options.timeoutMs ?? 20_000,
  });
  let clockSynced = false;
  const call = async (path: string): Promise<unknown> => {
    try {
      return await client.requestPromised("GET", path);
    } catch (err) {
      throw toOvhError(err, path);
    }
  };
  return {
    async get(path: string): Promise<unknown> {
      if (!clockSynced) {
        // The package fetches the API clock itself but then hides why it failed (TLS, DNS...):
        // fetching it here keeps the real cause in the message.
        const time = await call("/auth/time");
        if (typeof time !== "number") throw new OvhApiError(`GET /auth/time: unexpected answer ${JSON.stringify(time)}`);
        client.apiTimeDiff = time - Math.round(Date.now() / 1000);
        clockSynced = true;
      }
      return call(path);
    },
  };
}

function toOvhError(err: unknown, path: string): OvhApiError {
  if (err && typeof err === "object" && "error" in err) {
    const { error, message } = err as { error: unknown; message?: unknown };
    if (typeof error === "number") {
      return new OvhApiError(`GET ${path}: HTTP ${error}${message ? ` ${String(message)}` : ""}`, error);
    }
    return new OvhApiError(`GET ${path}: ${errorText(error)}`);
  }
  return new OvhApiError(`GET ${path}: ${errorText(err)}`);
}

/** Historical or special OVH datacenter names whose letters are not the site code. */
const DATACENTER_ALIASES: Record<string, string> = { p: "par", gsw: "par" };

/** "rbx3" -> "rbx", "rbx-hz" -> "rbx", "GRA" -> "gra", "os-gra7" -> "gra", "p19" -> "par", "fra1" -> "lim" (catalogue aliases). */
export function ovhSiteCode(datacenter: string): string {
  const lower = datacenter.trim().toLowerCase().replace(/^.*\bos-/, "");
  const letters = /^[a-z]+/.exec(lower)?.[0] ?? lower;
  return canonicalSiteCode("ovh", DATACENTER_ALIASES[letters] ?? letters);
}

/** Where OVH says the server is: its datacenter name as the API reports it. */
export async function ovhDatacenter(api: OvhApi, reference: NonNullable<Server["ovh"]>): Promise<string> {
  const service = encodeURIComponent(reference.serviceName);
  if (reference.kind === "dedicated") {
    const info = (await api.get(`/dedicated/server/${service}`)) as { datacenter?: unknown } | null;
    if (typeof info?.datacenter !== "string" || info.datacenter === "") {
      throw new OvhApiError(`dedicated server ${reference.serviceName}: the API answered without a datacenter`);
    }
    return info.datacenter;
  }
  try {
    const dc = (await api.get(`/vps/${service}/datacenter`)) as { name?: unknown } | null;
    if (typeof dc?.name === "string" && dc.name !== "") return dc.name;
  } catch (err) {
    if (!(err instanceof OvhApiError) || err.status !== 404) throw err;
  }
  const vps = (await api.get(`/vps/${service}`)) as { zone?: unknown; location?: { datacentre?: unknown } } | null;
  if (typeof vps?.location?.datacentre === "string" && vps.location.datacentre !== "") return vps.location.datacentre;
  if (typeof vps?.zone === "string" && vps.zone !== "") return vps.zone;
  throw new OvhApiError(`VPS ${reference.serviceName}: the API answered without a datacenter or zone`);
}

/** Compares OVH's datacenter of the server with its declared site. */
export async function checkOvhServer(
  api: OvhApi,
  server: Server,
): Promise<Pick<FactCheck, "status" | "reported" | "message">> {
  const reference = server.ovh;
  if (!reference) throw new Error(`server ${server.name} has no OVH reference`);
  const datacenter = await ovhDatacenter(api, reference);
  const reportedCode = ovhSiteCode(datacenter);
  const declaredCode = ovhSiteCode(server.site.code);
  const what = `${reference.kind === "dedicated" ? "dedicated server" : "VPS"} ${reference.serviceName}`;
  if (reportedCode !== declaredCode) {
    return {
      status: "mismatch",
      reported: datacenter,
      message:
        `server ${server.name}: declared at ${server.site.id} (${server.site.city}) but OVH reports ${what} ` +
        `in datacenter "${datacenter}" (site code "${reportedCode}")`,
    };
  }
  return {
    status: "verified",
    reported: datacenter,
    message: `server ${server.name}: OVH confirms ${what} in datacenter "${datacenter}" (${server.site.id})`,
  };
}

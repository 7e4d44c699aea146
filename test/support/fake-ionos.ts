// A fake of the few IONOS Cloud API v6 calls the fact checks make, over HTTP on 127.0.0.1
// (the SDK takes any base path). It checks the bearer token as the real API does.
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeIonosData {
  /** datacenterId -> { location, servers: serverId -> name }. */
  datacenters: Record<string, { location: string; name?: string; servers?: Record<string, string> }>;
}

export interface FakeIonos {
  /** Base URL for the fleet config's ionos.endpoint: "http://127.0.0.1:<port>/cloudapi/v6". */
  endpoint: string;
  requests: { method: string; path: string; authorized: boolean }[];
  close(): Promise<void>;
}

export async function startFakeIonos(token: string, data: FakeIonosData): Promise<FakeIonos> {
  const requests: FakeIonos["requests"] = [];
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const method = req.method ?? "GET";
    const authorized = req.headers.authorization === `Bearer ${token}`;
    requests.push({ method, path, authorized });
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    const notFound = (what: string) =>
      send(404, { httpStatus: 404, messages: [{ errorCode: "309", message: `Resource does not exist: ${what}` }] });
    if (!authorized) return send(401, { httpStatus: 401, messages: [{ errorCode: "315", message: "Unauthorized" }] });
    let m = /^\/cloudapi\/v6\/datacenters\/([^/]+)$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1] ?? "");
      const dc = data.datacenters[id];
      if (!dc) return notFound(`datacenter ${id}`);
      return send(200, { id, type: "datacenter", properties: { name: dc.name ?? id, location: dc.location, version: 3 } });
    }
    m = /^\/cloudapi\/v6\/datacenters\/([^/]+)\/servers\/([^/]+)$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1] ?? "");
      const sid = decodeURIComponent(m[2] ?? "");
      const name = data.datacenters[id]?.servers?.[sid];
      if (name === undefined) return notFound(`server ${sid} in datacenter ${id}`);
      return send(200, { id: sid, type: "server", properties: { name, cores: 2, ram: 4096, vmState: "RUNNING" } });
    }
    return notFound(path);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}/cloudapi/v6`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

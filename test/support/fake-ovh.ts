// A fake of the few OVH API calls the fact checks make, served over HTTPS on 127.0.0.1 with a
// certificate made at run time by openssl (its own CA: trust it with NODE_EXTRA_CA_CERTS).
// It checks the signature of every authenticated call as the real API does.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface FakeOvhCredentials {
  applicationKey: string;
  applicationSecret: string;
  consumerKey: string;
}

export interface FakeOvhData {
  /** serviceName -> datacenter ("rbx3"). */
  dedicated?: Record<string, string>;
  /** serviceName -> VPS datacenter answer; `zone` only when the datacenter call answers 404. */
  vps?: Record<string, { datacenter?: { name: string; longName: string; country: string }; zone?: string }>;
}

export interface FakeOvhRequest {
  method: string;
  path: string;
  /** Whether the signature headers were present and right (undefined for /auth calls). */
  signed?: boolean;
}

export interface FakeOvh {
  /** "https://127.0.0.1:<port>/1.0", the value of the fleet config's ovh.endpoint. */
  endpoint: string;
  port: number;
  /** PEM file of the self-signed certificate (its own CA). */
  caFile: string;
  requests: FakeOvhRequest[];
  close(): Promise<void>;
}

export interface TestCertificate {
  dir: string;
  certFile: string;
  keyFile: string;
  cleanup(): void;
}

/** A self-signed certificate for 127.0.0.1 and localhost, valid one day. */
export function makeTestCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "fake-ovh-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=fake-ovh-api",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-addext", "basicConstraints=critical,CA:TRUE",
    ],
    { stdio: "pipe" },
  );
  return { dir, certFile, keyFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startFakeOvh(credentials: FakeOvhCredentials, data: FakeOvhData): Promise<FakeOvh> {
  const cert = makeTestCertificate();
  const requests: FakeOvhRequest[] = [];
  const server = https.createServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, (req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      const path = req.url ?? "/";
      const method = req.method ?? "GET";
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (!path.startsWith("/1.0/")) return send(404, { message: `no such API: ${path}` });
      const apiPath = path.slice("/1.0".length).split("?")[0] ?? "";
      if (apiPath === "/auth/time") {
        requests.push({ method, path: apiPath });
        return send(200, Math.round(Date.now() / 1000));
      }
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const timestamp = header("x-ovh-timestamp") ?? "";
      const expected =
        "$1$" +
        createHash("sha1")
          .update([credentials.applicationSecret, credentials.consumerKey, method, `https://127.0.0.1${path}`, body, timestamp].join("+"))
          .digest("hex");
      const signed =
        header("x-ovh-application") === credentials.applicationKey &&
        header("x-ovh-consumer") === credentials.consumerKey &&
        header("x-ovh-signature") === expected;
      requests.push({ method, path: apiPath, signed });
      if (!signed) return send(403, { message: "Invalid signature" });
      let m = /^\/dedicated\/server\/([^/]+)$/.exec(apiPath);
      if (m) {
        const name = decodeURIComponent(m[1] ?? "");
        const dc = data.dedicated?.[name];
        if (dc === undefined) return send(404, { message: `The requested object (serviceName = ${name}) does not exist` });
        return send(200, { name, datacenter: dc, state: "ok", reverse: `${name}.` });
      }
      m = /^\/vps\/([^/]+)\/datacenter$/.exec(apiPath);
      if (m) {
        const name = decodeURIComponent(m[1] ?? "");
        const vps = data.vps?.[name];
        if (!vps?.datacenter) return send(404, { message: `The requested object (serviceName = ${name}) does not exist` });
        return send(200, vps.datacenter);
      }
      m = /^\/vps\/([^/]+)$/.exec(apiPath);
      if (m) {
        const name = decodeURIComponent(m[1] ?? "");
        const vps = data.vps?.[name];
        if (!vps) return send(404, { message: `The requested object (serviceName = ${name}) does not exist` });
        return send(200, { name, zone: vps.zone ?? "", state: "running" });
      }
      return send(404, { message: `no fake for ${method} ${apiPath}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `https://127.0.0.1:${port}/1.0`,
    port,
    caFile: cert.certFile,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          cert.cleanup();
          resolve();
        });
      }),
  };
}

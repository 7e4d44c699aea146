// Fact checks of the servers against fake OVH (HTTPS, test CA made by openssl) and IONOS APIs
// on 127.0.0.1; never the real APIs.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { checkServerFacts, factCheckError, type FactCheck } from "../../infra/providers/facts";
import { IONOS_SDK, checkIonosServer, ionosClient, ionosLocationMatches } from "../../infra/providers/ionos";
import { checkOvhServer, ovhClient, ovhEndpointParams, ovhSiteCode, type OvhApi } from "../../infra/providers/ovh";
import { startFakeIonos, type FakeIonos } from "../support/fake-ionos";
import { startFakeOvh, type FakeOvh } from "../support/fake-ovh";
import { SITES, server } from "../support/pulumi-mocks-fixtures";
import { skipUnlessCi } from "../support/prerequisites";

const run = promisify(execFile);
const OVH_CREDS = { applicationKey: "ak-test", applicationSecret: "as-test", consumerKey: "ck-test" };

describe("OVH site codes and endpoints", () => {
  it("reduces datacenter names to the catalogue's site code", () => {
    assert.equal(ovhSiteCode("rbx3"), "rbx");
    assert.equal(ovhSiteCode("rbx-hz"), "rbx");
    assert.equal(ovhSiteCode("GRA2"), "gra");
    assert.equal(ovhSiteCode("Region OpenStack: os-sbg5"), "sbg");
    assert.equal(ovhSiteCode("p19"), "par");
    assert.equal(ovhSiteCode("sbg"), "sbg");
  });
  it("accepts a preconfigured endpoint name or an https URL", () => {
    assert.deepEqual(ovhEndpointParams(undefined), { endpoint: "ovh-eu" });
    assert.deepEqual(ovhEndpointParams("ovh-ca"), { endpoint: "ovh-ca" });
    assert.deepEqual(ovhEndpointParams("https://127.0.0.1:8443/1.0"), { host: "127.0.0.1", port: 8443, basePath: "/1.0" });
    assert.deepEqual(ovhEndpointParams("https://api.example.net"), { host: "api.example.net", port: 443, basePath: "/1.0" });
    assert.throws(() => ovhEndpointParams("http://127.0.0.1:80/1.0"), /only https/);
  });
});

describe("OVH fact check against a fake API over HTTPS", () => {
  let fake: FakeOvh;
  before(async () => {
    fake = await startFakeOvh(OVH_CREDS, {
      dedicated: { "ns1.ip-1-2-3.eu": "rbx3", "ns2.ip-1-2-4.eu": "gra2" },
      vps: {
        "vps-sbg.vps.ovh.net": { datacenter: { name: "sbg", longName: "Strasbourg", country: "fr" } },
        "vps-old.vps.ovh.net": { zone: "Region OpenStack: os-gra7" },
      },
    });
  });
  after(() => fake.close());

  const servers = () => [
    server("h-rbx", "hosting", SITES.rbx!, { ovh: { serviceName: "ns1.ip-1-2-3.eu", kind: "dedicated" } }),
    server("b-sbg-declared", "backup", SITES.sbg!, { ovh: { serviceName: "ns2.ip-1-2-4.eu", kind: "dedicated" } }),
    server("b-sbg", "backup", SITES.sbg!, { ovh: { serviceName: "vps-sbg.vps.ovh.net", kind: "vps" } }),
    server("b-gra-old", "backup", SITES.gra!, { ovh: { serviceName: "vps-old.vps.ovh.net", kind: "vps" } }),
    server("b-gone", "backup", SITES.gra!, { ovh: { serviceName: "ns9.gone.eu", kind: "dedicated" } }),
    server("b-noref", "backup", SITES.gra!),
  ];

  it("trusts the test CA through NODE_EXTRA_CA_CERTS in a child process and checks every server", async () => {
    const script = `
      const { ovhClient } = require(${JSON.stringify(join(__dirname, "../../infra/providers/ovh.js"))});
      const { checkServerFacts } = require(${JSON.stringify(join(__dirname, "../../infra/providers/facts.js"))});
      const input = JSON.parse(process.env.FACTS_INPUT);
      checkServerFacts(input.servers, { ovh: ovhClient(input.credentials) })
        .then((r) => process.stdout.write(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });`;
    const { stdout } = await run(process.execPath, ["-e", script], {
      env: {
        PATH: process.env.PATH ?? "",
        NODE_EXTRA_CA_CERTS: fake.caFile,
        FACTS_INPUT: JSON.stringify({ servers: servers(), credentials: { ...OVH_CREDS, endpoint: fake.endpoint } }),
      },
      timeout: 30_000,
    });
    const results = JSON.parse(stdout) as FactCheck[];
    const by = (name: string) => results.find((r) => r.server === name)!;
    assert.equal(by("h-rbx").status, "verified");
    assert.equal(by("h-rbx").reported, "rbx3");
    assert.equal(by("b-sbg-declared").status, "mismatch");
    assert.match(by("b-sbg-declared").message, /declared at ovh:sbg \(Strasbourg\) but OVH reports dedicated server ns2\.ip-1-2-4\.eu in datacenter "gra2"/);
    assert.equal(by("b-sbg").status, "verified");
    assert.equal(by("b-gra-old").status, "verified", by("b-gra-old").message);
    assert.equal(by("b-gra-old").reported, "Region OpenStack: os-gra7");
    assert.equal(by("b-gone").status, "error");
    assert.match(by("b-gone").message, /HTTP 404 The requested object \(serviceName = ns9\.gone\.eu\) does not exist/);
    assert.equal(by("b-noref").status, "unchecked");
    // every authenticated call carried a valid signature
    const signed = fake.requests.filter((r) => r.path !== "/auth/time");
    assert.ok(signed.length >= 5);
    assert.ok(signed.every((r) => r.signed === true), JSON.stringify(fake.requests));
    const err = factCheckError(results);
    assert.ok(err);
    assert.match(err.message, /2 server\(s\)/);
    assert.match(err.message, /b-sbg-declared/);
    assert.match(err.message, /b-gone/);
  });

  it("does not trust the fake's certificate without the CA, and says why", async () => {
    const api = ovhClient({ ...OVH_CREDS, endpoint: fake.endpoint });
    await assert.rejects(api.get("/dedicated/server/ns1.ip-1-2-3.eu"), /GET \/auth\/time: .*(self[- ]signed|certificate)/i);
  });

  it("reports a wrong signature as an API error", async () => {
    const script = `
      const { ovhClient } = require(${JSON.stringify(join(__dirname, "../../infra/providers/ovh.js"))});
      ovhClient(JSON.parse(process.env.CREDS)).get("/dedicated/server/ns1.ip-1-2-3.eu")
        .then(() => process.stdout.write("ok"), (e) => process.stdout.write(e.message));`;
    const { stdout } = await run(process.execPath, ["-e", script], {
      env: {
        PATH: process.env.PATH ?? "",
        NODE_EXTRA_CA_CERTS: fake.caFile,
        CREDS: JSON.stringify({ ...OVH_CREDS, applicationSecret: "wrong", endpoint: fake.endpoint }),
      },
      timeout: 30_000,
    });
    assert.equal(stdout, "GET /dedicated/server/ns1.ip-1-2-3.eu: HTTP 403 Invalid signature");
  });
});

describe("fact checks with an injected client", () => {
  it("uses the injected OVH client and asks nothing for servers without a reference", async () => {
    const calls: string[] = [];
    const api: OvhApi = {
      async get(path) {
        calls.push(path);
        return { datacenter: "sbg1" };
      },
    };
    const s = server("b1", "backup", SITES.sbg!, { ovh: { serviceName: "ns3.example", kind: "dedicated" } });
    assert.deepEqual(await checkOvhServer(api, s), {
      status: "verified",
      reported: "sbg1",
      message: 'server b1: OVH confirms dedicated server ns3.example in datacenter "sbg1" (ovh:sbg)',
    });
    const results = await checkServerFacts([s, server("h1", "hosting", SITES.rbx!)], { ovh: api });
    assert.deepEqual(results.map((r) => r.status), ["verified", "unchecked"]);
    assert.deepEqual(calls, ["/dedicated/server/ns3.example", "/dedicated/server/ns3.example"]);
    assert.equal(factCheckError(results), undefined);
  });

  it("says the declared facts are used when no credentials are configured", async () => {
    const results = await checkServerFacts(
      [
        server("h1", "hosting", SITES.rbx!, { ovh: { serviceName: "ns1", kind: "dedicated" } }),
        server("b1", "backup", SITES.fra!, { ionos: { datacenterId: "dc", serverId: "srv" } }),
      ],
      {},
    );
    assert.deepEqual(results.map((r) => r.status), ["unchecked", "unchecked"]);
    assert.match(results[0]!.message, /no OVH API credentials/);
    assert.match(results[1]!.message, /no IONOS API token/);
  });

  it("flags a server whose provider differs from its site's", async () => {
    const s = { ...server("x", "backup", SITES.rbx!), provider: "ionos" as const };
    const [r] = await checkServerFacts([s], {});
    assert.equal(r!.status, "mismatch");
  });
});

// The SDK is a dependency of the program (package.json); skip loudly rather than fail where it is not installed yet.
const ionosSdkMissing = (() => {
  try {
    require.resolve(IONOS_SDK);
    return false;
  } catch {
    return `${IONOS_SDK} is not installed`;
  }
})();

describe("IONOS fact check against a fake Cloud API through the official SDK", { skip: skipUnlessCi(ionosSdkMissing || undefined, "IONOS fact check through the official SDK") }, () => {
  let fake: FakeIonos;
  before(async () => {
    fake = await startFakeIonos("ionos-token", {
      datacenters: {
        "dc-fra": { location: "de/fra", servers: { "srv-1": "backup-fra-1" } },
        "dc-txl": { location: "de/txl", servers: { "srv-2": "backup-txl-1" } },
      },
    });
  });
  after(() => fake.close());

  it("matches locations by prefix only downwards", () => {
    assert.ok(ionosLocationMatches("de/fra", "de/fra"));
    assert.ok(ionosLocationMatches("de/fra/2", "de/fra"));
    assert.ok(!ionosLocationMatches("de/fra", "de/fra/2"));
    assert.ok(!ionosLocationMatches("de/txl", "de/fra"));
  });

  it("verifies, flags a wrong location, a missing server and a bad token", async () => {
    const api = ionosClient({ token: "ionos-token", endpoint: fake.endpoint }, { backoffMs: 1 });
    const ok = server("b-fra", "backup", SITES.fra!, { ionos: { datacenterId: "dc-fra", serverId: "srv-1" } });
    const wrong = server("b-fra2", "backup", SITES.fra!, { ionos: { datacenterId: "dc-txl", serverId: "srv-2" } });
    const missing = server("b-fra3", "backup", SITES.fra!, { ionos: { datacenterId: "dc-fra", serverId: "srv-9" } });
    const results = await checkServerFacts([ok, wrong, missing], { ionos: api });
    assert.equal(results[0]!.status, "verified", results[0]!.message);
    assert.match(results[0]!.message, /IONOS confirms server backup-fra-1 \(srv-1\) in location "de\/fra"/);
    assert.equal(results[1]!.status, "mismatch");
    assert.match(results[1]!.message, /declared at ionos:de\/fra \(Frankfurt\) but IONOS reports datacenter dc-txl in location "de\/txl"/);
    assert.equal(results[2]!.status, "error");
    assert.match(results[2]!.message, /HTTP 404 Resource does not exist: server srv-9/);
    assert.ok(fake.requests.every((r) => r.authorized));

    const bad = ionosClient({ token: "wrong", endpoint: fake.endpoint }, { backoffMs: 1 });
    await assert.rejects(checkIonosServer(bad, ok), /HTTP 401 Unauthorized/);
  });
});

// The contract between the Pulumi program and the pack's pushed-* policies: the resources the real
// program registers (under Pulumi mocks: components with their registered outputs, remote.Commands
// with their inputs, secrets unwrapped as the policy SDK does, preview unknowns as the engine's
// sentinels) pass every policy of the pack, and a first preview makes the pushed-* stack policies
// say they cannot run instead of passing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PolicyResource } from "@pulumi/policy";
import { STOCK_TYPES } from "../../infra/components/contract";
import { runClient } from "../../infra/program/client";
import { runFleet } from "../../infra/program/fleet";
import { framePush, unframePush } from "../../infra/render/push";
import { buildPolicies } from "../../policies/policies";
import { scanPushes } from "../../policies/pushed";
import type { ResourceLike } from "../../policies/topology";
import { settle, setupMocks } from "../support/pulumi-mocks";
import { fleetCommandStdout, fleetViewOf, parsedClient, parsedFleet, PRIVATE_KEY } from "../support/pulumi-mocks-fixtures";
import { policyResources, resource, runAnyPolicy, runPolicy } from "../support/policy-resources";


async function violationsByPolicy(resources: PolicyResource[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const p of buildPolicies()) {
    const run = await runAnyPolicy(p, resources);
    if (run.violations.length > 0) out[p.name] = run.violations.map((v) => v.message);
  }
  return out;
}

describe("the program's own resources under the pack", () => {
  it("a fleet stack: every access push is restricted, the base pushes start no timer", async () => {
    const mocks = setupMocks({ stack: "fleet", commandStdout: (r) => fleetCommandStdout(r.name) });
    runFleet({ fleet: parsedFleet(), sshPrivateKey: PRIVATE_KEY });
    await settle();
    const resources = policyResources(mocks, "fleet");
    const access = resources.filter((r) => r.type === STOCK_TYPES.remoteCommand && r.name.includes("/access/"));
    assert.equal(access.length, 2 * 3, access.map((r) => r.name).join(", "));
    assert.deepEqual(await violationsByPolicy(resources), {});
    // the same stack with one pushed key line stripped of `restrict`: caught on that command
    const tampered = resources.map((r) => {
      if (r.name !== "web-rbx/access/bk-sbg/apply") return r;
      const props = JSON.parse(JSON.stringify((r.props as Record<string, unknown>)["__getSpecialProxyTarget"])) as Record<string, string>;
      return resource(r.type, r.name, { ...props, stdin: props.stdin!.replace("restrict,from=", "from=").replace(/^(file \S+ \S+ )(\d+)/m, (_, h: string, n: string) => `${h}${Number(n) - "restrict,".length}`) }, "fleet");
    });
    const vs = (await runPolicy("pushed-authorized-keys", tampered)).violations;
    assert.equal(vs.length, 1, vs.map((v) => v.message).join("\n"));
    assert.match(vs[0]!.message, /no `restrict` option/);
    assert.ok(vs[0]!.urn!.endsWith("::web-rbx/access/bk-sbg/apply"));
  });

  it("a client stack: its pushed timers are the plan at its minute offset, its replications pull from the hosting server", async () => {
    const mocks = setupMocks({ stack: "client-acme", randomInteger: () => 11 });
    const fleet = parsedFleet();
    runClient(parsedClient(), fleetViewOf(fleet));
    await settle();
    const resources = policyResources(mocks, "client-acme");
    const scan = scanPushes(resources as unknown as ResourceLike[]);
    assert.deepEqual([scan.malformed, scan.unknown], [[], []]);
    // every instance's hosting and backup bundles, each read with its server's address
    assert.deepEqual(scan.bundles.map((b) => b.name).sort(), ["acme-erp/bk-sbg/apply", "acme-erp/bk-txl/apply", "acme-erp/web-rbx/apply", "acme-shop/bk-sbg/apply", "acme-shop/bk-txl/apply", "acme-shop/web-fra/apply"].sort());
    for (const b of scan.bundles) {
      const server = fleet.servers.find((x) => b.name.split("/")[1] === x.name)!;
      assert.deepEqual(b.endpoint, { host: server.ssh.host, port: server.ssh.port }, b.name);
    }
    assert.deepEqual(await violationsByPolicy(resources), {});
    // one replication drop-in moved by a minute: caught on that command
    const tampered = resources.map((r) => {
      if (r.name !== "acme-erp/bk-txl/apply") return r;
      const props = JSON.parse(JSON.stringify((r.props as Record<string, unknown>)["__getSpecialProxyTarget"])) as Record<string, string>;
      const files = unframePush(props.stdin!).map((f) => (f.path.endsWith("schedule.conf") ? { ...f, content: f.content.replace(/:(\d\d):00( [\w/]+)?$/m, (_, m: string, zone?: string) => `:${String((Number(m) + 1) % 60).padStart(2, "0")}:00${zone ?? ""}`) } : f));
      return resource(r.type, r.name, { ...props, stdin: framePush(files) }, "client-acme");
    });
    const vs = (await runPolicy("pushed-timers", tampered)).violations;
    assert.equal(vs.length, 1, vs.map((v) => v.message).join("\n"));
    assert.match(vs[0]!.message, /dolibarr-replicate@acme-erp\.timer on bk-txl starts at .* not the plan for bk-txl|moved by different client offsets/);
  });

  it("first preview of a client stack (minute offset unknown): the pushed-* stack policies cannot run, they do not pass", async () => {
    const mocks = setupMocks({ stack: "client-acme", preview: true, randomInteger: () => undefined });
    runClient(parsedClient(), fleetViewOf(parsedFleet()));
    await settle();
    const resources = policyResources(mocks, "client-acme");
    for (const p of ["pushed-timers", "pushed-replication-sources"]) {
      await assert.rejects(runPolicy(p, resources), (e: Error) => e.constructor.name === "UnknownValueError", p);
    }
    // the hosting pushes are known, and checked; the unknown replication pushes make the resource policy say it cannot run
    const known = resources.filter((r) => {
      try {
        return typeof (r.props as Record<string, unknown>).stdin === "string" || r.type !== STOCK_TYPES.remoteCommand;
      } catch {
        return false;
      }
    });
    assert.ok(known.length < resources.length);
    assert.deepEqual((await runPolicy("pushed-authorized-keys", known)).violations, []);
  });
});

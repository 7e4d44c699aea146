// The program with servers marked `state: lost`, under Pulumi mocks, for every set of lost servers:
//  - every command it had on a lost server is declared again with the same URN (so the engine
//    never plans its delete, whose script would SSH to the dead server), inert: no script, no
//    stdin, no key, retainOnDelete (an update or a create that runs nothing, a delete that never
//    reaches the provider);
//  - nothing with a script connects to a lost server;
//  - the active servers get exactly what they would get from a fleet without the lost servers.
// The real engine's side of it (no dial at all, plain `pulumi up`) is test/e2e/lost.test.ts.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { TYPES } from "../../infra/components/contract";
import { LOST_RESOURCE_OPTIONS } from "../../infra/components/lost";
import type { Fleet, Server } from "../../infra/model/types";
import { runClient } from "../../infra/program/client";
import { runFleet } from "../../infra/program/fleet";
import { reveal, settle, setupMocks, type MockResource } from "../support/pulumi-mocks";
import { PRIVATE_KEY, clientValues, fleetCommandStdout, fleetViewOf, parsedClient, parsedFleet } from "../support/pulumi-mocks-fixtures";

type Endpoint = { host: string; port: number };
const endpoint = (c: MockResource): Endpoint => reveal<Endpoint>(c.inputs.connection);
const on = (c: MockResource, s: Server) => endpoint(c).host === s.ssh.host && endpoint(c).port === s.ssh.port;

/** A command that runs nothing and is never deleted through the provider. */
function assertInert(c: MockResource): void {
  assert.deepEqual(Object.keys(c.inputs).sort(), ["connection"], `${c.name}: inputs ${Object.keys(c.inputs).join(", ")}`);
  // (dialErrorLimit and perDialTimeout: @pulumi/command's defaults)
  const connection = Object.keys(reveal<Record<string, unknown>>(c.inputs.connection));
  assert.ok(connection.every((k) => ["host", "port", "user", "dialErrorLimit", "perDialTimeout"].includes(k)), `${c.name}: only an endpoint in its connection (${connection.join(", ")})`);
  assert.equal(c.retainOnDelete, true, `${c.name}: retainOnDelete`);
}

const hasScript = (c: MockResource) => ["create", "update", "delete", "stdin"].some((k) => c.inputs[k] !== undefined);

let generatedKey: string | undefined;
function realPrivateKey(): string {
  if (generatedKey === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-lost-key-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "lost-test", "-f", path.join(dir, "id")]);
    generatedKey = fs.readFileSync(path.join(dir, "id"), "utf8");
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return generatedKey;
}

async function fleetRun(fleet: Fleet): Promise<MockResource[]> {
  const mocks = setupMocks({ stack: "fleet", commandStdout: (r) => fleetCommandStdout(r.name) });
  // a fleet that manages SSH access reads the deploy key's public half: a real key then
  runFleet({ fleet, sshPrivateKey: fleet.operators ? realPrivateKey() : PRIVATE_KEY });
  await settle();
  return mocks.resources;
}

const commands = (rs: MockResource[]) => rs.filter((r) => r.type === "command:remote:Command");
const byUrn = (rs: MockResource[]) => new Map(rs.map((r) => [r.urn, r]));

/** The lost servers' inert remains and the active servers' commands, checked against the runs without the lost servers. */
function checkRun(lost: readonly Server[], before: MockResource[], now: MockResource[], without: MockResource[]): void {
  const nowByUrn = byUrn(commands(now));
  // every command the stack had on a lost server is still declared, inert
  for (const c of commands(before).filter((c) => lost.some((s) => on(c, s)))) {
    const twin = nowByUrn.get(c.urn);
    assert.ok(twin, `${c.urn} (on a lost server) is no longer declared: the engine would delete it over SSH`);
    assertInert(twin);
  }
  for (const c of commands(now)) {
    if (lost.some((s) => on(c, s))) assertInert(c);
    else assert.ok(hasScript(c), `${c.name}: a command without a script on an active server`);
  }
  // the active servers: what a fleet without the lost servers declares, input for input, but for
  // the second of the minute of the binlog pulls: it counts every backup server, the lost ones too,
  // so that marking one lost leaves the others' as they were (held below against `before`)
  const active = commands(now).filter((c) => !lost.some((s) => on(c, s)));
  const anySecond = (inputs: unknown) => JSON.parse(JSON.stringify(inputs).replace(/OnCalendar=\*-\*-\* \*:\*:\d\d/g, "OnCalendar=*-*-* *:*:SS"));
  assert.deepEqual(
    active.map((c) => [c.urn, anySecond(c.inputs), c.retainOnDelete]).sort(),
    commands(without).map((c) => [c.urn, anySecond(c.inputs), c.retainOnDelete]).sort(),
  );
  const beforeByUrn = byUrn(commands(before));
  const pullSeconds = (c: MockResource | undefined) => [...JSON.stringify(c?.inputs ?? {}).matchAll(/OnCalendar=\*-\*-\* \*:\*:(\d\d)/g)].map((m) => m[1]);
  for (const c of active) assert.deepEqual(pullSeconds(c), pullSeconds(beforeByUrn.get(c.urn)), `${c.urn}: the pull second moved when a server was marked lost`);
}

const parsedFleetOnly = parsedFleet;

describe("fleet stack with lost servers", () => {
  for (const managed of [false, true]) {
  const parsedFleet = (): Fleet => (managed ? { ...parsedFleetOnly(), operators: [] } : parsedFleetOnly());
  it(`for every set of lost servers${managed ? " (SSH access managed: fleet key operators)" : ""}: the lost servers' commands stay inert with their URNs, the active servers as in a fleet without them`, async () => {
    const all = parsedFleet();
    const before = await fleetRun(all);
    await fc.assert(
      fc.asyncProperty(fc.subarray(all.servers.map((s) => s.name), { minLength: 1 }), async (names) => {
        const fleet = parsedFleet();
        for (const s of fleet.servers) if (names.includes(s.name)) s.state = "lost";
        const lost = fleet.servers.filter((s) => names.includes(s.name));
        const now = await fleetRun(fleet);
        const without = await fleetRun({ ...parsedFleet(), servers: parsedFleet().servers.filter((s) => !names.includes(s.name)) });
        checkRun(lost, before, now, without);
        // the lost servers' components stay too, with their contract properties (same URNs as their children's parents)
        for (const s of lost) {
          const c = now.find((r) => r.type === (s.role === "hosting" ? TYPES.hostingServer : TYPES.backupServer) && r.name === s.name);
          assert.ok(c, `component ${s.name}`);
          assert.equal(reveal<{ name: string }>(c.inputs).name, s.name);
        }
      }),
      { numRuns: 31 },
    );
  });
  }

  it("an inert command's options are what the engine needs to never call the provider's delete", () => {
    assert.deepEqual(LOST_RESOURCE_OPTIONS, { retainOnDelete: true });
  });
});

describe("client stack with lost servers", () => {
  const clientRun = async (fleet: Fleet, values = clientValues()): Promise<MockResource[]> => {
    const mocks = setupMocks({ stack: "client-acme", randomInteger: () => 7 });
    runClient(parsedClient(values), fleetViewOf(fleet), {}, { warn: () => undefined });
    await settle();
    return mocks.resources;
  };
  const instances = (moves: Record<string, { hostingServer?: string; backupServers?: string[] }>) =>
    clientValues({
      instances: (clientValues().instances as Array<Record<string, unknown>>).map((i) => ({ ...i, ...(moves[i.name as string] ?? {}) })),
    });
  // Each scenario: the servers lost, and the instances moved off them as the rules require.
  const scenarios: Array<{ lost: string[]; moves: Record<string, { hostingServer?: string; backupServers?: string[] }> }> = [
    { lost: ["web-rbx"], moves: { "acme-erp": { hostingServer: "web-fra" } } },
    { lost: ["web-fra"], moves: { "acme-shop": { hostingServer: "web-rbx" } } },
    { lost: ["bk-txl", "web-rbx"], moves: { "acme-erp": { hostingServer: "web-fra", backupServers: ["bk-sbg", "bk-gra"] }, "acme-shop": { backupServers: ["bk-sbg", "bk-gra"] } } },
    { lost: ["bk-sbg", "web-rbx"], moves: { "acme-erp": { hostingServer: "web-fra", backupServers: ["bk-txl", "bk-gra"] }, "acme-shop": { backupServers: ["bk-txl", "bk-gra"] } } },
  ];
  for (const { lost: names, moves } of scenarios) {
    it(`lost ${names.join(", ")}: every command an instance had there stays inert with its URN, the moved instances deploy as with a fleet without them`, async () => {
      const before = await clientRun(parsedFleet());
      const fleet = parsedFleet();
      for (const s of fleet.servers) if (names.includes(s.name)) s.state = "lost";
      const lost = fleet.servers.filter((s) => names.includes(s.name));
      assert.ok(commands(before).some((c) => lost.some((s) => on(c, s))), "the scenario has commands on the lost servers before");
      const now = await clientRun(fleet, instances(moves));
      const without = await clientRun({ ...parsedFleet(), servers: parsedFleet().servers.filter((s) => !names.includes(s.name)) }, instances(moves));
      checkRun(lost, before, now, without);
    });
  }

  it("an instance that still names a lost server fails before anything is declared", async () => {
    const fleet = parsedFleet();
    fleet.servers.find((s) => s.name === "bk-sbg")!.state = "lost";
    setupMocks({ stack: "client-acme" });
    assert.throws(() => runClient(parsedClient(), fleetViewOf(fleet), {}, { warn: () => undefined }), /servers\.lost: instance acme-erp: its backup server bk-sbg/);
  });
});

// The fleet program with a server marked `state: lost`: nothing is declared on it, no command
// connects to it, and the other servers are declared as before.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { TYPES } from "../../infra/components/contract";
import type { Fleet } from "../../infra/model/types";
import { runFleet } from "../../infra/program/fleet";
import { reveal, settle, setupMocks, type MockRecorder } from "../support/pulumi-mocks";
import { PRIVATE_KEY, fleetCommandStdout, parsedFleet } from "../support/pulumi-mocks-fixtures";

describe("fleet stack with a lost server", () => {
  let mocks: MockRecorder;
  let fleet: Fleet;
  before(async () => {
    mocks = setupMocks({ stack: "fleet", commandStdout: (r) => fleetCommandStdout(r.name) });
    fleet = parsedFleet();
    fleet.servers.find((s) => s.name === "bk-sbg")!.state = "lost";
    fleet.servers.find((s) => s.name === "web-fra")!.state = "lost";
    runFleet({ fleet, sshPrivateKey: PRIVATE_KEY });
    await settle();
  });

  it("declares no component and no command for the lost servers, every other server as usual", () => {
    assert.deepEqual(mocks.ofType(TYPES.hostingServer).map((r) => r.name), ["web-rbx"]);
    assert.deepEqual(mocks.ofType(TYPES.backupServer).map((r) => r.name), ["bk-txl", "bk-gra"]);
    const lostHosts = new Set(fleet.servers.filter((s) => s.state === "lost").map((s) => `${s.ssh.host}:${s.ssh.port}`));
    const commands = mocks.commands();
    assert.ok(commands.length > 0);
    for (const c of commands) {
      const conn = reveal<{ host: string; port: number }>(c.inputs.connection);
      assert.ok(!lostHosts.has(`${conn.host}:${conn.port}`), `${c.name} connects to a lost server (${conn.host}:${conn.port})`);
      assert.doesNotMatch(c.name, /(^|\/)(bk-sbg|web-fra)(\/|$)/, c.name);
    }
  });
});

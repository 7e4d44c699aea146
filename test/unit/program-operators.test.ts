// The fleet stack with operators, under Pulumi mocks: one `<server>/operators` push per active
// server carrying the keys file with the deploy key (read from the fleet's private key) and the
// declared operators, accepted by pushed.operator-keys; the components' ServerProps declare them.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { TYPES } from "../../infra/components/contract";
import { serverPropsOf } from "../../infra/components/servers";
import { fingerprintOfBlob } from "../../infra/model/ssh-keys";
import type { Fleet } from "../../infra/model/types";
import { runFleet } from "../../infra/program/fleet";
import { ACCESS_PATHS } from "../../infra/render/operators";
import { unframePush } from "../../infra/render/push";
import { checkPushedOperatorKeys } from "../../infra/rules/pushed";
import { reveal, settle, setupMocks, type MockRecorder } from "../support/pulumi-mocks";
import { fleetCommandStdout, parsedFleet } from "../support/pulumi-mocks-fixtures";

describe("fleet stack with operators", () => {
  let mocks: MockRecorder;
  let fleet: Fleet;
  let deployPub: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-program-operators-"));

  before(async () => {
    const keyFile = path.join(dir, "id");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", keyFile]);
    const opFile = path.join(dir, "alice");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "alice@laptop", "-f", opFile]);
    deployPub = fs.readFileSync(`${keyFile}.pub`, "utf8").trim();
    const alice = fs.readFileSync(`${opFile}.pub`, "utf8").trim().split(" ");
    const base = parsedFleet();
    fleet = { ...base, operators: [{ name: "alice", publicKey: `${alice[0]} ${alice[1]}`, fingerprint: fingerprintOfBlob(alice[1]!), roles: ["backup"] }] };
    mocks = setupMocks({ stack: "fleet", commandStdout: (r) => fleetCommandStdout(r.name) });
    runFleet({ fleet, sshPrivateKey: fs.readFileSync(keyFile, "utf8") });
    await settle();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("pushes each active server's keys file with the deploy key and its operators, which the rule accepts", () => {
    const active = fleet.servers.filter((s) => s.state !== "lost");
    const pushes = active.map((s) => {
      const apply = mocks.named(`${s.name}/operators/apply`);
      return { id: s.name, name: `${s.name}/operators/apply`, files: unframePush(reveal<string>(apply.inputs.stdin)) };
    });
    for (const p of pushes) {
      const s = active.find((x) => p.name.startsWith(`${x.name}/`))!;
      const keys = p.files.find((f) => f.path === `${ACCESS_PATHS.keysDir}/${s.ssh.user}`)!;
      const lines = keys.content.split("\n").filter((l) => l && !l.startsWith("#"));
      assert.equal(lines[0], `${deployPub.split(" ").slice(0, 2).join(" ")} dolibarr-backup deploy fleet`);
      assert.equal(lines.length, s.role === "backup" ? 2 : 1, keys.content);
    }
    const declared = new Map(
      [...mocks.ofType(TYPES.hostingServer), ...mocks.ofType(TYPES.backupServer)].map((r) => {
        const props = reveal<{ name: string; operators: { name: string; fingerprint: string }[] }>(r.inputs);
        return [props.name, props.operators] as const;
      }),
    );
    assert.deepEqual(declared.get("bk-sbg"), [{ name: "alice", fingerprint: fleet.operators![0]!.fingerprint }]);
    assert.deepEqual(declared.get("web-rbx"), []);
    assert.deepEqual(checkPushedOperatorKeys(declared, pushes), []);
  });
  it("a lost server declares no operators and gets no push (the rule then expects none)", () => {
    const s = { ...fleet.servers[0]!, state: "lost" as const };
    assert.equal(serverPropsOf(fleet, s).operators, undefined);
    assert.deepEqual(serverPropsOf(fleet, fleet.servers[0]!).operators, []);
    assert.equal(serverPropsOf({ ...fleet, operators: undefined }, fleet.servers[0]!).operators, undefined);
  });
});

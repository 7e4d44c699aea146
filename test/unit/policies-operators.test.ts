// The program's fleet stack with operators under the whole pack (components' registered outputs,
// remote.Commands' inputs, as the policy SDK sees them): no violation; a key added to one server's
// pushed keys file is caught by pushed-operator-keys on that command.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import type { PolicyResource } from "@pulumi/policy";
import { fingerprintOfBlob } from "../../infra/model/ssh-keys";
import { runFleet } from "../../infra/program/fleet";
import { framePush, unframePush } from "../../infra/render/push";
import { buildPolicies } from "../../policies/policies";
import { settle, setupMocks } from "../support/pulumi-mocks";
import { fleetCommandStdout, parsedFleet } from "../support/pulumi-mocks-fixtures";
import { policyResources, resource, runAnyPolicy, runPolicy } from "../support/policy-resources";

async function violationsByPolicy(resources: PolicyResource[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const p of buildPolicies()) {
    const run = await runAnyPolicy(p, resources);
    if (run.violations.length > 0) out[p.name] = run.violations.map((v) => v.message);
  }
  return out;
}

describe("pushed-operator-keys on the program's own fleet stack", () => {
  it("passes every policy, and catches a key added to a pushed keys file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-pack-operators-"));
    const keyFile = path.join(dir, "id");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", keyFile]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", `${keyFile}-alice`]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "mallory", "-f", `${keyFile}-mallory`]);
    const [t, b] = fs.readFileSync(`${keyFile}-alice.pub`, "utf8").trim().split(" ");
    const mallory = fs.readFileSync(`${keyFile}-mallory.pub`, "utf8").trim();
    const fleet = { ...parsedFleet(), operators: [{ name: "alice", publicKey: `${t} ${b}`, fingerprint: fingerprintOfBlob(b!) }] };
    const mocks = setupMocks({ stack: "fleet", commandStdout: (r) => fleetCommandStdout(r.name) });
    runFleet({ fleet, sshPrivateKey: fs.readFileSync(keyFile, "utf8") });
    await settle();
    fs.rmSync(dir, { recursive: true, force: true });
    const resources = policyResources(mocks, "fleet");
    assert.ok(resources.some((r) => r.name === "web-rbx/operators/apply"));
    assert.deepEqual(await violationsByPolicy(resources), {});
    const tampered = resources.map((r) => {
      if (r.name !== "web-rbx/operators/apply") return r;
      const props = JSON.parse(JSON.stringify((r.props as Record<string, unknown>)["__getSpecialProxyTarget"])) as Record<string, string>;
      const files = unframePush(props.stdin!).map((f) => (f.path.includes("/authorized_keys/") ? { ...f, content: `${f.content}${mallory}\n` } : f));
      return resource(r.type, r.name, { ...props, stdin: framePush(files) }, "fleet");
    });
    const vs = (await runPolicy("pushed-operator-keys", tampered)).violations;
    assert.equal(vs.length, 1, vs.map((v) => v.message).join("\n"));
    assert.match(vs[0]!.message, /web-rbx\/operators\/apply: .*neither the deploy key nor a declared operator's/);
  });
});

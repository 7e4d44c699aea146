// main() as the engine runs it: config from the engine's config map (namespaced keys, JSON values,
// the list of secret keys), dispatch on stackKind, and the entry module's export.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { TYPES } from "../../infra/components/contract";
import { readStackConfig } from "../../infra/program/config";
import { fleetReferenceName, main } from "../../infra/program/main";
import { peek, settle, setupMocks } from "../support/pulumi-mocks";
import { clientValues, fleetCommandStdout, fleetValues } from "../support/pulumi-mocks-fixtures";

/** The engine's config map: every key namespaced, objects and lists as JSON text. */
function engineConfig(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [`dolibarr-backup:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

describe("main() with the engine's config", () => {
  it("reads a fleet stack's config and deploys the fleet", async () => {
    const mocks = setupMocks({ stack: "fleet", commandStdout: (r) => fleetCommandStdout(r.name) });
    pulumi.runtime.setAllConfig(engineConfig(fleetValues()), ["dolibarr-backup:sshPrivateKey"]);
    const raw = readStackConfig();
    assert.equal(raw.kind, "fleet");
    assert.deepEqual(raw.source, { stack: "fleet", file: "stacks/Pulumi.fleet.yaml", origin: "engine" });
    assert.deepEqual([...(raw.secretKeys ?? [])], ["sshPrivateKey"]);
    assert.deepEqual(raw.values.servers, fleetValues().servers);
    const outputs = await main();
    await settle();
    assert.equal(outputs.stackKind, "fleet");
    assert.equal(mocks.ofType(TYPES.backupServer).length, 3);
    assert.equal((await peek(outputs.sshPrivateKey as string)).secret, true);
  });

  it("refuses OVH credentials the engine says are in clear text", async () => {
    setupMocks({ stack: "fleet" });
    const values = { ...fleetValues(), ovh: { endpoint: "ovh-eu", applicationKey: "AppKey0123456789", applicationSecret: "as", consumerKey: "ck" } };
    pulumi.runtime.setAllConfig(engineConfig(values), ["dolibarr-backup:sshPrivateKey"]);
    await assert.rejects(main(), /dolibarr-backup:ovh must be set as secret/);
  });

  it("reports config errors with the stack file and key, as a clean failure", async () => {
    const mocks = setupMocks({ stack: "fleet" });
    const values = fleetValues();
    (values.servers as Array<{ site: string }>)[0]!.site = "nowhere";
    pulumi.runtime.setAllConfig(engineConfig(values), ["dolibarr-backup:sshPrivateKey"]);
    await assert.rejects(main(), (err: Error) => {
      assert.ok(pulumi.RunError.isInstance(err));
      assert.match(err.message, /stacks\/Pulumi\.fleet\.yaml: dolibarr-backup:servers\[0\]\.site: unknown ovh site "nowhere"/);
      return true;
    });
    await settle();
    assert.deepEqual(mocks.resources, []);
  });

  it("needs a stack kind", async () => {
    setupMocks({ stack: "mystery" });
    const { stackKind: _k, ...values } = clientValues();
    pulumi.runtime.setAllConfig(engineConfig(values), []);
    await assert.rejects(main(), /stack mystery: dolibarr-backup:stackKind is not set; expected "fleet" or "client" \(stacks\/Pulumi\.mystery\.yaml\)/);
  });

  it("dispatches a client stack to its fleet's stack reference", async () => {
    setupMocks({ stack: "client-acme", stackOutputs: { "organization/dolibarr-backup/fleet": { outputs: {} } } });
    pulumi.runtime.setAllConfig(engineConfig(clientValues()), []);
    await assert.rejects(main(), /cannot read fleet stack organization\/dolibarr-backup\/fleet: fleet stack fleet has no outputs/);
    await settle();
  });

  it("names the fleet's stack reference after the current organization, or DOLIBARR_BACKUP_FLEET_ORG", () => {
    setupMocks({ stack: "client-acme" });
    assert.equal(fleetReferenceName("fleet", {}), "organization/dolibarr-backup/fleet");
    assert.equal(fleetReferenceName("lab-fleet", { DOLIBARR_BACKUP_FLEET_ORG: "acme-ops" }), "acme-ops/dolibarr-backup/lab-fleet");
  });

  it("exports the program as the entry module's function, as the engine expects", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const entry = require("../../infra/index") as unknown;
    assert.equal(typeof entry, "function");
  });
});

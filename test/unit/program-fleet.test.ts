// The fleet stack under Pulumi mocks: resources per server, files pushed exactly as rendered,
// triggers, secrets, outputs for the client stacks, and the provider fact checks.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { before, describe, it } from "node:test";
import { TYPES } from "../../infra/components/contract";
import { sshFingerprint } from "../../infra/components/servers";
import type { Fleet, Server } from "../../infra/model/types";
import { runFleet } from "../../infra/program/fleet";
import { fleetMain } from "../../infra/program/main";
import type { OvhApi } from "../../infra/providers/ovh";
import { STOCK_TYPES } from "../../infra/components/contract";
import { pushApplyScript, pushDeleteScript, unframePush } from "../../infra/render/push";
import { backupKeyCommand, knownHostsPath, renderHostingAccess, renderServerBase } from "../../infra/render";
import { isSecretValue, peek, plainOccurrences, reveal, rootScript, settle, setupMocks, type MockRecorder, type MockResource } from "../support/pulumi-mocks";
import {
  FLEET_SOURCE,
  KEYS,
  PRIVATE_KEY,
  RBX_HOST_FINGERPRINT,
  fleetCommandStdout,
  fleetValues,
  parsedFleet,
} from "../support/pulumi-mocks-fixtures";

const SOURCE = FLEET_SOURCE;

function input<T = string>(r: MockResource, key: string): T {
  return reveal<T>(r.inputs[key]);
}

describe("fleet stack", () => {
  let mocks: MockRecorder;
  let fleet: Fleet;
  let outputs: Record<string, unknown>;
  const server = (name: string): Server => fleet.servers.find((s) => s.name === name)!;

  before(async () => {
    mocks = setupMocks({ stack: "fleet", commandStdout: (r) => fleetCommandStdout(r.name) });
    fleet = parsedFleet();
    outputs = runFleet({ fleet, sshPrivateKey: PRIVATE_KEY }).outputs;
    await settle();
  });

  it("declares one component per server, of the contract's type, with ServerProps", () => {
    const hosting = mocks.ofType(TYPES.hostingServer);
    const backup = mocks.ofType(TYPES.backupServer);
    assert.deepEqual(hosting.map((r) => r.name), ["web-rbx", "web-fra"]);
    assert.deepEqual(backup.map((r) => r.name), ["bk-sbg", "bk-txl", "bk-gra"]);
    const fra = mocks.named("web-fra");
    assert.equal(fra.custom, false);
    assert.deepEqual(reveal(fra.inputs), {
      name: "web-fra",
      role: "hosting",
      provider: "ionos",
      site: server("web-fra").site,
      address: "198.51.100.10:2222",
      fleetStack: "fleet",
      binlog: server("web-fra").binlog,
    });
    assert.equal(input(mocks.named("web-rbx"), "address"), "203.0.113.10");
  });

  it("pushes each base bundle in ONE command: every file exactly as renderServerBase renders it, framed on stdin, updated in place", () => {
    for (const s of fleet.servers) {
      const rendered = renderServerBase(fleet, s).files;
      assert.deepEqual(mocks.commands().filter((c) => c.name.startsWith(`${s.name}/base/`)).map((c) => c.name), [`${s.name}/base/apply`]);
      const pushed = unframePush(input(mocks.named(`${s.name}/base/apply`), "stdin"));
      assert.deepEqual(pushed.map((f) => f.path), rendered.map((f) => f.path), s.name);
      for (const file of rendered) {
        const got = pushed.find((f) => f.path === file.path)!;
        assert.equal(got.mode, file.mode, `${s.name} ${file.path}`);
        assert.equal(got.owner, file.owner ?? "root");
        if (file.path !== knownHostsPath) assert.equal(got.content, file.content, `${s.name} ${file.path}`);
      }
    }
  });

  it("pins every hosting server's declared host key in the backup servers' known_hosts; no command reads a host key", () => {
    const expected = renderServerBase(fleet, server("bk-sbg")).files.find((f) => f.path === knownHostsPath)!.content;
    const pushed = unframePush(input(mocks.named("bk-sbg/base/apply"), "stdin"));
    assert.equal(pushed.find((f) => f.path === knownHostsPath)!.content, expected);
    assert.match(expected, /^203\.0\.113\.10 ssh-ed25519 /m);
    assert.match(expected, /^\[198\.51\.100\.10\]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKPfY1HLzF6ttW3PBTGZAK4ziLpQUGa7pUifmE7Sf00L$/m);
    // no trust on first use: no command reads a server's host key, none connects without one
    assert.deepEqual(mocks.commands().filter((c) => c.name.endsWith("/host-key") || /ssh_host_/.test(input(c, "create"))).map((c) => c.name), []);
  });

  it("runs each bundle's create after its files, again when the bundle changes (an update, in place), and its delete on destroy", () => {
    const apply = mocks.named("web-rbx/base/apply");
    const bundle = renderServerBase(fleet, server("web-rbx"));
    assert.equal(rootScript(input(apply, "create")), `set -eu\n${pushApplyScript(bundle, { name: "web-rbx/base" })}\n`);
    assert.equal(apply.inputs.update, undefined, "no update command: a change runs create again, in place (only triggers replace), and the state keeps one copy of the script");
    assert.equal(apply.inputs.triggers, undefined);
    assert.equal(rootScript(input(apply, "delete")), `set -eu\n${pushDeleteScript(bundle, { name: "web-rbx/base" })}\n`);
    assert.match(input(apply, "delete"), /systemctl daemon-reload/);
  });

  it("never uses triggers (a replacement would run the old delete after the new create)", () => {
    assert.deepEqual(mocks.commands().filter((c) => c.inputs.triggers !== undefined).map((c) => c.name), []);
  });

  it("runs commands as root: directly for root, through sudo -n for another user", () => {
    for (const c of mocks.commands()) {
      const conn = reveal<{ user: string; port: number }>(c.inputs.connection);
      const create = input(c, "create");
      if (conn.user === "root") assert.match(create, /^sh -c '/, c.name);
      else assert.match(create, /^sudo -n sh -c '/, c.name);
    }
    const fra = mocks.commands().filter((c) => c.name.startsWith("web-fra/"));
    assert.ok(fra.length > 0);
    for (const c of fra) assert.deepEqual(reveal<{ port: number; user: string }>(c.inputs.connection).port, 2222);
  });

  it("connects with the fleet's key as a secret and pins the declared host keys", () => {
    for (const c of mocks.commands()) {
      assert.ok(isSecretValue(c.inputs.connection), `${c.name}: connection not secret`);
      const conn = reveal<{ host: string; privateKey: string; hostKey?: string }>(c.inputs.connection);
      assert.equal(conn.privateKey, PRIVATE_KEY);
      const s = fleet.servers.find((x) => x.ssh.host === conn.host)!;
      assert.ok(s.ssh.hostKey, s.name);
      assert.equal(conn.hostKey, s.ssh.hostKey, c.name);
    }
    const clear = mocks.resources.flatMap((r) => plainOccurrences(r.inputs, "TEST-PRIVATE-KEY").map((p) => `${r.name}: ${p}`));
    assert.deepEqual(clear, []);
    // and in the state: the commands keep their connection (for the delete) as a secret output
    for (const c of mocks.commands()) {
      assert.equal(c.type, STOCK_TYPES.remoteCommand);
      assert.ok(c.additionalSecretOutputs.includes("connection"), c.name);
      assert.equal(reveal(c.inputs.addPreviousOutputInEnv), false, `${c.name}: sshd refuses PULUMI_COMMAND_* without AcceptEnv`);
    }
  });

  it("generates each backup server's key on the server and never deletes it", () => {
    for (const name of ["bk-sbg", "bk-txl", "bk-gra"]) {
      const key = mocks.named(`${name}/ssh-key`);
      assert.ok(input(key, "create").includes("ssh-keygen -q -t ed25519"));
      assert.ok(input(key, "create").includes(backupKeyCommand(server(name)).split("\n")[1]!.split(" ")[0]!));
      assert.equal(key.inputs.delete, undefined);
      assert.equal(key.inputs.stdin, undefined, "nothing travels to the server");
    }
  });

  it("gives each backup server a restricted user on each hosting server, with the key it generated", () => {
    const pairs = mocks.commands().filter((c) => c.name.includes("/access/"));
    assert.deepEqual(pairs.map((p) => p.name.replace(/\/apply$/, "")).sort(), [
      "web-fra/access/bk-gra",
      "web-fra/access/bk-sbg",
      "web-fra/access/bk-txl",
      "web-rbx/access/bk-gra",
      "web-rbx/access/bk-sbg",
      "web-rbx/access/bk-txl",
    ]);
    const access = renderHostingAccess(fleet, server("web-rbx"), server("bk-txl"), KEYS.backupTxl);
    const apply = mocks.named("web-rbx/access/bk-txl/apply");
    const pushed = unframePush(input(apply, "stdin"));
    assert.equal(pushed[0]!.content, access.files[0]!.content);
    assert.match(pushed[0]!.content, /restrict,from="198\.51\.100\.20",command="\/usr\/bin\/rrsync -ro \/var\/lib\/dolibarr-backup\/export\/bk-txl" ssh-ed25519 /);
    assert.ok(input(apply, "create").includes("useradd --system"));
    assert.ok(input(apply, "delete").includes("userdel dbk-bk-txl"));
  });

  it("exports what client stacks need, the private key as a secret", async () => {
    assert.equal(outputs.stackKind, "fleet");
    assert.equal(outputs.outputsVersion, 1);
    assert.deepEqual(outputs.fleet, JSON.parse(JSON.stringify(fleet)));
    const hostKeys = (await peek(outputs.hostKeys as Record<string, unknown>)).value as Record<string, string>;
    assert.equal(hostKeys["web-rbx"], KEYS.rbxHost);
    assert.equal(hostKeys["web-fra"], `${KEYS.fraHost} root@web-fra`);
    const pub = (await peek(outputs.backupPublicKeys as Record<string, unknown>)).value as Record<string, string>;
    assert.deepEqual(pub, { "bk-sbg": KEYS.backupSbg, "bk-txl": KEYS.backupTxl, "bk-gra": KEYS.backupGra });
    const access = outputs.access as Record<string, Array<{ backupServer: string; user: string; keyOptions: string[] }>>;
    assert.deepEqual(access["web-rbx"]!.map((a) => a.user), ["dbk-bk-sbg", "dbk-bk-txl", "dbk-bk-gra"]);
    assert.deepEqual(access["web-rbx"]![0]!.keyOptions, [
      "restrict",
      'from="203.0.113.20"',
      'command="/usr/bin/rrsync -ro /var/lib/dolibarr-backup/export/bk-sbg"',
    ]);
    const key = await peek(outputs.sshPrivateKey as string);
    assert.equal(key.secret, true);
    assert.equal(key.value, PRIVATE_KEY);
  });

  it("outputs each server's facts: the contract's props, city, coordinates, host key fingerprint", async () => {
    const servers = (await peek(outputs.servers as Record<string, unknown>)).value as Record<string, Record<string, unknown>>;
    const rbx = servers["web-rbx"]!;
    assert.equal(rbx.provider, "ovh");
    assert.deepEqual(rbx.site, server("web-rbx").site);
    assert.equal(rbx.city, "Roubaix");
    assert.deepEqual(rbx.coordinates, { latitude: server("web-rbx").site.latitude, longitude: server("web-rbx").site.longitude });
    assert.equal(rbx.address, "203.0.113.10");
    assert.equal(rbx.hostKeyFingerprint, RBX_HOST_FINGERPRINT);
    assert.equal(rbx.hostKey, KEYS.rbxHost);
    assert.equal("hostKeyPinned" in rbx, false, "every key is pinned: no such flag");
    assert.equal(servers["web-fra"]!.hostKeyFingerprint, sshFingerprint(KEYS.fraHost), "the fingerprint ignores the comment");
    assert.equal(servers["bk-sbg"]!.publicKey, KEYS.backupSbg);
  });
});

describe("fleet stack: provider facts", () => {
  const raw = (values: Record<string, unknown>) => ({
    kind: "fleet" as const,
    values,
    source: SOURCE,
  });

  it("fails before declaring anything when OVH reports another datacenter", async () => {
    const mocks = setupMocks({ stack: "fleet", commandStdout: (r) => fleetCommandStdout(r.name) });
    const values = { ...fleetValues(), ovh: { endpoint: "ovh-eu", applicationKey: "AppKey0123456789", applicationSecret: "as", consumerKey: "ck" } };
    const asked: string[] = [];
    const fake: OvhApi = {
      async get(path) {
        asked.push(path);
        return { datacenter: "gra3" };
      },
    };
    await assert.rejects(fleetMain(raw(values), { factClients: { ovh: () => fake } }), (err: Error) => {
      assert.ok(pulumi.RunError.isInstance(err), "a RunError: a clean failure of the preview, no stack trace");
      assert.match(err.message, /server web-rbx: declared at ovh:rbx \(Roubaix\) but OVH reports dedicated server ns1\.ip-203-0-113\.eu in datacenter "gra3"/);
      return true;
    });
    assert.deepEqual(asked, ["/dedicated/server/ns1.ip-203-0-113.eu"]);
    await settle();
    assert.deepEqual(mocks.resources, []);
  });

  it("uses the declared facts without credentials, and shows the checks in the outputs", async () => {
    const mocks = setupMocks({ stack: "fleet", commandStdout: (r) => fleetCommandStdout(r.name) });
    const outputs = await fleetMain(raw(fleetValues()));
    await settle();
    assert.ok(mocks.ofType(TYPES.hostingServer).length === 2);
    const checks = outputs.factChecks as Array<{ server: string; status: string; reason?: string }>;
    assert.deepEqual(
      checks.map((c) => [c.server, c.status, c.reason]),
      [
        ["web-rbx", "unchecked", "no-credentials"],
        ["web-fra", "unchecked", "no-reference"],
        ["bk-sbg", "unchecked", "no-reference"],
        ["bk-txl", "unchecked", "no-reference"],
        ["bk-gra", "unchecked", "no-reference"],
      ],
    );
  });

  it("verifies with the injected client and records it in the server's outputs", async () => {
    setupMocks({ stack: "fleet", commandStdout: (r) => fleetCommandStdout(r.name) });
    const values = { ...fleetValues(), ovh: { endpoint: "ovh-eu", applicationKey: "AppKey0123456789", applicationSecret: "as", consumerKey: "ck" } };
    const outputs = await fleetMain(raw(values), { factClients: { ovh: () => ({ get: async () => ({ datacenter: "rbx8" }) }) } });
    const servers = (await peek(outputs.servers as Record<string, unknown>)).value as Record<string, { factCheck: { status: string } }>;
    assert.equal(servers["web-rbx"]!.factCheck.status, "verified");
    assert.equal(servers["web-fra"]!.factCheck.status, "unchecked");
    await settle();
  });

  it("refuses a fleet without its SSH private key", async () => {
    setupMocks({ stack: "fleet" });
    const { sshPrivateKey: _k, ...values } = fleetValues();
    await assert.rejects(fleetMain(raw(values)), /sshPrivateKey is not set/);
  });

  it("refuses a private key set in clear text when the engine says so", async () => {
    setupMocks({ stack: "fleet" });
    await assert.rejects(
      fleetMain({ ...raw(fleetValues()), secretKeys: new Set<string>() }),
      /dolibarr-backup:sshPrivateKey must be set as secret/,
    );
  });
});

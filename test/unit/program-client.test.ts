// A client stack under Pulumi mocks: rules checked before anything is declared, the Instance
// components and their props, the files pushed (compared with the renderers' output), the dump
// account's secrets, the minute offset, the outputs, and what changes when the config changes.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { STOCK_TYPES, TYPES } from "../../infra/components/contract";
import { DUMP_PRIVILEGES, dropDumpAccountScript, dumpAccountName, dumpAccountPassword, dumpAccountScript } from "../../infra/components/instance";
import fc from "fast-check";
import { buildTopology } from "../../infra/model/topology";
import { computeRpo, planInstance } from "../../infra/model/schedule";
import { binlogSettingsOf } from "../../infra/model/binlog";
import type { ClientStack, Fleet, Instance, Topology } from "../../infra/model/types";
import { runClient } from "../../infra/program/client";
import type { FleetView } from "../../infra/program/fleet-outputs";
import { main } from "../../infra/program/main";
import { optionFileContent } from "../../infra/components/instance";
import { mysqlOptionFilePath, renderBackupInstance, renderHostingInstance } from "../../infra/render";
import { pushApplyCall, unframePush } from "../../infra/render/push";
import {
  isSecretValue,
  isUnknown,
  peek,
  plainOccurrences,
  registeredOutputs,
  reveal,
  rootScript,
  settle,
  setupMocks,
  type MockOptions,
  type MockRecorder,
  type MockResource,
} from "../support/pulumi-mocks";
import {
  CLIENT_SOURCE,
  KEYS,
  PRIVATE_KEY,
  clientValues,
  fleetViewOf,
  parsedClient,
  parsedFleet,
} from "../support/pulumi-mocks-fixtures";

const PASSWORD = "Pw0rdAlnum32charsXXXXXXXXXXXXXXX";
const OFFSET = 7;
const mockOptions = (extra: Partial<MockOptions> = {}): MockOptions => ({
  stack: "client-acme",
  randomInteger: () => OFFSET,
  randomPassword: (r) => `${PASSWORD}${r.name.startsWith("acme-shop") ? "2" : "1"}`,
  ...extra,
});

function input<T = string>(r: MockResource, key: string): T {
  return reveal<T>(r.inputs[key]);
}

/** The content of a file as a bundle's one command pushes it (its framed stdin). */
function pushed(mocks: MockRecorder, bundle: string, path: string): string {
  const files = unframePush(input(mocks.named(`${bundle}/apply`), "stdin")).filter((f) => f.path === path);
  assert.equal(files.length, 1, `${bundle}: one push of ${path}`);
  return files[0]!.content;
}

function instance(client: ClientStack, name: string): Instance {
  return client.instances.find((i) => i.name === name)!;
}

describe("client stack", () => {
  let mocks: MockRecorder;
  let fleet: Fleet;
  let client: ClientStack;
  let view: FleetView;
  let topology: Topology;
  let outputs: Record<string, unknown>;

  before(async () => {
    mocks = setupMocks(mockOptions());
    fleet = parsedFleet();
    client = parsedClient();
    view = fleetViewOf(fleet);
    topology = buildTopology(fleet, [client]);
    outputs = runClient(client, view).outputs;
    await settle();
  });

  it("draws one stable minute offset per client stack (0..14, no keepers)", () => {
    const offsets = mocks.ofType(STOCK_TYPES.randomInteger);
    assert.equal(offsets.length, 1);
    assert.equal(offsets[0]!.name, "acme/minute-offset");
    assert.deepEqual(reveal<Record<string, unknown>>(offsets[0]!.inputs), { min: 0, max: 14 });
  });

  it("declares one Instance component per instance with the contract's InstanceProps, inputs and outputs", () => {
    const components = mocks.ofType(TYPES.instance);
    assert.deepEqual(components.map((c) => c.name), ["acme-erp", "acme-shop"]);
    const erp = instance(client, "acme-erp");
    const expected = {
      fleetStack: "fleet",
      client: "acme",
      instance: JSON.parse(JSON.stringify(erp)),
      // the hosting server's binlogs: rpo.max and binlog.off read them in the pack
      hostingServer: { name: "web-rbx", role: "hosting", provider: "ovh", site: fleet.servers[0]!.site, address: "203.0.113.10", binlog: fleet.servers[0]!.binlog },
      backupServers: ["bk-sbg", "bk-txl"].map((n) => {
        const s = fleet.servers.find((x) => x.name === n)!;
        return { name: n, role: "backup", provider: s.provider, site: s.site, address: s.ssh.host };
      }),
      policy: fleet.policy,
      mirrorRoot: fleet.mirrorRoot,
      // every other Fleet field the rules may read (time zone, dump queue width, snapshots, …)
      fleet: { timeZone: fleet.timeZone, maxConcurrentDumps: fleet.maxConcurrentDumps, dumpVerification: fleet.dumpVerification, snapshots: fleet.snapshots, pathRoots: fleet.pathRoots, binlog: fleet.binlog, drills: fleet.drills, encryptionAtRest: fleet.encryptionAtRest, rsync: fleet.rsync },
      otherDumps: {},
      replications: planInstance(fleet, erp, { minuteOffset: OFFSET }),
      access: view.access["web-rbx"]!.filter((a) => a.backupServer !== "bk-gra"),
    };
    // the contract is in the outputs only (what the pack reads): not a second time as inputs in the state
    assert.deepEqual(reveal(components[0]!.inputs), {});
    assert.deepEqual(registeredOutputs("acme-erp"), expected, "the policy pack reads the outputs");
    const shop = registeredOutputs("acme-shop") as { hostingServer: { address: string } };
    assert.equal(shop.hostingServer.address, "198.51.100.10:2222");
  });

  it("costs each instance its component, its password and one command per server and bundle: no component per bundle", () => {
    // every resource is a step of `pulumi up` and a full write of the state: the fewer, the cheaper
    const names = mocks.resources.filter((r) => r.name === "acme-erp" || r.name.startsWith("acme-erp/")).map((r) => `${r.type} ${r.name}`);
    assert.deepEqual(names.sort(), [
      `${STOCK_TYPES.remoteCommand} acme-erp/bk-sbg/apply`,
      `${STOCK_TYPES.remoteCommand} acme-erp/bk-txl/apply`,
      `${STOCK_TYPES.remoteCommand} acme-erp/web-rbx/apply`,
      `${STOCK_TYPES.remoteCommand} acme-erp/web-rbx/db-account`,
      `${TYPES.instance} acme-erp`,
    ].sort());
    // one secret per client, the dump passwords derive from it
    assert.deepEqual(mocks.ofType(STOCK_TYPES.randomPassword).map((r) => r.name), ["acme/db-secret"]);
  });

  it("pushes the hosting server's files exactly as renderHostingInstance renders them, then applies them", () => {
    const erp = instance(client, "acme-erp");
    const bundle = renderHostingInstance(topology, erp);
    const apply = mocks.named("acme-erp/web-rbx/apply");
    assert.deepEqual(unframePush(input(apply, "stdin")).map((f) => f.path), bundle.files.map((f) => f.path));
    for (const f of bundle.files) assert.equal(pushed(mocks, "acme-erp/web-rbx", f.path), f.content);
    assert.equal(apply.inputs.triggers, undefined);
    assert.ok(input(apply, "create").includes("systemctl enable --no-reload dolibarr-export@acme-erp.service dolibarr-dump@acme-erp.timer"));
    assert.ok(input(apply, "delete").includes("/usr/local/sbin/dolibarr-export remove acme-erp"));
    // runs again (in place) when a rendered file changes: the files are the command's stdin
    assert.equal(rootScript(input(apply, "create")), `set -eu\n${pushApplyCall(bundle, { name: "acme-erp/web-rbx" })}\n`);
    assert.equal(apply.inputs.update, undefined, "no update command: a change runs create again, in place (only triggers replace), and the state keeps one copy of the script");
    assert.ok(!isSecretValue(apply.inputs.create), "the apply command stays readable in the preview");
    assert.deepEqual(mocks.commands().filter((c) => c.inputs.triggers !== undefined).map((c) => c.name), []);
  });

  it("replicates on each backup server at the planned times shifted by the client's offset", () => {
    for (const inst of client.instances) {
      const plans = planInstance(fleet, inst, { minuteOffset: OFFSET });
      assert.deepEqual(plans.map((p) => p.backupServer), inst.backupServers);
      for (const plan of plans) {
        const bundle = renderBackupInstance(topology, inst, plan);
        for (const f of bundle.files) assert.equal(pushed(mocks, `${inst.name}/${plan.backupServer}`, f.path), f.content);
        const apply = mocks.named(`${inst.name}/${plan.backupServer}/apply`);
        const conn = reveal<{ host: string }>(apply.inputs.connection);
        assert.equal(conn.host, fleet.servers.find((s) => s.name === plan.backupServer)!.ssh.host);
        assert.ok(input(apply, "create").includes(`systemctl restart dolibarr-replicate@${inst.name}.timer`));
        assert.ok(input(apply, "delete").includes(`systemctl disable --now dolibarr-replicate@${inst.name}.timer`));
      }
    }
    const dropIn = pushed(mocks, "acme-erp/bk-sbg", "/etc/systemd/system/dolibarr-replicate@acme-erp.timer.d/schedule.conf");
    const times = planInstance(fleet, instance(client, "acme-erp"), { minuteOffset: OFFSET })[0]!.times;
    for (const t of times) {
      const hh = String(Math.floor(t / 60)).padStart(2, "0");
      const mm = String(t % 60).padStart(2, "0");
      assert.ok(dropIn.includes(`:${mm}:00`) && dropIn.includes(hh), `time ${hh}:${mm}`);
    }
  });

  it("creates a least-privilege MariaDB account whose password travels only as a secret on stdin", () => {
    const pw = dumpAccountPassword(`${PASSWORD}1`, "acme-erp");
    const account = mocks.named("acme-erp/web-rbx/db-account");
    assert.ok(isSecretValue(account.inputs.stdin));
    assert.equal(input(account, "stdin"), `${pw}\n`, "the password alone: the script builds the statements and the option file");
    assert.deepEqual([...DUMP_PRIVILEGES], ["SELECT", "SHOW VIEW", "TRIGGER", "LOCK TABLES", "EVENT"]);
    assert.ok(!input(account, "create").includes(pw));
    assert.equal(rootScript(input(account, "create")), `set -eu\n${dumpAccountScript(instance(client, "acme-erp"))}\n`);
    assert.equal(rootScript(input(account, "delete")), `set -eu\n${dropDumpAccountScript(instance(client, "acme-erp"))}\n`);
    assert.equal(input(account, "logging"), "none");
    assert.match(optionFileContent(instance(client, "acme-erp"), pw), /^\[client\]\nuser=dbk_acme-erp\npassword=/m);
    // the option file is written by the account command only: no bundle pushes it
    for (const c of mocks.commands().filter((c) => c.name.endsWith("/apply"))) {
      assert.ok(!unframePush(input(c, "stdin")).some((f) => f.path === mysqlOptionFilePath("acme-erp")), c.name);
      assert.ok(!isSecretValue(c.inputs.stdin), `${c.name}: a bundle holds no secret, its diff stays readable`);
    }

    assert.equal(input(mocks.named("acme-shop/web-fra/db-account"), "stdin"), `${dumpAccountPassword(`${PASSWORD}1`, "acme-shop")}\n`);
    for (const r of mocks.resources) {
      assert.deepEqual(plainOccurrences(r.inputs, PASSWORD), [], `${r.name}: the client's secret in clear`);
      for (const i of ["acme-erp", "acme-shop"]) assert.deepEqual(plainOccurrences(r.inputs, dumpAccountPassword(`${PASSWORD}1`, i)), [], `${r.name}: password of ${i} in clear`);
      assert.deepEqual(plainOccurrences(r.inputs, "TEST-PRIVATE-KEY"), [], `${r.name}: private key in clear`);
    }
    // the apply waits for the account (its first run starts a dump)
    const passwords = mocks.ofType(STOCK_TYPES.randomPassword);
    assert.deepEqual(passwords.map((r) => r.name), ["acme/db-secret"]);
    for (const r of passwords) {
      assert.equal(input<number>(r, "length"), 64);
      assert.equal(input<boolean>(r, "special"), false, "letters and digits only");
      assert.ok(r.additionalSecretOutputs.includes("result"), `${r.name}: the password is a secret output`);
    }
    // what the commands keep in the state: the connection (key) secret, and the account
    // command's stdin (the password) and outputs too
    for (const c of mocks.commands()) assert.ok(c.additionalSecretOutputs.includes("connection"), `${c.name}: connection not a secret output`);
    assert.deepEqual([...account.additionalSecretOutputs].sort(), ["connection", "stderr", "stdout"]);
    assert.equal(dumpAccountName("a-very-long-instance-name-of-forty-chars"), "dbk_a-very-long-instanc_" + dumpAccountName("a-very-long-instance-name-of-forty-chars").slice(24));
    assert.ok(dumpAccountName("a-very-long-instance-name-of-forty-chars").length <= 32);
  });

  it("derives each instance's dump password from the client's secret: 32 letters and digits of each kind, stable, distinct per instance and secret", () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,40}$/);
    const secret = fc.stringMatching(/^[A-Za-z0-9]{64}$/);
    fc.assert(
      fc.property(secret, secret, name, name, (s1, s2, a, b) => {
        const p = dumpAccountPassword(s1, a);
        assert.match(p, /^[A-Za-z0-9]{32}$/);
        assert.ok(/[a-z]/.test(p) && /[A-Z]/.test(p) && /[0-9]/.test(p), p);
        assert.equal(dumpAccountPassword(s1, a), p, "stable");
        if (a !== b) assert.notEqual(dumpAccountPassword(s1, b), p);
        if (s1 !== s2) assert.notEqual(dumpAccountPassword(s2, a), p);
        assert.ok(!p.includes(s1.slice(0, 8)));
      }),
      { numRuns: 300 },
    );
    assert.throws(() => dumpAccountPassword("", "a"), /secret is empty/);
  });

  it("connects with the fleet's key as a secret, pinning the host keys the fleet config declares", () => {
    for (const c of mocks.commands()) {
      assert.ok(isSecretValue(c.inputs.connection), c.name);
      const conn = reveal<{ host: string; port: number; user: string; privateKey: string; hostKey?: string }>(c.inputs.connection);
      assert.equal(conn.privateKey, PRIVATE_KEY);
      const s = fleet.servers.find((x) => x.ssh.host === conn.host)!;
      assert.ok(s.ssh.hostKey, s.name);
      assert.equal(conn.hostKey, s.ssh.hostKey, c.name);
      if (s.name === "web-fra") {
        assert.equal(conn.user, "deploy");
        assert.match(input(c, "create"), /^sudo -n sh -c /);
      }
    }
    assert.equal(
      reveal<{ hostKey: string }>(mocks.named("acme-shop/web-fra/db-account").inputs.connection).hostKey,
      `${KEYS.fraHost} root@web-fra`,
    );
  });

  it("keeps dumps and mirrors on destroy: no delete command removes data", () => {
    for (const c of mocks.commands()) {
      const del = c.inputs.delete === undefined ? "" : input(c, "delete");
      assert.ok(!del.includes("rm -rf"), c.name);
      // The mirror root may be named (the binlog pull timer's marker line), never removed or moved.
      for (const line of del.split("\n").filter((l) => l.includes(fleet.mirrorRoot))) {
        assert.ok(!/\b(rm|rmdir|mv|truncate)\b/.test(line), `${c.name}: ${line}`);
        assert.match(line, /grep -qsxF .*BINLOG_DIR=.*dolibarr-binlog-pull@/, `${c.name}: only the pull timer's marker names the mirror root: ${line}`);
      }
      assert.ok(!/rm -f -- \/var\/backups/.test(del), c.name);
    }
  });

  it("outputs a per-instance summary: sites, distances, dump and replication times, RPO", async () => {
    const instances = (await peek(outputs.instances)).value as Record<string, Record<string, unknown>>;
    const erp = instances["acme-erp"]!;
    assert.deepEqual(erp.hosting, { server: "web-rbx", provider: "ovh", site: "ovh:rbx", city: "Roubaix", country: "FR" });
    const backups = erp.backups as Array<{ server: string; site: string; distanceKm: number; replicationTimes: string[] }>;
    assert.deepEqual(backups.map((b) => [b.server, b.site]), [["bk-sbg", "ovh:sbg"], ["bk-txl", "ionos:de/txl"]]);
    assert.ok(backups[0]!.distanceKm > 300 && backups[0]!.distanceKm < 450, String(backups[0]!.distanceKm));
    assert.deepEqual(erp.dumpTimes, ["00:00", "12:00"]);
    const plans = planInstance(fleet, instance(client, "acme-erp"), { minuteOffset: OFFSET });
    const rpo = computeRpo(topology, "acme-erp", plans);
    // binlogs on (the default): the database RPO is the shipping lag's bound, the dumps' is kept beside it
    const lagHours = binlogSettingsOf(fleet).maxLagSeconds / 3600;
    assert.deepEqual(erp.rpoHours, { files: Number(rpo.filesHours.toFixed(2)), database: Number(lagHours.toFixed(2)), dumps: Number(rpo.databaseHours.toFixed(2)) });
    assert.equal(erp.databaseRpoFrom, "binlogs");
    assert.equal(backups[0]!.replicationTimes.length, 4);
    assert.equal((await peek(outputs.minuteOffset)).value, OFFSET);
    const text = (await peek(outputs.summary)).value as string;
    assert.match(text, /instance acme-erp: hosted on web-rbx \(ovh:rbx, Roubaix\)/);
    assert.match(text, new RegExp(`database ${Math.round(lagHours * 60)} min \\(binlogs shipped, max 15 min; newest dump on a backup server ≤ 1[23]\\.\\d\\d h old\\)`));
    assert.match(text, /mirror on bk-txl \(ionos:de\/txl, Berlin, \d+(\.\d)? km away\) at \d\d:\d\d/);
  });
});

describe("client stack: rules before resources", () => {
  it("creates nothing and names every mandatory violation when the topology breaks a rule", async () => {
    const mocks = setupMocks(mockOptions());
    const fleet = parsedFleet();
    const values = clientValues({
      instances: [
        {
          name: "acme-erp",
          hostingServer: "web-rbx",
          database: { name: "dolibarr_acme" },
          codeRoot: "/var/www/acme/htdocs",
          documentsDir: "/var/lib/dolibarr/acme/documents",
          backupServers: ["bk-gra", "bk-sbg"],
        },
      ],
    });
    assert.throws(
      () => runClient(parsedClient(values), fleetViewOf(fleet)),
      (err: Error) => {
        assert.ok(pulumi.RunError.isInstance(err));
        assert.match(err.message, /client acme \(stacks\/Pulumi\.client-acme\.yaml\) breaks \d+ mandatory rule\(s\); nothing was created or changed/);
        assert.match(err.message, /✖ geo\.min-distance: instance acme-erp: .*bk-gra.*web-rbx/);
        return true;
      },
    );
    await settle();
    assert.deepEqual(mocks.resources, []);
  });

  it("fails on access.restricted-ssh when the fleet declared no restricted key for a backup server", async () => {
    const mocks = setupMocks(mockOptions());
    const fleet = parsedFleet();
    const view = fleetViewOf(fleet);
    view.access["web-rbx"] = view.access["web-rbx"]!.filter((a) => a.backupServer !== "bk-txl");
    assert.throws(() => runClient(parsedClient(), view), /access\.restricted-ssh: instance acme-erp: no SSH access declared for backup server bk-txl/);
    await settle();
    assert.deepEqual(mocks.resources, []);
  });

  it("reports an unknown server of the fleet as a configuration error", async () => {
    setupMocks(mockOptions());
    const values = clientValues();
    (values.instances as Array<{ backupServers: string[] }>)[0]!.backupServers = ["bk-sbg", "bk-nowhere"];
    assert.throws(() => runClient(parsedClient(values), fleetViewOf(parsedFleet())), /unknown server "bk-nowhere"/);
    await settle();
  });
});

describe("client stack: first preview, while the minute offset is unknown", () => {
  it("declares everything; only the backup servers' bundles (their replication times) wait for the offset", async () => {
    const mocks = setupMocks(mockOptions({ preview: true, randomInteger: () => undefined }));
    const fleet = parsedFleet();
    const client = parsedClient();
    const { outputs } = runClient(client, fleetViewOf(fleet));
    await settle();
    assert.equal(mocks.ofType(TYPES.instance).length, 2);
    assert.ok(isUnknown(mocks.named("acme-erp/bk-sbg/apply").inputs.stdin), "unknown until the offset is drawn");
    assert.equal(typeof input(mocks.named("acme-erp/bk-sbg/apply"), "create"), "string", "the script is known");
    assert.match(pushed(mocks, "acme-erp/web-rbx", "/etc/systemd/system/dolibarr-dump@acme-erp.timer.d/schedule.conf"), /OnCalendar=/);
    assert.equal((await peek(outputs.minuteOffset)).known, false);
  });
});

describe("client stack: what a config change touches", () => {
  async function record(values: Record<string, unknown>): Promise<Map<string, string>> {
    const mocks = setupMocks(mockOptions());
    runClient(parsedClient(values), fleetViewOf(parsedFleet()));
    await settle();
    return new Map(mocks.resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(reveal(r.inputs))]));
  }

  it("declares exactly the same inputs twice: a second pulumi up runs no remote command", async () => {
    const first = await record(clientValues());
    const second = await record(clientValues());
    assert.deepEqual([...second.entries()], [...first.entries()]);
  });

  it("re-pushes only the changed schedule's files and re-runs only that instance's applies", async () => {
    const before = await record(clientValues());
    const values = clientValues();
    (values.instances as Array<{ schedule?: unknown }>)[1]!.schedule = { dumpTimes: ["02:00", "14:00"], replicationsPerDay: 6 };
    const after = await record(values);
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), "same resources");
    const changed = [...after.keys()].filter((k) => after.get(k) !== before.get(k)).map((k) => k.split("::")[1]!).sort();
    assert.ok(changed.length > 0);
    for (const name of changed) {
      assert.ok(name === "acme-shop" || name.startsWith("acme-shop/"), `${name} changed`);
      assert.ok(
        name === "acme-shop" || name.endsWith("/apply") || name.includes("schedule.conf") || name.endsWith(".env") === false,
        name,
      );
    }
    assert.ok(changed.includes("acme-shop/web-fra/apply"));
    const files = (m: Map<string, string>) =>
      new Map(unframePush((JSON.parse(m.get(`${STOCK_TYPES.remoteCommand}::acme-shop/web-fra/apply`)!) as { stdin: string }).stdin).map((f) => [f.path, f.content]));
    const [was, now] = [files(before), files(after)];
    const changedFiles = [...now.keys()].filter((p) => now.get(p) !== was.get(p));
    assert.deepEqual(changedFiles, ["/etc/systemd/system/dolibarr-dump@acme-shop.timer.d/schedule.conf"], "only the dump timer's drop-in");
    assert.ok(!changed.includes("acme-shop/web-fra/db-account"));
  });
});

describe("client stack: main() through a StackReference", () => {
  const referenceName = "organization/dolibarr-backup/fleet";

  function fleetStackOutputs(view: FleetView): Record<string, unknown> {
    return {
      stackKind: "fleet",
      outputsVersion: 1,
      fleet: view.fleet,
      hostKeys: view.hostKeys,
      access: view.access,
      sshPrivateKey: view.sshPrivateKey,
    };
  }

  const raw = () => ({ kind: "client" as const, values: clientValues(), source: CLIENT_SOURCE });

  it("reads the fleet from organization/<project>/<fleetStack> and deploys the client", async () => {
    const view = fleetViewOf(parsedFleet());
    const mocks = setupMocks(
      mockOptions({ stackOutputs: { [referenceName]: { outputs: fleetStackOutputs(view), secret: ["sshPrivateKey"] } } }),
    );
    const outputs = await main({ config: raw });
    await settle();
    assert.deepEqual(mocks.ofType("pulumi:pulumi:StackReference").map((r) => r.name), [referenceName]);
    assert.equal(outputs.stackKind, "client");
    assert.equal(mocks.ofType(TYPES.instance).length, 2);
    const conn = reveal<{ privateKey: string }>(mocks.named("acme-erp/web-rbx/apply").inputs.connection);
    assert.equal(conn.privateKey, PRIVATE_KEY);
  });

  it("refuses a private key the fleet did not export as a secret", async () => {
    const view = fleetViewOf(parsedFleet());
    setupMocks(mockOptions({ stackOutputs: { [referenceName]: { outputs: fleetStackOutputs(view) } } }));
    await assert.rejects(main({ config: raw }), /output "sshPrivateKey" is missing or not a secret/);
    await settle();
  });

  it("says to deploy the fleet first when it has no outputs", async () => {
    const mocks = setupMocks(mockOptions({ stackOutputs: { [referenceName]: { outputs: {} } } }));
    await assert.rejects(main({ config: raw }), /fleet stack fleet has no outputs: deploy it first/);
    await settle();
    assert.deepEqual(mocks.resources.map((r) => r.type), ["pulumi:pulumi:StackReference"]);
  });
});

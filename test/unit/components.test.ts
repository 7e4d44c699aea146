// The components' building blocks, run for real where they are shell: the file push script (in a
// temp dir), the root wrapper, the dump account scripts against a fake `mariadb`, plus the pure
// helpers (deferred bundles, fingerprints, addresses, config reading, fleet outputs).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { deferredBundle } from "../../infra/components/bundle";
import {
  dropDumpAccountScript,
  dumpAccountScript,
  dumpAccountSql,
  optionFileContent,
} from "../../infra/components/instance";
import { asRoot, SessionLanes, shq } from "../../infra/components/remote";
import { addressOf, publicKeyFrom, sshFingerprint } from "../../infra/components/servers";
import type { Instance } from "../../infra/model/types";
import { fleetSecrets, namespacedValues, normalizeKey, parseConfigValue } from "../../infra/program/config";
import { FLEET_OUTPUTS_VERSION, readFleetView } from "../../infra/program/fleet-outputs";
import { mysqlOptionFilePath, type ServerBundle } from "../../infra/render";
import { peek, setupMocks } from "../support/pulumi-mocks";
import { FLEET_SOURCE, KEYS, PRIVATE_KEY, fleetValues, parsedFleet } from "../support/pulumi-mocks-fixtures";

const tmp = mkdtempSync(join(tmpdir(), "dbk-components-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function sh(script: string, stdin = "", env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync("sh", ["-c", script], { input: stdin, encoding: "utf8", env: { ...process.env, ...env } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("session lanes of a server", () => {
  it("keeps at most `width` commands in flight: each new command waits for the one `width` places before it", () => {
    for (const width of [1, 2, 5, 9]) {
      const lanes = new SessionLanes(width);
      const made: pulumi.Resource[] = [];
      for (let i = 0; i < 4 * width + 3; i++) {
        const slot = lanes.slot();
        assert.deepEqual(slot.after, i < width ? [] : [made[i - width]], `command ${i} of width ${width}`);
        const resource = { id: i } as unknown as pulumi.Resource;
        slot.taken(resource);
        made.push(resource);
      }
    }
  });

  it("property: a command that waits for the newest command of a lane joins that lane (no second wait); still at most `width` chains", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let run = 0; run < 200; run++) {
      const width = 1 + Math.floor(random() * 6);
      const lanes = new SessionLanes(width);
      const newest: pulumi.Resource[] = [];
      const made: pulumi.Resource[] = [];
      for (let i = 0; i < 40; i++) {
        // like a bundle that waits for the account made just before it, or anything earlier
        const waitsFor = made.length > 0 && random() < 0.6 ? [made[Math.floor(random() * made.length)]!] : [];
        const slot = lanes.slot(waitsFor);
        assert.ok(slot.after.length <= 1, "one lane predecessor at most");
        const resource = { id: i } as unknown as pulumi.Resource;
        if (waitsFor.length === 1 && newest.includes(waitsFor[0]!)) {
          assert.deepEqual(slot.after, waitsFor, `run ${run}, command ${i}: it waits for a lane's newest, so it joins that lane`);
        }
        const previous = slot.after[0];
        if (previous !== undefined) newest.splice(newest.indexOf(previous), 1);
        else assert.ok(newest.length < width, `run ${run}, command ${i}: a new chain beyond ${width}`);
        newest.push(resource);
        slot.taken(resource);
        made.push(resource);
      }
      assert.ok(newest.length <= width);
    }
  });
});

describe("running as root", () => {
  it("wraps a script in one quoted sh -c argument that survives quotes, for root directly", () => {
    const line = asRoot("root", `echo "it's" '$HOME' \`echo x\`\nprintf '%s\\n' "a'b"`);
    assert.match(line, /^sh -c '/);
    const r = sh(line);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "it's $HOME x\na'b\n");
  });

  it("stops at the first failing line (set -eu)", () => {
    const r = sh(asRoot("root", "false\necho not-reached"));
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, "");
  });

  it("goes through sudo -n for another user, stdin untouched", () => {
    assert.match(asRoot("deploy", "cat"), /^sudo -n sh -c 'set -eu\ncat\n'$/);
  });

  it("quotes words only when needed", () => {
    assert.equal(shq("/etc/x@y.conf"), "/etc/x@y.conf");
    assert.equal(shq("a b"), "'a b'");
    assert.equal(shq("it's"), `'it'\\''s'`);
  });
});

describe("MariaDB dump account", () => {
  const inst = { name: "acme-erp", database: { name: "dolibarr_acme" } } as Instance;

  /**
   * A fake `mariadb` that logs its arguments and stdin, fails on `fail` in its arguments, and
   * answers SHOW GRANTS with `grants`.
   */
  function fakeMariadb(fail: string | undefined, grants = ""): { dir: string; log: string } {
    const dir = mkdtempSync(join(tmp, "bin-"));
    const log = join(dir, "log");
    writeFileSync(
      join(dir, "mariadb"),
      `#!/bin/sh
printf 'ARGS:%s\\n' "$*" >>${shq(log)}
case "$*" in *-e*) ;; *) sed 's/^/STDIN:/' >>${shq(log)} ;; esac
${fail ? `case "$*" in *${shq(fail)}*) echo "ERROR 1064: unknown privilege" >&2; exit 1 ;; esac` : ""}
case "$*" in *"SHOW GRANTS"*) printf '%s' ${shq(grants)} ;; esac
exit 0
`,
    );
    chmodSync(join(dir, "mariadb"), 0o755);
    return { dir, log };
  }

  it("creates the account from the password on stdin, grants the routines' bodies the way the server supports, writes the 0600 option file", () => {
    const optionFile = mysqlOptionFilePath(inst.name);
    for (const password of ["Secret123", "A1b2C3d4E5f6G7h8I9j0KkLlMmNnOoPp", "x9"]) {
      for (const [fail, expected] of [
        [undefined, "GRANT SHOW CREATE ROUTINE ON `dolibarr_acme`.* TO 'dbk_acme-erp'@'localhost'"],
        ["SHOW CREATE ROUTINE", "GRANT SELECT ON mysql.proc TO 'dbk_acme-erp'@'localhost'"],
      ] as const) {
        const { dir, log } = fakeMariadb(fail);
        const root = mkdtempSync(join(tmp, "root-"));
        // the option file's directory, moved under a temp root
        const script = dumpAccountScript(inst).split(dirname(optionFile)).join(join(root, dirname(optionFile)));
        const r = sh(asRoot("root", script), `${password}\n`, { PATH: `${dir}:${process.env.PATH}` });
        assert.equal(r.status, 0, r.stderr);
        const lines = readFileSync(log, "utf8").trim().split("\n");
        assert.equal(lines[0], "ARGS:--batch");
        assert.deepEqual(lines.filter((l) => l.startsWith("STDIN:")), dumpAccountSql(inst, password).trim().split("\n").map((l) => `STDIN:${l}`));
        assert.equal(lines.filter((l) => l.startsWith("ARGS:--batch -e GRANT ")).pop(), `ARGS:--batch -e ${expected}`);
        assert.ok(lines.filter((l) => l.includes(password)).every((l) => l.startsWith("STDIN:")), "the password only on stdin");
        const written = join(root, optionFile);
        assert.equal(readFileSync(written, "utf8"), optionFileContent(inst, password));
        assert.equal((statSync(written).mode & 0o777).toString(8), "600");
        assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password));
      }
    }
  });

  it("where SHOW CREATE ROUTINE exists (MariaDB 11.3+), takes back the SELECT on mysql.proc an account kept from 10.x; on 10.x grants it", () => {
    const user = "'dbk_acme-erp'@'localhost'";
    const held = "GRANT USAGE ON *.* TO `dbk_acme-erp`@`localhost`\nGRANT SELECT ON `mysql`.`proc` TO `dbk_acme-erp`@`localhost`\nGRANT SELECT, SHOW CREATE ROUTINE ON `dolibarr_acme`.* TO `dbk_acme-erp`@`localhost`\n";
    const fresh = "GRANT USAGE ON *.* TO `dbk_acme-erp`@`localhost`\nGRANT SELECT, SHOW CREATE ROUTINE ON `dolibarr_acme`.* TO `dbk_acme-erp`@`localhost`\n";
    for (const [fail, grants, revoked, granted] of [
      [undefined, held, true, false],
      [undefined, fresh, false, false],
      ["SHOW CREATE ROUTINE", "", false, true],
    ] as const) {
      const { dir, log } = fakeMariadb(fail, grants);
      const root = mkdtempSync(join(tmp, "root-"));
      const optionFile = mysqlOptionFilePath(inst.name);
      const script = dumpAccountScript(inst).split(dirname(optionFile)).join(join(root, dirname(optionFile)));
      const r = sh(asRoot("root", script), "Secret123\n", { PATH: `${dir}:${process.env.PATH}` });
      assert.equal(r.status, 0, r.stderr);
      const lines = readFileSync(log, "utf8").trim().split("\n");
      assert.equal(lines.includes(`ARGS:--batch -e REVOKE SELECT ON mysql.proc FROM ${user}`), revoked, lines.join("\n"));
      assert.equal(lines.includes(`ARGS:--batch -e GRANT SELECT ON mysql.proc TO ${user}`), granted, lines.join("\n"));
      assert.equal(lines.some((l) => l.includes("SHOW GRANTS")), fail === undefined);
    }
  });

  it("refuses a password that is not letters and digits, and withholds MariaDB's message (it may quote the password)", () => {
    const { dir } = fakeMariadb(undefined);
    for (const bad of ["", "a'b", "pass word", "x;DROP"]) {
      const r = sh(asRoot("root", dumpAccountScript(inst)), `${bad}\n`, { PATH: `${dir}:${process.env.PATH}` });
      assert.notEqual(r.status, 0, bad);
      assert.match(r.stderr, /expected the password \(letters and digits\) on stdin/);
    }
    const leaky = mkdtempSync(join(tmp, "bin-"));
    writeFileSync(join(leaky, "mariadb"), `#!/bin/sh\ncat >/dev/null\necho "ERROR 1396 (HY000) at line 1: near 'IDENTIFIED BY 'Leak99'" >&2\nexit 1\n`);
    chmodSync(join(leaky, "mariadb"), 0o755);
    const r = sh(asRoot("root", dumpAccountScript(inst)), "Leak99\n", { PATH: `${leaky}:${process.env.PATH}` });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /ERROR 1396 \(HY000\)/);
    assert.ok(!r.stderr.includes("Leak99") && !r.stdout.includes("Leak99"), r.stderr);
  });

  it("drops the account on destroy, and only warns when MariaDB cannot be reached", () => {
    const ok = fakeMariadb(undefined);
    assert.equal(sh(asRoot("root", dropDumpAccountScript(inst)), "", { PATH: `${ok.dir}:${process.env.PATH}` }).status, 0);
    assert.equal(readFileSync(ok.log, "utf8"), "ARGS:--batch -e DROP USER IF EXISTS 'dbk_acme-erp'@'localhost'\n");
    assert.match(dropDumpAccountScript(inst), /rm -f -- \/etc\/dolibarr-backup\/instances\/acme-erp\.my\.cnf/);
    const down = fakeMariadb("DROP");
    const r = sh(asRoot("root", dropDumpAccountScript(inst)), "", { PATH: `${down.dir}:${process.env.PATH}` });
    assert.equal(r.status, 0);
    assert.match(r.stderr, /warning: could not drop the MariaDB account of acme-erp/);
  });

  it("grants exactly what mariadb-dump --single-transaction --routines --triggers --events needs", () => {
    assert.equal(
      dumpAccountSql(inst, "Abc123"),
      "CREATE USER IF NOT EXISTS 'dbk_acme-erp'@'localhost' IDENTIFIED BY 'Abc123';\n" +
        "ALTER USER 'dbk_acme-erp'@'localhost' IDENTIFIED BY 'Abc123';\n" +
        "GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES, EVENT ON `dolibarr_acme`.* TO 'dbk_acme-erp'@'localhost';\n",
    );
    assert.throws(() => dumpAccountSql(inst, "a'b"), /alphanumeric/);
    assert.equal(optionFileContent(inst, "Abc123").split("\n").slice(1).join("\n"), "[client]\nuser=dbk_acme-erp\npassword=Abc123\n");
  });
});

describe("deferred bundles", () => {
  const render = (key: string): ServerBundle => ({
    files: [
      { path: "/etc/a", content: "always the same\n", mode: "0644" },
      { path: "/etc/b", content: `key ${key}\n`, mode: "0600" },
    ],
    create: "true",
    delete: "true",
  });

  it("knows at once the files that do not depend on the value, the others once it is known", async () => {
    setupMocks();
    const b = deferredBundle("test", render, ["x", "y"], pulumi.output("real"));
    assert.equal(b.files[0]!.content, "always the same\n");
    assert.equal((await peek(b.files[1]!.content)).value, "key real\n");
    assert.equal(b.create, "true");
  });

  it("refuses a renderer whose paths or commands depend on the value", async () => {
    setupMocks();
    const bad = (key: string): ServerBundle => ({ ...render(key), create: `echo ${key}` });
    assert.throws(() => deferredBundle("bad", bad, ["x", "y"], pulumi.output("z")), /depend on a value known only at deployment/);
    let calls = 0;
    const sneaky = (key: string): ServerBundle => (++calls > 2 ? { ...render(key), delete: "rm -rf /" } : render(key));
    const b = deferredBundle("sneaky", sneaky, ["x", "y"], pulumi.output("z"));
    await assert.rejects(peek(b.files[1]!.content), /sneaky: the rendered paths or commands depend/);
  });
});

describe("SSH keys and addresses", () => {
  it("computes the fingerprint ssh-keygen prints", () => {
    const key = join(tmp, "fp");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "t", "-f", key]);
    const pub = readFileSync(`${key}.pub`, "utf8");
    const expected = execFileSync("ssh-keygen", ["-lf", `${key}.pub`], { encoding: "utf8" }).split(" ")[1];
    assert.equal(sshFingerprint(pub), expected);
  });

  it("finds the public key line in a command's output", () => {
    assert.equal(publicKeyFrom(`Generating...\n${KEYS.backupSbg}\n`, "x"), KEYS.backupSbg);
    assert.throws(() => publicKeyFrom("Permission denied\n", "public key of bk"), /public key of bk: expected an OpenSSH public key line/);
  });

  it("writes the contract's address as host, host:port or [v6]:port", () => {
    assert.equal(addressOf({ host: "203.0.113.1", port: 22 }), "203.0.113.1");
    assert.equal(addressOf({ host: "203.0.113.1", port: 2222 }), "203.0.113.1:2222");
    assert.equal(addressOf({ host: "2001:db8::1", port: 2222 }), "[2001:db8::1]:2222");
  });
});

describe("stack config from the engine", () => {
  it("parses values as `pulumi config set` stores them", () => {
    assert.deepEqual(parseConfigValue('[{"a":1}]'), [{ a: 1 }]);
    assert.equal(parseConfigValue("42"), 42);
    assert.equal(parseConfigValue("true"), true);
    assert.equal(parseConfigValue("fleet"), "fleet");
    assert.equal(parseConfigValue("{not json"), "{not json");
    assert.deepEqual(namespacedValues({ "dolibarr-backup:stackKind": "fleet", "other:key": "x", "dolibarr-backup:policy": '{"minBackupServers":2}' }), {
      stackKind: "fleet",
      policy: { minBackupServers: 2 },
    });
  });

  it("takes the credentials, the SSH key with its final newline, and refuses clear-text secrets", async () => {
    setupMocks();
    const values = {
      ...fleetValues(),
      sshPrivateKey: PRIVATE_KEY.trimEnd(),
      ovh: { endpoint: "ovh-eu", applicationKey: "ak", applicationSecret: "as", consumerKey: "ck" },
      ionos: { token: "tok" },
    };
    const raw = { kind: "fleet" as const, values, source: FLEET_SOURCE, secretKeys: new Set(["sshPrivateKey", "ovh", "ionos"]) };
    const secrets = fleetSecrets(raw);
    const key = await peek(secrets.sshPrivateKey);
    assert.equal(key.value, PRIVATE_KEY);
    assert.equal(key.secret, true);
    assert.deepEqual(secrets.ovh, { endpoint: "ovh-eu", applicationKey: "ak", applicationSecret: "as", consumerKey: "ck" });
    assert.deepEqual(secrets.ionos, { token: "tok" });
    assert.throws(() => fleetSecrets({ ...raw, secretKeys: new Set(["sshPrivateKey"]) }), /dolibarr-backup:ovh, dolibarr-backup:ionos must be set as secret/);
    assert.equal(normalizeKey("k"), "k\n");
  });

  it("refuses the notifiers' ping or webhook URL in clear text, not a notifier that holds no URL", () => {
    setupMocks();
    const base = { ...fleetValues(), sshPrivateKey: PRIVATE_KEY };
    const email = { email: { to: ["ops@example.com"] } };
    const withUrl = [
      { healthchecks: { pingUrl: "https://hc-ping.com/uuid" } },
      { webhook: { url: "https://hooks.example.com/x" } },
      { ...email, healthchecks: { pingUrl: "https://hc-ping.com/uuid" }, webhook: { url: "https://hooks.example.com/x" } },
    ];
    for (const notifications of withUrl) {
      const raw = { kind: "fleet" as const, values: { ...base, notifications }, source: FLEET_SOURCE };
      assert.throws(() => fleetSecrets({ ...raw, secretKeys: new Set(["sshPrivateKey"]) }), /dolibarr-backup:notifications must be set as secret.*notifications\.webhook\.url/, JSON.stringify(notifications));
      assert.doesNotThrow(() => fleetSecrets({ ...raw, secretKeys: new Set(["sshPrivateKey", "notifications"]) }));
    }
    const mailOnly = { kind: "fleet" as const, values: { ...base, notifications: email }, source: FLEET_SOURCE, secretKeys: new Set(["sshPrivateKey"]) };
    assert.doesNotThrow(() => fleetSecrets(mailOnly));
  });
});

describe("fleet outputs as a client stack reads them", () => {
  const fleet = parsedFleet();
  const outputs: Record<string, { value?: unknown; secretValue?: unknown }> = {
    stackKind: { value: "fleet" },
    outputsVersion: { value: FLEET_OUTPUTS_VERSION },
    fleet: { value: fleet },
    hostKeys: { value: Object.fromEntries(fleet.servers.map((s) => [s.name, s.ssh.hostKey])) },
    access: { value: {} },
    sshPrivateKey: { secretValue: PRIVATE_KEY },
  };
  const get = (o: typeof outputs) => async (name: string) => o[name] ?? {};

  it("reads the fleet, its servers with their pinned host keys, and the key", async () => {
    const view = await readFleetView("fleet", get(outputs));
    assert.equal(view.fleet.stack, "fleet");
    assert.equal(view.sshPrivateKey, PRIVATE_KEY);
    assert.equal(view.fleet.servers.find((s) => s.name === "web-rbx")!.ssh.hostKey, KEYS.rbxHost);
    assert.equal(view.fleet.servers.find((s) => s.name === "web-fra")!.ssh.hostKey, `${KEYS.fraHost} root@web-fra`);
  });

  it("refuses a fleet (deployed by an older program) that exports a server without a valid pinned host key", async () => {
    for (const hostKey of [undefined, "", "ssh-ed25519 AAAA", `198.51.100.10 ${KEYS.fraHost}`]) {
      const servers = fleet.servers.map((s) => (s.name === "web-fra" ? { ...s, ssh: { ...s.ssh, hostKey } } : s));
      await assert.rejects(
        readFleetView("fleet", get({ ...outputs, fleet: { value: JSON.parse(JSON.stringify({ ...fleet, servers })) } })),
        /fleet stack fleet: server web-fra has no valid pinned host key .*declare ssh\.hostKey in the fleet config .*pulumi up --stack fleet first/,
        String(hostKey),
      );
    }
  });

  it("says what to do when the fleet is older than the program, or not a fleet", async () => {
    await assert.rejects(readFleetView("fleet", get({ ...outputs, outputsVersion: { value: 0 } })), /run pulumi up on the fleet stack with this program first/);
    await assert.rejects(readFleetView("x", get({ ...outputs, stackKind: { value: "client" } })), /stack x is a client stack, not a fleet stack/);
  });
});

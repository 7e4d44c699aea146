// Host keys pinned, always (issue 22 point 4): ssh.hostKey is mandatory and checked by one rule
// (infra/model/host-key.ts) in the offline check, the program (both parse the configs through the
// same schema), the policy pack (every remote command's connection), the renderers, the status and
// the failover. A fleet without a key, or with a malformed one, is refused naming the file, the key
// and how to obtain the key out of band; nothing ever reads a key from the server it then trusts.
import { repoRoot } from "../../infra/render/repo";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { formatIssue } from "../../infra/model/errors";
import { HOST_KEY_TYPES, hostKeyProblem, hostKeyWithoutComment } from "../../infra/model/host-key";
import { parseStackFileText } from "../../infra/model/load";
import { parseFleetConfig } from "../../infra/model/parse";
import { commandHostKeyProblem, connectionHostKeyProblem } from "../../infra/rules/host-keys";
import { runOnServer } from "../../infra/status/collect";
import { hostKeyOf } from "../../scripts/failover";
import { KNOWN_HOSTS_GONE, parseFleetArgs } from "../../scripts/fleet-access";
import { configError } from "../support/config-errors";
import { testHostKey } from "../support/host-keys";
import { fleetValues } from "../support/pulumi-mocks-fixtures";
import { clientYaml, fleetYaml, removeDir, writeStacksDir } from "../support/stacks";

const FILE = "stacks/Pulumi.fleet.yaml";

// ---- real keys of every accepted type, in OpenSSH's wire format (as ssh-keygen writes them) ----

const sshString = (b: Buffer): Buffer => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
};
const mpint = (b: Buffer): Buffer => sshString(b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
const b64u = (s: string): Buffer => Buffer.from(s, "base64url");
const line = (type: string, ...parts: Buffer[]) => `${type} ${Buffer.concat([sshString(Buffer.from(type)), ...parts]).toString("base64")}`;

function realKeys(): Record<string, string> {
  const ed = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
  const out: Record<string, string> = { "ssh-ed25519": line("ssh-ed25519", sshString(b64u(ed.x!))) };
  for (const [bits, curve] of [[256, "P-256"], [384, "P-384"], [521, "P-521"]] as const) {
    const j = generateKeyPairSync("ec", { namedCurve: curve }).publicKey.export({ format: "jwk" });
    const type = `ecdsa-sha2-nistp${bits}`;
    out[type] = line(type, sshString(Buffer.from(`nistp${bits}`)), sshString(Buffer.concat([Buffer.from([4]), b64u(j.x!), b64u(j.y!)])));
  }
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
  out["ssh-rsa"] = line("ssh-rsa", mpint(b64u(rsa.e!)), mpint(b64u(rsa.n!)));
  return out;
}
const KEYS = realKeys();
const ED = KEYS["ssh-ed25519"]!;

/** The test fleet (servers[2] is bk-sbg at 203.0.113.20) with bk-sbg's hostKey line replaced (or removed: undefined). */
function fleetWithKey(hostKey: string | undefined): string {
  const text = fleetYaml();
  const re = /(    - name: bk-sbg\n(?:.*\n)*?      ssh:\n)        hostKey: .*\n/;
  assert.match(text, re);
  return text.replace(re, (_m, head: string) => (hostKey === undefined ? head : `${head}        hostKey: ${JSON.stringify(hostKey)}\n`));
}

/** The issues of parsing the fleet with bk-sbg's key so, as "file:line: key: message" lines. */
function refusal(hostKey: string | undefined): string[] {
  return configError(() => parseStackFileText(fleetWithKey(hostKey), FILE)).issues.map(formatIssue);
}

// ---- generated bad keys: each kind of mistake an ops engineer (or a copy and paste) makes ----

const blobOf = (l: string) => Buffer.from(l.split(" ")[1]!, "base64");
const BAD_KINDS: Record<string, fc.Arbitrary<string>> = {
  empty: fc.constantFrom("", " ", "\t"),
  "type alone": fc.constantFrom(...HOST_KEY_TYPES),
  "unknown type": fc.tuple(fc.constantFrom("ssh-dss", "ssh-ed448", "ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com", "rsa", "ED25519", "ssh_ed25519"), fc.constantFrom(...Object.values(KEYS))).map(([t, k]) => `${t} ${k.split(" ")[1]}`),
  "wrong type prefix": fc.tuple(fc.constantFrom(...Object.keys(KEYS)), fc.constantFrom(...Object.keys(KEYS))).filter(([a, b]) => a !== b).map(([a, b]) => `${a} ${KEYS[b]!.split(" ")[1]}`),
  "bad base64": fc.tuple(fc.constantFrom(...Object.values(KEYS)), fc.nat(), fc.constantFrom("!", "*", "-", "_", "é", "%", "\\", "'", "$(id)", "`x`", ";")).map(([k, at, bad]) => {
    const [t, b] = k.split(" ") as [string, string];
    const i = 1 + (at % (b.length - 1));
    return `${t} ${b.slice(0, i)}${bad}${b.slice(i)}`;
  }),
  "truncated base64": fc.tuple(fc.constantFrom(...Object.values(KEYS)), fc.integer({ min: 1, max: 40 })).map(([k, n]) => k.slice(0, k.length - n)),
  "truncated blob": fc.tuple(fc.constantFrom(...Object.values(KEYS)), fc.integer({ min: 1, max: 30 })).map(([k, n]) => `${k.split(" ")[0]} ${blobOf(k).subarray(0, blobOf(k).length - n).toString("base64")}`),
  "trailing bytes in the blob": fc.tuple(fc.constantFrom(...Object.values(KEYS)), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([k, extra]) => `${k.split(" ")[0]} ${Buffer.concat([blobOf(k), Buffer.from(extra)]).toString("base64")}`),
  "not a key at all": fc.tuple(fc.constantFrom(...HOST_KEY_TYPES), fc.uint8Array({ minLength: 4, maxLength: 80 })).map(([t, bytes]) => `${t} ${Buffer.from(bytes).toString("base64")}`),
  "multi-line": fc.tuple(fc.constantFrom(...Object.values(KEYS)), fc.constantFrom("\n", "\r\n", "\r"), fc.constantFrom(...Object.values(KEYS), "x", "# comment")).map(([a, nl, b]) => `${a}${nl}${b}`),
  "known_hosts host prefix": fc.tuple(fc.constantFrom("203.0.113.20", "[203.0.113.20]:2222", "bk-sbg.example.net,203.0.113.20", "|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg=", "2001:db8::20"), fc.constantFrom(...Object.values(KEYS))).map(([h, k]) => `${h} ${k}`),
  "known_hosts marker": fc.tuple(fc.constantFrom("@cert-authority", "@revoked"), fc.constantFrom(...Object.values(KEYS))).map(([m, k]) => `${m} 203.0.113.20 ${k}`),
  "control character": fc.tuple(fc.constantFrom(...Object.values(KEYS)), fc.constantFrom("\u0000", "\u001b[31m", "\u0007", "\u007f")).map(([k, c]) => `${k} host${c}`),
  "authorized_keys options": fc.constantFrom(...Object.values(KEYS)).map((k) => `restrict,command="sh" ${k}`),
  "weak RSA": fc.constant(line("ssh-rsa", mpint(Buffer.from([1, 0, 1])), mpint(Buffer.alloc(128, 0xc3)))),
};

describe("host keys: the one rule (model/host-key.ts)", () => {
  it("accepts a real key of every accepted type, with or without a comment, and gives it back without the comment", () => {
    for (const [type, k] of Object.entries(KEYS)) {
      assert.equal(hostKeyProblem(k), undefined, type);
      assert.equal(hostKeyProblem(`${k} root@bk-sbg`), undefined, type);
      assert.equal(hostKeyProblem(`  ${k}  root@bk sbg (2026)\n`), undefined, `${type}: surrounding blanks and a final newline`);
      assert.equal(hostKeyWithoutComment(`${k} root@bk-sbg`), k);
    }
    assert.deepEqual(Object.keys(KEYS).sort(), [...HOST_KEY_TYPES].sort());
  });

  for (const [kind, arb] of Object.entries(BAD_KINDS)) {
    it(`refuses ${kind} (generated), saying how to obtain the key out of band`, () => {
      fc.assert(
        fc.property(arb, (k) => {
          const problem = hostKeyProblem(k, "203.0.113.20", 22);
          assert.ok(problem, `accepted: ${JSON.stringify(k)}`);
          assert.match(problem, /ssh-keyscan -t ed25519 203\.0\.113\.20/);
          assert.match(problem, /provider's console/);
        }),
        { numRuns: 60 },
      );
    });
  }

  it("names what is wrong for each kind", () => {
    const rbx = KEYS["ssh-rsa"]!.split(" ")[1]!;
    const cases: Array<[string, RegExp]> = [
      ["", /got an empty string/],
      ["ssh-ed25519", /expected the key in base64 after "ssh-ed25519", got nothing/],
      [`ssh-dss ${rbx}`, /key type "ssh-dss" is not a host key type; expected one of ssh-ed25519, ecdsa-sha2-nistp256/],
      [`ssh-ed25519 ${rbx}`, /its base64 holds a ssh-rsa key, not the ssh-ed25519 the line starts with/],
      [`ssh-ed25519 ${ED.split(" ")[1]!.slice(0, -4)}`, /not a whole ed25519 key|not base64|truncated or not a key/],
      [`ssh-ed25519 AAAA$(id)B`, /is not base64/],
      [`${ED}\nssh-rsa ${rbx}`, /expected the host key on one line, got 2 lines/],
      [`203.0.113.20 ${ED}`, /starts with a host field \("203\.0\.113\.20"\), as known_hosts and ssh-keyscan write it; expected only "ssh-ed25519 <base64>": drop the host/],
      [`@revoked * ${ED}`, /known_hosts marker @revoked/],
      [`${ED} a\u0000b`, /control character/],
    ];
    for (const [k, re] of cases) assert.match(hostKeyProblem(k) ?? "(accepted)", re, JSON.stringify(k));
    assert.match(hostKeyProblem("", "bk.example.net", 2222)!, /ssh-keyscan -t ed25519 -p 2222 bk\.example\.net/);
  });
});

describe("host keys: the offline check and the program refuse a fleet without one", () => {
  it("a fleet without servers[2].ssh.hostKey is refused naming the file, the line, the key and how to obtain it", () => {
    const lines = refusal(undefined);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0]!, /^stacks\/Pulumi\.fleet\.yaml:\d+(:\d+)?: dolibarr-backup:servers\[2\]\.ssh\.hostKey: missing; expected the server's SSH host key, "ssh-ed25519 AAAA…"/);
    assert.match(lines[0]!, /nothing ever trusts a key on first use/);
    assert.match(lines[0]!, /provider's console .*`ssh-keyscan -t ed25519 203\.0\.113\.20` from a trusted network.*fingerprint/);
  });

  it("a malformed key is refused naming the key (generated: every kind of mistake)", () => {
    fc.assert(
      fc.property(fc.oneof(...Object.values(BAD_KINDS)), (k) => {
        const lines = refusal(k);
        assert.ok(lines.some((l) => /^stacks\/Pulumi\.fleet\.yaml:\d+(:\d+)?: dolibarr-backup:servers\[2\]\.ssh\.hostKey: .*ssh-keyscan -t ed25519 203\.0\.113\.20/.test(l)), `${JSON.stringify(k)}:\n${lines.join("\n")}`);
      }),
      { numRuns: 150 },
    );
  });

  it("a key that is not a string, and a missing key next to another mistake of the same server, are both named", () => {
    assert.ok(refusal(undefined).length === 1);
    const asNumber = fleetWithKey(ED).replace(/(- name: bk-sbg\n(?:.*\n)*?        hostKey: ).*\n/, "$142\n");
    assert.match(configError(() => parseStackFileText(asNumber, FILE)).message, /servers\[2\]\.ssh\.hostKey: expected a string, got 42/);
    const twoMistakes = fleetWithKey(undefined).replace("        host: 203.0.113.20\n", "        host: 203.0.113.20\n        port: 0\n");
    const msg = configError(() => parseStackFileText(twoMistakes, FILE)).message;
    assert.match(msg, /servers\[2\]\.ssh\.port: /);
    assert.match(msg, /servers\[2\]\.ssh\.hostKey: missing/);
  });

  it("accepts a real key of every type in the fleet file, kept as declared (trimmed)", () => {
    for (const k of Object.values(KEYS)) {
      const sf = parseStackFileText(fleetWithKey(`${k} root@bk-sbg `), FILE);
      assert.equal(sf.kind, "fleet");
      if (sf.kind === "fleet") assert.equal(sf.fleet.servers[2]!.ssh.hostKey, `${k} root@bk-sbg`);
    }
  });

  it("the program's parse (values from pulumi.Config) refuses the same, with the same message", () => {
    const values = fleetValues();
    const servers = (values.servers as Array<Record<string, unknown> & { ssh: Record<string, unknown> }>).map((s, i) => (i === 2 ? { ...s, ssh: { host: s.ssh.host } } : s));
    const e = configError(() => parseFleetConfig({ ...values, servers }, { stack: "fleet", file: FILE }));
    assert.match(e.message, /dolibarr-backup:servers\[2\]\.ssh\.hostKey: missing; .*ssh-keyscan -t ed25519 203\.0\.113\.20/);
  });

  const dir = writeStacksDir({ "Pulumi.fleet.yaml": fleetWithKey(undefined), "Pulumi.client-acme.yaml": clientYaml("acme", [{ name: "acme-erp", hosting: "web-rbx", backups: ["bk-sbg", "bk-txl"] }]) });
  after(() => removeDir(dir));

  it("npm run check exits 2 on a fleet without a host key, naming the file and the key", () => {
    const check = path.resolve(__dirname, "../../scripts/check.js");
    const r = spawnSync(process.execPath, [check, "--stacks-dir", dir], { encoding: "utf8" });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /Pulumi\.fleet\.yaml:\d+(:\d+)?: dolibarr-backup:servers\[2\]\.ssh\.hostKey: missing/);
    assert.match(r.stderr, /ssh-keyscan -t ed25519 203\.0\.113\.20/);
  });

  it("the example fleet (stacks/) pins a well-formed key for every server", () => {
    const stacks = path.join(repoRoot(), "stacks", "Pulumi.fleet.yaml");
    const sf = parseStackFileText(require("node:fs").readFileSync(stacks, "utf8"), "stacks/Pulumi.fleet.yaml");
    assert.equal(sf.kind, "fleet");
    if (sf.kind === "fleet") for (const s of sf.fleet.servers) assert.equal(hostKeyProblem(s.ssh.hostKey), undefined, s.name);
  });
});

describe("host keys: the pack, the status and the failover take only the pinned key", () => {
  it("a remote command's connection without a key, or with a malformed one, is a violation of ssh-host-key-pinned", () => {
    const conn = { host: "203.0.113.20", port: 22, user: "root", privateKey: "(secret)" };
    assert.equal(connectionHostKeyProblem({ ...conn, hostKey: testHostKey("bk-sbg") }), undefined);
    assert.match(connectionHostKeyProblem(conn)!, /connects to 203\.0\.113\.20 without a pinned host key/);
    assert.match(connectionHostKeyProblem({ ...conn, port: 2222, hostKey: "" })!, /connects to 203\.0\.113\.20:2222 without a pinned host key/);
    assert.match(connectionHostKeyProblem({ ...conn, hostKey: `203.0.113.20 ${ED}` })!, /invalid host key: starts with a host field/);
    assert.match(connectionHostKeyProblem(undefined)!, /no connection/);
    // a command that runs nothing never connects (what stays of a lost server): not checked
    assert.equal(commandHostKeyProblem({ connection: conn }), undefined);
    assert.match(commandHostKeyProblem({ connection: conn, create: "true" })!, /without a pinned host key/);
  });

  it("the status refuses to connect to a server without a valid pinned key (no ssh is run)", async () => {
    const server = { name: "bk-sbg", role: "backup" as const, provider: "ovh" as const, site: { id: "ovh:sbg", provider: "ovh" as const, code: "sbg", city: "Strasbourg", country: "FR", latitude: 48.58, longitude: 7.75 }, ssh: { host: "203.0.113.20", port: 22, user: "root", hostKey: "" } };
    await assert.rejects(runOnServer(server, "true", { privateKeyFile: "/dev/null" }), /server bk-sbg host key \(ssh\.hostKey\): .*ssh-keyscan -t ed25519 203\.0\.113\.20/);
    assert.equal(hostKeyOf({ ...server, ssh: { ...server.ssh, hostKey: `${ED} c` } }), ED, "failover: the pinned key, its comment dropped");
    assert.throws(() => hostKeyOf({ ...server, ssh: { ...server.ssh, hostKey: `[203.0.113.20]:22 ${ED}` } }), /host field/);
  });

  it("--known-hosts is refused with a message saying the fleet config pins every key", () => {
    assert.throws(() => parseFleetArgs(["--known-hosts", "/tmp/kh"], {}), (e: Error) => e.message === KNOWN_HOSTS_GONE);
    assert.match(KNOWN_HOSTS_GONE, /ssh\.hostKey/);
  });
});

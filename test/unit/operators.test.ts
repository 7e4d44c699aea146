// Issue 22 point 3, operators declared: the fleet key `operators` (strict validation, generated bad
// cases), the deploy user's keys file and sshd drop-in (render/operators.ts), the rule on the pushed
// state (pushed.operator-keys), the stray-key judgement of the status (status/keys.ts, snapshot.ts).
import { testHostKey } from "../support/host-keys";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "../../infra/model/errors";
import { operatorsOn } from "../../infra/model/operators";
import { parseFleetConfig } from "../../infra/model/parse";
import { fingerprintOfBlob, publicKeyOfPrivateKey, publicKeyProblem } from "../../infra/model/ssh-keys";
import type { Fleet } from "../../infra/model/types";
import { ACCESS_PATHS, renderAccessKeys, renderServerAccess, renderSshdDropIn } from "../../infra/render/operators";
import { checkPushedOperatorKeys, type PushedBundle } from "../../infra/rules/pushed";
import { parseServerReport, serverScript } from "../../infra/status/collect";
import { strayKeys } from "../../infra/status/keys";
import { assessKeys, assessServer, snapshotSkeleton } from "../../infra/status/snapshot";
import { rng } from "../support/rng";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-operators-unit-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}
/** A fresh ed25519 public key line (node's crypto, the blob built by hand). */
function edKey(comment = "someone@laptop"): string {
  const { publicKey } = generateKeyPairSync("ed25519");
  const x = Buffer.from((publicKey.export({ format: "jwk" }) as { x: string }).x, "base64url");
  return `ssh-ed25519 ${Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(x)]).toString("base64")} ${comment}`;
}
const blobOf = (line: string) => line.split(" ")[1]!;

const SERVERS = [
  { name: "web-rbx", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.10", hostKey: testHostKey("web-rbx") } },
  { name: "bk-sbg", role: "backup", provider: "ovh", site: "sbg", ssh: { host: "203.0.113.20", user: "deploy", hostKey: testHostKey("bk-sbg") } },
  { name: "bk-waw", role: "backup", provider: "ovh", site: "waw", ssh: { host: "203.0.113.30", hostKey: testHostKey("bk-waw") } },
];
const FILE = "stacks/Pulumi.fleet.yaml";
const fleetOf = (operators: unknown): Fleet => parseFleetConfig({ servers: SERVERS, operators }, { stack: "fleet", file: FILE });
function issuesOf(operators: unknown): { keyPath: string; message: string; file: string }[] {
  try {
    fleetOf(operators);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => ({ keyPath: i.keyPath, message: i.message, file: i.file }));
  }
  return [];
}

const ALICE = edKey("alice@laptop");
const BOB = edKey("bob@desk");
const CAROL = edKey("carol");
const DEPLOY = edKey("ci");

describe("fleet key operators: parsing", () => {
  it("reads operators with their fingerprint, the declared comment dropped, and who each opens", () => {
    const fleet = fleetOf([
      { name: "alice", publicKey: ALICE },
      { name: "bob", publicKey: BOB, roles: ["backup"] },
      { name: "carol", publicKey: CAROL, servers: ["web-rbx"] },
    ]);
    assert.equal(fleet.operators!.length, 3);
    assert.equal(fleet.operators![0]!.publicKey, ALICE.split(" ").slice(0, 2).join(" "));
    assert.equal(fleet.operators![0]!.fingerprint, fingerprintOfBlob(blobOf(ALICE)));
    const on = (n: string) => operatorsOn(fleet, fleet.servers.find((s) => s.name === n)!).map((o) => o.name);
    assert.deepEqual(on("web-rbx"), ["alice", "carol"]);
    assert.deepEqual(on("bk-sbg"), ["alice", "bob"]);
    assert.deepEqual(on("bk-waw"), ["alice", "bob"]);
  });
  it("absent: access not managed; an empty list: managed, only the deploy key", () => {
    assert.equal(fleetOf(undefined).operators, undefined);
    assert.deepEqual(fleetOf([]).operators, []);
  });

  // Generated bad keys: each refused at operators[i].publicKey, in the fleet's file, saying what is expected.
  const blob = blobOf(ALICE);
  const rsaTyped = Buffer.concat([sshString(Buffer.from("ssh-rsa")), sshString(Buffer.alloc(32, 7))]).toString("base64");
  const BAD_KEYS: Array<[string, unknown, RegExp]> = [
    ["empty", "", /expected an OpenSSH public key line/],
    ["blank", "   ", /expected an OpenSSH public key line/],
    ["not a string", 42, /expected/],
    ["a list", [ALICE], /expected/],
    ["options first", `restrict ${ALICE}`, /no authorized_keys options/],
    ["from= options", `from="10.0.0.1" ${ALICE}`, /no authorized_keys options/],
    ["command= option", `command="/bin/sh",no-pty ${ALICE}`, /no authorized_keys options/],
    ["unknown type", `ssh-foo ${blob}`, /not accepted; expected one of/],
    ["dss", `ssh-dss ${blob}`, /not accepted/],
    ["certificate", `ssh-ed25519-cert-v01@openssh.com ${blob}`, /not accepted/],
    ["type only", "ssh-ed25519", /expected the base64 key/],
    ["not base64", "ssh-ed25519 AAAA$$$$", /not base64/],
    ["truncated base64", `ssh-ed25519 ${blob.slice(0, -3)}`, /not base64|not canonical|does not decode|not 32 bytes/],
    ["two lines", `${ALICE}\n${BOB}`, /one line/],
    ["carriage return", `${ALICE}\r`, /one line/],
    ["NUL", `${ALICE}\0`, /printable/],
    ["tab control", `ssh-ed25519\x01${blob}`, /printable/],
    ["type mismatch", `ssh-ed25519 ${rsaTyped}`, /a "ssh-rsa" key, not ssh-ed25519/],
    ["rsa line with ed25519 blob", `ssh-rsa ${blob}`, /a "ssh-ed25519" key, not ssh-rsa/],
    ["short ed25519", `ssh-ed25519 ${Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(Buffer.alloc(16))]).toString("base64")}`, /not 32 bytes/],
    ["a private key", "-----BEGIN OPENSSH PRIVATE KEY-----", /no authorized_keys options|not accepted/],
    ["a fingerprint", "SHA256:abc", /not accepted|no authorized_keys options/],
  ];
  // and every truncation / one-character change of a real blob (canonical base64 or decoding catches it)
  const gen = rng(22);
  for (let k = 0; k < 40; k++) {
    const b = blobOf(edKey());
    const cut = 4 + Math.floor(gen() * (b.length - 8));
    BAD_KEYS.push([`truncated at ${cut}`, `ssh-ed25519 ${b.slice(0, cut)}`, /base64|decode|32 bytes/]);
    const at = Math.floor(gen() * 20);
    const c = b[at] === "A" ? "B" : "A";
    const altered = b.slice(0, at) + c + b.slice(at + 1);
    if (at < 19) BAD_KEYS.push([`type bytes altered at ${at}`, `ssh-ed25519 ${altered}`, /not ssh-ed25519|decode|32 bytes|base64/]);
  }
  for (const [what, key, re] of BAD_KEYS) {
    it(`refuses a publicKey: ${what}`, () => {
      const issues = issuesOf([{ name: "alice", publicKey: ALICE }, { name: "mallory", publicKey: key }]);
      assert.equal(issues.length, 1, JSON.stringify(issues));
      assert.equal(issues[0]!.file, FILE);
      assert.equal(issues[0]!.keyPath, "dolibarr-backup:operators[1].publicKey");
      assert.match(issues[0]!.message, re);
    });
  }

  const BAD_NAMES: unknown[] = ["", "Alice", "1alice", "-a", "al ice", "al/ice", "al:ice", "a".repeat(64), "élodie", "root\n", 7, null];
  for (const name of BAD_NAMES) {
    it(`refuses the name ${JSON.stringify(name)}`, () => {
      const issues = issuesOf([{ name, publicKey: ALICE }]);
      assert.ok(issues.some((i) => i.keyPath === "dolibarr-backup:operators[0].name" && /expected/.test(i.message)), JSON.stringify(issues));
    });
  }
  it("refuses a name twice, the same key twice (with another comment), an unknown server, a server twice, servers and roles together, an unknown key", () => {
    const sameKeyOtherComment = `${ALICE.split(" ").slice(0, 2).join(" ")} alice-again`;
    const issues = issuesOf([
      { name: "alice", publicKey: ALICE },
      { name: "alice", publicKey: BOB },
      { name: "eve", publicKey: sameKeyOtherComment },
      { name: "carol", publicKey: CAROL, servers: ["web-rbx", "nowhere", "web-rbx"] },
      { name: "dan", publicKey: edKey(), servers: ["web-rbx"], roles: ["backup"] },
      { name: "fay", publicKey: edKey(), roles: ["hosting", "hosting"] },
    ]);
    const at = (p: string) => issues.filter((i) => i.keyPath === `dolibarr-backup:${p}`).map((i) => i.message).join(" | ");
    assert.match(at("operators[1].name"), /duplicate operator name "alice" \(already operators\[0\]\)/);
    assert.match(at("operators[2].publicKey"), /the same key as operators\[0\] \(alice\)/);
    assert.match(at("operators[3].servers[1]"), /unknown server "nowhere"; expected one of the fleet's servers: web-rbx, bk-sbg, bk-waw/);
    assert.match(at("operators[3].servers[2]"), /listed twice/);
    assert.match(at("operators[4].roles"), /both servers and roles/);
    assert.match(at("operators[5].roles"), /listed twice/);
  });
  it("refuses shapes: an unknown role, an unknown key, an empty servers list, not a list", () => {
    const at = (ops: unknown, p: string) => issuesOf(ops).filter((i) => i.keyPath === `dolibarr-backup:${p}`).map((i) => i.message).join(" | ");
    assert.match(at([{ name: "gus", publicKey: ALICE, roles: ["web"] }], "operators[0].roles[0]"), /expected one of "hosting", "backup"/);
    assert.match(at([{ name: "hal", publicKey: ALICE, sudo: true }], "operators[0].sudo"), /unknown key "sudo"/);
    assert.match(at([{ name: "ivy", publicKey: ALICE, servers: [] }], "operators[0].servers"), /at least one server/);
    assert.match(at([{ publicKey: ALICE }], "operators[0].name"), /missing/);
    assert.match(at({ alice: ALICE }, "operators"), /expected a list/);
  });
  it("accepts every key type ssh-keygen makes for a person, and reads the fleet's private key's public half like ssh-keygen -y", () => {
    for (const [t, bits] of [["ed25519", []], ["ecdsa", ["-b", "256"]], ["ecdsa", ["-b", "521"]], ["rsa", ["-b", "2048"]]] as const) {
      const f = path.join(tmp, `k-${t}-${bits.join("")}`);
      execFileSync("ssh-keygen", ["-q", "-t", t, ...bits, "-N", "", "-C", "x", "-f", f]);
      const pub = fs.readFileSync(`${f}.pub`, "utf8").trim();
      assert.equal(publicKeyProblem(pub), undefined, pub);
      assert.equal(publicKeyOfPrivateKey(fs.readFileSync(f, "utf8")), pub.split(" ").slice(0, 2).join(" "));
      const fp = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${f}.pub`], { encoding: "utf8" }).split(" ")[1];
      assert.equal(fingerprintOfBlob(blobOf(pub)), fp);
      // PEM (the older format) of the same key
      if (t === "rsa") {
        execFileSync("ssh-keygen", ["-q", "-p", "-m", "PEM", "-N", "", "-P", "", "-f", f]);
        assert.equal(publicKeyOfPrivateKey(fs.readFileSync(f, "utf8")), pub.split(" ").slice(0, 2).join(" "));
      }
    }
    assert.throws(() => publicKeyOfPrivateKey("-----BEGIN OPENSSH PRIVATE KEY-----\nTEST\n-----END OPENSSH PRIVATE KEY-----\n"), /not an openssh-key-v1|truncated|neither/);
  });
});

const THREE = () => fleetOf([
  { name: "alice", publicKey: ALICE },
  { name: "bob", publicKey: BOB, roles: ["backup"] },
  { name: "carol", publicKey: CAROL, servers: ["web-rbx"] },
]);
const declaredOf = (fleet: Fleet) =>
  new Map(fleet.servers.map((s) => [s.name, operatorsOn(fleet, s).map((o) => ({ name: o.name, fingerprint: o.fingerprint }))]));
const pushOf = (fleet: Fleet, server: string, deploy = DEPLOY): PushedBundle => ({
  id: `urn:${server}`,
  name: `${server}/operators/apply`,
  files: renderServerAccess(fleet, fleet.servers.find((s) => s.name === server)!, deploy).files,
});

describe("the deploy user's keys file and sshd drop-in", () => {
  it("holds the deploy key first, then each operator of the server, comments replaced; the drop-in names the user", () => {
    const fleet = THREE();
    const web = fleet.servers[0]!;
    const text = renderAccessKeys(fleet, web, DEPLOY);
    const keys = text.split("\n").filter((l) => l && !l.startsWith("#"));
    assert.deepEqual(keys, [
      `${DEPLOY.split(" ").slice(0, 2).join(" ")} dolibarr-backup deploy fleet`,
      `${ALICE.split(" ").slice(0, 2).join(" ")} operator:alice`,
      `${CAROL.split(" ").slice(0, 2).join(" ")} operator:carol`,
    ]);
    const b = renderServerAccess(fleet, fleet.servers[1]!, DEPLOY);
    assert.deepEqual(b.files.map((f) => [f.path, f.mode]), [
      ["/etc/ssh/dolibarr-backup/authorized_keys/deploy", "0644"],
      [ACCESS_PATHS.deployKey, "0644"],
      [ACCESS_PATHS.stagedDropIn, "0644"],
    ]);
    assert.equal(b.files[2]!.content, renderSshdDropIn("deploy"));
    assert.match(b.files[2]!.content, /^Match User deploy\n\tAuthorizedKeysFile \/etc\/ssh\/dolibarr-backup\/authorized_keys\/%u\n\tAuthorizedKeysCommand none\n/m);
    // the create validates before it reloads, and refuses a keys file without the deploy key
    assert.match(b.create, /sshd -t/);
    assert.match(b.create, /sshd -T -C user=deploy/);
    assert.ok(b.create.indexOf("sshd -t") < b.create.indexOf("systemctl reload"));
    assert.match(b.create, /the deploy key is not in/);
    assert.match(b.delete, /rm -f \/etc\/ssh\/sshd_config.d\/10-dolibarr-backup.conf/);
  });
  it("refuses a deploy key that is no key, an operator holding the deploy key, a fleet without operators, a hostile user name", () => {
    const fleet = THREE();
    assert.throws(() => renderServerAccess(fleet, fleet.servers[0]!, "ssh-ed25519 AAAA"), /the fleet's deploy public key: /);
    const same = fleetOf([{ name: "ci", publicKey: DEPLOY }]);
    assert.throws(() => renderServerAccess(same, same.servers[0]!, DEPLOY), /is the fleet's deploy key/);
    const none = fleetOf(undefined);
    assert.throws(() => renderServerAccess(none, none.servers[0]!, DEPLOY), /declares no operators/);
    assert.throws(() => renderSshdDropIn("root\nMatch all"), /cannot be written/);
  });
});

describe("pushed.operator-keys", () => {
  it("accepts every server's rendered push, for generated operator sets", () => {
    const gen = rng(7);
    for (let n = 0; n < 25; n++) {
      const ops = Array.from({ length: Math.floor(gen() * 6) }, (_, i) => {
        const r = gen();
        return { name: `op${i}`, publicKey: edKey(), ...(r < 0.3 ? { roles: [gen() < 0.5 ? "hosting" : "backup"] } : r < 0.6 ? { servers: [SERVERS[Math.floor(gen() * 3)]!.name] } : {}) };
      });
      const fleet = fleetOf(ops);
      const pushes = fleet.servers.map((s) => pushOf(fleet, s.name));
      assert.deepEqual(checkPushedOperatorKeys(declaredOf(fleet), pushes), []);
    }
  });
  // Generated tamperings of the pushed keys file: each one reported.
  const TAMPER: Array<[string, (lines: string[]) => string[], RegExp]> = [
    ["a stray key added", (l) => [...l, `${edKey().split(" ").slice(0, 2).join(" ")} operator:alice`], /second key|repeats/],
    ["an unnamed key added", (l) => [...l, edKey("mallory@evil")], /neither the deploy key nor a declared operator's/],
    ["an undeclared operator", (l) => [...l, `${edKey().split(" ").slice(0, 2).join(" ")} operator:mallory`], /mallory, who is not declared/],
    ["an operator removed", (l) => l.filter((x) => !x.endsWith("operator:carol")), /declared operator carol .* is missing/],
    ["the deploy key removed", (l) => l.filter((x) => !x.includes("dolibarr-backup deploy")), /0 deploy key lines/],
    ["the deploy key twice", (l) => [...l, l.find((x) => x.includes("dolibarr-backup deploy"))!], /2 deploy key lines|repeats/],
    ["another key as deploy", (l) => l.map((x) => (x.includes("dolibarr-backup deploy") ? `${edKey().split(" ").slice(0, 2).join(" ")} dolibarr-backup deploy fleet` : x)), /is not the deploy key/],
    ["alice's key swapped", (l) => l.map((x) => (x.endsWith("operator:alice") ? `${edKey().split(" ").slice(0, 2).join(" ")} operator:alice` : x)), /operator alice's key is SHA256:.*, declared SHA256:/],
    ["options on a key", (l) => l.map((x) => (x.endsWith("operator:alice") ? `no-pty ${x}` : x)), /has options/],
    ["a broken line", (l) => [...l, "ssh-ed25519"], /not a key line|not base64/],
  ];
  for (const [what, edit, re] of TAMPER) {
    it(`reports ${what}`, () => {
      const fleet = THREE();
      const p = pushOf(fleet, "web-rbx");
      const f = p.files[0]!;
      const lines = f.content.split("\n").filter(Boolean);
      const tampered = { ...p, files: [{ ...f, content: edit(lines).join("\n") + "\n" }, ...p.files.slice(1)] };
      const vs = checkPushedOperatorKeys(declaredOf(fleet), [tampered, pushOf(fleet, "bk-sbg"), pushOf(fleet, "bk-waw")]);
      assert.ok(vs.length >= 1 && vs.every((v) => v.ruleId === "pushed.operator-keys"), JSON.stringify(vs));
      assert.ok(vs.some((v) => re.test(v.message)), vs.map((v) => v.message).join("\n"));
    });
  }
  it("reports a push without the drop-in or with another one, a server without push, a keys file on a server declaring none", () => {
    const fleet = THREE();
    const p = pushOf(fleet, "web-rbx");
    const noDropIn = { ...p, files: p.files.filter((f) => f.path !== ACCESS_PATHS.stagedDropIn) };
    const otherDropIn = { ...p, files: p.files.map((f) => (f.path === ACCESS_PATHS.stagedDropIn ? { ...f, content: f.content.replace("AuthorizedKeysCommand none\n", "") } : f)) };
    const d = declaredOf(fleet);
    assert.match(checkPushedOperatorKeys(d, [noDropIn, pushOf(fleet, "bk-sbg"), pushOf(fleet, "bk-waw")])[0]!.message, /without the sshd drop-in/);
    assert.match(checkPushedOperatorKeys(d, [otherDropIn, pushOf(fleet, "bk-sbg"), pushOf(fleet, "bk-waw")])[0]!.message, /is not the drop-in for root/);
    assert.match(checkPushedOperatorKeys(d, [p, pushOf(fleet, "bk-sbg")]).map((v) => v.message).join(), /bk-waw: declares operators but no push writes its keys file/);
    assert.deepEqual(checkPushedOperatorKeys(d, [p, pushOf(fleet, "bk-sbg")], { complete: false }), []);
    assert.match(checkPushedOperatorKeys(new Map(), [p])[0]!.message, /declares no operators/);
  });
});

describe("stray keys (the status)", () => {
  const declared = [
    { fingerprint: fingerprintOfBlob(blobOf(DEPLOY)), who: "deploy" },
    { fingerprint: fingerprintOfBlob(blobOf(ALICE)), who: "operator:alice" },
  ];
  it("finds, for generated files, exactly the undeclared keys with where they are", () => {
    const gen = rng(99);
    for (let n = 0; n < 50; n++) {
      const files = ["/etc/ssh/dolibarr-backup/authorized_keys/root", "/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2"].map((p, fi) => {
        const lines: string[] = [];
        const expected: { line: number; fp: string }[] = [];
        const count = Math.floor(gen() * 6);
        for (let i = 0; i < count; i++) {
          const r = gen();
          if (r < 0.2) lines.push("# a comment");
          else if (r < 0.3) lines.push("");
          else if (r < 0.5) lines.push(gen() < 0.5 ? `${DEPLOY.split(" ").slice(0, 2).join(" ")} whatever` : ALICE);
          else {
            const k = edKey(`stray${i}`);
            const line = r < 0.7 ? `restrict,from="10.1.2.3" ${k}` : k;
            lines.push(line);
            expected.push({ line: lines.length, fp: fingerprintOfBlob(blobOf(k)) });
          }
        }
        return { file: { path: p, readBySshd: fi === 0, content: lines.join("\n") + "\n" }, expected };
      });
      const j = strayKeys(declared, files.map((f) => f.file));
      assert.deepEqual(j.problems, []);
      assert.deepEqual(
        j.stray.map((k) => [k.path, k.line, k.fingerprint, k.readBySshd]),
        files.flatMap((f) => f.expected.map((e) => [f.file.path, e.line, e.fp, f.file.readBySshd])),
      );
    }
  });
  it("an unreadable file, a broken line: problems, not keys; a path read twice counted once", () => {
    const j = strayKeys(declared, [
      { path: "/a", readBySshd: true },
      { path: "/b", readBySshd: false, content: "garbage here\n" },
      { path: "/c", readBySshd: true, content: `${BOB}\n` },
      { path: "/c", readBySshd: false, content: `${BOB}\n` },
    ]);
    assert.equal(j.stray.length, 1);
    assert.deepEqual(j.problems.map((p) => p.path), ["/a", "/b"]);
  });
  it("judges: undeclared in a file sshd reads is failing, in ~/.ssh a warning; another AuthorizedKeysFile or a keys command failing", () => {
    const base = { authorizedKeysFiles: ["/etc/ssh/dolibarr-backup/authorized_keys/%u"], authorizedKeysCommand: "none" };
    const ok = assessKeys(declared, { ...base, files: [{ path: "/etc/ssh/dolibarr-backup/authorized_keys/root", readBySshd: true, content: `${DEPLOY}\n${ALICE}\n` }] });
    assert.deepEqual(ok, { failing: [], warnings: [], unknown: [] });
    const home = assessKeys(declared, { ...base, files: [{ path: "/root/.ssh/authorized_keys", readBySshd: false, content: `${BOB}\n` }] });
    assert.equal(home.failing.length, 0);
    assert.match(home.warnings[0]!, new RegExp(`undeclared SSH key ${fingerprintOfBlob(blobOf(BOB)).replace(/[+/]/g, "\\$&")} .* in /root/.ssh/authorized_keys line 1: ignored by sshd`));
    const read = assessKeys(declared, { ...base, files: [{ path: "/etc/ssh/dolibarr-backup/authorized_keys/root", readBySshd: true, content: `${DEPLOY}\n${BOB}\n` }] });
    assert.match(read.failing[0]!, /undeclared SSH key SHA256:.* in \/etc\/ssh\/dolibarr-backup\/authorized_keys\/root line 2: sshd accepts it/);
    const notInForce = assessKeys(declared, { authorizedKeysFiles: [".ssh/authorized_keys", ".ssh/authorized_keys2"], authorizedKeysCommand: "/usr/bin/fetch-keys %u", files: [] });
    assert.equal(notInForce.failing.length, 2);
    assert.match(notInForce.failing.join(), /the drop-in is not in force/);
    assert.match(notInForce.failing.join(), /AuthorizedKeysCommand \/usr\/bin\/fetch-keys/);
    assert.match(assessKeys(declared, undefined).unknown[0]!, /no SSH keys part/);
  });
  it("the collector's script reads the keys for the deploy user and its report is judged per server", () => {
    const fleet = THREE();
    const topology = { fleet, clients: [] };
    const script = serverScript(topology, fleet.servers[1]!);
    assert.match(script, /sshd -T -C "user=\$ku,host=localhost,addr=127.0.0.1"/);
    assert.match(script, /ku='deploy'/);
    assert.doesNotMatch(serverScript({ fleet: fleetOf(undefined), clients: [] }, fleet.servers[1]!), /sshkeys/);
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const report = parseServerReport(
      [
        `health system-state ${b64("running")}`,
        `health ssh-akf ${b64("/etc/ssh/dolibarr-backup/authorized_keys/%u\n")}`,
        `health ssh-akc ${b64("none")}`,
        `sshkeys sshd ${b64(`/etc/ssh/dolibarr-backup/authorized_keys/root\n${DEPLOY}\n${ALICE}\n${CAROL}\n`)}`,
        `sshkeys home ${b64(`/root/.ssh/authorized_keys\n${BOB}\n`)}`,
        `sshkeys home ${b64("/root/.ssh/authorized_keys2\n!unreadable")}`,
        "end-of-report",
      ].join("\n"),
    );
    assert.equal(report.health!.sshKeys!.files.length, 3);
    const skeleton = snapshotSkeleton(topology, new Date("2026-01-01T00:00:00Z"), "UTC", { deployPublicKey: DEPLOY });
    const web = { ...skeleton.servers[0]!, reachable: true, health: { ...report.health!, notifier: undefined } };
    const state = assessServer(web);
    // carol is declared on web-rbx; bob (declared nowhere) in ~/.ssh and an unreadable ~/.ssh file: warnings only
    assert.equal(state.status, "ok", state.reasons.join());
    assert.match(state.warnings.join(), /undeclared SSH key .* in \/root\/.ssh\/authorized_keys line 1/);
    assert.match(state.warnings.join(), /\/root\/.ssh\/authorized_keys2 exists but could not be read/);
    const onBackup = assessServer({ ...skeleton.servers[1]!, reachable: true, health: report.health! });
    assert.equal(onBackup.status, "failing");
    // carol's key is not declared on bk-sbg: sshd reads it there
    assert.match(onBackup.reasons.join(), new RegExp(`undeclared SSH key ${fingerprintOfBlob(blobOf(CAROL)).replace(/[+/]/g, "\\$&")}.*sshd accepts it`));
  });
});

describe("npm run access (the listing)", () => {
  it("lists, per server, the deploy key, the operators it opens, the backup servers' pull users on hosting servers, the status reader", async () => {
    const { accessListing, renderAccessText } = await import("../../scripts/access");
    const fleet = THREE();
    const listing = accessListing(fleet, DEPLOY);
    const kinds = (n: string) => listing.find((s) => s.server === n)!.entries.map((e) => `${e.kind}:${e.who ?? ""}:${e.user}`);
    assert.deepEqual(kinds("web-rbx"), ["deploy:fleet fleet's sshPrivateKey:root", "operator:alice:root", "operator:carol:root", "backup-pull:bk-sbg:dbk-bk-sbg", "backup-pull:bk-waw:dbk-bk-waw", "status::root"]);
    assert.deepEqual(kinds("bk-sbg"), ["deploy:fleet fleet's sshPrivateKey:deploy", "operator:alice:deploy", "operator:bob:deploy", "status::deploy"]);
    const deploy = listing[0]!.entries[0]!;
    assert.equal(deploy.fingerprint, fingerprintOfBlob(blobOf(DEPLOY)));
    const pull = listing[0]!.entries.find((e) => e.kind === "backup-pull")!;
    assert.match(pull.how, /restrict,from="203\.0\.113\.20",command="\/usr\/bin\/rrsync -ro \/var\/lib\/dolibarr-backup\/export\/bk-sbg"/);
    const text = renderAccessText("fleet", listing);
    assert.match(text, new RegExp(`operator alice +as root +${fingerprintOfBlob(blobOf(ALICE)).replace(/[+/]/g, "\\$&")}`));
    // generated fleets: every operator appears exactly on the servers operatorsOn gives, with its fingerprint
    const gen = rng(5);
    for (let n = 0; n < 20; n++) {
      const ops = Array.from({ length: 1 + Math.floor(gen() * 4) }, (_, i) => ({ name: `op${i}`, publicKey: edKey(), ...(gen() < 0.5 ? { servers: [SERVERS[Math.floor(gen() * 3)]!.name] } : {}) }));
      const f = fleetOf(ops);
      for (const s of accessListing(f)) {
        const expected = operatorsOn(f, f.servers.find((x) => x.name === s.server)!).map((o) => `${o.name} ${o.fingerprint}`);
        assert.deepEqual(s.entries.filter((e) => e.kind === "operator").map((e) => `${e.who} ${e.fingerprint}`), expected);
        assert.equal(s.entries[0]!.fingerprint, undefined);
      }
    }
    // not managed: said so
    const unmanaged = accessListing(fleetOf(undefined));
    assert.ok(unmanaged.every((s) => !s.managed && s.entries.some((e) => e.kind === "unmanaged")));
  });
  it("reads the stack configs offline, --json, and refuses an unknown option", async () => {
    const { main } = await import("../../scripts/access");
    const dir = path.join(tmp, "stacks-access");
    fs.mkdirSync(dir, { recursive: true });
    const keyFile = path.join(tmp, "deploy-key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", keyFile]);
    fs.writeFileSync(
      path.join(dir, "Pulumi.fleet.yaml"),
      [
        "config:",
        "  dolibarr-backup:stackKind: fleet",
        "  dolibarr-backup:servers:",
        ...SERVERS.map((s) => `    - { name: ${s.name}, role: ${s.role}, provider: ${s.provider}, site: ${s.site}, ssh: { host: ${s.ssh.host}${"user" in s.ssh ? `, user: ${s.ssh.user}` : ""}, hostKey: "${s.ssh.hostKey}" } }`),
        "  dolibarr-backup:operators:",
        `    - { name: alice, publicKey: "${ALICE}" }`,
        "  dolibarr-backup:sshPrivateKey:",
        "    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBBBBBB",
        "",
      ].join("\n"),
    );
    const write = process.stdout.write.bind(process.stdout);
    let out = "";
    (process.stdout as unknown as { write: (s: string) => boolean }).write = (s: string) => ((out += s), true);
    let code: number;
    try {
      code = await main(["--stacks-dir", dir, "--json", "--ssh-key", keyFile]);
    } finally {
      (process.stdout as unknown as { write: typeof write }).write = write;
    }
    assert.equal(code, 0, out);
    const j = JSON.parse(out) as { fleet: string; servers: { server: string; entries: { kind: string; fingerprint?: string }[] }[] };
    assert.equal(j.fleet, "fleet");
    const fp = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${keyFile}.pub`], { encoding: "utf8" }).split(" ")[1];
    assert.equal(j.servers[0]!.entries[0]!.fingerprint, fp);
    assert.equal(j.servers[0]!.entries[1]!.fingerprint, fingerprintOfBlob(blobOf(ALICE)));
    const errWrite = process.stderr.write.bind(process.stderr);
    (process.stderr as unknown as { write: (s: string) => boolean }).write = () => true;
    try {
      assert.equal(await main(["--nope"]), 2);
    } finally {
      (process.stderr as unknown as { write: typeof errWrite }).write = errWrite;
    }
  });
});

// Configs that could harm a server, or that the deploy would refuse, are refused by the check: system
// and project directories, nested and shared directories and databases between instances (offline
// and in the client program), prototype-reaching keys, alias bombs and oversized files, derived
// names too long for Linux, host names in from=, IPv6 syntax, provider identifiers. Many generated
// cases per class; each names the file and the key.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { findCollisions } from "../../infra/model/collisions";
import { ConfigError } from "../../infra/model/errors";
import { MIN_SOURCE_PREFIX } from "../../infra/model/address";
import { loadStacksDir, MAX_EXPANDED_NODES, MAX_STACK_FILE_BYTES, parseStackFileText, refuseFleetCollisions } from "../../infra/model/load";
import { parseClientConfig, parseFleetConfig } from "../../infra/model/parse";
import { DEFAULT_PATH_ROOTS, PROJECT_DIRS, SYSTEM_DIRS, SYSTEM_TREES, pathProblem } from "../../infra/model/paths";
import { buildTopology } from "../../infra/model/topology";
import type { ClientStack } from "../../infra/model/types";
import { namespacedValues, unsafeConfigKeysError } from "../../infra/program/config";
import { PATHS } from "../../infra/render/paths";
import { renderBackupInstance, renderHostingAccess, renderServerBase } from "../../infra/render/server";
import { accessProblems } from "../../infra/rules/access";
import { planReplications } from "../../infra/model/schedule";
import { FAKE_SECURE, clientYaml, fleetYaml, removeDir, writeStacksDir } from "../support/stacks";
import { configError } from "../support/config-errors";
import { testHostKey } from "../support/host-keys";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const CLI = path.join(ROOT, "dist", "scripts", "check.js");
const SAMPLE_KEY = testHostKey("sample");

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));
function stacks(files: Record<string, string>): string {
  const d = writeStacksDir(files);
  dirs.push(d);
  return d;
}
function check(dir: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, "--stacks-dir", dir], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FLEET = "Pulumi.fleet.yaml";
const ACME = "Pulumi.client-acme.yaml";

/** A client file with one instance whose directories are given. */
function acmeWithDirs(d: { codeRoot?: string; documentsDir?: string; dumpDir?: string }, name = "acme-erp", db?: string): string {
  return `config:
  dolibarr-backup:stackKind: client
  dolibarr-backup:fleetStack: fleet
  dolibarr-backup:client: ${name.split("-")[0]}
  dolibarr-backup:instances:
    - name: ${name}
      hostingServer: web-rbx
      database: { name: ${db ?? `db_${name.replace(/-/g, "_")}`} }
      codeRoot: ${d.codeRoot ?? `/var/www/${name}/htdocs`}
      documentsDir: ${d.documentsDir ?? `/var/lib/dolibarr/${name}/documents`}
${d.dumpDir ? `      dumpDir: ${d.dumpDir}\n` : ""}      backupServers: [bk-sbg, bk-txl]
`;
}

function loadError(files: Record<string, string>): ConfigError {
  const dir = stacks(files);
  return configError(() => loadStacksDir(dir));
}

describe("paths: only below the allowed roots, never system or project directories", () => {
  const KEYS = ["codeRoot", "documentsDir", "dumpDir"] as const;
  const harmful = [
    ...SYSTEM_DIRS,
    ...SYSTEM_TREES.map((t) => `${t}/dolibarr`),
    ...PROJECT_DIRS.map((d) => `${d}/acme`),
    ...PROJECT_DIRS,
    "/srv/dolibarr-backup/mirrors/acme-erp",
    "/var/lib/dolibarr-backup/export/bk-sbg/acme-erp",
    "/data/acme",
    "/var/lib/postgresql/acme",
  ];

  it("refuses every system, project or outside directory as each instance directory, naming the key", () => {
    let cases = 0;
    for (const key of KEYS) {
      for (const dir of harmful) {
        if (dir === "/") continue; // not an absolute path of the schema's shape: refused earlier (tested below)
        const err = loadError({ [FLEET]: fleetYaml(), [ACME]: acmeWithDirs({ [key]: dir }) });
        const issue = err.issues.find((i) => i.keyPath === `dolibarr-backup:instances[0].${key}`);
        assert.ok(issue, `${key}: ${dir} accepted:\n${err.message}`);
        assert.ok(issue.file.endsWith(ACME) && issue.line !== undefined, `file and line of ${key} ${dir}`);
        cases++;
      }
    }
    assert.ok(cases > 150, `${cases} cases`);
  });

  it("accepts directories of their own below each default root (generated)", () => {
    const seg = fc.stringMatching(/^[a-z][a-z0-9._-]{0,20}$/).filter((s) => !s.includes(".."));
    fc.assert(
      fc.property(fc.constantFrom(...DEFAULT_PATH_ROOTS), fc.array(seg, { minLength: 1, maxLength: 4 }), (root, segs) => {
        const p = `${root}/${segs.join("/")}`;
        const problem = pathProblem(p, DEFAULT_PATH_ROOTS, PROJECT_DIRS);
        const inOwn = PROJECT_DIRS.some((d) => p === d || p.startsWith(d + "/"));
        const inSystem = SYSTEM_DIRS.includes(p);
        assert.equal(problem === undefined, !inOwn && !inSystem, `${p}: ${problem}`);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses every path not strictly below a root, whatever the roots (generated)", () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z]{1,6}$/), { minLength: 1, maxLength: 4 }), (segs) => {
        const p = `/${segs.join("/")}`;
        const problem = pathProblem(p, DEFAULT_PATH_ROOTS, PROJECT_DIRS);
        const below = DEFAULT_PATH_ROOTS.some((r) => p.startsWith(r + "/"));
        if (!below) assert.ok(problem, `${p} accepted`);
      }),
      { numRuns: 500 },
    );
  });

  it("pathRoots is configurable, and a root that is or holds a system directory is refused", () => {
    const withData = fleetYaml("  dolibarr-backup:pathRoots: [/data, /var/www]\n");
    const dir = stacks({ [FLEET]: withData, [ACME]: acmeWithDirs({ codeRoot: "/data/acme/htdocs", documentsDir: "/data/acme/documents", dumpDir: "/data/acme/dumps" }) });
    assert.doesNotThrow(() => loadStacksDir(dir));
    const err = loadError({ [FLEET]: fleetYaml("  dolibarr-backup:pathRoots: [/data]\n"), [ACME]: acmeWithDirs({}) });
    assert.ok(err.issues.some((i) => i.keyPath === "dolibarr-backup:instances[0].codeRoot" && /not below an allowed root/.test(i.message)), err.message);
    for (const bad of ["/var", "/usr", "/etc/dolibarr", "/var/lib/dolibarr-backup", "/usr/lib/x", "/var/log/x"]) {
      const e = loadError({ [FLEET]: fleetYaml(`  dolibarr-backup:pathRoots: [${bad}]\n`), [ACME]: acmeWithDirs({}) });
      assert.ok(e.issues.some((i) => i.keyPath === "dolibarr-backup:pathRoots[0]"), `${bad}: ${e.message}`);
    }
  });

  it("refuses a system or project directory as the mirror root (any directory of its own elsewhere is fine)", () => {
    for (const bad of ["/etc", "/var/lib", "/srv", "/home", "/etc/dolibarr-backup/m", "/var/lib/dolibarr-backup/m", "/root/mirrors", "/usr/lib/m", "/var/lib/dolibarr-backup"]) {
      const e = loadError({ [FLEET]: fleetYaml(`  dolibarr-backup:mirrorRoot: ${bad}\n`), [ACME]: acmeWithDirs({}) });
      assert.ok(e.issues.some((i) => i.keyPath === "dolibarr-backup:mirrorRoot" && i.line !== undefined), `${bad}: ${e.message}`);
    }
    assert.doesNotThrow(() => loadStacksDir(stacks({ [FLEET]: fleetYaml("  dolibarr-backup:mirrorRoot: /srv/backups/mirrors\n"), [ACME]: acmeWithDirs({}) })));
    assert.doesNotThrow(() => loadStacksDir(stacks({ [FLEET]: fleetYaml("  dolibarr-backup:mirrorRoot: /data/mirrors\n"), [ACME]: acmeWithDirs({}) })));
  });

  it("refuses a mirror root below /home: the sandboxed pulls could not write it (ProtectHome)", () => {
    for (const bad of ["/home/backup", "/home/backup/mirrors", "/home/a/b/c.d", "/home/dolibarr-backup", "/home/x/.mirrors"]) {
      const e = loadError({ [FLEET]: fleetYaml(`  dolibarr-backup:mirrorRoot: ${bad}\n`), [ACME]: acmeWithDirs({}) });
      assert.ok(e.issues.some((i) => i.keyPath === "dolibarr-backup:mirrorRoot" && /ProtectHome/.test(i.message)), `${bad}: ${e.message}`);
    }
    for (const fine of ["/homes/mirrors", "/srv/home/mirrors", "/data/home"]) {
      assert.doesNotThrow(() => loadStacksDir(stacks({ [FLEET]: fleetYaml(`  dolibarr-backup:mirrorRoot: ${fine}\n`), [ACME]: acmeWithDirs({}) })), fine);
    }
  });

  it("refuses an instance directory inside the fleet's mirror root", () => {
    const e = loadError({ [FLEET]: fleetYaml("  dolibarr-backup:mirrorRoot: /srv/backups/mirrors\n"), [ACME]: acmeWithDirs({ documentsDir: "/srv/backups/mirrors/acme/docs" }) });
    assert.ok(e.issues.some((i) => i.keyPath === "dolibarr-backup:instances[0].documentsDir" && /overlaps the project's own directory \/srv\/backups\/mirrors/.test(i.message)), e.message);
  });

  it("the project's own directories cover every directory the renderers write to", () => {
    const own = [PATHS.confDir, PATHS.stateDir, PATHS.lib, PATHS.exportRoot, PATHS.usersHome, PATHS.instancesDir, PATHS.sshDir, PATHS.statusDir];
    for (const p of own) {
      assert.ok(
        PROJECT_DIRS.some((d) => p === d || p.startsWith(d + "/")) || SYSTEM_TREES.some((t) => p.startsWith(t + "/")),
        `${p} is not protected`,
      );
    }
  });

  it("refuses a path component over 255 bytes and a path over 4095 bytes", () => {
    const long = "a".repeat(256);
    const e = loadError({ [FLEET]: fleetYaml(), [ACME]: acmeWithDirs({ documentsDir: `/var/lib/dolibarr/${long}` }) });
    assert.ok(e.issues.some((i) => i.keyPath === "dolibarr-backup:instances[0].documentsDir" && /256 bytes; expected at most 255/.test(i.message)), e.message);
    const deep = `/var/www/${Array.from({ length: 40 }, () => "b".repeat(120)).join("/")}`;
    const e2 = loadError({ [FLEET]: fleetYaml(), [ACME]: acmeWithDirs({ codeRoot: deep }) });
    assert.ok(e2.issues.some((i) => i.keyPath === "dolibarr-backup:instances[0].codeRoot" && /expected at most 4095/.test(i.message)), e2.message);
  });
});

describe("one instance's directories never nest", () => {
  it("refuses equal or nested code, documents and dump directories (every pair, both ways)", () => {
    const base = "/var/www/acme";
    const pairs: Array<[string, string]> = [
      ["codeRoot", "documentsDir"],
      ["codeRoot", "dumpDir"],
      ["documentsDir", "dumpDir"],
    ];
    let n = 0;
    for (const [a, b] of pairs) {
      for (const [pa, pb] of [
        [`${base}/x`, `${base}/x`],
        [`${base}/x`, `${base}/x/y`],
        [`${base}/x/y/z`, `${base}/x`],
      ] as const) {
        const d: Record<string, string> = { codeRoot: `${base}/c`, documentsDir: `${base}/d`, dumpDir: `${base}/u`, [a]: pa, [b]: pb };
        const e = loadError({ [FLEET]: fleetYaml(), [ACME]: acmeWithDirs(d) });
        assert.ok(e.issues.some((i) => i.keyPath === `dolibarr-backup:instances[0].${b}` && /nested|same directory/.test(i.message)), `${a}=${pa} ${b}=${pb}: ${e.message}`);
        n++;
      }
    }
    assert.equal(n, 9);
  });
});

describe("no two instances share a database or a directory on one host", () => {
  const fleet = parseFleetConfig(
    { servers: [
      { name: "web-rbx", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.10", hostKey: testHostKey("203.0.113.10") } },
      { name: "web-fra", role: "hosting", provider: "ionos", site: "de/fra", ssh: { host: "198.51.100.10", hostKey: testHostKey("198.51.100.10") } },
      { name: "bk-sbg", role: "backup", provider: "ovh", site: "sbg", ssh: { host: "203.0.113.20", hostKey: testHostKey("203.0.113.20") } },
      { name: "bk-txl", role: "backup", provider: "ionos", site: "de/txl", ssh: { host: "198.51.100.20", hostKey: testHostKey("198.51.100.20") } },
    ] },
    { stack: "fleet", file: "stacks/Pulumi.fleet.yaml" },
  );
  const client = (name: string, instances: Array<Record<string, unknown>>): ClientStack =>
    parseClientConfig(
      { fleetStack: "fleet", client: name, instances: instances.map((i) => ({ hostingServer: "web-rbx", backupServers: ["bk-sbg", "bk-txl"], ...i })) },
      { stack: `client-${name}`, file: `stacks/Pulumi.client-${name}.yaml` },
    );
  const inst = (name: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
    name,
    database: { name: `db_${name.replace(/-/g, "_")}` },
    codeRoot: `/var/www/${name}/htdocs`,
    documentsDir: `/var/lib/dolibarr/${name}/documents`,
    ...over,
  });

  it("finds shared databases and equal or nested directories, across and within clients, for every key pair (generated)", () => {
    const keys = ["codeRoot", "documentsDir", "dumpDir"] as const;
    const arb = fc.record({
      ka: fc.constantFrom(...keys),
      kb: fc.constantFrom(...keys),
      rel: fc.constantFrom("equal", "inside", "contains"),
      sameClient: fc.boolean(),
      sameHost: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, ({ ka, kb, rel, sameClient, sameHost }) => {
        const shared = "/srv/shared/x";
        const pb = rel === "equal" ? shared : rel === "inside" ? "/srv/shared" : `${shared}/deeper`;
        const a = inst("one-erp", { [ka]: shared });
        const b = inst("two-erp", { [kb]: pb, hostingServer: sameHost ? "web-rbx" : "web-fra" });
        const clients = sameClient ? [client("one", [a, b])] : [client("one", [a]), client("two", [b])];
        const found = findCollisions(clients);
        if (!sameHost) {
          assert.equal(found.length, 0);
          return;
        }
        assert.equal(found.length, 1, JSON.stringify(found));
        assert.equal(found[0]!.at.instance, "two-erp");
        assert.equal(found[0]!.at.key, kb);
        assert.equal(found[0]!.with.key, ka);
      }),
      { numRuns: 300 },
    );
    const dbs = findCollisions([client("one", [inst("one-erp", { database: { name: "dolibarr" } })]), client("two", [inst("two-erp", { database: { name: "dolibarr" } })])]);
    assert.equal(dbs.length, 1);
    assert.equal(dbs[0]!.kind, "database");
    assert.match(dbs[0]!.message, /database dolibarr on hosting server web-rbx is also used by instance one-erp \(client one/);
  });

  it("is linear: 20,000 instances on one host check in well under a second, and a single collision among them is found", () => {
    const many = Array.from({ length: 2000 }, (_, c) => client(`c${c}`, Array.from({ length: 10 }, (_, i) => inst(`c${c}-i${i}`))));
    const t0 = process.hrtime.bigint();
    assert.equal(findCollisions(many).length, 0);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.ok(ms < 5000, `${ms} ms`);
    many.push(client("late", [inst("late-erp", { documentsDir: "/var/lib/dolibarr/c1234-i5/documents/sub" })]));
    const found = findCollisions(many);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.with.instance, "c1234-i5");
  });

  it("the offline check refuses them with both files named (exit 2)", () => {
    const dir = stacks({
      [FLEET]: fleetYaml(),
      [ACME]: acmeWithDirs({}, "acme-erp", "dolibarr"),
      "Pulumi.client-zeta.yaml": acmeWithDirs({ documentsDir: "/var/lib/dolibarr/acme-erp/documents/zeta" }, "zeta-erp", "dolibarr"),
    });
    const r = check(dir);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /Pulumi\.client-zeta\.yaml:\d+:\d+: dolibarr-backup:instances\[0\]\.database\.name: database dolibarr on hosting server web-rbx is also used by instance acme-erp \(client acme, .*Pulumi\.client-acme\.yaml\)/);
    assert.match(r.stderr, /Pulumi\.client-zeta\.yaml:\d+:\d+: dolibarr-backup:instances\[0\]\.documentsDir: documentsDir \/var\/lib\/dolibarr\/acme-erp\/documents\/zeta on hosting server web-rbx is inside documentsDir/);
  });

  it("the client program refuses them too: it reads the fleet's other client stacks from the repository", () => {
    const dir = stacks({ [FLEET]: fleetYaml(), [ACME]: acmeWithDirs({}, "acme-erp", "dolibarr") });
    const zeta = client("zeta", [inst("zeta-erp", { database: { name: "dolibarr" }, codeRoot: "/var/www/acme-erp" })]);
    const e = configError(() => refuseFleetCollisions(zeta, dir));
    assert.equal(e.issues.length, 2, e.message);
    assert.ok(e.issues.some((i) => i.keyPath === "dolibarr-backup:instances[0].database.name" && /also used by instance acme-erp/.test(i.message)));
    assert.ok(e.issues.some((i) => i.keyPath === "dolibarr-backup:instances[0].codeRoot" && /collides with codeRoot \/var\/www\/acme-erp\/htdocs/.test(i.message)));
    // Its own file in the repository is replaced by the engine's values; other fleets' clients are not its business.
    const acmeAgain = client("acme", [inst("acme-erp", { database: { name: "dolibarr" } })]);
    assert.doesNotThrow(() => refuseFleetCollisions({ ...acmeAgain, stack: "client-acme" }, dir));
    assert.doesNotThrow(() => refuseFleetCollisions({ ...zeta, fleetStack: "other-fleet" }, dir));
    assert.doesNotThrow(() => refuseFleetCollisions(zeta, path.join(dir, "missing")));
    assert.ok(buildTopology(fleet, [zeta]));
  });
});

describe("parsing: bounded, and no key reaches an object prototype", () => {
  it("refuses an alias bomb with a config error naming the file (exit 2, no stack trace)", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
    const bomb = `config:\n  dolibarr-backup:stackKind: fleet\n  dolibarr-backup:lol:\n${levels.map((l) => `    ${l}`).join("\n")}\n`;
    const dir = stacks({ [FLEET]: bomb });
    const t0 = Date.now();
    const r = check(dir);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`Pulumi\\.fleet\\.yaml: \\(yaml\\): the document expands to more than ${MAX_EXPANDED_NODES} values`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.ok(Date.now() - t0 < 20_000);
  });

  it("accepts anchors and aliases that stay small", () => {
    const text = fleetYaml().replace("      ssh:\n", "      ssh: &ssh0\n");
    assert.equal(parseStackFileText(text, "stacks/Pulumi.fleet.yaml").kind, "fleet");
  });

  it("refuses a file over the size limit, naming it (exit 2)", () => {
    const big = fleetYaml() + `# ${"x".repeat(MAX_STACK_FILE_BYTES)}\n`;
    const r = check(stacks({ [FLEET]: big }));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Pulumi\.fleet\.yaml: \(file\): file is \d+ bytes; expected at most 1048576/);
  });

  it("refuses prototype-reaching keys at every level of a stack file, with the line (generated positions)", () => {
    const spots: Array<[string, string, RegExp]> = [];
    for (const key of ["__proto__", "constructor", "prototype"]) {
      spots.push([`  dolibarr-backup:${key}:\n    minDistanceKm: 0\n`, "end", new RegExp(`dolibarr-backup:${key}`)]);
      spots.push([`  dolibarr-backup:policy:\n    ${key}:\n      minDistanceKm: 0\n`, "end", new RegExp(`policy\\.${key}|policy\\["${key}"\\]`)]);
      spots.push([`      ${key}: { minDistanceKm: 0 }\n`, "server", new RegExp(`servers\\[0\\]\\.${key}`)]);
      spots.push([`        ${key}: x\n`, "ssh", new RegExp(`servers\\[0\\]\\.ssh\\.${key}`)]);
      spots.push([`${key}: 1\n`, "top", new RegExp(key)]);
    }
    for (const [text, where, keyRe] of spots) {
      const base = fleetYaml();
      const yaml =
        where === "end" ? base + text
        : where === "server" ? base.replace("      site: rbx\n", `      site: rbx\n${text}`)
        : where === "ssh" ? base.replace("        host: 203.0.113.10\n", `        host: 203.0.113.10\n${text}`)
        : text + base;
      const e = configError(() => parseStackFileText(yaml, "stacks/Pulumi.fleet.yaml"));
      const issue = e.issues.find((i) => keyRe.test(i.keyPath) && /prototype/.test(i.message));
      assert.ok(issue, `${JSON.stringify(text)}: ${e.message}`);
      assert.ok(issue.line !== undefined, `line of ${JSON.stringify(text)}`);
    }
    assert.equal(spots.length, 15);
  });

  it("refuses a policy hidden in the prototype of the engine's values (a `values[key] = …` with key __proto__)", () => {
    const values: Record<string, unknown> = { servers: [{ name: "web", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.1", hostKey: testHostKey("203.0.113.1") } }] };
    values["__proto__"] = { policy: { minDistanceKm: 0 } };
    assert.equal((values as { policy?: unknown }).policy !== undefined, true, "the prototype holds the hidden policy");
    const e = configError(() => parseFleetConfig(values, { stack: "fleet", file: "stacks/Pulumi.fleet.yaml" }));
    assert.match(e.message, /dolibarr-backup:__proto__: key "__proto__" reaches the object prototype/);
    const parsed = JSON.parse('{"fleetStack":"fleet","client":"acme","instances":[{"__proto__":{"x":1}}]}') as Record<string, unknown>;
    const e2 = configError(() => parseClientConfig(parsed, { stack: "client-acme", file: "stacks/Pulumi.client-acme.yaml" }));
    assert.match(e2.message, /instances\[0\]\.__proto__|instances\[0\]\["__proto__"\]/);
  });
});

describe("a prototype-reaching key is named, never dropped (generated: every key, depth, form and stack kind)", () => {
  const UNSAFE = ["__proto__", "constructor", "prototype"] as const;
  /** Where the key sits: below a top-level config key, along `path`, in YAML or in a JSON string (what `pulumi config set` writes). */
  const caseArb = fc.record({
    key: fc.constantFrom(...UNSAFE),
    top: fc.option(fc.constantFrom("policy", "servers", "instances", "snapshots", "extra"), { nil: undefined }),
    path: fc.array(fc.oneof(fc.constantFrom("a", "ssh", "schedule"), fc.integer({ min: 0, max: 2 })), { maxLength: 4 }),
    json: fc.boolean(),
    kind: fc.constantFrom(undefined, "fleet", "client", "bogus"),
  });
  /** JSON text of a value holding `key` along `path` (arrays padded before the index). */
  const nested = (key: string, path: readonly (string | number)[]): string =>
    path.reduceRight<string>((inner, seg) => (typeof seg === "number" ? `[${Array(seg).fill("0").concat(inner).join(",")}]` : `{${JSON.stringify(seg)}:${inner}}`), `{${JSON.stringify(key)}:{"minDistanceKm":0}}`);

  it("in a stack file: a config error naming the file, the key path and why, whatever else the file holds", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const file = "stacks/Pulumi.fleet.yaml";
        const value = c.top === undefined ? '"x"' : nested(c.key, c.path);
        const topKey = c.top ?? c.key;
        const lines = ["config:"];
        if (c.kind !== undefined) lines.push(`  dolibarr-backup:stackKind: ${c.kind}`);
        lines.push(`  dolibarr-backup:${topKey}: ${c.json ? `'${value}'` : value}`);
        const e = configError(() => parseStackFileText(lines.join("\n") + "\n", file));
        const issue = e.issues.find((i) => i.file === file && /reaches the object prototype/.test(i.message) && i.keyPath.includes(c.key));
        assert.ok(issue, `${lines.join(" | ")}: ${e.message}`);
        assert.ok(issue.keyPath.startsWith(`dolibarr-backup:${topKey}`), issue.keyPath);
      }),
      { numRuns: 300 },
    );
  });

  it("a file whose only key is dolibarr-backup:__proto__ is not reported as missing stackKind", () => {
    const e = configError(() => parseStackFileText("config:\n  dolibarr-backup:__proto__: fleet\n", "stacks/Pulumi.fleet.yaml"));
    assert.match(e.message, /stacks\/Pulumi\.fleet\.yaml:2:3: dolibarr-backup:__proto__: key "__proto__" reaches the object prototype/);
    assert.doesNotMatch(e.message, /stackKind/);
  });

  it("from the engine: the key is kept as an own key and named before stackKind is read", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const all: Record<string, string> = {};
        if (c.kind !== undefined) all["dolibarr-backup:stackKind"] = c.kind;
        all[`dolibarr-backup:${c.top ?? c.key}`] = c.top === undefined ? "x" : nested(c.key, c.path);
        const values = namespacedValues(all);
        assert.equal(Object.getPrototypeOf(values), Object.prototype);
        const error = unsafeConfigKeysError(values, "fleet");
        assert.ok(error, JSON.stringify(all));
        assert.match(error.message, /^stack fleet \(stacks\/Pulumi\.fleet\.yaml\): dolibarr-backup:/);
        assert.ok(error.message.includes(`key "${c.key}" reaches the object prototype`), error.message);
      }),
      { numRuns: 300 },
    );
  });
});

describe("everything the deploy would refuse is refused by the check", () => {
  it("backup server names whose Unix user dbk-<name> would exceed 32 characters (every length)", () => {
    for (let len = 20; len <= 63; len++) {
      const name = `bk-${"x".repeat(len - 3)}`;
      const yaml = fleetYaml().replace("name: bk-txl", `name: ${name}`);
      const file = "stacks/Pulumi.fleet.yaml";
      if (len <= 28) {
        const sf = parseStackFileText(yaml, file);
        assert.equal(sf.kind, "fleet");
        if (sf.kind !== "fleet") continue;
        const bk = sf.fleet.servers.find((s) => s.name === name)!;
        const web = sf.fleet.servers.find((s) => s.name === "web-rbx")!;
        assert.ok(renderHostingAccess(sf.fleet, web, bk, SAMPLE_KEY).user.length <= 32);
      } else {
        const e = configError(() => parseStackFileText(yaml, file));
        assert.ok(e.issues.some((i) => i.keyPath === "dolibarr-backup:servers[4].name" && /dbk-.* would exceed Linux's 32; expected at most 28 characters/.test(i.message) && i.line !== undefined), e.message);
      }
    }
  });

  it("every accepted config renders: a hundred generated fleets and clients go through every renderer", () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,26}[a-z0-9]$/);
    fc.assert(
      fc.property(name, name, fc.stringMatching(/^[A-Za-z0-9_]{1,64}$/), (bk, inst, db) => {
        fc.pre(bk !== "web-rbx" && !["bk-sbg", "bk-waw"].includes(bk) && bk !== "web-fra");
        const yaml = fleetYaml().replace(/name: bk-txl/, `name: ${bk}`);
        let fleetFile;
        try {
          fleetFile = parseStackFileText(yaml, "stacks/Pulumi.fleet.yaml");
        } catch {
          return; // refused by the check: nothing to deploy
        }
        if (fleetFile.kind !== "fleet") return;
        const clientText = clientYaml("acme", [{ name: inst, hosting: "web-rbx", backups: ["bk-sbg", bk] }]).replace(/name: db_\S+/, `name: ${db}`);
        let clientFile;
        try {
          clientFile = parseStackFileText(clientText, "stacks/Pulumi.client-acme.yaml");
        } catch {
          return;
        }
        if (clientFile.kind !== "client") return;
        const topology = buildTopology(fleetFile.fleet, [clientFile.client]);
        for (const s of topology.fleet.servers) renderServerBase(topology.fleet, s);
        const web = topology.fleet.servers.find((s) => s.name === "web-rbx")!;
        for (const s of topology.fleet.servers.filter((x) => x.role === "backup")) renderHostingAccess(topology.fleet, web, s, SAMPLE_KEY);
        for (const plan of planReplications(topology)) renderBackupInstance(topology, clientFile.client.instances[0]!, plan);
      }),
      { numRuns: 100 },
    );
  });
});

/** The fleet file with sourceAddresses given to the backup servers declared at these hosts. */
function withSources(fleet: string, byHost: Record<string, string[]>): string {
  let out = fleet;
  for (const [host, sources] of Object.entries(byHost)) {
    out = out.replace(`        host: ${host}\n`, `        host: ${host}\n      sourceAddresses: [${sources.map((a) => `"${a}"`).join(", ")}]\n`);
  }
  return out;
}

describe("addresses", () => {
  const file = "stacks/Pulumi.fleet.yaml";
  it("refuses hosts that are neither an address nor a host name (generated and listed)", () => {
    const bad = ["web rbx", "-web.example", "web-.example", "web..example", "1.2.3", "256.1.1.1", "01.2.3.4", "fe80::1%eth0", "2001:db8:::1", "a".repeat(64) + ".example", "x_y.example", "example.123", ":::", "[::1]"];
    for (const host of bad) {
      const e = configError(() => parseStackFileText(fleetYaml().replace("host: 203.0.113.10", `host: "${host}"`), file));
      assert.ok(e.issues.some((i) => i.keyPath === "dolibarr-backup:servers[0].ssh.host"), `${host}: ${e.message}`);
    }
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()), (host) => {
        const sf = parseStackFileText(fleetYaml().replace("host: 203.0.113.10", `host: "${host}"`), file);
        assert.equal(sf.kind, "fleet");
      }),
      { numRuns: 300 },
    );
  });

  it("a backup server declared by host name needs sourceAddresses, and says why", () => {
    const byName = fleetYaml().replace("host: 198.51.100.20", "host: bk-txl.example.net");
    const e = configError(() => parseStackFileText(byName, file));
    const issue = e.issues.find((i) => i.keyPath === "dolibarr-backup:servers[4].sourceAddresses");
    assert.ok(issue && /UseDNS no/.test(issue.message) && issue.line !== undefined, e.message);
    const withSources = byName.replace("        host: bk-txl.example.net\n", "        host: bk-txl.example.net\n      sourceAddresses: [198.51.100.20, \"2001:db8:20::/48\"]\n");
    const sf = parseStackFileText(withSources, file);
    assert.equal(sf.kind, "fleet");
    if (sf.kind !== "fleet") return;
    const bk = sf.fleet.servers.find((s) => s.name === "bk-txl")!;
    const access = renderHostingAccess(sf.fleet, sf.fleet.servers[0]!, bk, SAMPLE_KEY);
    assert.ok(access.keyOptions.includes('from="198.51.100.20,2001:db8:20::/48"'), access.keyOptions.join(" "));
    assert.deepEqual(accessProblems(access.keyOptions), []);
  });

  it("refuses bad source addresses: host bits set, prefix out of range, names; and on hosting servers", () => {
    for (const bad of ["198.51.100.1/24", "2001:db8::1/48", "10.0.0.0/33", "::/129", "bk.example.net", "10.0.0.0/", "x/8"]) {
      const yaml = fleetYaml().replace("        host: 198.51.100.20\n", `        host: 198.51.100.20\n      sourceAddresses: ["${bad}"]\n`);
      const e = configError(() => parseStackFileText(yaml, file));
      assert.ok(e.issues.some((i) => i.keyPath === "dolibarr-backup:servers[4].sourceAddresses[0]"), `${bad}: ${e.message}`);
    }
    const onHosting = fleetYaml().replace("        host: 203.0.113.10\n", "        host: 203.0.113.10\n      sourceAddresses: [203.0.113.10]\n");
    assert.match(configError(() => parseStackFileText(onHosting, file)).message, /servers\[0\]\.sourceAddresses: only backup servers pull/);
  });

  it("refuses source blocks wider than a /24 (IPv4) or /48 (IPv6), generated, in the config and in a pushed from=", () => {
    const base = ["restrict", 'command="/usr/bin/rrsync -ro /x"'];
    const withBlock = (block: string) => fleetYaml().replace("        host: 198.51.100.20\n", `        host: 198.51.100.20\n      sourceAddresses: ["198.51.100.20", "${block}"]\n`);
    // The network address of the block of length len around a generated address: host bits zero.
    const v4Block = fc.tuple(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })).map(([octets, len]) => {
      const n = (octets.reduce((a, o) => a * 256 + o, 0) >>> 0) & (len === 0 ? 0 : (~0 << (32 - len)) >>> 0);
      return { block: `${[24, 16, 8, 0].map((sh) => (n >>> sh) & 255).join(".")}/${len}`, len, min: MIN_SOURCE_PREFIX[4] };
    });
    const v6Block = fc.tuple(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 128 })).map(([groups, len]) => {
      const masked = groups.map((g, i) => g & (len >= (i + 1) * 16 ? 0xffff : len <= i * 16 ? 0 : (0xffff << (16 - (len - i * 16))) & 0xffff));
      return { block: `${masked.map((g) => g.toString(16)).join(":")}/${len}`, len, min: MIN_SOURCE_PREFIX[6] };
    });
    let wide = 0;
    fc.assert(
      fc.property(fc.oneof(v4Block, v6Block), ({ block, len, min }) => {
        const pushed = accessProblems([...base, `from="198.51.100.20,${block}"`]);
        let error: ConfigError | undefined;
        try {
          parseStackFileText(withBlock(block), file);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          error = e;
        }
        if (len < min) {
          wide++;
          assert.ok(error?.issues.some((i) => i.keyPath === "dolibarr-backup:servers[4].sourceAddresses[1]" && /any machine in it could use the backup server's key/.test(i.message)), `${block}: ${error?.message ?? "accepted"}`);
          assert.match(pushed.join(), /any machine in it could use/, block);
        } else {
          assert.equal(error, undefined, `${block}: ${error?.message}`);
          assert.deepEqual(pushed, [], block);
        }
      }),
      { numRuns: 400 },
    );
    assert.ok(wide > 100, `only ${wide} wide blocks generated`);
    for (const edge of ["0.0.0.0/0", "::/0", "10.0.0.0/23", "2001:db8::/47"]) assert.match(accessProblems([...base, `from="${edge}"`]).join(), /any machine in it/, edge);
    for (const edge of ["10.0.0.0/24", "2001:db8::/48", "2001:db8::7/128"]) assert.deepEqual(accessProblems([...base, `from="${edge}"`]), [], edge);
  });

  it("a pushed from= with wildcards wider than one IPv4 octet binds the key to nothing and is flagged", () => {
    const base = ["restrict", 'command="/usr/bin/rrsync -ro /x"'];
    for (const wide of ["*", "*.*.*.*", "203.0.*.*", "203.0.113*", "2001:db8::*", "*:*", "?*", "198.51.100.20,*"]) {
      assert.match(accessProblems([...base, `from="${wide}"`]).join(), /matches more than one \/24/, wide);
    }
    for (const narrow of ["203.0.113.*", "203.0.113.1?", "203.0.113.20,!203.0.113.*", "198.51.100.20,!*"]) {
      assert.deepEqual(accessProblems([...base, `from="${narrow}"`]), [], narrow);
    }
  });

  it("access.restricted-ssh flags a from= that names hosts (sshd would always refuse the key)", () => {
    const base = ["restrict", 'command="/usr/bin/rrsync -ro /x"'];
    assert.deepEqual(accessProblems([...base, 'from="203.0.113.7"']), []);
    assert.deepEqual(accessProblems([...base, 'from="2001:db8::7,198.51.100.0/24"']), []);
    assert.deepEqual(accessProblems([...base, 'from="203.0.113.*"']), []);
    assert.match(accessProblems([...base, 'from="bk.example.net"']).join(), /host name/);
    assert.match(accessProblems([...base, 'from="*.example.net"']).join(), /matches host names/);
    assert.match(accessProblems([...base, 'from="10.0.0.1/8"']).join(), /host bits/);
  });

  it("IPv6 hosting servers: the replication source is user@[v6]:path and known_hosts pins [v6]:port", () => {
    const v6 = withSources(fleetYaml().replace("host: 203.0.113.10", 'host: "2001:db8::10"\n        port: 2222'), { "203.0.113.20": ["203.0.113.20", "2001:db8:20::/64"], "198.51.100.20": ["2001:db8:21::7"] });
    const sf = parseStackFileText(v6, file);
    assert.equal(sf.kind, "fleet");
    if (sf.kind !== "fleet") return;
    const client = parseStackFileText(clientYaml("acme", [{ name: "acme-erp", hosting: "web-rbx", backups: ["bk-sbg", "bk-txl"] }]), "stacks/Pulumi.client-acme.yaml");
    if (client.kind !== "client") return assert.fail();
    const topology = buildTopology(sf.fleet, [client.client]);
    const plan = planReplications(topology)[0]!;
    const env = renderBackupInstance(topology, client.client.instances[0]!, plan).files[0]!.content;
    assert.match(env, /^SOURCE_HOST='\[2001:db8::10\]'$/m);
    const withKey = { ...sf.fleet, servers: sf.fleet.servers.map((s) => (s.name === "web-rbx" ? { ...s, ssh: { ...s.ssh, hostKey: SAMPLE_KEY } } : s)) };
    const known = renderServerBase(withKey, withKey.servers.find((s) => s.role === "backup")!).files.find((f) => f.path.endsWith("known_hosts"))!;
    assert.match(known.content, /^\[2001:db8::10\]:2222 ssh-ed25519 /m);
  });
});

describe("address families: a backup server pulls from a hosting address only with a source address of its family", () => {
  const client = clientYaml("acme", [{ name: "acme-erp", hosting: "web-rbx", backups: ["bk-sbg", "bk-txl"] }]);
  const byte = fc.integer({ min: 1, max: 254 });
  const group = fc.integer({ min: 1, max: 0xffff }).map((n) => n.toString(16));
  const v4 = fc.tuple(byte, byte, byte).map(([a, b, c]) => `10.${a}.${b}.${c}`);
  const v6 = fc.tuple(group, group, fc.boolean()).map(([a, b, upper]) => (upper ? `2001:DB8:${a}::${b}`.toUpperCase() : `2001:db8:${a}:0:0:0:0:${b}`));
  const source = fc.oneof(v4, v6, v6.map((a) => `${a}/128`), v4.map((a) => `${a}/32`), fc.constant("2001:db8::/48"), fc.constant("10.0.0.0/24"));

  it("generated fleets: refused exactly when the hosting server is an address and no source address has its family; the check and the program agree", () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6, fc.constant("web-rbx.example.net")), fc.array(source, { minLength: 1, maxLength: 3 }), (hostingHost, sources) => {
        const fleet = withSources(fleetYaml().replace("host: 203.0.113.10", `host: "${hostingHost}"`), { "198.51.100.20": sources, "203.0.113.20": ["203.0.113.20", "2001:db8:20::/48"] });
        const family = hostingHost.includes(":") ? 6 : /^\d/.test(hostingHost) ? 4 : undefined;
        const covered = family === undefined || sources.some((a) => (a.includes(":") ? 6 : 4) === family);
        const dir = stacks({ [FLEET]: fleet, [ACME]: client });
        let error: ConfigError | undefined;
        try {
          loadStacksDir(dir);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          error = e;
        }
        assert.equal(error === undefined, covered, `${hostingHost} from ${sources.join(", ")}: ${error?.message ?? "accepted"}`);
        if (error) {
          const issue = error.issues.find((i) => i.keyPath === "dolibarr-backup:instances[0].backupServers[1]");
          assert.ok(issue, error.message);
          assert.match(issue.message, new RegExp(`bk-txl pulls this instance from hosting server web-rbx: .*no IPv${family} address.*declare servers\\[4\\]\\.sourceAddresses in \\S*/${FLEET.replace(/\./g, "\\.")} with its addresses of both families$`));
          assert.equal(error.issues.length, 1, error.message);
          const r = check(dir);
          assert.equal(r.status, 2, r.stdout + r.stderr);
          assert.match(r.stderr + r.stdout, /instances\[0\]\.backupServers\[1\]/);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("the same machine written two ways (fd00:77::12, FD00:77:0::12) is caught by backup.not-hosting", async () => {
    const { backupNotHosting } = await import("../../infra/rules/rules");
    const fleet = withSources(fleetYaml().replace("host: 203.0.113.10", 'host: "fd00:77::12"').replace("host: 198.51.100.20", 'host: "FD00:77:0::12"'), { "203.0.113.20": ["2001:db8:20::/48"] });
    const sf = parseStackFileText(fleet, "stacks/Pulumi.fleet.yaml");
    const c = parseStackFileText(client, "stacks/Pulumi.client-acme.yaml");
    if (sf.kind !== "fleet" || c.kind !== "client") return assert.fail();
    const vs = backupNotHosting.check(buildTopology(sf.fleet, [c.client]));
    assert.equal(vs.length, 1, JSON.stringify(vs));
    assert.match(vs[0]!.message, /backup server bk-txl is the same machine as hosting server web-rbx/);
  });
});

describe("provider identifiers", () => {
  const file = "stacks/Pulumi.fleet.yaml";
  const withOvh = (serviceName: string, kind: string) =>
    fleetYaml().replace("      site: rbx\n", `      site: rbx\n      ovh: { serviceName: "${serviceName}", kind: ${kind} }\n`);
  it("accepts OVH service names of the documented shapes", () => {
    for (const [name, kind] of [["ns3012345.ip-203-0-113.eu", "dedicated"], ["ks123456.kimsufi.com", "dedicated"], ["vps-1a2b3c4d.vps.ovh.net", "vps"], ["vps-0f0f0f0f.vps.ovh.ca", "vps"], ["vps123456.ovh.net", "vps"]]) {
      assert.equal(parseStackFileText(withOvh(name!, kind!), file).kind, "fleet", name);
    }
  });
  it("refuses others, naming the key", () => {
    for (const [name, kind] of [["ns1", "dedicated"], ["", "dedicated"], ["NS1.IP-1-2-3.EU", "dedicated"], ["ns1.ip-1-2-3.eu; rm", "dedicated"], ["vps-xyz.vps.ovh.net", "vps"], ["ns3012345.ip-203-0-113.eu", "vps"], ["vps-1a2b3c4d.vps.ovh.com", "vps"]]) {
      const e = configError(() => parseStackFileText(withOvh(name!, kind!), file));
      assert.ok(e.issues.some((i) => i.keyPath === "dolibarr-backup:servers[0].ovh.serviceName"), `${name}: ${e.message}`);
    }
  });
  it("refuses IONOS ids that are not UUIDs", () => {
    for (const id of ["dc-1", "2b4d6f80-9a1c-4e3d-b5f7-c8d9e0f1a2b", "2b4d6f80-9a1c-4e3d-b5f7-c8d9e0f1a2b3x", "2b4d6f809a1c4e3db5f7c8d9e0f1a2b3"]) {
      const yaml = fleetYaml().replace("      site: de/fra\n", `      site: de/fra\n      ionos: { datacenterId: "${id}", serverId: "2b4d6f80-9a1c-4e3d-b5f7-c8d9e0f1a2b3" }\n`);
      const e = configError(() => parseStackFileText(yaml, file));
      assert.ok(e.issues.some((i) => i.keyPath === "dolibarr-backup:servers[1].ionos.datacenterId"), `${id}: ${e.message}`);
    }
  });
  it("refuses an OVH application key that is not letters and digits", () => {
    const yaml = fleetYaml(`  dolibarr-backup:ovh:\n    endpoint: ovh-eu\n    applicationKey: "k y"\n    applicationSecret:\n      secure: ${FAKE_SECURE}\n    consumerKey:\n      secure: ${FAKE_SECURE}\n`);
    assert.match(configError(() => parseStackFileText(yaml, file)).message, /ovh\.applicationKey: expected the OVH application key/);
  });
});

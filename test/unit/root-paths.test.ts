// Issue 22, point 5, the model's half: what a config may hand to the root jobs. An instance's
// database is never a system database of MariaDB (any case); its directories lie below the allowed
// roots, which no longer hold /home nor /opt by default and may be per client (<client>); many
// generated hostile configs (traversal, trailing slashes, "//", look-alike characters, system
// trees) are refused, each naming the file, the line and the key. The server jobs' own check of the
// same paths on disk is test/integration/root-paths.test.ts.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { ConfigError } from "../../infra/model/errors";
import { loadStacksDir } from "../../infra/model/load";
import { DEFAULT_PATH_ROOTS, rootsForClient } from "../../infra/model/paths";
import { PROJECT_DATABASES, SYSTEM_DATABASES, databaseNameProblem } from "../../infra/model/safe";
import { instancePathRoots, renderHostingInstance } from "../../infra/render/server";
import { sampleInstance, sampleTopology } from "../support/jobs-topology";
import { fleetYaml, removeDir, writeStacksDir } from "../support/stacks";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const FLEET = "Pulumi.fleet.yaml";
const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

/** A client file with one instance; every value given is written as a JSON (so YAML double-quoted) string. */
function clientFile(client: string, v: { db?: string; codeRoot?: string; documentsDir?: string; dumpDir?: string; name?: string } = {}): string {
  const name = v.name ?? `${client}-erp`;
  const q = (s: string) => JSON.stringify(s);
  return `config:
  dolibarr-backup:stackKind: client
  dolibarr-backup:fleetStack: fleet
  dolibarr-backup:client: ${client}
  dolibarr-backup:instances:
    - name: ${name}
      hostingServer: web-rbx
      database: { name: ${q(v.db ?? `db_${name.replace(/-/g, "_")}`)} }
      codeRoot: ${q(v.codeRoot ?? `/var/www/${name}/htdocs`)}
      documentsDir: ${q(v.documentsDir ?? `/var/lib/dolibarr/${name}/documents`)}
${v.dumpDir !== undefined ? `      dumpDir: ${q(v.dumpDir)}\n` : ""}      backupServers: [bk-sbg, bk-txl]
`;
}

function load(files: Record<string, string>): ConfigError | undefined {
  const d = writeStacksDir(files);
  dirs.push(d);
  try {
    loadStacksDir(d);
    return undefined;
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
}

/** The one issue at KEY of instance 0 of the client file, with its file and line; fails when the config was accepted. */
function refusedAt(files: Record<string, string>, clientFileName: string, key: string, re?: RegExp): string {
  const e = load(files);
  assert.ok(e, `accepted: ${JSON.stringify(files[clientFileName])}`);
  const issue = e.issues.find((i) => i.keyPath === `dolibarr-backup:instances[0].${key}`);
  assert.ok(issue, `no issue at ${key}:\n${e.message}`);
  assert.ok(issue.file.endsWith(clientFileName) && issue.line !== undefined, `file and line of ${key}: ${issue.file}:${issue.line}`);
  if (re) assert.match(issue.message, re);
  return issue.message;
}

/** The same name with each letter's case drawn by `flips`. */
function recase(name: string, flips: boolean[]): string {
  return [...name].map((ch, i) => (flips[i % flips.length] ? ch.toUpperCase() : ch)).join("");
}

describe("an instance's database is never one of MariaDB's own", () => {
  it("refuses mysql, sys, information_schema, performance_schema and the project's heartbeat in any case (generated), naming the file, line and key", () => {
    let n = 0;
    fc.assert(
      fc.property(fc.constantFrom(...SYSTEM_DATABASES, ...PROJECT_DATABASES), fc.array(fc.boolean(), { minLength: 1, maxLength: 24 }), (db, flips) => {
        const name = recase(db, flips);
        const files = { [FLEET]: fleetYaml(), "Pulumi.client-acme.yaml": clientFile("acme", { db: name }) };
        const message = refusedAt(files, "Pulumi.client-acme.yaml", "database.name", /expected the instance's own database \(e\.g\. dolibarr_acme\)/);
        assert.ok(message.startsWith(name), message);
        n++;
      }),
      { numRuns: 120 },
    );
    assert.ok(n >= 120);
  });

  it("accepts names that only contain them (mysql_acme, dolibarr_sys, information_schema_x)", () => {
    for (const db of ["mysql_acme", "dolibarr_sys", "information_schema_x", "sys1", "xmysql", "performance_schema2"]) {
      assert.equal(databaseNameProblem(db), undefined, db);
      assert.equal(load({ [FLEET]: fleetYaml(), "Pulumi.client-acme.yaml": clientFile("acme", { db }) }), undefined, db);
    }
  });

  it("the renderer refuses them too (a topology built by hand)", () => {
    const topology = sampleTopology();
    for (const db of ["mysql", "MySQL", "SYS", "Information_Schema", "performance_SCHEMA", "dolibarr_backup_heartbeat"]) {
      const inst = sampleInstance("acme-erp", { database: { name: db } });
      assert.throws(() => renderHostingInstance(topology, inst), /system database|project.s own database/, db);
    }
  });
});

describe("instance directories: hostile paths (generated), each refused naming the file, line and key", () => {
  const KEYS = ["codeRoot", "documentsDir", "dumpDir"] as const;
  const seg = fc.stringMatching(/^[a-z][a-z0-9_-]{0,12}$/);
  const goodPath = fc.tuple(fc.constantFrom(...DEFAULT_PATH_ROOTS), fc.array(seg, { minLength: 1, maxLength: 3 })).map(([r, s]) => `${r}/${s.join("/")}`);
  // Characters that look like a path's own: slashes, dots, Latin letters of other scripts, invisible ones.
  const LOOKALIKES = ["\u2215", "\u2044", "\uff0f", "\u29f8", "\u3002", "\uff0e", "\u0430", "\u0435", "\u043e", "\u0440", "\u0455", "\u0131", "\uff57", "\u00a0", "\u200b", "\u200d", "\u0301", "\ufeff"];
  const hostile = fc.oneof(
    // traversal: a ".." or "." component anywhere, out of the roots or back into one
    fc.tuple(goodPath, fc.nat(), fc.constantFrom("..", ".", "../..", "../../etc", "../../../root/.ssh")).map(([p, at, t]) => {
      const parts = p.split("/");
      const k = 1 + (at % (parts.length - 1));
      return [...parts.slice(0, k), t, ...parts.slice(k)].join("/");
    }),
    // trailing slashes, doubled slashes, a relative path
    goodPath.map((p) => `${p}/`),
    goodPath.map((p) => `${p}//`),
    fc.tuple(goodPath, fc.nat()).map(([p, at]) => {
      const i = 1 + (at % (p.length - 1));
      const j = p.indexOf("/", i);
      return j < 0 ? `/${p}` : `${p.slice(0, j)}/${p.slice(j)}`;
    }),
    goodPath.map((p) => p.slice(1)),
    // one character of a good path replaced by a look-alike, or a look-alike added
    fc.tuple(goodPath, fc.nat(), fc.constantFrom(...LOOKALIKES), fc.boolean()).map(([p, at, ch, replace]) => {
      const i = 1 + (at % (p.length - 1));
      return p.slice(0, i) + ch + p.slice(replace ? i + 1 : i);
    }),
    // system trees and the kernel's: /etc, /root, /proc, /sys, /boot, /run, /dev, /var/log, /var/lib/mysql
    fc.tuple(fc.constantFrom("/etc", "/root", "/proc", "/proc/self", "/sys", "/boot", "/run", "/dev", "/var/log", "/var/lib/mysql", "/usr/lib", "/tmp"), fc.array(seg, { minLength: 0, maxLength: 3 })).map(([r, s]) =>
      s.length ? `${r}/${s.join("/")}` : r,
    ),
    // outside the default roots: users' homes and other software
    fc.tuple(fc.constantFrom("/home", "/opt", "/data", "/mnt", "/media", "/var/lib/postgresql", "/usr/local/share"), fc.array(seg, { minLength: 1, maxLength: 3 })).map(([r, s]) => `${r}/${s.join("/")}`),
  );

  it("refuses each, for every instance directory key", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.constantFrom(...KEYS), hostile, (key, p) => {
        seen.add(p);
        const files = { [FLEET]: fleetYaml(), "Pulumi.client-acme.yaml": clientFile("acme", { [key]: p }) };
        refusedAt(files, "Pulumi.client-acme.yaml", key);
      }),
      { numRuns: 400 },
    );
    assert.ok(seen.size > 300, `${seen.size} distinct hostile paths`);
  });

  it("accepts the good paths they were made from (generated)", () => {
    fc.assert(
      fc.property(goodPath, (p) => {
        const e = load({ [FLEET]: fleetYaml(), "Pulumi.client-acme.yaml": clientFile("acme", { documentsDir: p }) });
        const own = ["/srv/dolibarr-backup"].some((d) => p === d || p.startsWith(`${d}/`));
        const clash = ["/var/www/acme-erp/htdocs", "/var/backups/dolibarr/acme-erp"].some((d) => p === d || p.startsWith(`${d}/`) || d.startsWith(`${p}/`));
        if (own || clash) return;
        assert.equal(e, undefined, `${p}: ${e?.message}`);
      }),
      { numRuns: 200 },
    );
  });
});

describe("allowed roots: narrower defaults, per client with <client>", () => {
  it("the defaults hold neither /home nor /opt (users' homes, other software), and a fleet may still name them", () => {
    assert.ok(!DEFAULT_PATH_ROOTS.some((r) => r === "/home" || r === "/opt" || r.startsWith("/home/") || r.startsWith("/opt/")), DEFAULT_PATH_ROOTS.join(" "));
    for (const p of ["/home/alice/htdocs", "/opt/dolibarr/htdocs", "/home/acme/www/htdocs"]) {
      refusedAt({ [FLEET]: fleetYaml(), "Pulumi.client-acme.yaml": clientFile("acme", { codeRoot: p }) }, "Pulumi.client-acme.yaml", "codeRoot", /not below an allowed root/);
      assert.equal(load({ [FLEET]: fleetYaml("  dolibarr-backup:pathRoots: [/home, /opt, /var/lib/dolibarr, /var/backups/dolibarr]\n"), "Pulumi.client-acme.yaml": clientFile("acme", { codeRoot: p }) }), undefined, p);
    }
  });

  it("the server jobs' default roots are the model's (an instance env rendered without PATH_ROOTS)", () => {
    const common = fs.readFileSync(path.join(ROOT, "scripts/server/dolibarr-backup-common.sh"), "utf8");
    const m = /^DBK_DEFAULT_PATH_ROOTS="([^"]*)"$/m.exec(common);
    assert.ok(m, "DBK_DEFAULT_PATH_ROOTS in dolibarr-backup-common.sh");
    assert.deepEqual(m[1]!.split(" "), [...DEFAULT_PATH_ROOTS]);
  });

  const PER_CLIENT = "  dolibarr-backup:pathRoots: [/var/www/<client>, /var/lib/dolibarr/<client>, /var/backups/dolibarr]\n";

  it("<client> in a root gives each client its own: its instances below them, never below another client's (generated names)", () => {
    const client = fc.stringMatching(/^[a-z][a-z0-9]{1,10}$/);
    fc.assert(
      fc.property(client, client, (a, b) => {
        fc.pre(a !== b && !a.startsWith(b) && !b.startsWith(a));
        const own = clientFile(a, { name: `${a}-erp`, codeRoot: `/var/www/${a}/erp/htdocs`, documentsDir: `/var/lib/dolibarr/${a}/erp/documents` });
        assert.equal(load({ [FLEET]: fleetYaml(PER_CLIENT), [`Pulumi.client-${a}.yaml`]: own }), undefined, own);
        const other = clientFile(a, { name: `${a}-erp`, codeRoot: `/var/www/${b}/erp/htdocs`, documentsDir: `/var/lib/dolibarr/${a}/erp/documents` });
        const message = refusedAt({ [FLEET]: fleetYaml(PER_CLIENT), [`Pulumi.client-${a}.yaml`]: other }, `Pulumi.client-${a}.yaml`, "codeRoot", /not below an allowed root/);
        assert.ok(message.includes(`/var/www/${a}`) && !message.includes(`/var/www/${b},`), message);
      }),
      { numRuns: 60 },
    );
    assert.deepEqual(rootsForClient(["/var/www/<client>", "/srv/<client>-data", "/srv"], "acme"), ["/var/www/acme", "/srv/acme-data", "/srv"]);
  });

  it("renders each instance's roots into its env (PATH_ROOTS), <client> replaced", () => {
    const topology = sampleTopology();
    topology.fleet.pathRoots = ["/var/www/<client>", "/var/backups/dolibarr"];
    const inst = sampleInstance("acme-erp", { codeRoot: "/var/www/acme/erp/htdocs" });
    assert.deepEqual(instancePathRoots(topology.fleet, inst), ["/var/www/acme", "/var/backups/dolibarr"]);
    const env = renderHostingInstance(topology, inst).files.find((f) => f.path.endsWith("acme-erp.env"))!.content;
    assert.match(env, /^PATH_ROOTS='\/var\/www\/acme \/var\/backups\/dolibarr'$/m);
    delete topology.fleet.pathRoots;
    const dflt = renderHostingInstance(topology, sampleInstance()).files.find((f) => f.path.endsWith("acme-erp.env"))!.content;
    assert.match(dflt, new RegExp(`^PATH_ROOTS='${DEFAULT_PATH_ROOTS.join(" ")}'$`, "m"));
  });

  it("a <client> root that becomes a system directory for one client's name is refused on that client", () => {
    const fleet = fleetYaml("  dolibarr-backup:pathRoots: [/var/<client>, /var/www, /var/lib/dolibarr, /var/backups/dolibarr]\n");
    assert.equal(load({ [FLEET]: fleet, "Pulumi.client-acme.yaml": clientFile("acme") }), undefined);
    const e = load({ [FLEET]: fleet, "Pulumi.client-lib.yaml": clientFile("lib") });
    assert.ok(e);
    const issue = e.issues.find((i) => i.keyPath === "dolibarr-backup:client");
    assert.ok(issue && issue.file.endsWith("Pulumi.client-lib.yaml"), e.message);
    assert.match(issue.message, /pathRoots\[0\] \/var\/<client> .* is \/var\/lib for client "lib": \/var\/lib contains the system directory \/var\/lib\/mysql; expected a narrower root for this client's name$/);
  });

  it("refuses a malformed or harmful root template in the fleet file, naming the key", () => {
    for (const bad of ["/var/www/<clients>", "/var/www/<client", "/var/www/{client}", "/var/www/<client>/..", "/var/www/<client>/", "<client>", "/etc/<client>", "/<client>/../etc", "/var/<client>/\u2215x", "/root/<client>"]) {
      const e = load({ [FLEET]: fleetYaml(`  dolibarr-backup:pathRoots: [${JSON.stringify(bad)}]\n`), "Pulumi.client-acme.yaml": clientFile("acme") });
      assert.ok(e && e.issues.some((i) => i.keyPath === "dolibarr-backup:pathRoots[0]" && i.file.endsWith(FLEET) && i.line !== undefined), `${bad}: ${e?.message}`);
    }
  });
});

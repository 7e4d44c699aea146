// The minimum rsync (issue 22 point 6): the fleet key rsync, the rule rsync.min-version, the
// version comparisons (upstream, and Debian's against dpkg itself), the status's verdict on what a
// server reports, and the backup servers' gate (dbk_rsync_gate) agreeing with it on generated versions.
import { testHostKey } from "../support/host-keys";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compareDebian, compareUpstream, DEFAULT_RSYNC, packageLine, parseRsyncFact, RSYNC_CVE_FLOOR, rsyncProblem, rsyncSettingsOf, type RsyncSettings } from "../../infra/model/rsync";
import { parseFleetConfig } from "../../infra/model/parse";
import { checkRule } from "../../infra/rules";
import { parseEnvFile } from "../../infra/render/files";
import { renderBinlogPullEnv } from "../../infra/render/binlog-ship";
import { renderBackupInstance } from "../../infra/render/server";
import { serverScriptPath } from "../../infra/render/repo";
import { parseHealth } from "../../infra/status/collect";
import { assessServer, snapshotSkeleton, type StatusServer } from "../../infra/status/snapshot";
import { assertRefused } from "../support/config-errors";
import { exampleTopology } from "../support/topology";
import { samplePlan, sampleTopology } from "../support/jobs-topology";

const src = { stack: "fleet", file: "stacks/Pulumi.fleet.yaml" };
const servers = [
  { name: "web-rbx", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.10", hostKey: testHostKey("web-rbx") } },
  { name: "bk-sbg", role: "backup", provider: "ovh", site: "sbg", ssh: { host: "203.0.113.20", hostKey: testHostKey("bk-sbg") } },
];
const fleetWith = (rsync: unknown) => parseFleetConfig(rsync === undefined ? { servers } : { servers, rsync }, src);
const tuple = (v: string) => v.split(".").map(Number);
const refCompare = (a: string, b: string): number => {
  const [x, y] = [tuple(a), tuple(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return 0;
};
const upstreamArb = fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 })).map((t) => t.join("."));
const COMMON = path.join(path.dirname(serverScriptPath("dolibarr-restore")), "dolibarr-backup-common.sh");
const hasDpkg = spawnSync("bash", ["-c", "command -v dpkg"]).status === 0;

describe("rsync versions", () => {
  it("compareUpstream orders versions by their numbers (3.10.0 after 3.9.9), a pre-release before its release", () => {
    fc.assert(
      fc.property(upstreamArb, upstreamArb, (a, b) => {
        assert.equal(compareUpstream(a, b), refCompare(a, b));
        assert.equal(compareUpstream(b, a), -refCompare(a, b));
      }),
      { numRuns: 500, seed: 3 },
    );
    assert.equal(compareUpstream("3.4.0pre1", "3.4.0"), -1);
    assert.equal(compareUpstream("3.4.0", "3.4.0pre1"), 1);
    assert.equal(compareUpstream("3.10.0", "3.9.9"), 1);
  });

  it("compareDebian agrees with dpkg --compare-versions on generated package versions", { skip: hasDpkg ? false : "dpkg missing" }, () => {
    const part = fc.array(fc.constantFrom("0", "1", "2", "7", "10", "a", "b", "z", "~", "+", ".", "deb", "ubuntu", "u"), { minLength: 1, maxLength: 6 }).map((xs) => xs.join(""));
    const version = fc.tuple(fc.option(fc.constantFrom("1:", "2:"), { nil: undefined }), upstreamArb, part, fc.option(part, { nil: undefined })).map(([e, u, p, r]) => `${e ?? ""}${u}${/^[0-9]/.test(p) ? "" : ""}${p.replace(/^[^0-9a-z]+/, "")}${r !== undefined ? `-${r}` : ""}`);
    const pairs = fc.sample(fc.tuple(version, version), { numRuns: 400, seed: 5 });
    pairs.push(["3.2.7-1+deb12u1", "3.2.7-1"], ["3.2.7-1+deb12u10", "3.2.7-1+deb12u9"], ["3.2.7-1ubuntu1", "3.2.7-1+deb12u1"], ["3.4.1+ds1-5+deb13u4", "3.4.1+ds1-5"], ["1.0~rc1-1", "1.0-1"]);
    const input = pairs.map(([a, b]) => `${a}\t${b}`).join("\n") + "\n";
    const r = spawnSync("bash", ["-c", `while IFS=$'\\t' read -r a b; do if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then echo -1; elif dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then echo 0; else echo 1; fi; done`], { input, encoding: "utf8" });
    const dpkg = r.stdout.trim().split("\n").map(Number);
    assert.equal(dpkg.length, pairs.length);
    pairs.forEach(([a, b], i) => assert.equal(compareDebian(a, b), dpkg[i], `${a} vs ${b}`));
  });

  it("a package line is the version without its trailing update number", () => {
    assert.equal(packageLine("3.2.7-1+deb12u1"), "3.2.7-1+deb12u");
    assert.equal(packageLine("3.2.7-0ubuntu0.22.04.3"), "3.2.7-0ubuntu");
  });
});

describe("fleet key rsync and the rule rsync.min-version", () => {
  it("defaults: 3.4.0 upstream, Debian 12's 3.2.7-1+deb12u1; the default fleet passes the rule", () => {
    assert.deepEqual(fleetWith(undefined).rsync, { minVersion: "3.4.0", minPackages: ["3.2.7-1+deb12u1"] });
    assert.deepEqual(rsyncSettingsOf({}), DEFAULT_RSYNC);
    assert.deepEqual(checkRule("rsync.min-version", exampleTopology()), []);
  });

  it("a generated minimum is a violation exactly when it is below 3.4.0", () => {
    fc.assert(
      fc.property(upstreamArb, (minVersion) => {
        const t = exampleTopology();
        const v = checkRule("rsync.min-version", { ...t, fleet: { ...t.fleet, rsync: { minVersion, minPackages: [] } } });
        if (refCompare(minVersion, RSYNC_CVE_FLOOR) < 0) {
          assert.equal(v.length, 1);
          assert.equal(v[0]!.severity, "mandatory");
          assert.match(v[0]!.message, new RegExp(`rsync.minVersion ${minVersion.replace(/\./g, "\\.")} is below 3\\.4\\.0`));
        } else assert.deepEqual(v, []);
      }),
      { numRuns: 300, seed: 9 },
    );
  });

  it("a package minimum without an update number is refused by the rule; a malformed key by the schema", () => {
    const t = exampleTopology();
    const v = checkRule("rsync.min-version", { ...t, fleet: { ...t.fleet, rsync: { minVersion: "3.4.0", minPackages: ["3.2.7-1+deb12u1", "3.2.7-1+deb12u"] } } });
    assert.equal(v.length, 1);
    assert.match(v[0]!.message, /"3\.2\.7-1\+deb12u" ends in no update number/);
    assertRefused(
      [{ minVersion: "3.4" }, { minVersion: "latest" }, { minPackages: ["3.2.7"] }, { minPackages: "3.2.7-1+deb12u1" }, { other: 1 }].map((v) => [v, /rsync/] as const),
      fleetWith,
      /stacks\/Pulumi\.fleet\.yaml/,
    );
    assert.deepEqual(fleetWith({ minVersion: "3.5.0" }).rsync, { minVersion: "3.5.0", minPackages: ["3.2.7-1+deb12u1"] });
    assert.deepEqual(fleetWith({ minPackages: [] }).rsync, { minVersion: "3.4.0", minPackages: [] });
  });

  it("rendered into the replication's and the binlog pull's env", () => {
    const t = sampleTopology();
    const fleet = { ...t.fleet, rsync: { minVersion: "3.5.0", minPackages: ["3.2.7-1+deb12u5", "3.4.1+ds1-5+deb13u3"] } };
    const topo = { ...t, fleet };
    const inst = topo.clients[0]!.instances[0]!;
    const vars = parseEnvFile(renderBackupInstance(topo, inst, samplePlan(inst.name, inst.backupServers[0])).files[0]!.content);
    assert.equal(vars.RSYNC_MIN_VERSION, "3.5.0");
    assert.equal(vars.RSYNC_MIN_PACKAGES, "3.2.7-1+deb12u5 3.4.1+ds1-5+deb13u3");
    const backup = fleet.servers.find((s) => s.role === "backup")!;
    const hosting = { ...fleet.servers.find((s) => s.role === "hosting")!, binlog: { enabled: true, serverId: 7, serverIdDeclared: false } };
    const shipped = { ...fleet, servers: fleet.servers.map((s) => (s.name === hosting.name ? hosting : s)) };
    const pull = parseEnvFile(renderBinlogPullEnv(shipped, backup, hosting));
    assert.equal(pull.RSYNC_MIN_VERSION, "3.5.0");
    assert.equal(pull.RSYNC_MIN_PACKAGES, "3.2.7-1+deb12u5 3.4.1+ds1-5+deb13u3");
  });
});

// Facts: an upstream version, and maybe a Debian package of a line.
const factArb = fc.record({
  version: upstreamArb,
  pkg: fc.option(
    fc.tuple(fc.constantFrom("3.2.7-1+deb12u", "3.2.7-1ubuntu", "3.2.3-4+deb11u", "3.5.0+ds1-0+deb12u"), fc.integer({ min: 0, max: 12 })).map(([l, n]) => (n === 0 ? l.replace(/\+deb1\du$|ubuntu$/, "") + (l.endsWith("ubuntu") ? "ubuntu1" : "") : `${l}${n}`)),
    { nil: undefined },
  ),
});
const settingsArb: fc.Arbitrary<RsyncSettings> = fc.record({
  minVersion: upstreamArb.filter((v) => refCompare(v, "3.4.0") >= 0),
  minPackages: fc.subarray(["3.2.7-1+deb12u1", "3.2.7-1+deb12u5", "3.2.3-4+deb11u2", "3.2.7-1ubuntu1"]),
});
function expectedPass(s: RsyncSettings, version: string, pkg: string | undefined): boolean {
  if (refCompare(version, s.minVersion) >= 0) return true;
  return pkg !== undefined && s.minPackages.some((m) => pkg.startsWith(packageLine(m)) && compareDebian(pkg, m) >= 0);
}

describe("a server's rsync against the fleet's minimum", () => {
  it("rsyncProblem passes an rsync at or above the minimum upstream, or a package at or above one of its line, and names the rest", () => {
    fc.assert(
      fc.property(settingsArb, factArb, (s, f) => {
        const p = rsyncProblem(s, "bk-1", { version: f.version, ...(f.pkg ? { package: f.pkg } : {}) });
        assert.equal(p === undefined, expectedPass(s, f.version, f.pkg), `${JSON.stringify(s)} ${JSON.stringify(f)}: ${p}`);
        if (p) assert.ok(p.startsWith(`bk-1: rsync ${f.version}`) && p.includes(`${s.minVersion} upstream`), p);
      }),
      { numRuns: 500, seed: 13 },
    );
    // the cases that motivate the packages: Debian 12's fixed 3.2.7, and its unfixed one
    assert.equal(rsyncProblem(DEFAULT_RSYNC, "bk", { version: "3.2.7", package: "3.2.7-1+deb12u2" }), undefined);
    assert.match(rsyncProblem(DEFAULT_RSYNC, "bk", { version: "3.2.7", package: "3.2.7-1" })!, /older than the fleet's minimum/);
    assert.match(rsyncProblem(DEFAULT_RSYNC, "bk", { version: "3.2.7" })!, /older than the fleet's minimum/);
    assert.match(rsyncProblem(DEFAULT_RSYNC, "bk", undefined)!, /not reported/);
  });

  it("parseRsyncFact reads dbk_rsync_fact's line back; the status fails a backup server below the minimum, warns when not reported", () => {
    assert.deepEqual(parseRsyncFact("version\t3.2.7\tprotocol\t32\tpackage\t3.2.7-1+deb12u1\n"), { version: "3.2.7", protocol: 32, package: "3.2.7-1+deb12u1" });
    assert.deepEqual(parseRsyncFact("version\t$(x)\tpackage\ta b"), {});
    const t = sampleTopology();
    const skeleton = snapshotSkeleton(t, new Date("2026-12-07T12:00:00Z"), "UTC");
    const backup = skeleton.servers.find((s) => s.role === "backup")!;
    const at = (rsync?: string) => {
      const base: [string, string][] = [["system-state", "running"], ["failed-units", ""], ["at-rest", `${t.fleet.mirrorRoot}\tencrypted\tdm-crypt luks-1`]];
      const health = parseHealth(new Map(rsync === undefined ? base : [...base, ["rsync", rsync]]))!;
      const server: StatusServer = { ...backup, reachable: true, health: { ...health, notifier: [] } };
      return assessServer(server);
    };
    const old = at("version\t3.2.7\tprotocol\t31\tpackage\t3.2.7-1");
    assert.ok(old.reasons.some((r) => /rsync 3\.2\.7 \(package 3\.2\.7-1\) is older than the fleet's minimum/.test(r)), old.reasons.join("\n"));
    assert.equal(old.status, "failing");
    assert.ok(!at("version\t3.2.7\tprotocol\t32\tpackage\t3.2.7-1+deb12u6").reasons.some((r) => r.includes("rsync")));
    assert.ok(!at("version\t3.5.0\tprotocol\t32").reasons.some((r) => r.includes("rsync")));
    const none = at(undefined);
    assert.ok(none.warnings.some((w) => /rsync's version not reported/.test(w)));
    assert.ok(!none.reasons.some((r) => r.includes("rsync")));
  });

  it("dbk_rsync_gate (the backup servers' check) agrees with rsyncProblem on generated versions", { skip: hasDpkg ? false : "dpkg missing" }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-rsync-gate-"));
    try {
      fs.writeFileSync(path.join(dir, "rsync"), `#!/bin/sh\n[ -n "$FAKE_V" ] || exit 127\necho "rsync  version $FAKE_V  protocol version 31"\n`, { mode: 0o755 });
      fs.writeFileSync(path.join(dir, "dpkg-query"), `#!/bin/sh\n[ -n "$FAKE_PKG" ] || exit 1\nprintf '%s' "$FAKE_PKG"\n`, { mode: 0o755 });
      const cases = fc.sample(fc.tuple(settingsArb, factArb), { numRuns: 150, seed: 17 });
      const input = cases.map(([s, f]) => [f.version, f.pkg ?? "", s.minVersion, ...s.minPackages].join("|")).join("\n") + "\n";
      const script = `. "$1"; while IFS='|' read -r -a c; do FAKE_V="\${c[0]}" FAKE_PKG="\${c[1]}"; export FAKE_V FAKE_PKG; if dbk_rsync_gate "\${c[@]:2}"; then echo pass; else echo "fail $DBK_RSYNC_PROBLEM"; fi; done`;
      const r = spawnSync("bash", ["-c", script, "gate", COMMON], { input, encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
      const out = r.stdout.trim().split("\n");
      assert.equal(out.length, cases.length, r.stderr);
      cases.forEach(([s, f], i) => {
        const want = expectedPass(s, f.version, f.pkg);
        assert.equal(out[i] === "pass", want, `${JSON.stringify(s)} ${JSON.stringify(f)}: ${out[i]}`);
        if (!want) assert.match(out[i]!, new RegExp(`^fail rsync ${f.version.replace(/\./g, "\\.")}.* is older than the fleet's minimum \\(${s.minVersion.replace(/\./g, "\\.")} upstream`));
      });
      // no rsync at all: refused
      const none = spawnSync("bash", ["-c", `. "$1"; FAKE_V= dbk_rsync_gate 3.4.0 || echo "$DBK_RSYNC_PROBLEM"`, "gate", COMMON], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
      assert.match(none.stdout, /gives no version/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

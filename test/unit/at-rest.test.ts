// Encryption at rest (issue 22 point 7): the fleet key encryptionAtRest, what it renders onto the
// backup servers (the jobs' AT_REST, the deploy's check), and the status's verdict on what the
// servers report (dbk_at_rest's lines).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AT_REST_MODES, DEFAULT_AT_REST, assessAtRest, atRestOf, parseAtRest, type AtRestFact, type AtRestMode } from "../../infra/model/at-rest";
import { parseFleetConfig } from "../../infra/model/parse";
import { parseEnvFile } from "../../infra/render/files";
import { renderBinlogPullEnv } from "../../infra/render/binlog-ship";
import { PATHS, SCRIPT } from "../../infra/render/paths";
import { atRestDeployLine, renderBackupInstance, renderServerBase } from "../../infra/render/server";
import { parseHealth, serverScript } from "../../infra/status/collect";
import { renderTable } from "../../infra/status/render";
import { assess, assessServer, snapshotSkeleton, type StatusServer } from "../../infra/status/snapshot";
import { assertRefused } from "../support/config-errors";
import { samplePlan, sampleTopology } from "../support/jobs-topology";
import { testHostKey } from "../support/host-keys";

const src = { stack: "fleet", file: "stacks/Pulumi.fleet.yaml" };
const servers = [
  { name: "web-rbx", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.10", hostKey: testHostKey("203.0.113.10") } },
  { name: "bk-sbg", role: "backup", provider: "ovh", site: "sbg", ssh: { host: "203.0.113.20", hostKey: testHostKey("203.0.113.20") } },
];
const fleetWith = (v: unknown) => parseFleetConfig(v === undefined ? { servers } : { servers, encryptionAtRest: v }, src);

describe("fleet key encryptionAtRest", () => {
  it("defaults to advisory; each mode is kept", () => {
    assert.equal(DEFAULT_AT_REST, "advisory");
    assert.equal(fleetWith(undefined).encryptionAtRest, "advisory");
    for (const m of AT_REST_MODES) assert.equal(fleetWith(m).encryptionAtRest, m);
    assert.equal(atRestOf({}), "advisory", "a fleet from before the key: the default");
  });

  it("refuses every other value, naming the file, the key and the three modes (generated)", () => {
    const bad = fc.sample(
      fc.oneof(
        fc.string().filter((s) => !(AT_REST_MODES as readonly string[]).includes(s)),
        fc.constantFrom("Required", "ADVISORY", "Off", " off", "required ", "yes", "true", "encrypted", "luks", ""),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.constantFrom(...AT_REST_MODES), { minLength: 1, maxLength: 2 }),
        fc.dictionary(fc.string(), fc.string()),
      ),
      { numRuns: 300, seed: 22 },
    );
    assertRefused(
      bad.map((v) => [v, /encryptionAtRest: .*expected one of required, advisory, off \(required: the backup servers' jobs refuse/] as const),
      fleetWith,
      /stacks\/Pulumi\.fleet\.yaml/,
    );
  });
});

describe("encryptionAtRest on the backup servers' files", () => {
  const topologyWith = (mode: AtRestMode | undefined) => {
    const t = sampleTopology();
    return { ...t, fleet: { ...t.fleet, ...(mode ? { encryptionAtRest: mode } : {}) } };
  };

  it("each instance's env carries AT_REST, read by the replication and the drill; the binlog pull's env too", () => {
    for (const mode of [undefined, ...AT_REST_MODES]) {
      const t = topologyWith(mode);
      const inst = t.clients[0]!.instances[0]!;
      const env = parseEnvFile(renderBackupInstance(t, inst, samplePlan(inst.name, inst.backupServers[0])).files[0]!.content);
      assert.equal(env.AT_REST, mode ?? "advisory");
      const backup = t.fleet.servers.find((s) => s.role === "backup")!;
      const hosting = { ...t.fleet.servers.find((s) => s.role === "hosting")!, binlog: { enabled: true, serverId: 7, serverIdDeclared: false } };
      const shipped = { ...t.fleet, servers: t.fleet.servers.map((s) => (s.name === hosting.name ? hosting : s)) };
      assert.equal(parseEnvFile(renderBinlogPullEnv(shipped, backup, hosting)).AT_REST, mode ?? "advisory");
    }
  });

  it("the backup server's deploy checks the mirror root (and the drills' root) before making it; off checks nothing", () => {
    for (const mode of AT_REST_MODES) {
      const t = topologyWith(mode);
      const backup = t.fleet.servers.find((s) => s.role === "backup")!;
      const create = renderServerBase(t.fleet, backup).create;
      const line = atRestDeployLine(t.fleet);
      const gate = create.indexOf(line);
      assert.ok(gate >= 0, create);
      assert.ok(gate < create.indexOf(`install -d -m 0700 ${t.fleet.mirrorRoot}`), "checked before the mirror root is made");
      if (mode === "off") assert.doesNotMatch(line, /dbk_at_rest/);
      else assert.ok(line.includes(`${SCRIPT.common} ${mode} 'the backup data directories' ${t.fleet.mirrorRoot} ${PATHS.drillDir}`), line);
      // the hosting servers hold no copy: nothing checked there
      const hosting = t.fleet.servers.find((s) => s.role === "hosting")!;
      assert.doesNotMatch(renderServerBase(t.fleet, hosting).create, /dbk_at_rest/);
    }
    const t = topologyWith("required");
    const noDrills = { ...t.fleet, drills: { ...t.fleet.drills!, enabled: false } };
    assert.ok(!atRestDeployLine(noDrills).includes(PATHS.drillDir), "drills off: their root is not a data directory");
  });
});

describe("encryption at rest in the status", () => {
  const line = (f: AtRestFact) => `${f.dir}\t${f.state}\t${f.how}`;
  const factArb = fc.record({
    dir: fc.constantFrom("/srv/dolibarr-backup/mirrors", "/var/lib/dolibarr-backup/drill", "/data/x y"),
    state: fc.constantFrom("encrypted" as const, "plain" as const, "unknown" as const),
    how: fc.constantFrom("dm-crypt luks-1", "fscrypt (ext4 /dev/vdb)", "overlay overlay", "ext4 /dev/vda1", "no mount found"),
  });

  it("parseAtRest reads dbk_at_rest's lines back and skips any other line", () => {
    fc.assert(
      fc.property(fc.array(factArb, { maxLength: 4 }), fc.array(fc.constantFrom("", "garbage", "/x\tmaybe\ty", "relative\tplain\text4"), { maxLength: 3 }), (facts, noise) => {
        const text = [...noise, ...facts.map(line)].join("\n");
        assert.deepEqual(parseAtRest(text), facts.map((f) => ({ ...f })));
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it("required: a plain or unknown directory fails the server; advisory: a warning only; off: nothing; encrypted: nothing", () => {
    fc.assert(
      fc.property(fc.array(factArb, { minLength: 1, maxLength: 4 }), fc.constantFrom(...AT_REST_MODES), (facts, mode) => {
        const r = assessAtRest(mode, "bk-1", facts);
        const bad = facts.filter((f) => f.state !== "encrypted");
        if (mode === "off") return assert.deepEqual(r, { failing: [], warnings: [] });
        const said = mode === "required" ? r.failing : r.warnings;
        assert.deepEqual(mode === "required" ? r.warnings : r.failing, []);
        assert.equal(said.length, bad.length);
        for (const [k, f] of bad.entries()) {
          assert.ok(said[k]!.startsWith(`bk-1: `) && said[k]!.includes(f.dir) && said[k]!.endsWith(`(encryptionAtRest: ${mode})`), said[k]);
          if (f.state === "plain") assert.ok(said[k]!.includes(`is not on an encrypted volume (${f.how})`), said[k]);
        }
      }),
      { numRuns: 300, seed: 11 },
    );
    assert.match(assessAtRest("required", "bk-1", undefined).failing[0]!, /bk-1: encryption at rest not reported \(its scripts predate the check: deploy the fleet\)/);
  });

  it("the collector asks each backup server for its mirror root (and drill root), and the verdict reaches the report", () => {
    const t = sampleTopology();
    const backup = t.fleet.servers.find((s) => s.role === "backup")!;
    const hosting = t.fleet.servers.find((s) => s.role === "hosting")!;
    assert.ok(serverScript(t, backup).includes(`dbk_at_rest "$@"' at-rest '${SCRIPT.common}' '${t.fleet.mirrorRoot}' '${PATHS.drillDir}'`));
    assert.doesNotMatch(serverScript(t, hosting), /at-rest/);
    const health = parseHealth(new Map([["system-state", "running"], ["failed-units", ""], ["rsync", "version\t3.5.0\tprotocol\t32"], ["at-rest", `${t.fleet.mirrorRoot}\tplain\toverlay overlay\n${PATHS.drillDir}\tencrypted\tfscrypt (ext4 /dev/vdb)`]]))!;
    for (const mode of AT_REST_MODES) {
      const skeleton = snapshotSkeleton({ ...t, fleet: { ...t.fleet, encryptionAtRest: mode } }, new Date("2026-12-07T12:00:00Z"), "UTC");
      const server: StatusServer = { ...skeleton.servers.find((s) => s.name === backup.name)!, reachable: true, health: { ...health, notifier: [] } };
      assert.equal(server.atRest, mode);
      const state = assessServer(server);
      const problem = `${backup.name}: ${t.fleet.mirrorRoot} is not on an encrypted volume (overlay overlay): its copies sit in plain text on the server's disks (encryptionAtRest: ${mode})`;
      if (mode === "required") assert.ok(state.status === "failing" && state.reasons.includes(problem), JSON.stringify(state));
      else assert.ok(!state.reasons.some((r) => r.includes("encrypted")), JSON.stringify(state));
      assert.deepEqual(state.warnings, mode === "advisory" ? [problem] : []);
      if (mode === "advisory") {
        const report = assess({ ...skeleton, servers: skeleton.servers.map((s) => (s.name === backup.name ? server : s)) }, new Date("2026-12-07T12:00:00Z"));
        assert.ok(renderTable(report).includes(`  warning: ${problem}`), renderTable(report));
      }
    }
  });
});

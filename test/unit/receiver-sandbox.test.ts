// The units that receive from a hosting server (replication, binlog pull) run sandboxed: what they
// may write, the capabilities they keep, as rendered for generated fleets. What the sandbox does
// under real systemd is test/e2e/lab.test.ts ("the receiving units are sandboxed …").
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderServerBase } from "../../infra/render/server";
import { PATHS, unitPath } from "../../infra/render/paths";
import { BINLOG_PULL_SERVICE, RECEIVER_CAPABILITIES, REPLICATE_SERVICE, binlogPullServiceUnit, receiverSandbox, replicateServiceUnit } from "../../infra/render/units";
import { DEFAULT_TEXTFILE_DIR } from "../../infra/model/notifications";
import { exampleTopology } from "../support/topology";

/** The [Service] values of a unit, key → values in order (comments skipped). */
function serviceValues(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let inService = false;
  for (const raw of unit.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (/^\[.+\]$/.test(line)) {
      inService = line === "[Service]";
      continue;
    }
    if (!inService) continue;
    const eq = line.indexOf("=");
    out.set(line.slice(0, eq), [...(out.get(line.slice(0, eq)) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

const one = (m: Map<string, string[]>, key: string): string => {
  const v = m.get(key) ?? [];
  assert.equal(v.length, 1, `${key}: expected once, got ${JSON.stringify(v)}`);
  return v[0]!;
};

/** Generated fleets: mirror roots and metrics directories of several shapes. */
function* fleets(): Generator<{ mirrorRoot: string; metrics?: { textfileDir: string } }> {
  const roots = ["/srv/dolibarr-backup/mirrors", "/mnt/crypt", "/data/b.k-1/m_2", "/var/backups/dbk@fleet+1"];
  for (const [i, mirrorRoot] of roots.entries()) {
    yield { mirrorRoot };
    yield { mirrorRoot, metrics: { textfileDir: `/var/lib/node_exporter/textfile${i}` } };
  }
}

describe("the receiving units' sandbox", () => {
  it("writable: the mirror root, the tool's state, the metrics and the locks; nothing else", () => {
    for (const fleet of fleets()) {
      for (const unit of [replicateServiceUnit(fleet), binlogPullServiceUnit(fleet)]) {
        const v = serviceValues(unit);
        assert.equal(one(v, "ProtectSystem"), "strict");
        const writable = one(v, "ReadWritePaths").split(/\s+/);
        assert.deepEqual(writable, [fleet.mirrorRoot, PATHS.stateDir, `-${fleet.metrics?.textfileDir ?? DEFAULT_TEXTFILE_DIR}`, "/run/lock"]);
        for (const w of writable) assert.ok(!["/", "/etc", "/usr", "/root", "-/"].includes(w), `${w} must stay read-only`);
        for (const key of ["ProtectHome", "PrivateTmp", "PrivateDevices", "NoNewPrivileges", "ProtectKernelTunables", "ProtectKernelModules", "RestrictNamespaces"]) {
          assert.equal(one(v, key), "yes", key);
        }
        assert.equal(one(v, "RestrictAddressFamilies"), "AF_UNIX AF_INET AF_INET6");
      }
    }
  });

  it("keeps only the capabilities an identical mirror needs: no device nodes, no file capabilities, no admin", () => {
    const caps = one(serviceValues(replicateServiceUnit({ mirrorRoot: "/m" })), "CapabilityBoundingSet").split(/\s+/);
    assert.deepEqual([...caps], [...RECEIVER_CAPABILITIES]);
    for (const forbidden of ["CAP_MKNOD", "CAP_SETFCAP", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SYS_MODULE", "CAP_LINUX_IMMUTABLE"]) {
      assert.ok(!caps.includes(forbidden), forbidden);
    }
    for (const needed of ["CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE"]) assert.ok(caps.includes(needed), `${needed}: rsync --numeric-ids as root sets owners, modes and times of files it does not own`);
  });

  it("setgid directories stay mirrorable: no RestrictSUIDSGID", () => {
    for (const fleet of fleets()) assert.equal(serviceValues(receiverSandbox(fleet)).has("RestrictSUIDSGID"), false);
  });

  it("a mirror root or metrics directory that systemd would split or misread is refused", () => {
    for (const mirrorRoot of ["/srv/with space", "relative/path", "/srv/a\nExecStartPre=/bin/sh", "/srv/-x y", "/srv/../etc"]) {
      assert.throws(() => receiverSandbox({ mirrorRoot }), /mirrorRoot/);
    }
    assert.throws(() => receiverSandbox({ mirrorRoot: "/m", metrics: { textfileDir: "/var/lib/a b" } }), /metrics\.textfileDir/);
  });

  it("every backup server's base pushes both units with its fleet's mirror root", () => {
    const topology = exampleTopology();
    const fleet = { ...topology.fleet, mirrorRoot: "/srv/encrypted/mirrors" };
    const backups = fleet.servers.filter((s) => s.role === "backup");
    assert.ok(backups.length >= 2);
    for (const server of backups) {
      const files = renderServerBase(fleet, server).files;
      for (const name of [REPLICATE_SERVICE, BINLOG_PULL_SERVICE]) {
        const unit = files.find((f) => f.path === unitPath(name));
        assert.ok(unit, `${server.name}: ${name} pushed`);
        assert.match(unit.content, /^ReadWritePaths=\/srv\/encrypted\/mirrors /m);
        assert.doesNotMatch(unit.content, /^PrivateTmp=yes\n(?:.*\n)*PrivateTmp=yes/m, "one PrivateTmp");
      }
    }
  });
});

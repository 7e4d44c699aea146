// Binlog shipping's rendered files (infra/render/binlog-ship.ts and its use in server.ts) and the
// pull's chain check (dolibarr-binlog-pull --chain) on generated file sequences against a reference.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Fleet, Server, Topology } from "../../infra/model/types";
import {
  BINLOG_HEARTBEAT_TIMER,
  binlogPullTimerLine,
  renderBackupInstance,
  renderBinlogPullEnv,
  renderHostingInstance,
  renderServerBase,
  serverScriptPath,
} from "../../infra/render";
import { PATHS } from "../../infra/render/paths";
import { sampleInstance, samplePlan, sampleTopology } from "../support/jobs-topology";

const ON = { enabled: true, serverId: 11, serverIdDeclared: true };

function withBinlogs(topo: Topology, servers: Record<string, boolean>): Topology {
  const fleet: Fleet = {
    ...topo.fleet,
    servers: topo.fleet.servers.map((s): Server => (s.name in servers ? { ...s, binlog: { ...ON, enabled: servers[s.name]! } } : s)),
    binlog: { dir: "/var/lib/mysql-binlog", keepDays: 9, maxFileMB: 64, maxLagSeconds: 240 },
  };
  return { ...topo, fleet };
}

const server = (t: Topology, name: string) => t.fleet.servers.find((s) => s.name === name)!;
const file = (files: { path: string; content: string }[], p: string) => files.find((f) => f.path === p)?.content;

/** The second of the minute a backup server's pull timer fires at, read from its rendered unit. */
function pullSecond(fleet: Fleet, backup: Server): number {
  const timer = file(renderServerBase(fleet, backup).files, "/etc/systemd/system/dolibarr-binlog-pull@.timer")!;
  const m = /^OnCalendar=\*-\*-\* \*:\*:([0-5][0-9])$/m.exec(timer);
  assert.ok(m, `no per-minute calendar in the pull timer of ${backup.name}:\n${timer}`);
  assert.doesNotMatch(timer, /^OnUnitActiveSec=|^OnActiveSec=|^RandomizedDelaySec=/m, "a timer counted from its start runs in step with the others after one deploy");
  return Number(m[1]);
}

describe("binlog shipping: the backup servers pull at different seconds", () => {
  it("on generated fleets, every two backup servers are at least 60/N s apart on the minute's circle", () => {
    const base = sampleTopology();
    const template = base.fleet.servers.find((s) => s.role === "backup")!;
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/), { minLength: 1, maxLength: 12 }), (names) => {
        const fleet: Fleet = { ...base.fleet, servers: [...base.fleet.servers.filter((s) => s.role === "hosting"), ...names.map((name): Server => ({ ...template, name }))] };
        const seconds = names.map((n) => pullSecond(fleet, fleet.servers.find((s) => s.name === n)!));
        const gap = Math.floor(60 / names.length);
        for (let i = 0; i < seconds.length; i++) {
          for (let j = i + 1; j < seconds.length; j++) {
            const d = Math.abs(seconds[i]! - seconds[j]!);
            assert.ok(Math.min(d, 60 - d) >= gap, `${names[i]} at :${seconds[i]} and ${names[j]} at :${seconds[j]} (${names.length} backup servers)`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("binlog shipping: rendered files", () => {
  const topo = withBinlogs(sampleTopology(), { web1: true, web2: false });

  it("a backup server gets the pull script, its template units and one pull config per hosting server with binlogs on", () => {
    const b = renderServerBase(topo.fleet, server(topo, "bk-fra"));
    const paths = b.files.map((f) => f.path);
    assert.ok(paths.includes(`${PATHS.sbin}/dolibarr-binlog-pull`));
    const timer = file(b.files, "/etc/systemd/system/dolibarr-binlog-pull@.timer")!;
    assert.match(timer, /^OnCalendar=\*-\*-\* \*:\*:[0-5][0-9]$/m);
    assert.match(timer, /^AccuracySec=1s$/m);
    const service = file(b.files, "/etc/systemd/system/dolibarr-binlog-pull@.service")!;
    assert.match(service, /^ExecStart=\/usr\/local\/sbin\/dolibarr-binlog-pull %i$/m);
    assert.match(service, /^ConditionPathExists=\/etc\/dolibarr-backup\/binlog\/%i\.env$/m);
    assert.match(service, /^OnFailure=dolibarr-notify@%n\.service$/m);
    assert.match(service, /^SuccessExitStatus=75$/m);
    const env = file(b.files, "/etc/dolibarr-backup/binlog/web1.env")!;
    for (const line of [
      "HOSTING_SERVER='web1'",
      "BACKUP_SERVER='bk-fra'",
      "SOURCE_HOST='203.0.113.10'",
      "SOURCE_PORT='22'",
      "SOURCE_USER='dbk-bk-fra'",
      "SOURCE_PATH='.binlog'",
      "BINLOG_DIR='/srv/dolibarr-mirrors/.binlogs/web1'",
      "KEEP_DAYS='9'",
      "MAX_LAG_SECONDS='240'",
    ]) assert.ok(env.split("\n").includes(line), `${line} in ${env}`);
    assert.equal(file(b.files, "/etc/dolibarr-backup/binlog/web2.env"), undefined, "binlogs off on web2: nothing to pull");
    assert.match(b.create, /install -d -m 0700 '?\/srv\/dolibarr-mirrors\/\.binlogs'?$/m);
  });

  it("a lost hosting server is pulled no more; a hosting server that is not one with binlogs is refused", () => {
    const lost = withBinlogs(sampleTopology(), { web1: true, web2: true });
    lost.fleet.servers = lost.fleet.servers.map((s) => (s.name === "web2" ? { ...s, state: "lost" as const } : s));
    const paths = renderServerBase(lost.fleet, server(lost, "bk-fra")).files.map((f) => f.path);
    assert.ok(paths.includes("/etc/dolibarr-backup/binlog/web1.env"));
    assert.ok(!paths.includes("/etc/dolibarr-backup/binlog/web2.env"));
    assert.throws(() => renderBinlogPullEnv(topo.fleet, server(topo, "bk-fra"), server(topo, "web2")), /not a hosting server with binlogs on/);
    assert.throws(() => renderBinlogPullEnv(topo.fleet, server(topo, "web1"), server(topo, "web1")), /not a backup server/);
  });

  it("a hosting server with binlogs gets the heartbeat timer (every 30 s), one without has it disabled", () => {
    const on = renderServerBase(topo.fleet, server(topo, "web1"));
    const timer = file(on.files, `/etc/systemd/system/${BINLOG_HEARTBEAT_TIMER}`)!;
    assert.match(timer, /^OnUnitActiveSec=30s$/m);
    assert.match(file(on.files, "/etc/systemd/system/dolibarr-binlog-heartbeat.service")!, /^ExecStart=\/usr\/local\/sbin\/dolibarr-binlog-setup heartbeat$/m);
    assert.match(on.create, /systemctl enable --now dolibarr-binlog-heartbeat\.timer/);
    // the heartbeat starts after the drop-in is applied
    assert.ok(on.create.indexOf("dolibarr-binlog-setup apply") < on.create.indexOf("enable --now dolibarr-binlog-heartbeat"));
    assert.match(on.delete, /disable --now dolibarr-binlog-heartbeat\.timer/);
    const off = renderServerBase(topo.fleet, server(topo, "web2"));
    assert.equal(file(off.files, `/etc/systemd/system/${BINLOG_HEARTBEAT_TIMER}`), undefined);
    assert.match(off.create, /disable --now dolibarr-binlog-heartbeat\.timer/);
  });

  it("the instance envs: BINLOG_SOURCE_DIR on the hosting server, BINLOG_DIR and RETENTION_DAYS on the backup server (binlogs on only)", () => {
    const inst = sampleInstance("acme-erp", { schedule: { dumpTimes: [0, 720], retentionDays: 12, replicationsPerDay: 4 } });
    const h = file(renderHostingInstance(topo, inst).files, "/etc/dolibarr-backup/instances/acme-erp.env")!;
    assert.match(h, /^BINLOG_SOURCE_DIR='\/var\/lib\/mysql-binlog'$/m);
    const b = renderBackupInstance(topo, inst, samplePlan("acme-erp", "bk-fra"));
    const env = file(b.files, "/etc/dolibarr-backup/instances/acme-erp.env")!;
    assert.match(env, /^BINLOG_DIR='\/srv\/dolibarr-mirrors\/\.binlogs\/web1'$/m);
    assert.match(env, /^RETENTION_DAYS='12'$/m);
    assert.match(env, /^HOSTING_SERVER='web1'$/m);
    const line = binlogPullTimerLine(topo.fleet, "web1");
    assert.ok(b.create.includes(line) && b.delete.includes(line), "the pull timer follows the instances (create and delete)");
    assert.ok(b.delete.indexOf("rm -f --") < b.delete.indexOf(line), "delete removes the env before it looks for other instances");
    const off = sampleInstance("acme-test", { hostingServer: "web2" });
    assert.doesNotMatch(file(renderHostingInstance(topo, off).files, "/etc/dolibarr-backup/instances/acme-test.env")!, /BINLOG/);
    assert.doesNotMatch(file(renderBackupInstance(topo, off, samplePlan("acme-test", "bk-fra")).files, "/etc/dolibarr-backup/instances/acme-test.env")!, /BINLOG/);
  });

  it("the pull timer line enables the timer while an instance env names the binlog dir, and disables it with the last one (run in sh, generated env sets)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-pull-line-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "systemctl"), `#!/bin/sh\necho "$*" >>${dir}/calls\n`, { mode: 0o755 });
    const instances = path.join(dir, "instances");
    const line = binlogPullTimerLine(topo.fleet, "web1").split(PATHS.instancesDir).join(instances);
    assert.match(line, new RegExp(`^flock -w \\d+ ${instances} sh -c `), "bundles applied at once decide one after the other");
    try {
      fc.assert(
        fc.property(fc.array(fc.constantFrom("web1", "web2", "web1x", "none"), { maxLength: 4 }), (hosts) => {
          fs.rmSync(instances, { recursive: true, force: true });
          fs.mkdirSync(instances);
          fs.rmSync(path.join(dir, "calls"), { force: true });
          hosts.forEach((h, i) => {
            const body = h === "none" ? "HOSTING_SERVER='web1'\n" : `HOSTING_SERVER='${h}'\nBINLOG_DIR='/srv/dolibarr-mirrors/.binlogs/${h}'\n`;
            fs.writeFileSync(path.join(instances, `i${i}.env`), `INSTANCE='i${i}'\n${body}`);
          });
          const r = spawnSync("sh", ["-eu", "-c", line], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: "utf8" });
          assert.equal(r.status, 0, r.stderr);
          const calls = fs.readFileSync(path.join(dir, "calls"), "utf8");
          if (hosts.includes("web1")) assert.match(calls, /^enable --no-reload dolibarr-binlog-pull@web1\.timer$/m);
          else assert.match(calls, /^disable --no-reload --now dolibarr-binlog-pull@web1\.timer$/m);
        }),
        { numRuns: 60 },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The reference of the chain check: gaps and pending files from the numbers here and on the source. */
function chainReference(local: number[], source: number[] | undefined): string[] {
  const out: string[] = [];
  if (local.length === 0) {
    if (source && source.length) for (let n = Math.min(...source); n <= Math.max(...source); n++) if (source.includes(n)) out.push(`pending ${n}`);
    return out;
  }
  const lo = Math.min(...local);
  const top = Math.max(...local, ...(source ?? []));
  for (let n = lo; n <= top; n++) {
    if (local.includes(n)) continue;
    out.push(source && source.includes(n) ? `pending ${n}` : `gap ${n}`);
  }
  return out;
}

describe("binlog chain check (dolibarr-binlog-pull --chain)", () => {
  it("finds every gap and pending file of generated sequences (holes here, purges on the source, no source listing)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 25 }),
        fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 45 }), { maxLength: 25 }), { nil: undefined }),
        (local, source) => {
          const input = [...local.map((n) => `local ${n}`), ...(source ?? []).map((n) => `source ${n}`)].join("\n") + "\n";
          const r = spawnSync(serverScriptPath("dolibarr-binlog-pull"), ["--chain", source ? "source" : "-"], { input, encoding: "utf8" });
          assert.equal(r.status, 0, r.stderr);
          assert.deepEqual(r.stdout.split("\n").filter(Boolean), chainReference(local, source));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a continuous sequence has no gap; one missing file in the middle is one gap, whatever the source lists", () => {
    const chain = (input: string, src = "source") => spawnSync(serverScriptPath("dolibarr-binlog-pull"), ["--chain", src], { input, encoding: "utf8" }).stdout.trim();
    assert.equal(chain("local 3\nlocal 4\nlocal 5\nsource 4\nsource 5\n"), "");
    assert.equal(chain("local 3\nlocal 5\nsource 5\n"), "gap 4");
    assert.equal(chain("local 3\nlocal 5\nsource 4\nsource 5\n"), "pending 4");
    assert.equal(chain("local 3\nlocal 5\n", "-"), "gap 4");
  });
});

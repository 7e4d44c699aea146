// The notifier's units as rendered (pure): a delivery service that no burst of jobs can
// start-limit, a spool watcher whose trigger limit a lingering deliverer cannot reach, the
// safety-net sweep timer; pushed with every server's base, removed on delete, and accepted by
// the pushed.timers rule (the policy pack's pushed-timers). What they do under real systemd is
// test/e2e/alerts.test.ts ("a burst of 60 jobs …").
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderServerBase } from "../../infra/render/server";
import { unitPath } from "../../infra/render/paths";
import { framePush, unframePush } from "../../infra/render/push";
import {
  NOTIFY_LINGER_SECONDS,
  NOTIFY_PATH,
  NOTIFY_SERVICE,
  NOTIFY_SWEEP_MINUTES,
  NOTIFY_SWEEP_SERVICE,
  NOTIFY_SWEEP_TIMER,
  NOTIFY_WATCHED_UNITS,
  notifyPathUnit,
  notifyServiceUnit,
  notifySweepServiceUnit,
  notifySweepTimerUnit,
} from "../../infra/render/units";
import { checkPushedTimers, timeSpanSeconds, timerFileOf } from "../../infra/rules/pushed";
import { SPOOL_MAX_AGE_MINUTES } from "../../infra/status/snapshot";
import { exampleTopology } from "../support/topology";

/** section → key → values, as systemd reads a unit file (comments and blank lines skipped). */
function sections(unit: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let current = "";
  for (const raw of unit.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      current = sec[1]!;
      if (!out.has(current)) out.set(current, new Map());
      continue;
    }
    const eq = line.indexOf("=");
    assert.ok(eq > 0, `not a key=value line: ${line}`);
    const m = out.get(current)!;
    m.set(line.slice(0, eq), [...(m.get(line.slice(0, eq)) ?? []), line.slice(eq + 1)]);
  }
  return out;
}
const get = (unit: string, section: string, key: string): string[] => sections(unit).get(section)?.get(key) ?? [];

describe("the notifier's units", () => {
  it("the delivery service has no start limit ([Unit] StartLimitIntervalSec=0) and lingers for a quiet spool", () => {
    const u = notifyServiceUnit();
    assert.deepEqual(get(u, "Unit", "StartLimitIntervalSec"), ["0"], "systemd's default (5 starts in 10 s) is met by a few jobs ending together");
    assert.deepEqual(get(u, "Service", "StartLimitIntervalSec"), [], "the key belongs in [Unit]");
    assert.deepEqual(get(u, "Service", "ExecStart"), [`/usr/local/sbin/dolibarr-notify deliver --linger ${NOTIFY_LINGER_SECONDS}`]);
    assert.ok(NOTIFY_LINGER_SECONDS >= 1 && NOTIFY_LINGER_SECONDS <= 60);
    assert.deepEqual(get(u, "Service", "Type"), ["oneshot"]);
  });

  it("the spool watcher's trigger limit cannot be reached by a deliverer that lingers", () => {
    const u = notifyPathUnit();
    assert.deepEqual(get(u, "Path", "DirectoryNotEmpty"), ["/var/lib/dolibarr-backup/notify/spool"]);
    const interval = timeSpanSeconds(get(u, "Path", "TriggerLimitIntervalSec")[0] ?? "");
    const burst = Number(get(u, "Path", "TriggerLimitBurst")[0]);
    assert.ok(interval !== undefined && Number.isInteger(burst) && burst > 0);
    // The path unit re-triggers only once its service is inactive again, and each run of the
    // service lasts at least its linger time: at most ceil(interval / linger) triggers per interval.
    assert.ok(Math.ceil(interval / NOTIFY_LINGER_SECONDS) < burst, `${burst} triggers in ${interval} s`);
    assert.deepEqual(get(u, "Install", "WantedBy"), ["paths.target"]);
  });

  it("the sweep timer fires soon after it starts and then more often than a stuck spool is reported", () => {
    const t = notifySweepTimerUnit();
    assert.ok((timeSpanSeconds(get(t, "Timer", "OnActiveSec")[0] ?? "") ?? Infinity) <= 120);
    const every = timeSpanSeconds(get(t, "Timer", "OnUnitActiveSec")[0] ?? "");
    assert.equal(every, NOTIFY_SWEEP_MINUTES * 60);
    assert.ok(NOTIFY_SWEEP_MINUTES < SPOOL_MAX_AGE_MINUTES, "the sweep drains a spool before the status calls it stuck");
    assert.deepEqual(get(t, "Install", "WantedBy"), ["timers.target"]);
    const s = notifySweepServiceUnit();
    assert.deepEqual(get(s, "Service", "ExecStart"), ["/usr/local/sbin/dolibarr-notify sweep"]);
    assert.deepEqual(get(s, "Unit", "StartLimitIntervalSec"), ["0"]);
  });

  it("the status reads the state of every unit of the notifier a server gets", () => {
    assert.deepEqual([...NOTIFY_WATCHED_UNITS].sort(), [NOTIFY_PATH, NOTIFY_SERVICE, NOTIFY_SWEEP_SERVICE, NOTIFY_SWEEP_TIMER].sort());
  });
});

describe("the notifier's units in every server's base", () => {
  const topology = exampleTopology();

  it("pushed with the base on both roles, enabled and started by create, stopped and removed by delete", () => {
    for (const server of topology.fleet.servers) {
      const b = renderServerBase(topology.fleet, server);
      const paths = b.files.map((f) => f.path);
      for (const unit of [NOTIFY_SERVICE, NOTIFY_PATH, NOTIFY_SWEEP_SERVICE, NOTIFY_SWEEP_TIMER]) {
        assert.ok(paths.includes(unitPath(unit)), `${server.name}: ${unit}`);
        assert.match(b.delete, new RegExp(`^rm -f -- ${unitPath(unit).replace(/\./g, "\\.")}$`, "m"), `${server.name}: ${unit} removed on delete`);
      }
      const create = b.create.split("\n");
      const reload = create.indexOf("systemctl daemon-reload");
      const enable = create.indexOf(`systemctl enable ${NOTIFY_PATH} ${NOTIFY_SWEEP_TIMER}`);
      const restart = create.indexOf(`systemctl restart ${NOTIFY_PATH} ${NOTIFY_SWEEP_TIMER}`);
      assert.ok(reload >= 0 && reload < enable && enable < restart, `${server.name}: daemon-reload, enable, restart in that order`);
      const del = b.delete.split("\n");
      const stop = del.findIndex((l) => l.startsWith(`systemctl disable --now ${NOTIFY_SWEEP_TIMER} ${NOTIFY_PATH}`));
      assert.ok(stop >= 0 && stop < del.findIndex((l) => l.startsWith("rm -f -- /")), `${server.name}: stopped before its files go`);
      // a sweep or a delivery killed by that stop leaves no failed unit behind
      const reset = del.findIndex((l) => l.startsWith("systemctl reset-failed") && l.includes(NOTIFY_SWEEP_SERVICE) && l.includes(NOTIFY_SERVICE));
      assert.ok(reset > del.findIndex((l) => l.startsWith(`systemctl stop ${NOTIFY_SWEEP_SERVICE}`)), `${server.name}: reset-failed after the stop`);
    }
  });

  it("the pushed.timers rule (policy pack: pushed-timers) accepts every server's base, the sweep timer included", () => {
    const bundles = topology.fleet.servers.map((s) => {
      const files = unframePush(framePush(renderServerBase(topology.fleet, s).files));
      assert.ok(files.some((f) => f.path === unitPath(NOTIFY_SWEEP_TIMER)));
      return { id: `urn:${s.name}`, name: `${s.name}/base/apply`, endpoint: { host: s.ssh.host, port: s.ssh.port }, files };
    });
    assert.equal(timerFileOf(unitPath(NOTIFY_SWEEP_TIMER)), undefined, "not an instance timer: it has no planned times");
    assert.deepEqual(checkPushedTimers(topology, bundles), []);
  });
});

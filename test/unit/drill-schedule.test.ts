// The weekly restore drill's slot (infra/model/drill.ts) and its rendering into the backup servers'
// bundles: outside every dump and replication window, spread over the week, rendered as a timer
// drop-in that the instance's create enables and its delete removes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DRILL_DUMP_MARGIN, DRILL_REPLICATION_MARGIN, DRILL_WEEKDAYS, drillCandidates, drillSlot, minutesToNextDump } from "../../infra/model/drill-slot";
import { drillWindow } from "../../infra/rules/rules";
import { DRILL_PACKAGE_SERVICES, SERVER_PACKAGES, renderBackupInstance, renderServerBase } from "../../infra/render/server";
import { SCRIPT, unitPath } from "../../infra/render/paths";
import { DRILL_SERVICE, DRILL_TIMER } from "../../infra/render/units";
import { sampleFleet, sampleInstance, samplePlan, sampleTopology } from "../support/jobs-topology";
import { MAX_MINUTE_OFFSET } from "../../infra/model/defaults";
import { DEFAULT_DRILL_SETTINGS } from "../../infra/model/drills";
import { planInstance } from "../../infra/model/schedule";
import { rng } from "../support/rng";

/** Minutes from a to b forward on the 24 h clock. */
const forward = (a: number, b: number) => (((b - a) % 1440) + 1440) % 1440;

function distinctTimes(rand: () => number, n: number): number[] {
  const set = new Set<number>();
  while (set.size < n) set.add(Math.floor(rand() * 1440));
  return [...set].sort((a, b) => a - b);
}

describe("restore drill slot", () => {
  it("leaves a drill its run time (the maximum RTO) before the next dump, where it stops, whenever the dumps leave room (generated schedules)", () => {
    const rand = rng(2121);
    let withRoom = 0;
    for (let k = 0; k < 600; k++) {
      const dumps = distinctTimes(rand, 1 + Math.floor(rand() * 6));
      const reps = distinctTimes(rand, Math.floor(rand() * 8));
      const run = [1, 30, 60, 120, 240, 600][k % 6]!;
      const slot = drillSlot(`inst-${k}`, "bk-1", dumps, reps, MAX_MINUTE_OFFSET, run);
      const gap = minutesToNextDump(slot.minute, dumps)!;
      assert.equal(gap, Math.min(...dumps.map((d) => forward(slot.minute, d) || 1440)), `case ${k}: minutesToNextDump`);
      if (drillCandidates(dumps, [], 0, run).length === 0) continue;
      withRoom++;
      assert.ok(gap > Math.max(run, DRILL_DUMP_MARGIN.before), `case ${k}: drill at ${slot.minute} has ${gap} min before the next dump of ${dumps.join(",")}, needs ${run}`);
    }
    assert.ok(withRoom > 300, `${withRoom} generated schedules with room: the property was tested`);
    assert.equal(minutesToNextDump(100, []), undefined);
    assert.equal(minutesToNextDump(720, [720]), 1440, "a drill at a dump's minute has the whole day (it cannot start there anyway)");
  });

  it("rule drill.window: dumps too close together for a drill of the maximum RTO are named (advisory); off with drills off", () => {
    const rand = rng(77);
    for (let k = 0; k < 200; k++) {
      const dumps = distinctTimes(rand, 1 + Math.floor(rand() * 20));
      const maxRto = 10 + Math.floor(rand() * 600);
      const t = sampleTopology();
      t.fleet = { ...t.fleet, drills: { ...DEFAULT_DRILL_SETTINGS, maxRtoMinutes: maxRto } };
      const inst = t.clients[0]!.instances[0]!;
      t.clients[0]!.instances[0] = { ...inst, schedule: { ...inst.schedule, dumpTimes: dumps } };
      // Independent count: some start minute (10-min grid) is > 90 min after every dump and >= max(30, maxRto) + 1 before the next.
      const room = Array.from({ length: 144 }, (_, n) => n * 10).some((m) => dumps.every((d) => forward(d, m) > 90 && forward(m, d) > Math.max(30, maxRto)));
      const v = drillWindow.check(t);
      assert.equal(v.length, room ? 0 : 1, `case ${k}: dumps ${dumps.join(",")} max RTO ${maxRto}: ${JSON.stringify(v)}`);
      if (!room) {
        assert.equal(v[0]!.severity, "advisory");
        assert.match(v[0]!.message, new RegExp(`instance ${inst.name}: its dumps \\(.*\\) leave no drill start ${maxRto} min \\(drills\\.maxRtoMinutes\\)`));
        t.fleet = { ...t.fleet, drills: { ...DEFAULT_DRILL_SETTINGS, maxRtoMinutes: maxRto, enabled: false } };
        assert.deepEqual(drillWindow.check(t), [], "drills off: nothing to prove");
      }
    }
    assert.deepEqual(drillWindow.check(sampleTopology()), [], "the default schedule (00:00, 12:00) leaves room");
  });

  it("the backup side's instance config tells the drill when to be gone: the dump times in the fleet's time zone", () => {
    const topology = sampleTopology();
    const instance = { ...topology.clients[0]!.instances[0]!, schedule: { ...topology.clients[0]!.instances[0]!.schedule, dumpTimes: [720, 0, 1395] } };
    const plan = samplePlan(instance.name);
    const env = renderBackupInstance(topology, instance, plan).files[0]!.content;
    assert.match(env, /^DRILL_STOP_AT='?00:00 12:00 23:15'?$/m);
    assert.match(env, /^DRILL_TIME_ZONE='?[A-Za-z/_]+'?$/m);
  });

  it("never starts inside a dump's or a replication's window when the day leaves room (generated schedules)", () => {
    const rand = rng(21);
    for (let k = 0; k < 400; k++) {
      const dumps = distinctTimes(rand, 1 + Math.floor(rand() * 3));
      const reps = distinctTimes(rand, 1 + Math.floor(rand() * 8));
      const slot = drillSlot(`inst-${k}`, `bk-${k % 5}`, dumps, reps);
      assert.ok(DRILL_WEEKDAYS.includes(slot.weekday));
      assert.ok(Number.isInteger(slot.minute) && slot.minute >= 0 && slot.minute < 1440);
      if (drillCandidates(dumps, reps).length === 0) continue;
      for (const d of dumps) assert.ok(forward(slot.minute, d) > DRILL_DUMP_MARGIN.before && forward(d, slot.minute) > DRILL_DUMP_MARGIN.after, `case ${k}: ${slot.minute} near dump ${d}`);
      for (const r of reps) assert.ok(forward(slot.minute, r) > DRILL_REPLICATION_MARGIN.before && forward(r, slot.minute) > DRILL_REPLICATION_MARGIN.after, `case ${k}: ${slot.minute} near replication ${r}`);
    }
  });

  it("is the same for the same instance and server, and spreads 60 instances of a server over the whole week", () => {
    const dumps = [0, 720];
    const reps = [130, 430, 730, 1030, 1330];
    assert.deepEqual(drillSlot("acme-erp", "bk-1", dumps, reps), drillSlot("acme-erp", "bk-1", dumps, reps));
    const slots = Array.from({ length: 60 }, (_, n) => drillSlot(`client-${n}-erp`, "bk-1", dumps, reps));
    assert.equal(new Set(slots.map((s) => s.weekday)).size, 7, "every day of the week used");
    const distinct = new Set(slots.map((s) => `${s.weekday} ${s.minute}`)).size;
    assert.ok(distinct >= 55, `${distinct} distinct slots of 60: the server-wide lock handles the rest`);
    const onTwoServers = Array.from({ length: 40 }, (_, n) => [drillSlot(`c${n}`, "bk-a", dumps, reps), drillSlot(`c${n}`, "bk-b", dumps, reps)]);
    assert.ok(onTwoServers.filter(([a, b]) => a!.weekday === b!.weekday && a!.minute === b!.minute).length <= 2, "an instance's backup servers drill it at different times");
  });

  it("a day full of replications gives way to the dumps' windows only, then to any time: a slot is always found", () => {
    const everyHalfHour = Array.from({ length: 48 }, (_, n) => n * 30);
    const slot = drillSlot("busy", "bk-1", [0, 720], everyHalfHour);
    assert.ok(forward(slot.minute, 0) > DRILL_DUMP_MARGIN.before && forward(0, slot.minute) > DRILL_DUMP_MARGIN.after);
    const full = Array.from({ length: 144 }, (_, n) => n * 10);
    assert.ok(Number.isInteger(drillSlot("busier", "bk-1", full, full).minute));
  });
});

describe("restore drill in the rendered bundles", () => {
  const topology = sampleTopology();
  const instance = sampleInstance();
  const plan = samplePlan(instance.name, instance.backupServers[0]!);

  it("the backup server's base carries the script, the units and the packages, and turns the packages' own services off", () => {
    const backup = sampleFleet().servers.find((s) => s.role === "backup")!;
    const base = renderServerBase(topology.fleet, backup);
    const paths = base.files.map((f) => f.path);
    for (const p of [SCRIPT.drill, unitPath(DRILL_SERVICE), unitPath(DRILL_TIMER)]) assert.ok(paths.includes(p), p);
    for (const pkg of ["mariadb-server", "php-fpm", "php-mysql", "nginx"]) assert.ok(SERVER_PACKAGES.backup.includes(pkg), pkg);
    const create = base.create.split("\n");
    const install = create.findIndex((l) => l.includes("apt-get install"));
    const off = create.findIndex((l) => l.startsWith("for u in $(systemctl list-unit-files") && l.includes("systemctl disable --now \"$u\"") && DRILL_PACKAGE_SERVICES.every((u) => l.includes(`'${u}'`)));
    assert.ok(install >= 0 && off > install, "the packages' services are turned off after the installation");
    assert.match(base.delete, /dolibarr-drill@\*\.timer/, "the base's delete stops the drill timers it leaves without a unit");
  });

  it("the instance's bundle renders its weekly slot as a timer drop-in, enabled by create and removed by delete", () => {
    const b = renderBackupInstance(topology, instance, plan);
    const dropIn = b.files.find((f) => f.path.endsWith(`/dolibarr-drill@${instance.name}.timer.d/schedule.conf`));
    assert.ok(dropIn, "drill drop-in");
    const unshifted = planInstance(topology.fleet, instance, { minuteOffset: 0 }).find((p) => p.backupServer === plan.backupServer)!.times;
    const slot = drillSlot(instance.name, plan.backupServer, instance.schedule.dumpTimes, unshifted, MAX_MINUTE_OFFSET, DEFAULT_DRILL_SETTINGS.maxRtoMinutes);
    const hhmm = `${String(Math.floor(slot.minute / 60)).padStart(2, "0")}:${String(slot.minute % 60).padStart(2, "0")}:00`;
    assert.match(dropIn.content, new RegExp(`^OnCalendar=$\\n^OnCalendar=${slot.weekday} \\*-\\*-\\* ${hhmm} [A-Za-z/_]+$`, "m"));
    assert.match(b.create, new RegExp(`systemctl enable --no-reload \\S+ dolibarr-drill@${instance.name}\\.timer`));
    assert.match(b.delete, new RegExp(`systemctl disable --now \\S+ dolibarr-drill@${instance.name}\\.timer`));
    assert.ok(b.delete.includes(dropIn.path), "the drop-in is removed on delete");
  });

  it("drills turned off in the fleet: no drop-in, and create turns a timer an earlier deploy enabled off", () => {
    const off = { ...topology, fleet: { ...topology.fleet, drills: { ...DEFAULT_DRILL_SETTINGS, enabled: false } } };
    const b = renderBackupInstance(off, instance, plan);
    assert.deepEqual(b.files.filter((f) => f.path.includes("dolibarr-drill@")), []);
    assert.match(b.create, new RegExp(`^systemctl disable --now dolibarr-drill@${instance.name}\\.timer`, "m"));
    assert.doesNotMatch(b.create, /systemctl (enable|restart) .*dolibarr-drill@/);
    assert.match(b.create, new RegExp(`systemctl restart dolibarr-replicate@${instance.name}\\.timer`), "the replication timer as before");
  });

  it("the slot does not depend on the client's minute offset, and stays outside the shifted replications' windows", () => {
    for (const inst of [instance, sampleInstance("bistro-erp"), sampleInstance("c-42")]) {
      for (const backupServer of inst.backupServers) {
        const dropIns = new Set<string>();
        for (let offset = 0; offset <= MAX_MINUTE_OFFSET; offset++) {
          const p = planInstance(topology.fleet, inst, { minuteOffset: offset }).find((x) => x.backupServer === backupServer)!;
          const file = renderBackupInstance(topology, inst, p).files.find((f) => f.path.includes("/dolibarr-drill@"))!;
          dropIns.add(file.content);
          const [, hh, mm] = /OnCalendar=\S+ \S+ (\d\d):(\d\d):00/.exec(file.content)!;
          const minute = Number(hh) * 60 + Number(mm);
          for (const r of p.times) assert.ok(forward(minute, r) > DRILL_REPLICATION_MARGIN.before && forward(r, minute) > DRILL_REPLICATION_MARGIN.after, `${inst.name} on ${backupServer}, offset ${offset}: drill ${minute} near replication ${r}`);
        }
        assert.equal(dropIns.size, 1, `${inst.name} on ${backupServer}: one drill slot whatever the offset`);
      }
    }
  });
});

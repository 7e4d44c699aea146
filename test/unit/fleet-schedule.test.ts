// Schedules for a whole fleet (spread of the pulls, dump queue, time zone) and lost servers:
// the model, the rules and the fleet config keys.
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_TIME_ZONE, fleetMaxConcurrentDumps, fleetTimeZone, MAX_MINUTE_OFFSET } from "../../infra/model/defaults";
import { isConfigError } from "../../infra/model/errors";
import { loadStackFiles } from "../../infra/model/load";
import {
  backupLoad,
  dumpCompletionMinutes,
  planInstance,
  planReplications,
  queueOverflows,
  replicationSpread,
  worstCaseRpo,
} from "../../infra/model/schedule";
import { inDailyWindow, isTimeZone } from "../../infra/model/time";
import type { Topology } from "../../infra/model/types";
import { checkTopology } from "../../infra/rules";
import { renderHostingInstance } from "../../infra/render/server";
import { clientYaml, fleetYaml, removeDir, writeStacksDir } from "../support/stacks";
import { exampleTopology, makeInstance, makeServer, makeTopology } from "../support/topology";

/** A fleet of `count` instances on one hosting server, all pulled by the same two backup servers. */
function crowded(count: number, extra: { maxConcurrentDumps?: number; replicationsPerDay?: number } = {}): Topology {
  const t = makeTopology({
    servers: [makeServer("web-rbx", "hosting", "ovh:rbx"), makeServer("bk-sbg", "backup", "ovh:sbg"), makeServer("bk-txl", "backup", "ionos:de/txl")],
    clients: Array.from({ length: count }, (_, i) => ({
      client: `c${i}`,
      instances: [makeInstance(`c${i}-erp`, "web-rbx", ["bk-sbg", "bk-txl"], { client: `c${i}`, ...(extra.replicationsPerDay ? { schedule: { dumpTimes: [0, 720], retentionDays: 7, replicationsPerDay: extra.replicationsPerDay } } : {}) })],
    })),
  });
  if (extra.maxConcurrentDumps !== undefined) t.fleet.maxConcurrentDumps = extra.maxConcurrentDumps;
  return t;
}

/** Deterministic pseudo-random numbers for generated cases. */
function rng(seed: number): () => number {
  let a = seed;
  return () => (a = (a * 1103515245 + 12345) % 2147483648) / 2147483648;
}

describe("fleet-wide spread of the pulls", () => {
  it("spreads the instances a backup server serves instead of starting them all at dump + window", () => {
    // enough dump slots that the queue drains within the window (the queue has its own tests)
    const t = crowded(30, { maxConcurrentDumps: 30 });
    const plans = planReplications(t);
    const firsts = plans.filter((p) => p.backupServer === "bk-sbg").map((p) => p.times[0]!);
    // before the spread every one of the 30 started at 00:30
    assert.ok(new Set(firsts).size >= 15, `only ${new Set(firsts).size} distinct start minutes: ${firsts.join(",")}`);
    const load = backupLoad(t, plans, 1).find((l) => l.backupServer === "bk-sbg")!;
    assert.equal(load.instances, 30);
    assert.equal(load.pullsPerDay, 120);
    assert.ok(load.peak <= 6, `peak ${load.peak} pulls in one minute`);
    // the spread is paid from the RPO slack, never beyond the policy
    for (const c of t.clients) for (const i of c.instances) {
      const rpo = worstCaseRpo(t, i, plans);
      assert.ok(rpo.databaseHours <= t.fleet.policy.maxRpoHours.database, `${i.name} ${rpo.databaseHours}`);
      assert.equal(rpo.filesHours, 3, i.name);
    }
    assert.deepEqual(checkTopology(t), []);
  });

  it("property: for generated schedules and names, the spread plan keeps every rule of the unspread one", () => {
    const rand = rng(42);
    for (let k = 0; k < 60; k++) {
      const n = 1 + Math.floor(rand() * 12);
      const dumps = new Set<number>();
      const d = 2 + Math.floor(rand() * 3);
      while (dumps.size < d) dumps.add(Math.floor(rand() * 1440));
      const dumpTimes = [...dumps].sort((a, b) => a - b);
      const t = exampleTopology();
      for (const c of t.clients) for (const i of c.instances) {
        i.name = `${i.name}-${Math.floor(rand() * 1e6)}`;
        i.schedule = { dumpTimes, retentionDays: 7, replicationsPerDay: n };
      }
      const window = t.fleet.policy.dumpWindowMinutes;
      for (const inst of t.clients.flatMap((c) => c.instances)) {
        const spread = replicationSpread(t.fleet, inst);
        assert.ok(spread >= 0 && spread < 1440 / n, `spread ${spread} for ${n}/day`);
        for (let off = 0; off <= MAX_MINUTE_OFFSET; off += 7) {
          const plans = planInstance(t.fleet, inst, { minuteOffset: off });
          const all = plans.flatMap((p) => p.times);
          assert.equal(new Set(all).size, all.length, `${inst.name}: two backup servers start together`);
          for (const time of all) for (const dump of dumpTimes) assert.ok(!inDailyWindow(time, dump, window), `${inst.name} ${time} in window ${dump}`);
        }
      }
      // the spread is paid from the slack only: an instance within the policy stays within it
      const max = t.fleet.policy.maxRpoHours;
      for (const inst of t.clients.flatMap((c) => c.instances)) {
        if (replicationSpread(t.fleet, inst) === 0) continue;
        const rpo = worstCaseRpo(t, inst, planReplications(t));
        assert.ok(rpo.filesHours <= max.files && rpo.databaseHours <= max.database, `${inst.name}: ${JSON.stringify(rpo)}`);
      }
    }
  });

  it("is a function of the instance and the policy: the same instance plans the same in a one-client view", () => {
    const t = crowded(12);
    const one: Topology = { fleet: t.fleet, clients: [t.clients[5]!] };
    assert.deepEqual(planReplications(one), planReplications(t).filter((p) => p.instance === "c5-erp"));
  });
});

describe("dump queue of a hosting server", () => {
  it("counts the dumps starting at one minute and the waves they need", () => {
    const t = crowded(5, { maxConcurrentDumps: 2 });
    const inst = t.clients[0]!.instances[0]!;
    // 5 dumps, 2 at once: 3 waves of ≤ 10 min = 30 min, within the 30-min window
    assert.equal(dumpCompletionMinutes(t, inst, 0), 30);
    assert.deepEqual(queueOverflows(t), []);
    t.fleet.maxConcurrentDumps = 1;
    // 5 waves = 50 min > window: the first replication after the window copies the previous dump
    assert.equal(dumpCompletionMinutes(t, inst, 0), 50);
    assert.deepEqual(queueOverflows(t).map((q) => [q.hostingServer, q.dumpTime, q.instances.length, q.drainMinutes]), [
      ["web-rbx", 0, 5, 50],
      ["web-rbx", 720, 5, 50],
    ]);
  });

  it("the worst-case RPO accounts for the queue and rpo.max says what to change", () => {
    const t = crowded(8, { maxConcurrentDumps: 8 });
    assert.deepEqual(checkTopology(t), []);
    const before = worstCaseRpo(t, "c0-erp", planReplications(t)).databaseHours;
    t.fleet.maxConcurrentDumps = 1;
    const after = worstCaseRpo(t, "c0-erp", planReplications(t)).databaseHours;
    // 8 × 10 min = 80 min of queue: the first pull after the window misses the dump, the next (3 h later) takes it
    assert.ok(after >= before + 3 - 0.01, `${before} → ${after}`);
    const rpo = checkTopology(t).filter((v) => v.ruleId === "rpo.max");
    assert.ok(rpo.length > 0);
    assert.match(rpo[0]!.message, /dump queue of web-rbx at 00:00 \(max 1 at once\) may finish it 80 min after its start, after the 30-min dump window: raise maxConcurrentDumps/);
  });

  it("property: more dump slots never make the worst-case RPO worse", () => {
    for (const count of [1, 3, 7, 20]) {
      let previous = Infinity;
      for (const slots of [1, 2, 3, 5, 8, 64]) {
        const t = crowded(count, { maxConcurrentDumps: slots });
        const rpo = worstCaseRpo(t, "c0-erp", planReplications(t)).databaseHours;
        assert.ok(rpo <= previous + 1e-9, `${count} instances, ${slots} slots: ${rpo} > ${previous}`);
        previous = rpo;
      }
    }
  });

  it("the hosting server's env file carries the fleet's maxConcurrentDumps for the dump wrapper", () => {
    const t = crowded(2, { maxConcurrentDumps: 3 });
    const env = renderHostingInstance(t, t.clients[0]!.instances[0]!).files[0]!.content;
    assert.match(env, /^MAX_CONCURRENT_DUMPS='?3'?$/m);
    delete t.fleet.maxConcurrentDumps;
    assert.equal(fleetMaxConcurrentDumps(t.fleet), 2);
  });
});

describe("fleet config keys", () => {
  const withKeys = (extra: string) => writeStacksDir({ "Pulumi.fleet.yaml": fleetYaml(extra), "Pulumi.client-acme.yaml": clientYaml("acme", [{ name: "acme-erp", hosting: "web-rbx", backups: ["bk-sbg", "bk-txl"] }]) });
  const load = (dir: string) => loadStackFiles([path.join(dir, "Pulumi.fleet.yaml"), path.join(dir, "Pulumi.client-acme.yaml")]);

  it("timeZone defaults to Europe/Paris, takes IANA names and refuses others naming file and key", () => {
    let dir = withKeys("");
    try {
      assert.equal(load(dir).fleets[0]!.timeZone, DEFAULT_TIME_ZONE);
    } finally {
      removeDir(dir);
    }
    dir = withKeys("  dolibarr-backup:timeZone: UTC\n  dolibarr-backup:maxConcurrentDumps: 4\n");
    try {
      const fleet = load(dir).fleets[0]!;
      assert.equal(fleetTimeZone(fleet), "UTC");
      assert.equal(fleet.maxConcurrentDumps, 4);
      const dropIn = renderHostingInstance(load(dir).topologies[0]!, load(dir).clients[0]!.instances[0]!).files[1]!.content;
      assert.match(dropIn, /OnCalendar=\*-\*-\* 00,12:00:00 UTC\n/);
    } finally {
      removeDir(dir);
    }
    for (const [bad, key] of [
      ["  dolibarr-backup:timeZone: Europe/Pariss\n", "timeZone"],
      ["  dolibarr-backup:timeZone: \"Europe/Paris; reboot\"\n", "timeZone"],
      ["  dolibarr-backup:maxConcurrentDumps: 0\n", "maxConcurrentDumps"],
    ] as const) {
      dir = withKeys(bad);
      try {
        assert.throws(
          () => load(dir),
          (e: unknown) => isConfigError(e) && e.issues.some((i) => i.keyPath === `dolibarr-backup:${key}` && /Pulumi\.fleet\.yaml/.test(i.file)),
          bad,
        );
      } finally {
        removeDir(dir);
      }
    }
    assert.ok(isTimeZone("Europe/Paris") && isTimeZone("America/Argentina/Buenos_Aires") && !isTimeZone("Mars/Olympus") && !isTimeZone("../etc"));
  });

  it("dumpVerification: frames by default, full on request, both rendered as DUMP_VERIFY for the dump wrapper; anything else refused with its key", () => {
    for (const [extra, want] of [["", "frames"], ["  dolibarr-backup:dumpVerification: full\n", "full"], ["  dolibarr-backup:dumpVerification: frames\n", "frames"]] as const) {
      const dir = withKeys(extra);
      try {
        const loaded = load(dir);
        assert.equal(loaded.fleets[0]!.dumpVerification, want);
        const env = renderHostingInstance(loaded.topologies[0]!, loaded.clients[0]!.instances[0]!).files[0]!.content;
        assert.match(env, new RegExp(`^DUMP_VERIFY='${want}'$`, "m"), extra);
      } finally {
        removeDir(dir);
      }
    }
    for (const bad of ["sometimes", "none", "FULL", "true"]) {
      const dir = withKeys(`  dolibarr-backup:dumpVerification: ${bad}\n`);
      try {
        assert.throws(
          () => load(dir),
          (e: unknown) => isConfigError(e) && e.issues.some((i) => i.keyPath === "dolibarr-backup:dumpVerification" && /expected one of frames, full/.test(i.message)),
          bad,
        );
      } finally {
        removeDir(dir);
      }
    }
  });

  it("a server's state is active or lost", () => {
    const dir = withKeys("");
    const fs = require("node:fs") as typeof import("node:fs");
    const file = path.join(dir, "Pulumi.fleet.yaml");
    try {
      fs.writeFileSync(file, fleetYaml().replace("      site: sbg\n", "      site: sbg\n      state: lost\n"));
      const fleet = load(dir).fleets[0]!;
      assert.equal(fleet.servers.find((s) => s.name === "bk-sbg")!.state, "lost");
      assert.equal(fleet.servers.find((s) => s.name === "web-rbx")!.state, undefined);
      fs.writeFileSync(file, fleetYaml().replace("      site: sbg\n", "      site: sbg\n      state: burnt\n"));
      assert.throws(() => load(dir), (e: unknown) => isConfigError(e) && e.issues.some((i) => /servers\[\d\]\.state/.test(i.keyPath) && /"active", "lost"/.test(i.message)));
    } finally {
      removeDir(dir);
    }
  });
});

describe("rule servers.lost", () => {
  function fleetWithLost(lost: string[]): Topology {
    const t = makeTopology({
      servers: [
        makeServer("web-rbx", "hosting", "ovh:rbx"),
        makeServer("web-fra", "hosting", "ionos:de/fra"),
        makeServer("web-gra", "hosting", "ovh:gra"),
        makeServer("bk-sbg", "backup", "ovh:sbg"),
        makeServer("bk-waw", "backup", "ovh:waw"),
        makeServer("bk-txl", "backup", "ionos:de/txl"),
        makeServer("bk-lil", "backup", "ovh:gra"),
      ],
      clients: [
        { client: "acme", instances: [makeInstance("acme-erp", "web-rbx", ["bk-sbg", "bk-txl"]), makeInstance("acme-shop", "web-rbx", ["bk-waw", "bk-txl"])] },
        { client: "globex", instances: [makeInstance("globex-erp", "web-fra", ["bk-sbg", "bk-waw"])] },
      ],
    });
    for (const s of t.fleet.servers) if (lost.includes(s.name)) s.state = "lost";
    return t;
  }

  it("nothing is lost: no violation", () => {
    assert.deepEqual(checkTopology(fleetWithLost([])), []);
  });

  it("a lost backup server: every instance it served is named with the candidates that satisfy the distance rules", () => {
    const v = checkTopology(fleetWithLost(["bk-sbg"]), { only: ["servers.lost"] });
    assert.deepEqual(v.map((x) => x.instance).sort(), ["acme-erp", "globex-erp"]);
    const acme = v.find((x) => x.instance === "acme-erp")!;
    assert.equal(acme.severity, "mandatory");
    assert.match(acme.message, /backup server bk-sbg \(ovh:sbg, Strasbourg, FR\) is lost \(state: lost\); 1 backup server\(s\) left \(bk-txl\); required: replace it in backupServers by an active backup server at least 100 km from the hosting site \(Roubaix\)/);
    // waw: far from Roubaix and Berlin; bk-lil sits at Gravelines, 80 km from Roubaix: not a candidate; bk-txl is already used
    assert.match(acme.message, /candidates: bk-waw \(ovh:waw/);
    assert.doesNotMatch(acme.message, /bk-lil|candidates:.*bk-txl/);
    // the lost server no longer counts as a backup: backup.min-count fails too
    assert.ok(checkTopology(fleetWithLost(["bk-sbg"])).some((x) => x.ruleId === "backup.min-count" && x.instance === "acme-erp"));
  });

  it("a lost hosting server: its instances must be restored elsewhere, with the hosting servers far enough from their backups", () => {
    const v = checkTopology(fleetWithLost(["web-rbx"]), { only: ["servers.lost"] });
    assert.deepEqual(v.map((x) => x.instance), ["acme-erp", "acme-shop"]);
    assert.match(v[0]!.message, /hosting server web-rbx \(ovh:rbx, Roubaix, FR\) is lost \(state: lost\); required: restore it from the newest complete mirror on bk-sbg or bk-txl \(scripts\/failover.sh\) onto another hosting server/);
    assert.match(v[0]!.message, /candidates: web-fra \(ionos:de\/fra[^;]*; web-gra/);
  });

  it("every server lost: says nothing is left to restore from", () => {
    const v = checkTopology(fleetWithLost(["web-rbx", "bk-sbg", "bk-txl"]), { only: ["servers.lost"] });
    assert.match(v.find((x) => x.instance === "acme-erp" && x.servers?.[0] === "web-rbx")!.message, /nothing is left to restore it from/);
  });

  it("property: for every single lost server, exactly the instances that used it are named, once per use", () => {
    const base = fleetWithLost([]);
    for (const server of base.fleet.servers) {
      const t = fleetWithLost([server.name]);
      const want = t.clients.flatMap((c) => c.instances).filter((i) => i.hostingServer === server.name || i.backupServers.includes(server.name)).map((i) => i.name).sort();
      const got = checkTopology(t, { only: ["servers.lost"] }).map((v) => v.instance!).sort();
      assert.deepEqual(got, want, server.name);
    }
  });
});

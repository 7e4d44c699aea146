// Fleet status: freshness against the computed RPO, from real-looking snapshots (what the jobs
// write: dump file stamps, .complete markers, status files), and the text and JSON renderings.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { binlogOfInstance, parseHealth, parseServerReport, serverScript } from "../../infra/status/collect";
import { renderHtml, renderJson, renderTable } from "../../infra/status/render";
import { assess, assessServer, BINLOG_STATUS_MAX_AGE_SECONDS, snapshotSkeleton, SPOOL_MAX_AGE_MINUTES, stampMs, type BinlogFacts, type ServerHealth, type StatusServer, type StatusSnapshot } from "../../infra/status/snapshot";
import { okDrill } from "../support/drills";
import { exampleTopology } from "../support/topology";

const NOW = new Date("2026-11-25T10:00:00Z");

/** "2026-11-25T10:00:00Z" minus `hours` → the dump stamp / ISO time the jobs would write. */
const stampAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
const isoAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");

/** Every instance dumped `dumpH` hours ago and mirrored `mirrorH` hours ago everywhere. */
function snapshotAt(dumpH: number, mirrorH: number): StatusSnapshot {
  const s = snapshotSkeleton(exampleTopology(), NOW, "Europe/Paris");
  for (const i of s.instances) {
    i.dump = { newestDump: stampAgo(dumpH), dumpCount: 14, lastRun: { result: "ok", finishedAt: isoAgo(dumpH) } };
    i.mirrors = i.mirrors.map((m) => ({
      server: m.server,
      complete: { finishedAt: isoAgo(mirrorH), newestDump: stampAgo(Math.max(dumpH, mirrorH)), entries: 500 },
      newestSnapshot: stampAgo(mirrorH),
      snapshotCount: 7,
      lastRun: { result: "ok", finishedAt: isoAgo(mirrorH) },
    }));
    // drilled yesterday on each backup server
    i.drills = i.mirrors.map((m) => ({ server: m.server, last: okDrill(i.name, m.server, NOW.getTime() - 24 * 3_600_000) }));
  }
  return s;
}

describe("assess", () => {
  it("fresh copies within the RPO: every instance ok, exit 0", () => {
    const r = assess(snapshotAt(2, 1));
    assert.deepEqual(r.instances.map((i) => i.status), ["ok", "ok", "ok"]);
    assert.equal(r.exitCode, 0);
    assert.ok(Math.abs(r.instances[0]!.filesAgeHours! - 1) < 1e-9);
  });

  it("property: an instance turns stale exactly when its freshest copy passes its files or database RPO", () => {
    const base = snapshotAt(1, 1);
    for (const inst of base.instances) {
      const rpo = inst.rpoHours;
      for (const h of [0.5, rpo.files - 0.05, rpo.files + 0.05, rpo.database - 0.05, rpo.database + 0.05, 48]) {
        const s = snapshotAt(Math.min(h, 1), h);
        const got = assess(s).instances.find((i) => i.name === inst.name)!;
        const want = h > rpo.files ? "stale" : "ok";
        assert.equal(got.status, want, `${inst.name}: mirror ${h} h old, RPO ${rpo.files} h`);
      }
      // the database: dumps stop (the hosting server dumps no more) while replication goes on
      for (const h of [rpo.database - 0.05, rpo.database + 0.05]) {
        const got = assess(snapshotAt(h, 0.5)).instances.find((i) => i.name === inst.name)!;
        assert.equal(got.status, h > rpo.database ? "stale" : "ok", `${inst.name}: dump ${h} h old, RPO ${rpo.database} h`);
      }
    }
  });

  it("one stale mirror out of two makes the instance stale (the bad day is seen before the second copy goes)", () => {
    const s = snapshotAt(1, 1);
    s.instances[0]!.mirrors[1]!.complete!.finishedAt = isoAgo(30);
    const r = assess(s);
    assert.equal(r.instances[0]!.status, "stale");
    assert.equal(r.instances[0]!.mirrors[1]!.status, "stale");
    assert.match(r.instances[0]!.reasons.join("\n"), /mirror on bk-txl 30\.0 h old > files RPO 3\.0 h/);
    assert.equal(r.exitCode, 1);
  });

  it("a failed dump or replication is failing; an unreachable server is unknown; a lost server failing", () => {
    let s = snapshotAt(1, 1);
    s.instances[0]!.dump.lastRun = { result: "failed", message: "dump of dolibarr_acme_erp failed: Got error 28 (No space left on device)" };
    assert.equal(assess(s).instances[0]!.status, "failing");
    assert.match(assess(s).instances[0]!.reasons[0]!, /No space left on device/);
    s = snapshotAt(1, 1);
    s.instances[2]!.mirrors[0]!.lastRun = { result: "failed", message: "the source would delete 900 of the mirror's 1000 entries" };
    assert.equal(assess(s).instances[2]!.status, "failing");
    s = snapshotAt(1, 1);
    s.instances[2]!.mirrors[0]!.lastRun = { result: "suspicious", message: "this run changed or deleted 180 of 300 files (60%) of documents/" };
    assert.equal(assess(s).instances[2]!.status, "failing", "a suspicious change (pinned snapshot) is not ok");
    assert.match(assess(s).instances[2]!.reasons.join("\n"), /was a suspicious change: .*60%/);
    s = snapshotAt(1, 1);
    s.instances[1]!.mirrors[0] = { server: "bk-sbg", error: "ssh root@198.51.100.30:22 exited 255: Connection timed out" };
    assert.equal(assess(s).instances[1]!.status, "unknown");
    s = snapshotAt(1, 1);
    s.servers.find((x) => x.name === "web-fra")!.state = "lost";
    assert.equal(assess(s).instances.find((i) => i.hostingServer === "web-fra")!.status, "failing");
  });

  it("stampMs reads the jobs' UTC stamps", () => {
    assert.equal(stampMs("20260101T120000Z"), Date.UTC(2026, 0, 1, 12));
    assert.equal(stampMs("2026-01-01"), undefined);
  });
});

describe("renderings", () => {
  it("the table names each instance, its status and why; JSON carries the same", () => {
    const s = snapshotAt(1, 1);
    s.instances[1]!.mirrors[0]!.complete!.finishedAt = isoAgo(20);
    const r = assess(s);
    const text = renderTable(r);
    assert.match(text, /^acme-shop +acme +STALE +web-rbx/m);
    assert.match(text, /acme-shop: mirror on bk-sbg 20\.0 h old > files RPO 3\.0 h/);
    assert.match(text, /3 instance\(s\): 2 ok, 1 stale, 0 failing, 0 unknown — NOT OK/);
    const json = JSON.parse(renderJson(r)) as { ok: boolean; instances: Array<{ name: string; status: string }> };
    assert.equal(json.ok, false);
    assert.deepEqual(json.instances.map((i) => i.status), ["ok", "stale", "ok"]);
  });
});

describe("the collector's server script and its report", () => {
  it("reads only, names every instance's files, and its report parses back (base64, odd contents)", () => {
    const t = exampleTopology();
    const hosting = t.fleet.servers.find((s) => s.name === "web-rbx")!;
    const script = serverScript(t, hosting);
    assert.match(script, /item dump-status acme-erp '\/var\/lib\/dolibarr-backup\/status\/acme-erp\.dump\.json'/);
    assert.match(script, /list dumps acme-shop '\/var\/backups\/dolibarr\/acme-shop' 'dolibarr_acme_shop-\?{8}T\?{6}Z\.sql\.\*'/);
    assert.doesNotMatch(script, /globex/);
    assert.doesNotMatch(script, /\b(rm|mv|cp|tee|>)\s/, "nothing is written");
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const status = JSON.stringify({ result: "failed", message: "line1\nline2 \u0001 \"quoted\"" });
    const report = parseServerReport(
      [
        `dump-status acme-erp ${b64(status)}`,
        `dumps acme-erp ${b64("dolibarr_acme_erp-20261124T230001Z.sql.zst\ndolibarr_acme_erp-20261125T110002Z.sql.zst\n")}`,
        "dump-status acme-shop -",
        "dumps acme-shop -",
        `complete globex-erp ${b64('{"instance":"globex-erp","finishedAt":"2026-11-25T03:31:10Z","newestDump":"20261125T000004Z","entries":812}')}`,
        `snapshots globex-erp ${b64("20261124T033100Z\n20261125T033110Z\n")}`,
        `replicate-status globex-erp ${b64("{not json")}`,
        "end-of-report",
      ].join("\n"),
    );
    assert.deepEqual(report.dumps.get("acme-erp"), { lastRun: { result: "failed", message: "line1\nline2 \u0001 \"quoted\"" }, dumpCount: 2, newestDump: "20261125T110002Z" });
    assert.deepEqual(report.dumps.get("acme-shop"), { dumpCount: 0 });
    const m = report.mirrors.get("globex-erp")!;
    assert.deepEqual(m.complete, { finishedAt: "2026-11-25T03:31:10Z", newestDump: "20261125T000004Z", entries: 812 });
    assert.equal(m.newestSnapshot, "20261125T033110Z");
    assert.match(m.error!, /globex-erp\.replicate\.json is not valid JSON/);
    assert.throws(() => parseServerReport("dumps acme-erp -\n"), /cut short/);
  });
});

// ---- point in time: the binlogs each backup server pulls ----

describe("binlogs: the newest recoverable second (db column)", () => {
  const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString().replace(/\.\d+Z$/, "Z");
  /** Every mirror with this binlog status (by backup server name), the rest as snapshotAt(1, 1). */
  function withBinlogs(of: (server: string) => BinlogFacts | undefined): StatusSnapshot {
    const s = snapshotAt(1, 1);
    for (const i of s.instances) {
      i.mirrors = i.mirrors.map((m) => {
        const b = of(m.server);
        return b ? { ...m, binlog: b } : m;
      });
    }
    return s;
  }

  it("property: the instance's newest recoverable second is the freshest over its usable mirrors; a broken chain or a silent pull makes that mirror stale, never ok", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ok: fc.boolean(), lag: fc.integer({ min: 0, max: 3600 }), checkedAgo: fc.integer({ min: 0, max: 3 * BINLOG_STATUS_MAX_AGE_SECONDS }) }), { minLength: 2, maxLength: 2 }),
        (facts) => {
          const servers = [...new Set(exampleTopology().clients.flatMap((c) => c.instances.flatMap((i) => i.backupServers)))];
          const byServer = new Map(servers.map((name, k) => [name, facts[k % facts.length]!]));
          const r = assess(
            withBinlogs((name) => {
              const f = byServer.get(name)!;
              return { ok: f.ok, checkedAt: secondsAgo(f.checkedAgo), newestRecoverableUtc: secondsAgo(f.checkedAgo + f.lag), lagSeconds: f.lag, maxLagSeconds: 300, problems: f.ok ? [] : ["binlog.000007 is missing: purged before it was fetched"] };
            }),
          );
          for (const inst of r.instances) {
            for (const m of inst.mirrors) {
              const f = byServer.get(m.server)!;
              const silent = f.checkedAgo > BINLOG_STATUS_MAX_AGE_SECONDS;
              if (!f.ok || silent) {
                assert.equal(m.status, "stale", `${inst.name} on ${m.server}: ${JSON.stringify(f)}`);
                assert.ok(m.reasons.some((x) => x.startsWith(`binlogs on ${m.server}: `) && (silent ? /does not run/.test(x) : /purged before/.test(x))), m.reasons.join("; "));
              } else assert.equal(m.status, "ok", `${inst.name} on ${m.server}: ${m.reasons.join("; ")}`);
              assert.equal(m.recoverableAt, new Date(NOW.getTime() - (f.checkedAgo + f.lag) * 1000).toISOString());
            }
            const best = inst.mirrors.map((m) => m.recoverableAt!).sort().pop();
            assert.equal(inst.recoverableAt, best);
            if (inst.mirrors.some((m) => m.status !== "ok")) assert.notEqual(inst.status, "ok");
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("property, binlogs shipped (database RPO minutes): a copy is stale exactly when its newest recoverable second is older than that RPO, its chain is broken, its pull silent, or it holds no binlog status; its dump only bounds the dump cycle", () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.record({ ok: fc.boolean(), lag: fc.integer({ min: 0, max: 1200 }), checkedAgo: fc.integer({ min: 0, max: 2 * BINLOG_STATUS_MAX_AGE_SECONDS }) }), { freq: 6 }), { minLength: 2, maxLength: 2 }),
        fc.constantFrom(1, 1, 6, 14),
        (facts, dumpH) => {
          const servers = [...new Set(exampleTopology().clients.flatMap((c) => c.instances.flatMap((i) => i.backupServers)))];
          const byServer = new Map(servers.map((name, k) => [name, facts[k % facts.length] ?? undefined]));
          const snapshot = withBinlogs((name) => {
            const f = byServer.get(name);
            return f ? { ok: f.ok, checkedAt: secondsAgo(f.checkedAgo), newestRecoverableUtc: secondsAgo(f.checkedAgo + f.lag), lagSeconds: f.lag, maxLagSeconds: 300, problems: f.ok ? [] : ["a gap"] } : undefined;
          });
          for (const i of snapshot.instances) {
            i.databaseFrom = "binlogs";
            i.rpoHours = { files: i.rpoHours.files, database: 300 / 3600, dumps: i.rpoHours.database };
            i.dump.newestDump = stampAgo(dumpH);
            i.mirrors = i.mirrors.map((m) => ({ ...m, complete: { ...m.complete!, newestDump: stampAgo(dumpH) } }));
          }
          const r = assess(snapshot);
          for (const inst of r.instances) {
            const dumpsLate = dumpH > inst.rpoHours.dumps!;
            for (const m of inst.mirrors) {
              const f = byServer.get(m.server);
              const age = f ? f.checkedAgo + f.lag : undefined;
              const fresh = f !== undefined && f.ok && f.checkedAgo <= BINLOG_STATUS_MAX_AGE_SECONDS && age! <= 300;
              assert.equal(m.status, fresh && !dumpsLate ? "ok" : "stale", `${inst.name} on ${m.server}: ${JSON.stringify(f)} dump ${dumpH} h: ${m.reasons.join("; ")}`);
              if (f === undefined) assert.ok(m.reasons.some((x) => /no status \(dolibarr-binlog-pull@/.test(x)), m.reasons.join("; "));
              else if (age! > 300) assert.ok(m.reasons.some((x) => /newest recoverable second on .* old > database RPO 5 min/.test(x)), m.reasons.join("; "));
            }
            const ages = inst.mirrors.map((m) => byServer.get(m.server)).filter((f) => f !== undefined).map((f) => f!.checkedAgo + f!.lag);
            if (ages.length === 0 || Math.min(...ages) > 300 || dumpsLate) assert.notEqual(inst.status, "ok", `${inst.name}: ${inst.reasons.join("; ")}`);
            if (inst.mirrors.every((m) => m.status === "ok")) assert.equal(inst.status, "ok", inst.reasons.join("; "));
          }
        },
      ),
      { numRuns: 200, includeErrorInReport: true },
    );
  });

  it("without binlogs nothing changes: no db value, same verdict", () => {
    const r = assess(snapshotAt(1, 1));
    assert.ok(r.instances.every((i) => i.recoverableAt === undefined && i.status === "ok"));
    assert.match(renderTable(r).split("\n")[0]!, /\bdb\b/);
  });

  it("the table and the page show the age of the newest recoverable second", async () => {
    const r = assess(withBinlogs(() => ({ ok: true, checkedAt: secondsAgo(20), newestRecoverableUtc: secondsAgo(65), lagSeconds: 45, maxLagSeconds: 300, problems: [] })));
    const table = renderTable(r);
    assert.match(table, /acme-erp\s.*\s65 s\s/);
    assert.match(table, /db 65 s/);
    const html = await renderHtml(r);
    assert.match(html, /<td class="recoverable" title="newest recoverable second: [0-9T:.-]+Z">65 s<\/td>/);
  });

  it("the collector asks each backup server for the binlog status of every hosting server it serves, and parses it back", () => {
    const t = exampleTopology();
    const backup = t.fleet.servers.find((s) => s.role === "backup")!;
    const hostings = [...new Set(t.clients.flatMap((c) => c.instances).filter((i) => i.backupServers.includes(backup.name)).map((i) => i.hostingServer))];
    const script = serverScript(t, backup);
    for (const h of hostings) assert.match(script, new RegExp(`item binlog-status ${h} '/var/lib/dolibarr-backup/status/binlog-${h}\\.json'`));
    assert.doesNotMatch(serverScript(t, t.fleet.servers.find((s) => s.role === "hosting")!), /binlog-status/);
    const b64 = (x: string) => Buffer.from(x).toString("base64");
    const report = parseServerReport(
      [
        `binlog-status ${hostings[0]} ${b64(JSON.stringify({ ok: false, checkedAt: "2026-11-25T09:59:30Z", newestRecoverableUtc: "2026-11-25T09:40:00Z", lagSeconds: 1170, maxLagSeconds: 300, problems: ["lag 1170s beyond the limit of 300s"], files: 12 }))}`,
        "binlog-status other-host -",
        `binlog-status third-host ${b64("{cut")}`,
        "end-of-report",
      ].join("\n"),
    );
    assert.deepEqual(report.binlogs.get(hostings[0]!), { ok: false, checkedAt: "2026-11-25T09:59:30Z", newestRecoverableUtc: "2026-11-25T09:40:00Z", lagSeconds: 1170, maxLagSeconds: 300, problems: ["lag 1170s beyond the limit of 300s"] });
    assert.equal(report.binlogs.has("other-host"), false, "no status file: binlogs off or not shipped yet");
    assert.match(report.binlogs.get("third-host")!.error!, /binlog-third-host\.json is not valid JSON/);
  });

  it("a hole (binlogs missing behind every dump) is a reason on the copy, never a worse status; the collector parses it", () => {
    const b64 = (x: string) => Buffer.from(x).toString("base64");
    const status = {
      ok: true,
      checkedAt: secondsAgo(20),
      newestRecoverableUtc: secondsAgo(30),
      lagSeconds: 10,
      maxLagSeconds: 300,
      problems: [],
      holes: [{ files: ["binlog.000022", "binlog.000023"], fromUtc: "2026-11-25T07:09:07Z", toUtc: "2026-11-25T07:09:19Z" }, { files: ["binlog.000030"], fromUtc: "", toUtc: "" }, { files: [] }, "junk"],
    };
    const parsed = parseServerReport([`binlog-status web1 ${b64(JSON.stringify(status))}`, "end-of-report"].join("\n")).binlogs.get("web1")!;
    assert.deepEqual(parsed.holes, [{ files: ["binlog.000022", "binlog.000023"], fromUtc: "2026-11-25T07:09:07Z", toUtc: "2026-11-25T07:09:19Z" }, { files: ["binlog.000030"] }]);
    for (const byBinlogs of [false, true]) {
      const snapshot = withBinlogs(() => parsed);
      if (byBinlogs) for (const i of snapshot.instances) i.databaseFrom = "binlogs";
      const r = assess(snapshot);
      assert.equal(r.exitCode, 0);
      for (const inst of r.instances) {
        assert.equal(inst.status, "ok", inst.reasons.join("; "));
        for (const m of inst.mirrors) {
          assert.equal(m.status, "ok");
          assert.ok(m.reasons.includes(`binlogs on ${m.server}: no restore possible between 2026-11-25T07:09:07Z and 2026-11-25T07:09:19Z (gap binlog.000022..binlog.000023)`), m.reasons.join("; "));
          assert.ok(m.reasons.includes(`binlogs on ${m.server}: no restore possible between the end of the file before binlog.000030 and the start of the file after binlog.000030 (gap binlog.000030)`), m.reasons.join("; "));
        }
        assert.ok(inst.reasons.some((x) => /no restore possible between 2026-11-25T07:09:07Z/.test(x)));
      }
      // the terminal table lists reasons of instances that are not ok only: an ok fleet stays quiet
      assert.doesNotMatch(renderTable(r), /no restore possible/);
    }
  });

  it("each instance is judged by its own recoverable second: one without a replayable dump yet does not blank the others", () => {
    const b64 = (x: string) => Buffer.from(x).toString("base64");
    const status = { ok: true, checkedAt: "2026-11-25T09:59:30Z", newestRecoverableUtc: "", recoverableByInstance: { "acme-erp": "2026-11-25T09:59:20Z", bad: 7 }, lagSeconds: 10, maxLagSeconds: 300, problems: [] };
    const report = parseServerReport([`binlog-status web1 ${b64(JSON.stringify(status))}`, "end-of-report"].join("\n"));
    const parsed = report.binlogs.get("web1")!;
    assert.deepEqual(parsed.recoverableByInstance, { "acme-erp": "2026-11-25T09:59:20Z" }, "non-string values are dropped");
    assert.equal(binlogOfInstance(parsed, "acme-erp")!.newestRecoverableUtc, "2026-11-25T09:59:20Z");
    assert.equal(binlogOfInstance(parsed, "acme-formation")!.newestRecoverableUtc, undefined);
    assert.equal(binlogOfInstance(parsed, "acme-formation")!.recoverableByInstance, undefined, "an instance sees only its own");
    // a pull of an older release: the hosting server's one second for every instance
    const old = { ok: true, newestRecoverableUtc: "2026-11-25T09:59:00Z" };
    assert.equal(binlogOfInstance(old, "acme-formation")!.newestRecoverableUtc, "2026-11-25T09:59:00Z");
    assert.equal(binlogOfInstance(undefined, "x"), undefined);
  });
});

// ---- the servers' own items: systemd and the notifier ----

const NOTIFIER_UNITS = ["dolibarr-notify.path", "dolibarr-notify.service", "dolibarr-notify-sweep.timer", "dolibarr-notify-sweep.service"];
/** A server in good health, as a lab host answers after a deploy. */
function healthy(): ServerHealth {
  return {
    systemState: "running",
    failedUnits: [],
    notifier: NOTIFIER_UNITS.map((unit) => ({ unit, loadState: "loaded", activeState: /\.(path|timer)$/.test(unit) ? "active" : "inactive", subState: /\.path$/.test(unit) ? "waiting" : /\.timer$/.test(unit) ? "waiting" : "dead", result: "success", unitFileState: /\.(path|timer)$/.test(unit) ? "enabled" : "static" })),
    spool: { count: 0 },
  };
}
/** Every server of the example fleet answered, with this health (default: healthy). */
function collected(health: (name: string) => ServerHealth | undefined = () => healthy()): StatusSnapshot {
  const s = snapshotAt(1, 1);
  for (const server of s.servers) {
    server.reachable = true;
    const h = health(server.name);
    if (h) server.health = h;
  }
  return s;
}

describe("servers: systemd and the notifier", () => {
  it("healthy servers are ok and the status exits 0; a server not asked is not judged", () => {
    const r = assess(collected());
    assert.deepEqual(r.servers.map((s) => [s.status, s.checked]), r.servers.map(() => ["ok", true]));
    assert.equal(r.exitCode, 0);
    assert.deepEqual(assess(snapshotAt(1, 1)).servers.map((s) => s.checked), [false, false, false, false, false]);
    assert.equal(assess(snapshotAt(1, 1)).exitCode, 0);
  });

  it("a failed spool watcher (unit-start-limit-hit) is an item of the status: failing, exit 1, in the table, JSON and page", async () => {
    const s = collected((name) => {
      const h = healthy();
      if (name === "web-rbx") {
        h.notifier![0] = { ...h.notifier![0]!, activeState: "failed", subState: "failed", result: "unit-start-limit-hit" };
        h.systemState = "degraded";
        h.failedUnits = ["dolibarr-notify.path", "dolibarr-notify.service"];
      }
      return h;
    });
    const r = assess(s);
    const rbx = r.servers.find((x) => x.name === "web-rbx")!;
    assert.equal(rbx.status, "failing");
    assert.match(rbx.reasons.join("\n"), /web-rbx: notifier: dolibarr-notify\.path failed \(unit-start-limit-hit\)/);
    assert.match(rbx.reasons.join("\n"), /web-rbx: systemd is degraded: failed unit\(s\) dolibarr-notify\.path, dolibarr-notify\.service/);
    assert.deepEqual(r.instances.map((i) => i.status), ["ok", "ok", "ok"], "the instances themselves are fresh");
    assert.equal(r.exitCode, 1);
    const text = renderTable(r);
    assert.match(text, /^ {2}web-rbx +hosting +FAILING$/m);
    assert.match(text, /^ {2}web-rbx: notifier: dolibarr-notify\.path failed/m);
    assert.match(text, /5 server\(s\): 4 ok, 1 failing, 0 unknown — NOT OK$/);
    const json = JSON.parse(renderJson(r)) as { ok: boolean; servers: Array<{ name: string; status: string; reasons: string[] }> };
    assert.equal(json.ok, false);
    assert.equal(json.servers.find((x) => x.name === "web-rbx")!.status, "failing");
    const html = await renderHtml(r);
    assert.match(html, /<tr data-server="web-rbx" data-status="failing">/);
    assert.match(html, /class="site hosting unwell" data-server="web-rbx"/);
  });

  it("a notification older than the limit in a spool is stuck delivery; a younger one is not", () => {
    for (const [age, want] of [[SPOOL_MAX_AGE_MINUTES * 60 - 5, "ok"], [SPOOL_MAX_AGE_MINUTES * 60 + 5, "failing"]] as const) {
      const h = healthy();
      h.spool = { count: 3, oldestAgeSeconds: age };
      const st = assessServer({ ...collected().servers[2]!, health: h });
      assert.equal(st.status, want, `oldest ${age} s`);
      if (want === "failing") assert.match(st.reasons[0]!, /3 notification\(s\) waiting in the spool, the oldest 10 min old \(> 10 min\): delivery is stuck/);
    }
  });

  it("property: a server is ok exactly when systemd runs with no failed unit, the watcher and sweep timer are active, nothing failed, the spool is young; every failed unit is named", () => {
    const unitState = fc.record({ activeState: fc.constantFrom("active", "inactive", "failed", "activating"), result: fc.constantFrom("success", "unit-start-limit-hit", "trigger-limit-hit", "exit-code") });
    const unitName = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}(@[a-z0-9]{1,6})?\.(service|timer|path|mount)$/);
    fc.assert(
      fc.property(
        fc.constantFrom("running", "degraded", "maintenance", "stopping"),
        fc.uniqueArray(unitName, { maxLength: 4 }),
        fc.tuple(unitState, unitState, unitState, unitState),
        fc.nat({ max: 5 }),
        fc.nat({ max: 3600 }),
        (systemState, failedUnits, states, count, age) => {
          const h: ServerHealth = {
            systemState,
            failedUnits,
            notifier: NOTIFIER_UNITS.map((unit, i) => ({ unit, loadState: "loaded", ...states[i]! })),
            spool: { count, ...(count > 0 ? { oldestAgeSeconds: age } : {}) },
          };
          const server: StatusServer = { ...collected().servers[0]!, health: h };
          const st = assessServer(server);
          const armed = ["dolibarr-notify.path", "dolibarr-notify-sweep.timer"];
          const good =
            systemState === "running" &&
            failedUnits.length === 0 &&
            h.notifier!.every((u) => u.activeState !== "failed" && (!armed.includes(u.unit) || u.activeState === "active")) &&
            !(count > 0 && age > SPOOL_MAX_AGE_MINUTES * 60);
          assert.equal(st.status, good ? "ok" : "failing", JSON.stringify(h));
          assert.equal(st.reasons.length === 0, good);
          for (const u of failedUnits) assert.ok(st.reasons.some((r) => r.includes(u)), `${u} not named: ${st.reasons.join("; ")}`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("unreachable, no health part, no systemd: unknown; booting: unknown", () => {
    const base = collected().servers[0]!;
    assert.equal(assessServer({ ...base, reachable: false, error: "ssh exited 255" }).status, "unknown");
    const noHealth: StatusServer = { ...base };
    delete noHealth.health;
    assert.equal(assessServer(noHealth).status, "unknown");
    assert.match(assessServer({ ...base, health: { systemState: "unavailable" } }).reasons[0]!, /systemd does not run there/);
    assert.equal(assessServer({ ...base, health: { ...healthy(), systemState: "starting" } }).status, "unknown");
    assert.equal(assessServer({ ...base, state: "lost", reachable: undefined }).checked, false);
  });

  it("the collector's health part: the script reads only, its lines parse back (systemctl's own output formats)", () => {
    const t = exampleTopology();
    const script = serverScript(t, t.fleet.servers[2]!, "/srv/state");
    assert.match(script, /systemctl is-system-running/);
    assert.match(script, /systemctl list-units --state=failed/);
    assert.match(script, /systemctl show -p Id .* -- dolibarr-notify\.path dolibarr-notify\.service dolibarr-notify-sweep\.timer dolibarr-notify-sweep\.service/);
    assert.match(script, /spool='\/srv\/state\/notify\/spool'/);
    assert.doesNotMatch(script, /\b(rm|mv|cp|tee|reset-failed|start|restart|stop)\s/, "nothing is written or started");
    const b64 = (x: string) => Buffer.from(x).toString("base64");
    const show = [
      "Id=dolibarr-notify.path\nLoadState=loaded\nActiveState=failed\nSubState=failed\nResult=unit-start-limit-hit\nUnitFileState=enabled",
      "Id=dolibarr-notify.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\nResult=start-limit-hit\nUnitFileState=static",
      "Id=dolibarr-notify-sweep.timer\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nResult=success\nUnitFileState=",
    ].join("\n\n");
    const failed = "● dolibarr-notify.path    loaded failed failed Notifications of the dolibarr-backup jobs\n  dolibarr-notify.service loaded failed failed Delivery of the dolibarr-backup notifications\n";
    const report = parseServerReport(
      [`health system-state ${b64("degraded\n")}`, `health failed-units ${b64(failed)}`, `health notifier ${b64(show)}`, `health spool ${b64("1764064800\n2\n1764064000123456789-4242-17 1764064000.5\n")}`, "end-of-report"].join("\n"),
    );
    assert.deepEqual(report.health, {
      systemState: "degraded",
      failedUnits: ["dolibarr-notify.path", "dolibarr-notify.service"],
      notifier: [
        { unit: "dolibarr-notify.path", loadState: "loaded", activeState: "failed", subState: "failed", result: "unit-start-limit-hit", unitFileState: "enabled" },
        { unit: "dolibarr-notify.service", loadState: "loaded", activeState: "failed", subState: "failed", result: "start-limit-hit", unitFileState: "static" },
        { unit: "dolibarr-notify-sweep.timer", loadState: "not-found", activeState: "inactive", subState: "dead", result: "success" },
      ],
      spool: { count: 2, oldestAgeSeconds: 800 },
    });
    const st = assessServer({ ...collected().servers[0]!, health: report.health! });
    assert.match(st.reasons.join("\n"), /dolibarr-notify-sweep\.timer is not installed/);
    assert.deepEqual(parseHealth(new Map([["spool", "1764064800\n0\n"]])), { spool: { count: 0 } });
    assert.equal(parseServerReport("end-of-report\n").health, undefined, "an older report without health parses");
  });
});

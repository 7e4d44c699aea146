// The restore drills in `npm run status` (issue 21): the judge of one backup server's drills over
// generated ages around the limits, broken and hostile records (never a crash, always a reason),
// the collector's script run for real with bash on a made-up state dir, and the renderings.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DRILL_FUTURE_TOLERANCE_MS, judgeDrill, type DrillContext, type DrillFacts } from "../../infra/drills/judge";
import { parseDrillHistory, parseDrillRecord, type DrillRecord } from "../../infra/drills/record";
import { DEFAULT_DRILL_SETTINGS } from "../../infra/model/drills";
import { parseServerReport, serverScript } from "../../infra/status/collect";
import { renderHtml, renderJson, renderTable } from "../../infra/status/render";
import { assess, snapshotSkeleton, type StatusSnapshot } from "../../infra/status/snapshot";
import { failedDrill, okDrill } from "../support/drills";
import { exampleTopology } from "../support/topology";

const NOW = Date.parse("2026-12-10T12:00:00Z");
const DAY = 86_400_000;
const settings = DEFAULT_DRILL_SETTINGS;
const copied: DrillContext = { instance: "acme-erp", hasCopy: true, copySinceMs: NOW - 60 * DAY };
const judge = (facts: Omit<DrillFacts, "server">, context: DrillContext = copied, s = settings) => judgeDrill({ server: "bk-sbg", ...facts }, context, s, NOW);

/** The example fleet, every copy fresh (1 h) and drilled `drillAgeDays` ago on every backup server. */
function fleetSnapshot(drillAgeDays: number): StatusSnapshot {
  const s = snapshotSkeleton(exampleTopology(), new Date(NOW), "Europe/Paris");
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  for (const i of s.instances) {
    i.dump = { newestDump: stamp(NOW - 3_600_000), dumpCount: 14, lastRun: { result: "ok" } };
    i.mirrors = i.mirrors.map((m) => ({ server: m.server, complete: { finishedAt: new Date(NOW - 3_600_000).toISOString(), newestDump: stamp(NOW - 3_600_000) }, newestSnapshot: stamp(NOW - 3_600_000), oldestSnapshot: stamp(NOW - 50 * DAY), lastRun: { result: "ok" } }));
    i.drills = i.mirrors.map((m) => ({ server: m.server, last: okDrill(i.name, m.server, NOW - drillAgeDays * DAY) }));
  }
  return s;
}

describe("judging one backup server's drills", () => {
  it("property: a successful last drill is stale exactly when it is older than staleDays (ages around the limit)", () => {
    // whole seconds: the job writes its times to the second
    const seconds = (min: number, max: number) => fc.integer({ min: min / 1000, max: max / 1000 }).map((x) => x * 1000);
    fc.assert(
      fc.property(fc.integer({ min: 7, max: 30 }), fc.integer({ min: -120, max: 120 }), seconds(0, 40 * DAY), fc.boolean(), (staleDays, offset, anyAge, nearLimit) => {
        const age = nearLimit ? staleDays * DAY + offset * 1000 : anyAge;
        const s = { ...settings, staleDays };
        const st = judge({ last: okDrill("acme-erp", "bk-sbg", NOW - age) }, copied, s);
        const stale = age > staleDays * DAY;
        assert.equal(st.status, stale ? "stale" : "ok");
        assert.equal(st.reasons.length > 0, stale);
        if (stale) assert.match(st.reasons[0]!, new RegExp(`newest successful drill .* ago on bk-sbg > ${staleDays} d`));
        assert.equal(st.lastOk?.ageMs, age);
      }),
      { numRuns: 500 },
    );
  });

  it("property: the newest success counts, from the status file or the history, whichever is newer; a failed last drill is failing whatever the ages", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 * 86_400 }), fc.integer({ min: 0, max: 30 * 86_400 }), fc.boolean(), (lastS, okS, lastFailed) => {
        const [lastAge, okAge] = [lastS * 1000, okS * 1000];
        const last = lastFailed ? failedDrill("acme-erp", "bk-sbg", NOW - lastAge, "front page: HTTP 500") : okDrill("acme-erp", "bk-sbg", NOW - lastAge);
        const st = judge({ last, lastOk: okDrill("acme-erp", "bk-sbg", NOW - okAge) });
        const newestOk = lastFailed ? okAge : Math.min(lastAge, okAge);
        assert.equal(st.lastOk!.ageMs, newestOk);
        if (lastFailed) {
          assert.equal(st.status, "failing");
          assert.match(st.reasons[0]!, /^last drill on bk-sbg failed .* ago \(newest successful drill .* ago\): front page: HTTP 500$/);
        } else assert.equal(st.status, newestOk > settings.staleDays * DAY ? "stale" : "ok");
      }),
      { numRuns: 400 },
    );
  });

  it("property: never drilled is stale only once the server's copy is older than staleDays; no copy yet is nothing to drill", () => {
    const limit = settings.staleDays * DAY;
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: limit - 60_000, max: limit + 60_000 }), fc.integer({ min: 0, max: 30 * DAY })), (copyAge) => {
        const st = judge({}, { instance: "acme-erp", hasCopy: true, copySinceMs: NOW - copyAge });
        if (copyAge > limit) {
          assert.equal(st.status, "stale");
          assert.match(st.reasons[0]!, /^never drilled on bk-sbg \(its copy is .* old, > 8 d\)$/);
        } else {
          assert.equal(st.status, "ok");
          assert.match(st.notes[0]!, /^not drilled yet on bk-sbg: its copy is .* old \(the first drill is due within 8 d\)$/);
        }
      }),
      { numRuns: 300 },
    );
    // an instance deployed yesterday is not red; one whose copy's age is unknown is judged old
    assert.equal(judge({}, { instance: "acme-erp", hasCopy: true, copySinceMs: NOW - DAY }).status, "ok");
    assert.match(judge({}, { instance: "acme-erp", hasCopy: true }).reasons[0]!, /never drilled on bk-sbg \(its copy is of unknown age, > 8 d\)/);
    const none = judge({}, { instance: "acme-erp", hasCopy: false });
    assert.equal(none.status, "ok");
    assert.deepEqual(none.notes, ["no complete copy on bk-sbg yet: nothing to drill"]);
  });

  it("property: an RTO above maxRtoMinutes is a warning, never a worse status; a success without an RTO is a warning too", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 180 }), fc.integer({ min: 0, max: 4 * 3_600_000 }), (maxRtoMinutes, restoreMs) => {
        const st = judge({ last: okDrill("acme-erp", "bk-sbg", NOW - DAY, { restoreMs, serveMs: 0, firstPageMs: 0 }) }, copied, { ...settings, maxRtoMinutes });
        assert.equal(st.status, "ok");
        assert.equal(st.lastOk!.rtoMs, restoreMs);
        const over = restoreMs > maxRtoMinutes * 60_000;
        assert.equal(st.warnings.length, over ? 1 : 0);
        if (over) assert.match(st.warnings[0]!, new RegExp(`^RTO on bk-sbg .* > maximum ${maxRtoMinutes} min$`));
      }),
      { numRuns: 400 },
    );
    const { rtoMs: _, ...noRto } = okDrill("acme-erp", "bk-sbg", NOW - DAY);
    assert.deepEqual(judge({ last: noRto }).warnings, ["the newest successful drill on bk-sbg reports no RTO (rtoMs)"]);
  });

  it("a record that is not this instance's drill is unknown, with the reason: other instance, odd result, no or future finishedAt", () => {
    const last = okDrill("acme-erp", "bk-sbg", NOW - DAY);
    const cases: Array<[DrillRecord, RegExp]> = [
      [{ ...last, instance: "globex-erp" }, /the last drill's status on bk-sbg is for instance "globex-erp"/],
      [{ ...last, result: "skipped" }, /has result "skipped" \(expected "ok" or "failed"\)/],
      [{ ...last, result: "OK" }, /has result "OK"/],
      [(({ result: _, ...r }) => r)(last), /has no result/],
      [(({ finishedAt: _, ...r }) => r)(last), /has no finishedAt/],
      [{ ...last, finishedAt: "last tuesday" }, /has finishedAt "last tuesday", not a time/],
      [{ ...last, finishedAt: new Date(NOW + DRILL_FUTURE_TOLERANCE_MS + 60_000).toISOString() }, /finished in the future .*server's clock/],
    ];
    for (const [record, re] of cases) {
      const st = judge({ last: record });
      assert.equal(st.status, "unknown", JSON.stringify(record));
      assert.match(st.reasons.join("\n"), re);
    }
    // a few minutes ahead is a clock a little off, not a forgery
    assert.equal(judge({ last: { ...last, finishedAt: new Date(NOW + 120_000).toISOString() } }).status, "ok");
    // a history line that is another instance's is not counted, and said
    const st = judge({ lastOk: { ...last, instance: "other" } });
    assert.equal(st.status, "stale");
    assert.match(st.warnings.join("\n"), /the newest successful drill in the history on bk-sbg is for instance "other": not counted/);
  });

  it("property: any text as the status file or the history's line parses and judges without throwing; a verdict other than ok always has a reason", () => {
    const b64 = (x: string) => Buffer.from(x).toString("base64");
    const field = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.constant({ toString: "x" }));
    const record = fc.record(
      {
        instance: fc.oneof(fc.constant("acme-erp"), field),
        result: fc.oneof(fc.constantFrom("ok", "failed", "running", "", "OK"), field),
        finishedAt: fc.oneof(fc.integer({ min: -20 * DAY, max: 2 * DAY }).map((d) => new Date(NOW + d).toISOString()), field),
        rtoMs: fc.oneof(fc.integer({ min: 0, max: 10 * 3_600_000 }), field),
        message: field,
        __proto__: field,
      },
      { requiredKeys: [] },
    );
    const text = fc.oneof(record.map((r) => JSON.stringify(r)), fc.jsonValue().map((v) => JSON.stringify(v)), fc.string(), fc.constant("{cut"), fc.constant("[]"), fc.constant("null"));
    fc.assert(
      fc.property(text, fc.option(text), (statusText, historyLine) => {
        const report = parseServerReport([`drill-status acme-erp ${b64(statusText)}`, ...(historyLine === null ? [] : [`drill-last-ok acme-erp ${b64(historyLine)}`]), "end-of-report"].join("\n"));
        const facts = report.drills.get("acme-erp") ?? {};
        const st = judge(facts);
        assert.ok(["ok", "stale", "failing", "unknown"].includes(st.status));
        if (st.status !== "ok") assert.ok(st.reasons.length > 0, JSON.stringify({ statusText, facts }));
        for (const line of [...st.reasons, ...st.warnings, ...st.notes]) assert.doesNotMatch(line, /[\u0000-\u001f]/, "one line, no control character");
      }),
      { numRuns: 1500 },
    );
  });

  it("garbage files name the file: not JSON, not an object, keys of the wrong type dropped and named", () => {
    assert.match(parseDrillRecord("{cut", "acme-erp.drill.json").error!, /^acme-erp\.drill\.json is not valid JSON/);
    assert.equal(parseDrillRecord("[1,2]", "f").error, "f is not a JSON object");
    assert.equal(parseDrillRecord("42", "f").error, "f is not a JSON object");
    const p = parseDrillRecord(JSON.stringify({ result: "ok", rtoMs: "fast", httpStatus: -1, durationSeconds: 1.5, message: 7 }), "f");
    assert.deepEqual(p.record, { result: "ok" });
    assert.deepEqual(p.problems, ["f: message is not a string", "f: durationSeconds is not a whole number ≥ 0", "f: rtoMs is not a whole number ≥ 0", "f: httpStatus is not a whole number ≥ 0"]);
    // the document check's counts are read as whole numbers, like the phases
    const counts = { manifestFiles: 3650, sampledFiles: 37, changedSinceDrillFiles: 17, hashedFiles: 54, hashedBytes: 123_456_789, hashMs: 812 };
    assert.deepEqual(parseDrillRecord(JSON.stringify({ result: "ok", ...counts }), "f"), { record: { result: "ok", ...counts }, problems: [] });
    assert.deepEqual(parseDrillRecord(JSON.stringify({ sampledFiles: "37", hashMs: 1.5 }), "f").problems, ["f: sampledFiles is not a whole number ≥ 0", "f: hashMs is not a whole number ≥ 0"]);
    // strings are one line and clipped: a message cannot break the table or flood the page
    const long = parseDrillRecord(JSON.stringify({ message: `a\nb\u001b[31m${"x".repeat(5000)}` }), "f").record!.message!;
    assert.ok(long.startsWith("a b [31m") && long.length <= 2001, long.slice(0, 20));
    const h = parseDrillHistory(`${JSON.stringify(okDrill("acme-erp", "bk-sbg", NOW))}\n\nnot json\n${JSON.stringify(failedDrill("acme-erp", "bk-sbg", NOW, "x"))}\n`, "acme-erp.jsonl");
    assert.deepEqual(h.records.map((r) => r.result), ["ok", "failed"]);
    assert.equal(h.problems.length, 1);
    assert.match(h.problems[0]!, /^acme-erp\.jsonl line 3 is not valid JSON/);
  });
});

describe("drills in the fleet status", () => {
  it("drilled yesterday everywhere: ok, exit 0; a failed drill on one server: failing, exit 1, named", () => {
    assert.equal(assess(fleetSnapshot(1)).exitCode, 0);
    const s = fleetSnapshot(1);
    s.instances[0]!.drills![1] = { server: "bk-txl", last: failedDrill("acme-erp", "bk-txl", NOW - 2 * 3_600_000, "database: llx_facture has 120 rows, the dump's manifest 121") };
    const r = assess(s);
    assert.equal(r.instances[0]!.status, "failing");
    assert.equal(r.exitCode, 1);
    assert.match(r.instances[0]!.reasons.join("\n"), /last drill on bk-txl failed 2\.0 h ago \(no successful drill\): database: llx_facture has 120 rows/);
    assert.deepEqual(r.instances[0]!.drills.map((d) => d.status), ["ok", "failing"]);
  });

  it("9 days without a drill: stale; a silent server leaves its drills unknown without repeating why; a lost one drills nothing", () => {
    const r = assess(fleetSnapshot(9));
    assert.ok(r.instances.every((i) => i.status === "stale"));
    const s = fleetSnapshot(1);
    s.servers.find((x) => x.name === "bk-sbg")!.reachable = false;
    for (const i of s.instances) {
      const m = i.mirrors.find((x) => x.server === "bk-sbg")!;
      i.mirrors[i.mirrors.indexOf(m)] = { server: "bk-sbg", error: "ssh exited 255: Connection refused" };
      i.drills![i.drills!.findIndex((d) => d.server === "bk-sbg")] = { server: "bk-sbg" };
    }
    const silent = assess(s).instances[0]!;
    assert.equal(silent.drills.find((d) => d.server === "bk-sbg")!.status, "unknown");
    assert.equal(silent.reasons.filter((x) => x.includes("Connection refused")).length, 1, silent.reasons.join("\n"));
    const lost = fleetSnapshot(30);
    lost.servers.find((x) => x.name === "bk-waw")!.state = "lost";
    assert.deepEqual(assess(lost).instances.find((i) => i.name === "globex-erp")!.drills.map((d) => d.server), ["bk-sbg"]);
  });

  it("a fresh instance, never drilled: its copy's age decides (mirror birth time or oldest snapshot)", () => {
    const s = fleetSnapshot(1);
    const inst = s.instances[0]!;
    inst.drills = inst.drills!.map((d) => ({ server: d.server }));
    for (const m of inst.mirrors) m.oldestSnapshot = new Date(NOW - 2 * DAY).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    assert.equal(assess(s).instances[0]!.status, "ok");
    inst.mirrors[0]!.bornAt = new Date(NOW - 20 * DAY).toISOString();
    const r = assess(s).instances[0]!;
    assert.equal(r.status, "stale");
    assert.match(r.reasons.join("\n"), /never drilled on bk-sbg \(its copy is 20\.0 d old, > 8 d\)/);
  });

  it("drills off: none judged, none collected, and the table says so", () => {
    const t = exampleTopology();
    t.fleet.drills = { ...DEFAULT_DRILL_SETTINGS, enabled: false };
    const s = snapshotSkeleton(t, new Date(NOW), "UTC");
    assert.ok(s.instances.every((i) => i.drills === undefined));
    assert.doesNotMatch(serverScript(t, t.fleet.servers.find((x) => x.name === "bk-sbg")!), /drill/);
    const r = assess(s);
    assert.ok(r.instances.every((i) => i.drills.length === 0));
    assert.match(renderTable(r), /^drills: off \(fleet key drills\.enabled: false\)$/m);
  });

  it("the table has one drill line per instance and backup server; warnings are printed for ok instances too; JSON carries the drills", () => {
    const s = fleetSnapshot(2);
    s.instances[0]!.drills![0]!.last = okDrill("acme-erp", "bk-sbg", NOW - 2 * DAY, { restoreMs: 70 * 60_000 });
    const r = assess(s);
    const table = renderTable(r);
    assert.match(table, /^drills \(restore on each backup server; stale after 8 d, maximum RTO 60 min\):$/m);
    assert.match(table, /^ {2}acme-erp\s+bk-sbg\s+OK\s+ok 2\.0 d ago\s+2\.0 d ago\s+1 h 10 min$/m);
    assert.match(table, /^ {2}globex-erp\s+bk-waw\s+OK\s+ok 2\.0 d ago\s+2\.0 d ago\s+1 min 38 s$/m);
    assert.match(table, /^ {2}acme-erp: warning: RTO on bk-sbg 1 h 10 min > maximum 60 min$/m);
    assert.equal(r.exitCode, 0, "a slow restore is a warning, not a failure");
    const json = JSON.parse(renderJson(r)) as { instances: Array<{ name: string; drills: Array<{ server: string; lastOk: { rtoMs: number } }>; warnings: string[] }> };
    assert.equal(json.instances[0]!.drills[0]!.lastOk.rtoMs, 70 * 60_000 + 3_010);
    assert.equal(json.instances[0]!.warnings.length, 1);
  });

  it("the page's drill table: a row per drill with its status; a hostile message comes out inert", async () => {
    const s = fleetSnapshot(1);
    s.instances[2]!.drills![0]!.last = failedDrill("globex-erp", "bk-sbg", NOW - DAY, `<script>alert(1)</script><img src=x onerror=alert(2)>"quoted"`);
    const html = await renderHtml(assess(s));
    assert.match(html, /<tr data-instance="globex-erp" data-server="bk-sbg" data-status="failing">/);
    assert.match(html, /<tr data-instance="acme-erp" data-server="bk-txl" data-status="ok">/);
    assert.doesNotMatch(html, /<script|<img/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&lt;img src=x onerror=alert\(2\)&gt;&quot;quoted&quot;/);
  });
});

describe("the collector's drill part, run with bash on a made-up backup server", () => {
  const bash = spawnSync("bash", ["-c", "command -v base64 stat grep head"], { encoding: "utf8" }).status === 0;

  it("reads the last drill, the history's newest success and the mirror's birth; writes nothing", { skip: bash ? false : "bash or coreutils missing" }, () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-collect-"));
    try {
      const t = exampleTopology();
      t.fleet.mirrorRoot = path.join(root, "mirrors");
      const state = path.join(root, "state");
      const bk = t.fleet.servers.find((x) => x.name === "bk-sbg")!;
      fs.mkdirSync(path.join(state, "status"), { recursive: true });
      fs.mkdirSync(path.join(state, "drills"), { recursive: true });
      for (const i of ["acme-erp", "acme-shop", "globex-erp"]) fs.mkdirSync(path.join(t.fleet.mirrorRoot, i, ".snapshots"), { recursive: true });
      const ok1 = okDrill("acme-erp", "bk-sbg", NOW - 8 * DAY);
      const ok2 = okDrill("acme-erp", "bk-sbg", NOW - 7 * DAY, { message: 'a "result":"ok" inside a message' });
      const failed = failedDrill("acme-erp", "bk-sbg", NOW - DAY, "front page: HTTP 500");
      // compact JSON, one record a line, as dbk_json_object writes them
      fs.writeFileSync(path.join(state, "drills", "acme-erp.jsonl"), [ok1, ok2, failed].map((r) => JSON.stringify(r)).join("\n") + "\n");
      fs.writeFileSync(path.join(state, "status", "acme-erp.drill.json"), JSON.stringify(failed) + "\n");
      fs.writeFileSync(path.join(state, "status", "acme-shop.drill.json"), "{half a fi");
      const before = spawnSync("bash", ["-c", `find ${JSON.stringify(root)} -printf '%p %s %T@\\n' | sort`], { encoding: "utf8" }).stdout;
      const run = spawnSync("bash", ["-s"], { input: serverScript(t, bk, state), encoding: "utf8", timeout: 30_000 });
      assert.equal(run.status, 0, run.stderr);
      const after = spawnSync("bash", ["-c", `find ${JSON.stringify(root)} -printf '%p %s %T@\\n' | sort`], { encoding: "utf8" }).stdout;
      assert.equal(after, before, "nothing written");
      const report = parseServerReport(run.stdout);
      const erp = report.drills.get("acme-erp")!;
      assert.deepEqual(erp.last, failed);
      assert.deepEqual(erp.lastOk, ok2);
      assert.match(report.drills.get("acme-shop")!.error!, /acme-shop\.drill\.json is not valid JSON/);
      assert.equal(report.drills.has("globex-erp"), false, "no drill yet: no facts");
      // birth time where the filesystem records one (0 otherwise: then no bornAt)
      const born = Number(spawnSync("stat", ["-c", "%W", path.join(t.fleet.mirrorRoot, "acme-erp")], { encoding: "utf8" }).stdout.trim());
      if (born > 0) assert.equal(report.mirrors.get("acme-erp")!.bornAt, new Date(born * 1000).toISOString());
      else assert.equal(report.mirrors.get("acme-erp")?.bornAt, undefined);
      // the hosting servers are asked nothing about drills
      assert.doesNotMatch(serverScript(t, t.fleet.servers.find((x) => x.name === "web-rbx")!, state), /drill/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

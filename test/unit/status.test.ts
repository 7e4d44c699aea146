// Fleet status: freshness against the computed RPO, from real-looking snapshots (what the jobs
// write: dump file stamps, .complete markers, status files), and the text and JSON renderings.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseServerReport, serverScript } from "../../infra/status/collect";
import { renderJson, renderTable } from "../../infra/status/render";
import { assess, snapshotSkeleton, stampMs, type StatusSnapshot } from "../../infra/status/snapshot";
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

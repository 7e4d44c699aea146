// The client drill report (issue 21): from the histories collected on the backup servers to the
// report's data (sites from the fleet model, verdicts as the status judges them) and its HTML: every
// text from a server escaped and stripped of addresses and key paths, nothing of how servers are
// reached, generated histories (garbage included) never breaking it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { DrillHistoryFacts } from "../../infra/drills/collect";
import { redactForClient } from "../../infra/drills/redact";
import { buildClientReport } from "../../infra/drills/report";
import { DRILLS_SHOWN_PER_INSTANCE, renderClientReport } from "../../infra/drills/report-html";
import type { DrillRecord } from "../../infra/drills/record";
import { failedDrill, okDrill } from "../support/drills";
import { exampleTopology } from "../support/topology";

const NOW = new Date("2026-12-10T12:00:00Z");
const DAY = 86_400_000;
const weeksOf = (instance: string, server: string, weeks: number, from = 1): DrillRecord[] =>
  Array.from({ length: weeks }, (_, k) => okDrill(instance, server, NOW.getTime() - (from + 7 * (weeks - 1 - k)) * DAY));
const facts = (instance: string, server: string, records: DrillRecord[], extra: Partial<DrillHistoryFacts> = {}): DrillHistoryFacts => ({
  instance,
  server,
  records,
  problems: [],
  unreadableLines: 0,
  hasCopy: true,
  copySince: new Date(NOW.getTime() - 90 * DAY).toISOString(),
  ...extra,
});

/** acme: acme-erp drilled weekly on both servers; acme-shop's last drill on bk-txl failed. */
function acmeFacts(): DrillHistoryFacts[] {
  return [
    facts("acme-erp", "bk-sbg", weeksOf("acme-erp", "bk-sbg", 3)),
    facts("acme-erp", "bk-txl", weeksOf("acme-erp", "bk-txl", 3, 2)),
    facts("acme-shop", "bk-sbg", weeksOf("acme-shop", "bk-sbg", 2)),
    facts("acme-shop", "bk-txl", [...weeksOf("acme-shop", "bk-txl", 2, 8), failedDrill("acme-shop", "bk-txl", NOW.getTime() - DAY, "front page: HTTP 500 from http://127.0.0.1:18081/ (PHP Fatal error: Allowed memory size exhausted)")]),
  ];
}

describe("the client report's data", () => {
  it("one entry per instance of the client, its hosting and backup sites from the fleet model, the distances, the verdicts", () => {
    const r = buildClientReport(exampleTopology(), "acme", acmeFacts(), NOW);
    assert.deepEqual(r.instances.map((i) => i.name), ["acme-erp", "acme-shop"]);
    const erp = r.instances[0]!;
    assert.deepEqual(erp.hosting, { server: "web-rbx", provider: "OVHcloud", code: "rbx", city: "Roubaix", country: "FR" });
    assert.deepEqual(erp.copies.map((c) => [c.site.server, c.site.provider, c.site.code]), [["bk-sbg", "OVHcloud", "sbg"], ["bk-txl", "IONOS", "de/txl"]]);
    assert.ok(erp.copies[0]!.distanceKm > 300 && erp.copies[0]!.distanceKm < 500, `Roubaix–Strasbourg ${erp.copies[0]!.distanceKm} km`);
    assert.deepEqual(erp.copies.map((c) => c.state!.status), ["ok", "ok"]);
    assert.equal(erp.copies[0]!.drills[0]!.finishedAt, okDrill("x", "y", NOW.getTime() - DAY).finishedAt, "newest first");
    assert.deepEqual(r.instances[1]!.copies.map((c) => c.state!.status), ["ok", "failing"]);
    assert.deepEqual(r.settings, { enabled: true, maxRtoMinutes: 60, staleDays: 8, sampleDocumentsPercent: 1, sampleDocumentsMin: 20 });
  });

  it("a copy whose server did not answer or is lost has no verdict of its own; another instance's or a timeless record is left out and counted", () => {
    const list = acmeFacts();
    list[1] = facts("acme-erp", "bk-txl", [], { error: "ssh root@203.0.113.7:2201 exited 255: Connection refused" });
    list[2] = facts("acme-shop", "bk-sbg", [...weeksOf("acme-shop", "bk-sbg", 2), { ...okDrill("acme-erp", "bk-sbg", NOW.getTime()), instance: "globex-erp" }, { result: "ok" }], { unreadableLines: 2 });
    list[3] = facts("acme-shop", "bk-txl", [], { lost: true });
    const r = buildClientReport(exampleTopology(), "acme", list, NOW);
    assert.equal(r.instances[0]!.copies[1]!.availability, "unreadable");
    const shop = r.instances[1]!;
    assert.equal(shop.copies[0]!.drills.length, 2);
    assert.equal(shop.copies[0]!.unreadableRecords, 4);
    assert.equal(shop.copies[1]!.availability, "lost");
  });
});

describe("the client report's page", () => {
  it("shows the client, each instance, its sites, the last drills with their RTO and phases, and marks the failed one", () => {
    const html = renderClientReport(buildClientReport(exampleTopology(), "acme", acmeFacts(), NOW));
    assert.match(html, /<h1>Restore drills — acme<\/h1>/);
    assert.match(html, /Report of 2026-12-10 12:00 UTC · maximum RTO 60 min · each copy must have been restored successfully within the last 8 days/);
    for (const i of ["acme-erp", "acme-shop"]) assert.match(html, new RegExp(`<section class="instance" data-instance="${i}">`));
    assert.doesNotMatch(html, /globex/, "only this client's instances");
    assert.match(html, /Hosted on web-rbx at OVHcloud rbx \(Roubaix, FR\)/);
    assert.match(html, /<td>bk-txl<\/td><td>IONOS de\/txl \(Berlin, DE\)<\/td>/);
    // the RTO of the fixtures' drills: 95 s restore + 2.4 s serve + 0.61 s first page
    assert.match(html, /<td class="num rto">1 min 38 s<\/td><td class="num">1 min 35 s<br><span class="sub">database 57 s, files 38 s<\/span><\/td><td class="num">2 s<\/td><td class="num">610 ms<\/td>/);
    assert.match(html, /database: 12 tables identical; tree documents identical; tree code identical; front page: HTTP 200, Dolibarr 18\.0\.4; PHP error log: empty/);
    assert.match(html, /<tr class="failed" data-server="bk-txl" data-result="failed">\n<td>2026-12-09 12:00 UTC<\/td><td>bk-txl<\/td><td class="result">✗ FAILED<\/td>/);
    assert.match(html, /<tr data-server="bk-txl" data-status="failing">/);
    assert.match(html, /<p id="summary" data-ok="false">3 of 4 copies proven restorable within the last 8 days\. Failed: acme-shop on bk-txl\. Measured RTO of the newest successful drills: 1 min 38 s \(maximum 60 min\)\.<\/p>/);
  });

  it("a hostile message comes out inert; addresses, key paths and the servers' SSH endpoints never appear", () => {
    const list = acmeFacts();
    const hostile = failedDrill("acme-erp", "bk-sbg", NOW.getTime() - 3_600_000, `<script>alert(1)</script><img src=x onerror=alert(2)> ssh -i /etc/dolibarr-backup/ssh/id_ed25519 root@203.0.113.10 to [2001:db8::20]:22`, {
      checks: `"><iframe src="https://evil.example/">`,
      version: "<b>18</b>",
      source: "snapshot <u>x</u>",
    });
    list[0] = facts("acme-erp", "bk-sbg", [...weeksOf("acme-erp", "bk-sbg", 2), hostile]);
    list[1] = facts("acme-erp", "bk-txl", [], { error: "ssh root@198.51.100.20:2202 exited 255: Host key verification failed" });
    const t = exampleTopology();
    const html = renderClientReport(buildClientReport(t, "acme", list, NOW));
    assert.doesNotMatch(html, /<script|<img|<iframe|<b>|<u>/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&lt;img src=x onerror=alert\(2\)&gt; ssh -i \[key file\] root@\[address\] to \[address\]/);
    assert.match(html, /&quot;&gt;&lt;iframe src=&quot;https:\/\/evil\.example\/&quot;&gt;/);
    for (const s of t.fleet.servers) assert.ok(!html.includes(s.ssh.host), `${s.name}'s address ${s.ssh.host} in the report`);
    assert.doesNotMatch(html, /203\.0\.113\.|198\.51\.100\.|2001:db8|id_ed25519|Host key verification|exited 255/);
    assert.match(html, /its drill records could not be read for this report/);
    // self-contained: no script, no stylesheet or image fetched
    assert.doesNotMatch(html, /<[^>]*\s(?:src|href)=|<link|url\(|@import/);
  });

  it(`lists the ${DRILLS_SHOWN_PER_INSTANCE} newest drills of an instance and says how many are left out; a never drilled instance says so`, () => {
    const list = acmeFacts();
    list[0] = facts("acme-erp", "bk-sbg", weeksOf("acme-erp", "bk-sbg", 10));
    list[1] = facts("acme-erp", "bk-txl", weeksOf("acme-erp", "bk-txl", 10, 2));
    list[2] = facts("acme-shop", "bk-sbg", [], { copySince: new Date(NOW.getTime() - DAY).toISOString() });
    list[3] = facts("acme-shop", "bk-txl", [], { copySince: new Date(NOW.getTime() - DAY).toISOString() });
    const html = renderClientReport(buildClientReport(exampleTopology(), "acme", list, NOW));
    const erp = html.slice(html.indexOf('data-instance="acme-erp"'), html.indexOf('data-instance="acme-shop"'));
    assert.equal((erp.match(/data-result="ok"/g) ?? []).length, DRILLS_SHOWN_PER_INSTANCE);
    assert.match(erp, /8 earlier drill\(s\) not listed\./);
    assert.match(html, /No drill of this instance has been recorded yet\./);
    assert.match(html, /not drilled yet on bk-sbg: its copy is 1\.0 d old \(the first drill is due within 8 d\)/);
  });

  it("an RTO above the fleet's maximum is marked, in the drill's row and on the copy", () => {
    const t = exampleTopology();
    t.fleet.drills = { enabled: true, maxRtoMinutes: 1, staleDays: 8, sampleDocumentsPercent: 1, sampleDocumentsMin: 20 };
    const html = renderClientReport(buildClientReport(t, "acme", acmeFacts(), NOW));
    assert.match(html, /<td class="num rto over">1 min 38 s<\/td>/);
    assert.match(html, /RTO above the 1 min maximum/);
  });

  it("property: generated histories (garbage included) always render, every instance named, nothing from them live", () => {
    const text = fc.oneof(fc.string(), fc.constantFrom("<script>x</script>", "\"'><svg onload=1>", "10.0.0.1", "fe80::1"));
    const record: fc.Arbitrary<DrillRecord> = fc.record(
      {
        instance: fc.constantFrom("acme-erp", "acme-shop", "other"),
        result: fc.oneof(fc.constantFrom("ok", "failed"), text),
        finishedAt: fc.oneof(fc.integer({ min: -100 * DAY, max: 2 * DAY }).map((d) => new Date(NOW.getTime() + d).toISOString()), text),
        rtoMs: fc.integer({ min: 0, max: 5 * 3_600_000 }),
        restoreMs: fc.integer({ min: 0, max: 5 * 3_600_000 }),
        message: text,
        checks: text,
        // a version is shown as read (a four-part one would look like an address)
        version: fc.string(),
        source: text,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("acme-erp", "acme-shop"), fc.constantFrom("bk-sbg", "bk-txl"), fc.array(record, { maxLength: 15 }), fc.boolean())), (entries) => {
        const list = entries.map(([i, s, records, unreachable]) => facts(i, s, records, unreachable ? { error: "ssh root@192.0.2.1 exited 255" } : {}));
        const html = renderClientReport(buildClientReport(exampleTopology(), "acme", list, NOW));
        assert.match(html, /data-instance="acme-erp"/);
        assert.match(html, /data-instance="acme-shop"/);
        assert.doesNotMatch(html, /<script|<svg|192\.0\.2\.1|10\.0\.0\.1/);
      }),
      { numRuns: 300 },
    );
  });

  it("redaction keeps times and versions, replaces addresses and key files", () => {
    assert.equal(redactForClient("at 12:00:00 UTC, 2026-12-07T12:00:00Z, Dolibarr 18.0.4"), "at 12:00:00 UTC, 2026-12-07T12:00:00Z, Dolibarr 18.0.4");
    assert.equal(redactForClient("connect to 127.0.0.1:3307 and [::1]:8081 and fe80:0:0:0:1:2:3:4"), "connect to [address] and [address] and [address]");
    assert.equal(redactForClient("-i /etc/dolibarr-backup/ssh/id_ed25519 or /root/.ssh/id_rsa.pub"), "-i [key file] or [key file]");
  });
});

// The client drill report for real: the histories a drill job leaves on a backup server, collected
// over a real sshd (the status's SSH path), and the report opened in headless Chromium (Debian's
// chromium): what the browser shows (DOM text, pixels of the failed drill's row) and its PDF.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { collectDrillHistories, type DrillHistoryFacts } from "../../infra/drills/collect";
import { buildClientReport } from "../../infra/drills/report";
import { renderClientReport } from "../../infra/drills/report-html";
import type { Server, Topology } from "../../infra/model/types";
import { findChromium, printToPdf, runHeadless } from "../../scripts/chromium";
import { failedDrill, okDrill } from "../support/drills";
import { JobsLab, labUnavailable } from "../support/jobs-lab";
import { generateKey } from "../support/jobs-sshd";
import { countPixels, decodePng } from "../support/png";
import { exampleTopology } from "../support/topology";

const DAY = 86_400_000;

describe("drill histories collected over a real sshd", { skip: process.env.CI === "true" ? false : labUnavailable() }, () => {
  let lab: JobsLab;
  let topology: Topology;
  let keyFile: string;
  before(async () => {
    lab = await JobsLab.create();
    await lab.addInstance("rep-a");
    await lab.addInstance("rep-b");
    assert.equal((await lab.dump("rep-a")).code, 0);
    assert.equal((await lab.replicate("rep-a")).code, 0);
    keyFile = path.join(lab.root, "fleet_key");
    fs.writeFileSync(lab.sshd.extraKeysFile("root"), (await generateKey(keyFile, "fleet")) + "\n");
    const endpoint = { host: "127.0.0.1", port: lab.sshd.port, user: "root", hostKey: lab.sshd.hostKey };
    topology = { fleet: { ...lab.topology.fleet, servers: lab.topology.fleet.servers.map((s): Server => ({ ...s, ssh: endpoint })) }, clients: lab.topology.clients };
  });
  after(async () => {
    await lab?.close();
  });

  it("reads every record of the history, its copy's age, and makes the client's report from them", async () => {
    const backup = topology.fleet.servers.find((s) => s.role === "backup")!;
    const now = Date.now();
    const records = [okDrill("rep-a", backup.name, now - 8 * DAY), okDrill("rep-a", backup.name, now - DAY), failedDrill("rep-a", backup.name, now - 3_600_000, "tree documents: 3 files differ from the mirror")];
    const dir = path.join(lab.backup.varLib, "drills");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "rep-a.jsonl"), records.map((r) => JSON.stringify(r)).join("\n") + "\nnot a record\n");
    const instances = topology.clients.flatMap((c) => c.instances);
    const facts = await collectDrillHistories(topology, instances, { privateKeyFile: keyFile, stateDirOf: (s) => (s.role === "hosting" ? lab.hosting.varLib : lab.backup.varLib) });
    const a = facts.find((f) => f.instance === "rep-a")!;
    assert.equal(a.error, undefined, a.error);
    assert.deepEqual(a.records, records);
    assert.equal(a.unreadableLines, 1);
    assert.equal(a.hasCopy, true);
    assert.ok(Date.parse(a.copySince!) > now - 3_600_000, `its copy was made by this test: ${a.copySince}`);
    const b = facts.find((f) => f.instance === "rep-b")!;
    assert.deepEqual([b.records, b.hasCopy], [[], false], "never replicated, never drilled");
    const report = buildClientReport(topology, "itest", facts, new Date());
    assert.deepEqual(report.instances.map((i) => [i.name, i.copies[0]!.state!.status]), [["rep-a", "failing"], ["rep-b", "ok"]]);
    assert.match(renderClientReport(report), /tree documents: 3 files differ from the mirror/);
    // a server that refuses the key: its copies are unreadable, the error is the operator's only
    const refused = await collectDrillHistories(topology, instances, { privateKeyFile: path.join(lab.root, "no-such-key") });
    assert.ok(refused.every((f: DrillHistoryFacts) => f.error !== undefined && f.records.length === 0));
    assert.doesNotMatch(renderClientReport(buildClientReport(topology, "itest", refused, new Date())), /127\.0\.0\.1|no-such-key/);
  });
});

const browser = findChromium();

describe("a client report in headless Chromium", { skip: process.env.CI === "true" ? false : browser ? false : "chromium is not installed (scripts/ci/apt-packages.txt)" }, () => {
  const NOW = new Date("2026-12-10T12:00:00Z");
  let dir: string;
  let page: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-drills-page-"));
    page = path.join(dir, "acme-drills.html");
    const f = (instance: string, server: string, records: ReturnType<typeof okDrill>[]): DrillHistoryFacts => ({ instance, server, records, problems: [], unreadableLines: 0, hasCopy: true, copySince: new Date(NOW.getTime() - 60 * DAY).toISOString() });
    const t = NOW.getTime();
    const facts = [
      f("acme-erp", "bk-sbg", [okDrill("acme-erp", "bk-sbg", t - 8 * DAY), okDrill("acme-erp", "bk-sbg", t - DAY, { restoreMs: 250_000 })]),
      f("acme-erp", "bk-txl", [okDrill("acme-erp", "bk-txl", t - 2 * DAY)]),
      f("acme-shop", "bk-sbg", [okDrill("acme-shop", "bk-sbg", t - 3 * DAY)]),
      f("acme-shop", "bk-txl", [okDrill("acme-shop", "bk-txl", t - 9 * DAY), failedDrill("acme-shop", "bk-txl", t - 2 * DAY, "database: the dump does not load (ERROR 1064 at line 4012)")]),
    ];
    fs.writeFileSync(page, renderClientReport(buildClientReport(exampleTopology(), "acme", facts, NOW)));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[]) => runHeadless(browser!, page, args, path.join(dir, "profile"));

  it("the DOM the browser builds: the client, both instances, their sites, the RTO figures, the failed drill marked", () => {
    const r = run(["--dump-dom"]);
    assert.equal(r.status, 0, r.stderr);
    const dom = r.stdout;
    assert.match(dom, /<h1>Restore drills — acme<\/h1>/);
    for (const i of ["acme-erp", "acme-shop"]) assert.match(dom, new RegExp(`<section class="instance" data-instance="${i}">\\s*<h2>${i}</h2>`));
    assert.match(dom, /OVHcloud sbg \(Strasbourg, FR\)/);
    assert.match(dom, /IONOS de\/txl \(Berlin, DE\)/);
    // 250 s restore + 2.4 s + 0.61 s; the others 95 s + 2.4 s + 0.61 s
    assert.match(dom, /<td class="num rto">4 min 13 s<\/td>/);
    assert.match(dom, /<td class="num rto">1 min 38 s<\/td>/);
    assert.match(dom, /<tr class="failed" data-server="bk-txl" data-result="failed">\s*<td>2026-12-08 12:00 UTC<\/td><td>bk-txl<\/td><td class="result">✗ FAILED<\/td>/);
    assert.match(dom, /<strong>database: the dump does not load \(ERROR 1064 at line 4012\)<\/strong>/);
    assert.match(dom, /<tr data-server="bk-txl" data-status="failing">/);
    assert.match(dom, /Measured RTO of the newest successful drills: 1 min 38 s to 4 min 13 s \(maximum 60 min\)/);
    assert.doesNotMatch(dom, /<script|<link|<img/, "self-contained");
  });

  it("the screenshot shows the failed drill's row in red and the proven copies in green", () => {
    const png = path.join(dir, "shot.png");
    const r = run([`--screenshot=${png}`, "--window-size=1200,1600"]);
    assert.equal(r.status, 0, r.stderr);
    const img = decodePng(fs.readFileSync(png));
    assert.equal(img.width, 1200);
    // the failed row's tint (only that row has it: the summary's is another) and the red marks
    const tinted = countPixels(img, [0xfd, 0xf0, 0xf0], 0, img.height, 6);
    assert.ok(tinted > 20_000 && tinted < 150_000, `the failed drill's row is tinted: ${tinted} px`);
    assert.ok(countPixels(img, [0xc6, 0x28, 0x28], 0, img.height) > 300, "red marks of the failed drill");
    assert.ok(countPixels(img, [0x2e, 0x7d, 0x32], 0, img.height) > 300, "green marks of the proven copies");
  });

  it("prints to a PDF", () => {
    const pdf = path.join(dir, "acme-drills.pdf");
    printToPdf(browser!, page, pdf);
    const bytes = fs.readFileSync(pdf);
    assert.equal(bytes.subarray(0, 5).toString("latin1"), "%PDF-");
    assert.ok((bytes.toString("latin1").match(/\/Type\s*\/Page\b/g) ?? []).length >= 1, "at least one page");
  });
});

// Fleet status for real: the collector reads, over a real sshd on 127.0.0.1, the status files,
// dumps, .complete markers and snapshots that the real jobs wrote (JobsLab: private MariaDB, real
// dump and replication); and the page, opened in a real headless browser (Debian's chromium),
// shows the map, the links with their distances and every instance in its freshness color.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Server, Topology } from "../../infra/model/types";
import { findChromium, runHeadless } from "../../scripts/chromium";
import { collect } from "../../infra/status/collect";
import { FRESHNESS_COLORS, renderHtml } from "../../infra/status/render";
import { assess, snapshotSkeleton, type StatusSnapshot } from "../../infra/status/snapshot";
import { failedDrill, okDrill } from "../support/drills";
import { JobsLab, labUnavailable } from "../support/jobs-lab";
import { generateKey } from "../support/jobs-sshd";
import { countPixels, decodePng, rgbOf } from "../support/png";
import { exampleTopology } from "../support/topology";

const skipLab = labUnavailable();

describe("collector against a real sshd and the real jobs' files", { skip: process.env.CI === "true" ? false : skipLab }, () => {
  let lab: JobsLab;
  let topology: Topology;
  let keyFile: string;
  before(async () => {
    lab = await JobsLab.create();
    await lab.addInstance("stat-a", { snapshotsKeep: 2 });
    await lab.addInstance("stat-b");
    assert.equal((await lab.dump("stat-a")).code, 0);
    assert.equal((await lab.replicate("stat-a")).code, 0);
    // stat-b: dumped, never replicated
    assert.equal((await lab.dump("stat-b")).code, 0);
    // The collector logs in as root on the lab's sshd with its own key (the "fleet key").
    keyFile = path.join(lab.root, "fleet_key");
    fs.writeFileSync(lab.sshd.extraKeysFile("root"), (await generateKey(keyFile, "fleet")) + "\n");
    // Both lab "servers" are reached through the one sshd, with the pinned host key.
    const endpoint = { host: "127.0.0.1", port: lab.sshd.port, user: "root", hostKey: lab.sshd.hostKey };
    const fleet = { ...lab.topology.fleet, servers: lab.topology.fleet.servers.map((s): Server => ({ ...s, ssh: endpoint })) };
    topology = { fleet, clients: lab.topology.clients };
  });
  after(async () => {
    await lab?.close();
  });

  const stateDirOf = (s: Server) => (s.role === "hosting" ? lab.hosting.varLib : lab.backup.varLib);

  it("reads what the jobs wrote: newest dump, complete mirror, snapshot, last runs; judges freshness", async () => {
    const snap = await collect(topology, snapshotSkeleton(topology, new Date(), "Europe/Paris"), { privateKeyFile: keyFile, stateDirOf });
    assert.ok(snap.servers.every((s) => s.reachable === true), JSON.stringify(snap.servers));
    const a = snap.instances.find((i) => i.name === "stat-a")!;
    const dumps = lab.dumps("stat-a");
    assert.equal(a.dump.newestDump, /-(\d{8}T\d{6}Z)\.sql\./.exec(dumps[dumps.length - 1]!)![1]);
    assert.equal(a.dump.lastRun?.result, "ok");
    const marker = JSON.parse(fs.readFileSync(path.join(lab.instances.get("stat-a")!.mirror, ".complete"), "utf8")) as { finishedAt: string; newestDump: string };
    assert.deepEqual(a.mirrors[0]!.complete?.finishedAt, marker.finishedAt);
    assert.equal(a.mirrors[0]!.complete?.newestDump, marker.newestDump);
    assert.equal(a.mirrors[0]!.snapshotCount, 1);
    assert.equal(a.mirrors[0]!.lastRun?.result, "ok");
    const report = assess(snap);
    // never drilled, but its copy is minutes old: not due yet
    assert.match(report.instances.find((i) => i.name === "stat-a")!.drills[0]!.notes.join(";"), /not drilled yet on itest\d+: its copy is \d+ min old/);
    assert.equal(report.instances.find((i) => i.name === "stat-a")!.status, "ok");
    const b = report.instances.find((i) => i.name === "stat-b")!;
    assert.equal(b.status, "unknown");
    assert.match(b.reasons.join(";"), /no complete mirror on itest\d+/);
    assert.equal(report.exitCode, 1);
    // a day later nothing has run: stale
    assert.equal(assess(snap, new Date(Date.now() + 30 * 3_600_000)).instances.find((i) => i.name === "stat-a")!.status, "stale");
  });

  it("reads the drill files a drill job leaves on the backup server: the last drill, the history's newest success", async () => {
    const backup = topology.fleet.servers.find((s) => s.role === "backup")!;
    const ok = okDrill("stat-a", backup.name, Date.now() - 3 * 86_400_000);
    const failed = failedDrill("stat-a", backup.name, Date.now() - 3_600_000, "conf.php: Access denied for user 'dolibarr'@'localhost'");
    fs.mkdirSync(path.join(lab.backup.varLib, "drills"), { recursive: true });
    fs.writeFileSync(path.join(lab.backup.varLib, "drills", "stat-a.jsonl"), `${JSON.stringify(ok)}\n${JSON.stringify(failed)}\n`);
    fs.writeFileSync(path.join(lab.backup.varLib, "status", "stat-a.drill.json"), `${JSON.stringify(failed)}\n`);
    try {
      const snap = await collect(topology, snapshotSkeleton(topology, new Date(), "Europe/Paris"), { privateKeyFile: keyFile, stateDirOf });
      assert.deepEqual(snap.instances.find((i) => i.name === "stat-a")!.drills, [{ server: backup.name, last: failed, lastOk: ok }]);
      const a = assess(snap).instances.find((i) => i.name === "stat-a")!;
      assert.equal(a.status, "failing");
      assert.match(a.reasons.join("\n"), /last drill on itest\d+ failed 1\.0 h ago \(newest successful drill 3\.0 d ago\): conf\.php: Access denied/);
    } finally {
      fs.rmSync(path.join(lab.backup.varLib, "drills"), { recursive: true, force: true });
      fs.rmSync(path.join(lab.backup.varLib, "status", "stat-a.drill.json"), { force: true });
    }
  });

  it("reads each server's health: its spool's oldest event (stuck after 10 min), and systemd (none runs here: unknown)", async () => {
    const spool = path.join(lab.hosting.varLib, "notify", "spool");
    fs.mkdirSync(spool, { recursive: true });
    const old = Math.floor(Date.now() / 1000) - 11 * 60;
    // the names the jobs give their events (dbk_notify_event): <date +%s%N>-<pid>-<random>
    const events = [`${old}123456789-4242-17`, `${old + 400}000000001-4243-9`];
    for (const e of events) fs.mkdirSync(path.join(spool, e));
    try {
      const snap = await collect(topology, snapshotSkeleton(topology, new Date(), "Europe/Paris"), { privateKeyFile: keyFile, stateDirOf });
      const hosting = snap.servers.find((s) => s.role === "hosting")!;
      assert.equal(hosting.health?.spool?.count, 2);
      assert.ok(Math.abs(hosting.health!.spool!.oldestAgeSeconds! - 660) <= 5, JSON.stringify(hosting.health));
      const backup = snap.servers.find((s) => s.role === "backup")!;
      assert.equal(backup.health?.spool?.count, 0);
      const report = assess(snap);
      const h = report.servers.find((s) => s.name === hosting.name)!;
      assert.equal(h.status, "failing");
      assert.match(h.reasons.join("\n"), /2 notification\(s\) waiting in the spool, the oldest 11 min old \(> 10 min\): delivery is stuck/);
      // This machine runs no systemd: a server like it cannot run its timers, and says so.
      const systemd = fs.existsSync("/run/systemd/system");
      if (!systemd) {
        assert.equal(hosting.health?.systemState, "unavailable");
        assert.match(report.servers.find((s) => s.name === backup.name)!.reasons.join("\n"), /systemd does not run there/);
      }
      assert.equal(report.exitCode, 1);
    } finally {
      for (const e of events) fs.rmSync(path.join(spool, e), { recursive: true, force: true });
    }
  });

  it("a failed dump shows as failing; a server whose host key does not match is unknown, not trusted", async () => {
    const li = lab.instances.get("stat-a")!;
    const cnf = path.join(lab.hosting.etc, "instances", "stat-a.my.cnf");
    fs.chmodSync(cnf, 0o644); // the dump refuses an option file readable by others
    assert.equal((await lab.dump("stat-a")).code, 1);
    fs.chmodSync(cnf, 0o600);
    let snap = await collect(topology, snapshotSkeleton(topology, new Date(), "Europe/Paris"), { privateKeyFile: keyFile, stateDirOf });
    const a = assess(snap).instances.find((i) => i.name === "stat-a")!;
    assert.equal(a.status, "failing");
    assert.match(a.reasons[0]!, /last dump failed: .*my\.cnf has mode 644/);
    void li;

    const wrongKey = (await generateKey(path.join(lab.root, "other_host_key"), "other")).split(/\s+/).slice(0, 2).join(" ");
    const impostor: Topology = { ...topology, fleet: { ...topology.fleet, servers: topology.fleet.servers.map((s) => ({ ...s, ssh: { ...s.ssh, hostKey: wrongKey } })) } };
    snap = await collect(impostor, snapshotSkeleton(impostor, new Date(), "Europe/Paris"), { privateKeyFile: keyFile, stateDirOf });
    assert.ok(snap.servers.every((s) => s.reachable === false && /exited 255/.test(s.error ?? "")), JSON.stringify(snap.servers));
    assert.deepEqual(assess(snap).instances.map((i) => i.status), ["unknown", "unknown"]);
  });
});

// ---- the page in a real browser -----------------------------------------------------------------

const browser = findChromium();

const NOW = new Date("2026-11-25T10:00:00Z");
const ago = (h: number) => new Date(NOW.getTime() - h * 3_600_000);
const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");

/** The example fleet: acme-erp fresh, acme-shop stale on one backup server, globex-erp's dump failing. */
function realLookingSnapshot(): StatusSnapshot {
  const s = snapshotSkeleton(exampleTopology(), NOW, "Europe/Paris");
  for (const i of s.instances) {
    i.dump = { newestDump: stamp(ago(10)), dumpCount: 14, lastRun: { result: "ok", finishedAt: ago(10).toISOString() } };
    i.mirrors = i.mirrors.map((m) => ({ server: m.server, complete: { finishedAt: ago(1.5).toISOString(), newestDump: stamp(ago(10)), entries: 700 }, newestSnapshot: stamp(ago(1.5)), snapshotCount: 7, lastRun: { result: "ok" } }));
  }
  for (const i of s.instances) i.drills = i.mirrors.map((m) => ({ server: m.server, last: okDrill(i.name, m.server, ago(30).getTime()) }));
  s.instances[1]!.mirrors[1]!.complete!.finishedAt = ago(40).toISOString();
  s.instances[2]!.dump.lastRun = { result: "failed", message: "dump of dolibarr_globex_erp failed: Access denied" };
  return s;
}

describe("the status page in a real headless browser", { skip: process.env.CI === "true" ? false : browser ? false : "chromium is not installed (scripts/ci/apt-packages.txt)" }, () => {
  let dir: string;
  let page: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-page-"));
    page = path.join(dir, "status.html");
    fs.writeFileSync(page, await renderHtml(assess(realLookingSnapshot()), { width: 960, height: 620 }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[]) => runHeadless(browser!, page, args, path.join(dir, "profile"));

  it("the DOM the browser builds: countries, sites, links with distances, instances and rows by status", () => {
    const r = run(["--dump-dom"]);
    assert.equal(r.status, 0, r.stderr);
    const dom = r.stdout;
    assert.ok((dom.match(/<path class="country"/g) ?? []).length > 20, "country outlines drawn");
    for (const s of ["web-rbx", "web-fra", "bk-sbg", "bk-waw", "bk-txl"]) assert.match(dom, new RegExp(`class="site [a-z ]+" data-server="${s}"`));
    // distances computed from the site catalogue (Roubaix–Strasbourg ≈ 407 km, Frankfurt–Warsaw ≈ 875 km)
    assert.match(dom, /data-from="web-rbx" data-to="bk-sbg" data-km="40\d"/);
    assert.match(dom, /data-from="web-fra" data-to="bk-waw" data-km="8\d\d"/);
    assert.match(dom, /<text class="km"[^>]*>40\d km<\/text>/);
    assert.match(dom, /data-instance="acme-erp" data-status="ok"/);
    assert.match(dom, /data-instance="acme-shop" data-status="stale"/);
    assert.match(dom, /data-instance="globex-erp" data-status="failing"/);
    assert.match(dom, /<tr data-instance="acme-shop" data-status="stale">/);
    assert.match(dom, /data-exit-code="1"/);
    assert.doesNotMatch(dom, /<script|https?:\/\/(?!www\.w3\.org)/, "self-contained: no script, no external resource");
  });

  it("the screenshot shows the map and the three freshness colors where the instances are", () => {
    const png = path.join(dir, "shot.png");
    const r = run([`--screenshot=${png}`, "--window-size=1000,1000"]);
    assert.equal(r.status, 0, r.stderr);
    const img = decodePng(fs.readFileSync(png));
    assert.equal(img.width, 1000);
    const count = (c: [number, number, number], y0: number, y1: number) => countPixels(img, c, y0, y1);
    // the map area (below the title, 620 px tall): land, sea, and each status color present
    const mapTop = 80;
    const mapBottom = mapTop + 620;
    assert.ok(count([0xf4, 0xf1, 0xe8], mapTop, mapBottom) > 50_000, "land drawn");
    assert.ok(count([0xdb, 0xe9, 0xf4], mapTop, mapBottom) > 10_000, "sea drawn");
    for (const status of ["ok", "stale", "failing"] as const) assert.ok(count(rgbOf(FRESHNESS_COLORS[status]), mapTop, mapBottom) > 20, `${status} color on the map`);
    // and the table below shows them too
    for (const status of ["ok", "stale", "failing"] as const) assert.ok(count(rgbOf(FRESHNESS_COLORS[status]), mapBottom, img.height) > 100, `${status} color in the table`);
  });
});

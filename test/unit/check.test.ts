// The offline check: report module and CLI (exit 0 / 1 / 2).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { buildCheckReport } from "../../infra/report/check";
import { formatCheckReport } from "../../infra/report/text";
import { clientYaml, fleetYaml, removeDir, writeStacksDir } from "../support/stacks";
import { exampleTopology, makeInstance, makeServer, makeTopology } from "../support/topology";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const CLI = path.join(ROOT, "dist", "scripts", "check.js");

function runCheck(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("check report", () => {
  it("shows sites, distances, providers, dump and replication times, RPO", () => {
    const report = buildCheckReport([exampleTopology()]);
    assert.equal(report.exitCode, 0);
    assert.deepEqual(report.counts, { fleets: 1, clients: 2, instances: 3, mandatory: 0, advisory: 0 });
    const inst = report.fleets[0]!.clients[0]!.instances[0]!;
    assert.equal(inst.hosting.site?.city, "Roubaix");
    assert.ok(inst.backups[0]!.distanceFromHostingKm! > 380);
    assert.equal(inst.backupPairs.length, 1);
    const text = formatCheckReport(report);
    for (const s of [
      "client acme (stacks/Pulumi.client-acme.yaml)",
      "instance acme-erp",
      "Roubaix, FR",
      "Strasbourg, FR",
      "km from hosting",
      "between backups: bk-sbg ↔ bk-txl",
      "dumps 00:00 12:00",
      "✔ no violation",
      "— OK",
    ]) {
      assert.ok(text.includes(s), `missing "${s}" in:\n${text}`);
    }
    // Replications start after the 30-min dump window, spread per instance, every 6 h.
    assert.match(text, /replicates 0[01]:[0-5]\d 0[67]:[0-5]\d 1[23]:[0-5]\d 1[89]:[0-5]\d/);
    assert.match(text, /worst-case RPO: files 3\.00 h \(max 8 h\), database 1[23]\.\d\d h \(dumps, max 14 h\)/);
  });
  it("lists violations with rule id and severity; exit code 1 on mandatory only", () => {
    const t = makeTopology({
      servers: [makeServer("web-1", "hosting", "ovh:rbx"), makeServer("bk-1", "backup", "ovh:gra"), makeServer("bk-2", "backup", "ovh:sbg")],
      policy: { providerDiversity: "advisory" },
      clients: [{ client: "acme", instances: [makeInstance("acme-erp", "web-1", ["bk-1", "bk-2"])] }],
    });
    const report = buildCheckReport([t]);
    assert.equal(report.exitCode, 1);
    const text = formatCheckReport(report);
    assert.match(text, /✖ \[mandatory\] geo\.min-distance: instance acme-erp: backup server bk-1/);
    assert.match(text, /⚠ \[advisory\]  provider\.diversity: instance acme-erp/);
    assert.match(text, /1 mandatory and 1 advisory violation\(s\) — FAILED/);

    t.fleet.policy.minDistanceKm = 50;
    assert.equal(buildCheckReport([t]).exitCode, 0);
  });
});

describe("check CLI", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach(removeDir));

  it("exits 0 on the shipped stacks and prints a report per client", () => {
    const r = runCheck([]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /client acme \(stacks\/Pulumi\.client-acme\.yaml\)/);
    assert.match(r.stdout, /client globex/);
    assert.match(r.stdout, /client initech/);
    assert.match(r.stdout, /0 mandatory and 0 advisory violation\(s\) — OK/);
  });

  it("checks given client files with their fleet", () => {
    const r = runCheck(["stacks/Pulumi.client-globex.yaml"]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /client globex/);
    assert.doesNotMatch(r.stdout, /client acme/);
  });

  it("exits 1 with the rule id on a violating stacks dir", () => {
    const dir = writeStacksDir({
      "Pulumi.fleet.yaml": fleetYaml(),
      // Frankfurt hosting with every backup at IONOS: provider.diversity; de/fra → de/txl ok
      "Pulumi.client-acme.yaml": clientYaml("acme", [{ name: "acme-erp", hosting: "web-fra", backups: ["bk-txl"] }]),
    });
    dirs.push(dir);
    const r = runCheck(["--stacks-dir", dir]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /backup\.min-count: instance acme-erp: 1 valid backup server\(s\) \(bk-txl\); required ≥ 2/);
    assert.match(r.stdout, /provider\.diversity: instance acme-erp/);
    assert.match(r.stdout, /FAILED/);
    // the same with the client file given
    const r2 = runCheck([path.join(dir, "Pulumi.client-acme.yaml")]);
    assert.equal(r2.status, 1);
  });

  it("exits 2 on a config error, naming file, line and key", () => {
    const dir = writeStacksDir({
      "Pulumi.fleet.yaml": fleetYaml(),
      "Pulumi.client-acme.yaml": clientYaml("acme", [{ name: "acme-erp", hosting: "web-rbx", backups: ["bk-sbg", "bk-nope"] }]),
    });
    dirs.push(dir);
    const r = runCheck(["--stacks-dir", dir]);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /Pulumi\.client-acme\.yaml:\d+:\d+: dolibarr-backup:instances\[0\]\.backupServers\[1\]: unknown server "bk-nope"/);
  });

  it("exits 2 on bad usage", () => {
    assert.equal(runCheck(["--frobnicate"]).status, 2);
    assert.equal(runCheck(["--stacks-dir", "/nonexistent-dir-xyz"]).status, 2);
    assert.equal(runCheck(["--help"]).status, 0);
  });
});

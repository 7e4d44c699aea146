// The users' CI: the workflow file is valid for GitHub Actions, and the deploy scripts pick
// and order the stacks as the workflow expects (fleets before clients, changed stacks only).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repo = path.resolve(__dirname, "../../..");
const workflow = path.join(repo, ".github/workflows/backup-topology.yml");
const validator = path.join(repo, "node_modules/@action-validator/cli/cli.mjs");

function validate(file: string) {
  return spawnSync(process.execPath, [validator, file], { encoding: "utf8" });
}

test("the workflow file passes the GitHub Actions schema", () => {
  const result = validate(workflow);
  assert.equal(result.status, 0, result.stdout + result.stderr);
});

test("the validator rejects a broken copy of the workflow (the check can fail)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-"));
  const broken = path.join(dir, "broken.yml");
  fs.writeFileSync(broken, fs.readFileSync(workflow, "utf8").replace(/runs-on:/g, "runs_on:"));
  const result = validate(broken);
  assert.notEqual(result.status, 0);
});

test("the workflow installs the official Pulumi CLI at the pinned version and builds nothing from Go", () => {
  const text = fs.readFileSync(workflow, "utf8");
  const pinned = /^PULUMI_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(repo, "scripts/engine/versions.env"), "utf8"))?.[1];
  assert.ok(pinned, "PULUMI_VERSION in versions.env");
  const installs = [...text.matchAll(/uses: pulumi\/actions@v\d+\n\s+with:\n\s+pulumi-version: "([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(installs, [pinned, pinned], "both jobs install the pinned CLI");
  assert.doesNotMatch(text, /setup-go|go build|engine\/setup\.sh/);
  assert.match(text, /--policy-pack|deploy\/run\.sh/);
});

test("every script the workflow calls exists in the repository", () => {
  const text = fs.readFileSync(workflow, "utf8");
  const scripts = [...text.matchAll(/(scripts\/[\w./-]+\.sh)/g)].map((m) => m[1]);
  assert.ok(scripts.length >= 3, `expected the workflow to call the deploy scripts, found ${scripts}`);
  for (const script of scripts) assert.ok(fs.existsSync(path.join(repo, script)), `${script} is missing`);
});

function stackRepo(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-"));
  fs.mkdirSync(path.join(dir, "scripts/deploy"), { recursive: true });
  fs.mkdirSync(path.join(dir, "stacks"));
  fs.copyFileSync(path.join(repo, "scripts/deploy/stacks.sh"), path.join(dir, "scripts/deploy/stacks.sh"));
  const write = (name: string, body: string) => fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), body);
  write("client-a", "config:\n  dolibarr-backup:stackKind: client\n  dolibarr-backup:fleetStack: fleet\n");
  write("fleet", "config:\n  dolibarr-backup:stackKind: fleet\n");
  write("client-b", "config:\n  dolibarr-backup:stackKind: client\n  dolibarr-backup:fleetStack: other-fleet\n");
  write("other-fleet", "config:\n  dolibarr-backup:stackKind: fleet\n");
  const git = (...args: string[]) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8" });
  git("init", "-q");
  git("-c", "user.email=t@example.org", "-c", "user.name=t", "add", ".");
  git("-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "base");
  return dir;
}

function stacks(dir: string, ...args: string[]) {
  return spawnSync("bash", [path.join(dir, "scripts/deploy/stacks.sh"), ...args], { encoding: "utf8", cwd: dir });
}

test("stacks.sh lists fleet stacks before client stacks", () => {
  const dir = stackRepo();
  const result = stacks(dir);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split("\n");
  assert.deepEqual(lines.slice(0, 2).sort(), ["fleet fleet", "fleet other-fleet"]);
  assert.deepEqual(lines.slice(2).sort(), ["client client-a", "client client-b"]);
});

test("stacks.sh --changed-since keeps the changed client only, and a changed fleet brings its clients", () => {
  const dir = stackRepo();
  const git = (...args: string[]) => execFileSync("git", ["-C", dir, "-c", "user.email=t@example.org", "-c", "user.name=t", ...args]);
  fs.appendFileSync(path.join(dir, "stacks/Pulumi.client-b.yaml"), "  dolibarr-backup:client: b\n");
  git("commit", "-qam", "client b");
  assert.equal(stacks(dir, "--changed-since", "HEAD~1").stdout, "client client-b\n");

  fs.appendFileSync(path.join(dir, "stacks/Pulumi.fleet.yaml"), "  dolibarr-backup:mirrorRoot: /srv/m\n");
  git("commit", "-qam", "fleet");
  assert.equal(stacks(dir, "--changed-since", "HEAD~1").stdout, "fleet fleet\nclient client-a\n");
});

test("stacks.sh rejects a stack file without a valid stackKind, naming the file and the key", () => {
  const dir = stackRepo();
  const bad = path.join(dir, "stacks/Pulumi.bad.yaml");
  fs.writeFileSync(bad, "config:\n  dolibarr-backup:stackKind: fleeet\n");
  const result = stacks(dir, bad);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /Pulumi\.bad\.yaml: dolibarr-backup:stackKind must be fleet or client/);
});

// ---- scripts/deploy/deploy.ts: every stack runs, a summary, orphans ---------------------------------

import {
  orphanedStacks,
  parseStackList,
  parseStackLs,
  runAll,
  summarize,
  type StackEntry,
  type StackResult,
} from "../../scripts/deploy/deploy";

test("parseStackList reads stacks.sh lines and names a bad line", () => {
  assert.deepEqual(parseStackList("fleet fleet\n\nclient client-a\nclient client-b\n"), [
    { kind: "fleet", stack: "fleet" },
    { kind: "client", stack: "client-a" },
    { kind: "client", stack: "client-b" },
  ]);
  assert.throws(() => parseStackList("fleet fleet\nclinet client-a\n"), /line 2 "clinet client-a": expected "<fleet\|client> <stack>"/);
});

test("runAll runs every stack even when some fail or throw, fleets before clients, at most N clients at once", async () => {
  const stacks: StackEntry[] = [
    { kind: "fleet", stack: "fleet" },
    { kind: "fleet", stack: "other-fleet" },
    ...Array.from({ length: 9 }, (_, i): StackEntry => ({ kind: "client", stack: `client-${i}` })),
  ];
  for (const parallelism of [1, 3, 20]) {
    const started: string[] = [];
    let running = 0;
    let peak = 0;
    const runOne = async (e: StackEntry): Promise<StackResult> => {
      started.push(e.stack);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5 + (e.stack.length % 3)));
      running--;
      if (e.stack === "fleet" || e.stack === "client-4") return { stack: e.stack, kind: e.kind, action: "up", ok: false, seconds: 1, detail: "error: ssh 10.0.0.9:22: ssh failed to connect" };
      if (e.stack === "client-7") throw new Error("engine crashed");
      return { stack: e.stack, kind: e.kind, action: "up", ok: true, seconds: 1 };
    };
    const results = await runAll(stacks, "up", runOne, parallelism);
    assert.deepEqual(results.map((r) => r.stack), stacks.map((s) => s.stack), "every stack has a result, in order");
    assert.deepEqual(started.slice(0, 2), ["fleet", "other-fleet"]);
    assert.equal(started.length, stacks.length);
    assert.ok(peak <= Math.max(1, parallelism), `peak ${peak} with parallelism ${parallelism}`);
    assert.deepEqual(results.filter((r) => !r.ok).map((r) => r.stack), ["fleet", "client-4", "client-7"]);
    assert.match(results.find((r) => r.stack === "client-7")!.detail!, /engine crashed/);
    const summary = summarize(results, []);
    assert.equal(summary.exitCode, 1);
    assert.match(summary.text, /FAILED {2}fleet +fleet +up/);
    assert.match(summary.text, /3 of 11 stack\(s\) FAILED: fleet, client-4, client-7/);
    assert.match(summary.text, /ssh failed to connect/);
  }
  assert.equal(summarize([{ stack: "fleet", kind: "fleet", action: "up", ok: true, seconds: 3 }], []).exitCode, 0);
});

test("a stack whose config file is gone is reported as orphaned, never destroyed unless named", () => {
  // As `pulumi stack ls --json` prints it (the current stack is marked).
  const ls = JSON.stringify([
    { name: "fleet", current: false, updateInProgress: false, resourceCount: 41 },
    { name: "client-acme*", current: true, resourceCount: 12 },
    { name: "organization/dolibarr-backup/client-gone", current: false, resourceCount: 9 },
  ]);
  const backend = parseStackLs(ls);
  assert.deepEqual(backend, ["fleet", "client-acme", "client-gone"]);
  const orphans = orphanedStacks(backend, ["client-acme", "fleet", "client-new"]);
  assert.deepEqual(orphans, ["client-gone"]);
  const ok: StackResult[] = [{ stack: "fleet", kind: "fleet", action: "up", ok: true, seconds: 2 }];
  const s = summarize(ok, orphans);
  assert.equal(s.exitCode, 0);
  assert.match(s.text, /ORPHAN {2}client-gone +its config file is gone from stacks\/ but its resources \(timers, exports, keys\) are still deployed; destroy it with: bash scripts\/deploy\/run.sh up --destroy-orphan client-gone/);
  assert.doesNotMatch(summarize(ok, orphans, ["client-gone"]).text, /ORPHAN/);
});

test("run.sh refuses an unknown action or argument without touching any stack", () => {
  const runSh = path.join(repo, "scripts/deploy/run.sh");
  const bad = spawnSync("bash", [runSh, "destroy"], { encoding: "utf8", input: "fleet fleet\n" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /usage: run.sh preview\|up/);
  const arg = spawnSync("bash", [runSh, "up", "--destroy-all"], { encoding: "utf8", input: "fleet fleet\n" });
  assert.equal(arg.status, 2);
  assert.match(arg.stderr, /unknown argument --destroy-all/);
});

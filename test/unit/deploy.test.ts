// The users' CI: the workflow file is valid for GitHub Actions, and the deploy scripts pick
// and order the stacks as the workflow expects (fleets before clients, changed stacks only).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { SESSIONS_ENV, SESSIONS_PER_HOST, sessionLanesFromEnv } from "../../infra/components/sessions";
import { deploySessions } from "../../scripts/deploy/deploy";
import { RUNNING_SESSIONS_AWK } from "../support/ssh-sessions";

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
  const installs = [...text.matchAll(/uses: pulumi\/actions@[0-9a-f]{40} # v\d[\d.]*\n\s+with:\n\s+pulumi-version: "([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(installs, [pinned, pinned], "the fleet and clients jobs install the pinned CLI");
  assert.doesNotMatch(text, /setup-go|go build|engine\/setup\.sh/);
  assert.match(text, /--policy-pack|deploy\/run\.sh/);
});

test("every script the workflow calls exists in the repository", () => {
  const text = fs.readFileSync(workflow, "utf8");
  const scripts = [...text.matchAll(/(scripts\/[\w./-]+\.sh)/g)].map((m) => m[1]);
  assert.ok(scripts.length >= 3, `expected the workflow to call the deploy scripts, found ${scripts}`);
  for (const script of scripts) assert.ok(fs.existsSync(path.join(repo, script)), `${script} is missing`);
});

test("the clients' parallel jobs keep every server under its session cap, after the fleet job, and their shards cover every client once", () => {
  const doc = YAML.parse(fs.readFileSync(workflow, "utf8")) as {
    env?: Record<string, string>;
    jobs: Record<string, { needs?: string | string[]; env?: Record<string, string>; strategy?: { "max-parallel"?: number; matrix?: { shard?: number[] } }; steps: Array<{ run?: string }> }>;
  };
  const clients = doc.jobs.clients!;
  assert.equal(clients.needs, "fleet", "clients after the fleet stacks");
  assert.match(doc.jobs.fleet!.steps.map((s) => s.run ?? "").join("\n"), /stacks\.sh --kind fleet \| bash scripts\/deploy\/run\.sh up/);
  const shards = clients.strategy?.matrix?.shard ?? [];
  const jobsAtOnce = Math.min(clients.strategy?.["max-parallel"] ?? shards.length, shards.length);
  const env = { ...doc.env, ...clients.env };
  const perJob = deploySessions(env as NodeJS.ProcessEnv);
  assert.ok(jobsAtOnce * perJob.cap <= SESSIONS_PER_HOST, `${jobsAtOnce} jobs at once × ${perJob.cap} session(s) each > ${SESSIONS_PER_HOST} per server`);
  assert.ok(perJob.clients.parallelism * perJob.clients.lanes <= perJob.cap);
  assert.deepEqual(shards, Array.from({ length: Number(env.CLIENT_SHARDS) }, (_, i) => i), "one job per shard 0..CLIENT_SHARDS-1");
  assert.match(clients.steps.map((s) => s.run ?? "").join("\n"), /stacks\.sh --kind client --shard "\$\{\{ matrix\.shard \}\}\/\$CLIENT_SHARDS"/);
  // the shards of generated stack lists: every client exactly once, no fleet
  const dir = stackRepo();
  for (let n = 0; n < 12; n++) fs.writeFileSync(path.join(dir, "stacks", `Pulumi.client-g${n}.yaml`), "config:\n  dolibarr-backup:stackKind: client\n");
  const all = stacks(dir, "--kind", "client").stdout.trim().split("\n");
  for (const count of [1, 2, 5, 7, 20]) {
    const parts = Array.from({ length: count }, (_, i) => stacks(dir, "--kind", "client", "--shard", `${i}/${count}`).stdout.trim().split("\n").filter(Boolean));
    assert.deepEqual(parts.flat().sort(), [...all].sort(), `${count} shards`);
    assert.ok(parts.flat().every((l) => l.startsWith("client ")));
  }
  assert.equal(stacks(dir, "--shard", "3/3").status, 2);
  assert.equal(stacks(dir, "--kind", "server").status, 2);
});

test("the deploy runner splits the session cap between the client stacks it runs at once, and names a bad setting", () => {
  for (let p = 1; p <= 12; p++) {
    for (const cap of [undefined, "1", "2", "3", "5"]) {
      const env: NodeJS.ProcessEnv = { DEPLOY_PARALLELISM: String(p), ...(cap ? { [SESSIONS_ENV]: cap } : {}) };
      const s = deploySessions(env);
      assert.equal(s.cap, cap ? Number(cap) : SESSIONS_PER_HOST);
      assert.ok(s.clients.parallelism >= 1 && s.clients.lanes >= 1);
      assert.ok(s.clients.parallelism * s.clients.lanes <= s.cap, `P=${p} cap=${cap}: ${JSON.stringify(s)}`);
      assert.equal(s.clients.parallelism, Math.min(p, s.cap));
    }
  }
  assert.deepEqual(deploySessions({}).clients, { parallelism: 3, lanes: 1 });
  assert.throws(() => deploySessions({ DEPLOY_PARALLELISM: "lots" }), /DEPLOY_PARALLELISM="lots": expected a whole number/);
  for (const bad of ["0", "6", "-1", "two", "1.5"]) assert.throws(() => sessionLanesFromEnv({ [SESSIONS_ENV]: bad }), new RegExp(`${SESSIONS_ENV}=.*from 1 to ${SESSIONS_PER_HOST}`));
  assert.equal(sessionLanesFromEnv({}), SESSIONS_PER_HOST);
});

test("the lab's session sampler counts the sshd sessions that run a command (generated process lists)", () => {
  let seed = 9;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < 40; k++) {
    const lines = ["1 0 /sbin/init", "96 1 sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"];
    let pid = 200;
    let busy = 0;
    for (let s = 0, n = Math.floor(rand() * 12); s < n; s++) {
      const session = pid++;
      lines.push(`${session} 96 sshd: ${rand() < 0.5 ? "root" : "dbk-lab-backup-ovh-waw"}@notty`);
      const children = Math.floor(rand() * 3); // a command (sh, and what it runs) or none: the connection kept open
      if (children > 0) busy++;
      for (let c = 0; c < children; c++) lines.push(`${pid++} ${session} sh -c set -eu`);
    }
    // an interactive session, and processes of other parents, are not counted
    lines.push(`${pid} 96 sshd: root@pts/0`, `${pid + 1} ${pid} -bash`, `${pid + 2} 1 sh -c sleep 1`);
    const r = spawnSync("awk", [RUNNING_SESSIONS_AWK], { input: lines.sort(() => rand() - 0.5).join("\n") + "\n", encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(Number(r.stdout.trim()), busy, lines.join("\n"));
  }
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

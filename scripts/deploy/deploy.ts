// The deploy of every stack (`scripts/deploy/run.sh preview|up`, fed by stacks.sh): fleet stacks
// one after the other, then client stacks a few at a time. A failing stack never stops the others
// (a client stack of a healthy fleet deploys even when another client or another fleet fails); the
// run ends with a summary and exits 1 when any stack failed.
//
// Also, orphaned stacks: a stack the engine's backend holds whose config file is gone from stacks/
// is listed as orphaned (its resources, and so its timers on the servers, are still there) and is
// destroyed only when named with --destroy-orphan STACK. (A server marked `state: lost` needs
// nothing here: the program itself keeps its resources inert, infra/components/lost.ts.)
// The decisions are pure functions (tested in test/unit/deploy.test.ts); main() runs the CLI.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { SESSIONS_ENV, sessionLanesFromEnv, sessionPlan, type SessionPlan } from "../../infra/components/sessions";

export type Action = "preview" | "up";
export type StackKind = "fleet" | "client";

export interface StackEntry {
  kind: StackKind;
  stack: string;
}

export interface StackResult {
  stack: string;
  kind: StackKind | "orphan";
  action: Action | "destroy";
  ok: boolean;
  seconds: number;
  /** Last lines of the output when it failed. */
  detail?: string;
}

/** Lines "<kind> <stack>" (stacks.sh output) → entries; throws on an unknown kind, naming the line. */
export function parseStackList(text: string): StackEntry[] {
  const out: StackEntry[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const [kind, stack, extra] = line.split(/\s+/);
    if ((kind !== "fleet" && kind !== "client") || !stack || extra !== undefined) {
      throw new Error(`deploy: line ${i + 1} "${line}": expected "<fleet|client> <stack>"`);
    }
    out.push({ kind, stack });
  });
  return out;
}

/** Stacks of the backend with no config file in the stacks dir, sorted. */
export function orphanedStacks(backendStacks: readonly string[], configStacks: readonly string[]): string[] {
  const have = new Set(configStacks);
  return [...new Set(backendStacks)].filter((s) => !have.has(s)).sort();
}

/** Stack names of the config files of a directory (Pulumi.<stack>.yaml). */
export function configStacksIn(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** `pulumi stack ls --json` output → stack names (the current-stack marker and org prefixes removed). */
export function parseStackLs(json: string): string[] {
  const list = JSON.parse(json) as Array<{ name?: string }>;
  if (!Array.isArray(list)) throw new Error("pulumi stack ls --json: expected a list");
  return list.map((s) => String(s.name ?? "").replace(/\*$/, "").split("/").pop()!).filter(Boolean);
}

/**
 * Runs every stack, fleets first (one at a time), then clients (`parallelism` at a time), never
 * stopping at a failure. Results in the order the stacks were given.
 */
export async function runAll(
  stacks: readonly StackEntry[],
  action: Action,
  runOne: (entry: StackEntry) => Promise<StackResult>,
  parallelism = 3,
): Promise<StackResult[]> {
  const results = new Map<string, StackResult>();
  const fleets = stacks.filter((s) => s.kind === "fleet");
  const clients = stacks.filter((s) => s.kind === "client");
  const safe = async (e: StackEntry): Promise<StackResult> => {
    try {
      return await runOne(e);
    } catch (err) {
      return { stack: e.stack, kind: e.kind, action, ok: false, seconds: 0, detail: (err as Error).message };
    }
  };
  for (const f of fleets) results.set(f.stack, await safe(f));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < clients.length) {
      const c = clients[next++]!;
      results.set(c.stack, await safe(c));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallelism, clients.length)) }, worker));
  return stacks.map((s) => results.get(s.stack)!);
}

/** The summary printed at the end, and the exit code: 1 when any stack failed. */
export function summarize(results: readonly StackResult[], orphans: readonly string[], destroyRequested: readonly string[] = []): { text: string; exitCode: number } {
  const lines = ["", "deploy summary:"];
  const width = Math.max(5, ...results.map((r) => r.stack.length), ...orphans.map((o) => o.length));
  for (const r of results) {
    lines.push(`  ${r.ok ? "ok    " : "FAILED"}  ${r.stack.padEnd(width)}  ${r.kind.padEnd(6)}  ${r.action.padEnd(7)}  ${r.seconds.toFixed(0)} s`);
    if (!r.ok && r.detail) lines.push(...r.detail.trim().split("\n").slice(-5).map((l) => `            ${l}`));
  }
  for (const o of orphans.filter((x) => !destroyRequested.includes(x))) {
    lines.push(
      `  ORPHAN  ${o.padEnd(width)}  its config file is gone from stacks/ but its resources (timers, exports, keys) are still deployed; ` +
        `destroy it with: bash scripts/deploy/run.sh up --destroy-orphan ${o} (or restore its config file)`,
    );
  }
  const failed = results.filter((r) => !r.ok);
  lines.push(
    failed.length === 0
      ? `  ${results.length} stack(s) ok${orphans.length ? `, ${orphans.length} orphaned` : ""}`
      : `  ${failed.length} of ${results.length} stack(s) FAILED: ${failed.map((r) => r.stack).join(", ")}`,
  );
  return { text: lines.join("\n"), exitCode: failed.length > 0 ? 1 : 0 };
}

/**
 * The SSH sessions of a deploy: this run's cap per server (SESSIONS_ENV when the caller shares the
 * cap with other runs, as the CI's parallel jobs do; else SESSIONS_PER_HOST), the client stacks at
 * once (DEPLOY_PARALLELISM, default 3, never more than the cap) and each one's lanes per server:
 * clients at once × lanes ≤ cap on every server. Fleet stacks run one at a time, with the whole cap.
 */
export function deploySessions(env: NodeJS.ProcessEnv): { cap: number; clients: SessionPlan } {
  const cap = sessionLanesFromEnv(env);
  const raw = env.DEPLOY_PARALLELISM ?? "3";
  if (!/^[1-9][0-9]*$/.test(raw.trim())) throw new Error(`environment variable DEPLOY_PARALLELISM=${JSON.stringify(raw)}: expected a whole number of client stacks deployed at once (1 or more)`);
  return { cap, clients: sessionPlan(Number(raw), cap) };
}

// ---- the CLI ----------------------------------------------------------------------------------

interface Proc {
  code: number;
  output: string;
}

function exec(cmd: string, args: string[], opts: { cwd: string; input?: string; echo?: string; env?: NodeJS.ProcessEnv } = { cwd: "." }): Promise<Proc> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"], ...(opts.env ? { env: opts.env } : {}) });
    let output = "";
    const onData = (d: Buffer) => {
      const text = d.toString("utf8");
      output += text;
      if (opts.echo !== undefined) process.stdout.write(text.replace(/^(?=.)/gm, `[${opts.echo}] `));
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (e) => resolve({ code: 127, output: `${cmd}: ${e.message}` }));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
    child.stdin.end(opts.input ?? "");
  });
}

async function main(argv: string[]): Promise<number> {
  const action = argv[0];
  if (action !== "preview" && action !== "up") {
    process.stderr.write("usage: run.sh preview|up [--destroy-orphan STACK]... < stacks (lines \"<fleet|client> <stack>\", from stacks.sh)\n");
    return 2;
  }
  const destroy: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === "--destroy-orphan" && argv[i + 1]) destroy.push(argv[++i]!);
    else {
      process.stderr.write(`run.sh: unknown argument ${argv[i]}\n`);
      return 2;
    }
  }
  const repo = process.env.DOLIBARR_BACKUP_PROJECT || path.resolve(__dirname, "../../..");
  const stacksDir = path.join(repo, "stacks");
  const stacks = parseStackList(fs.readFileSync(0, "utf8"));
  const sessions = deploySessions(process.env);
  const parallelism = sessions.clients.parallelism;
  console.log(
    `deploy: at most ${sessions.cap} SSH session(s) at once per server: fleet stacks one at a time, ` +
      `client stacks ${parallelism} at a time with ${sessions.clients.lanes} session(s) per server each`,
  );

  const runOne = async (e: StackEntry): Promise<StackResult> => {
    const t0 = Date.now();
    const done = (ok: boolean, output: string, what: StackResult["action"] = action): StackResult => ({
      stack: e.stack,
      kind: e.kind,
      action: what,
      ok,
      seconds: (Date.now() - t0) / 1000,
      ...(ok ? {} : { detail: output.trim().split("\n").slice(-5).join("\n") }),
    });
    const select = await exec("pulumi", ["stack", "select", e.stack], { cwd: repo });
    if (select.code !== 0) {
      const init = await exec("pulumi", ["stack", "init", e.stack], { cwd: repo });
      if (init.code !== 0) return done(false, init.output);
    }
    // The pack from the repository root (the CLI starts it from its directory).
    const args = [action, "--stack", e.stack, "--policy-pack", "policies", "--non-interactive", "--color", "never"];
    if (process.env.DEPLOY_POLICY_CONFIG) args.push("--policy-pack-config", process.env.DEPLOY_POLICY_CONFIG);
    if (action === "up") args.push("--yes", "--skip-preview");
    // This stack's share of the per-server session cap (read by the program: infra/components/sessions.ts).
    const lanes = e.kind === "fleet" ? sessions.cap : sessions.clients.lanes;
    const r = await exec("pulumi", args, { cwd: repo, echo: e.stack, env: { ...process.env, [SESSIONS_ENV]: String(lanes) } });
    console.log(`[${e.stack}] ${action}: ${r.code === 0 ? "ok" : "FAILED"}`);
    return done(r.code === 0, r.output);
  };

  const results = await runAll(stacks, action, runOne, parallelism);

  let orphans: string[] = [];
  const ls = await exec("pulumi", ["stack", "ls", "--json"], { cwd: repo });
  if (ls.code === 0) orphans = orphanedStacks(parseStackLs(ls.output), configStacksIn(stacksDir));
  else console.log(`deploy: cannot list the backend's stacks (orphans not checked): ${ls.output.trim().split("\n").pop()}`);
  for (const name of destroy) {
    const t0 = Date.now();
    if (!orphans.includes(name)) {
      results.push({ stack: name, kind: "orphan", action: "destroy", ok: false, seconds: 0, detail: `${name} is not an orphaned stack (orphans: ${orphans.join(", ") || "none"}); nothing destroyed` });
      continue;
    }
    const d = action === "up" ? await exec("pulumi", ["destroy", "--stack", name, "--yes", "--skip-preview", "--non-interactive", "--color", "never"], { cwd: repo, echo: name }) : await exec("pulumi", ["preview", "--destroy", "--stack", name, "--non-interactive", "--color", "never"], { cwd: repo, echo: name });
    results.push({ stack: name, kind: "orphan", action: "destroy", ok: d.code === 0, seconds: (Date.now() - t0) / 1000, ...(d.code === 0 ? {} : { detail: d.output }) });
  }
  const summary = summarize(results, orphans, destroy);
  console.log(summary.text);
  return summary.exitCode;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`deploy: ${(err as Error).message}\n`);
      process.exit(2);
    },
  );
}

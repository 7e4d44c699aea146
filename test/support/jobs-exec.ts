// Process helpers of the server-jobs tests and benches: real processes, no mocks.
import { type ChildProcess, spawn } from "node:child_process";

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  /** Kill (SIGKILL, whole process group) after this many ms. */
  timeoutMs?: number;
}

export interface Running {
  child: ChildProcess;
  /** Resolves when the process exited and its output pipes closed. */
  done: Promise<RunResult>;
  /** Resolves when the process exited (daemons' children may keep the pipes open longer). */
  exited: Promise<void>;
  /** Signals the whole process group (the job and its rsync/ssh/mariadb-dump children). */
  kill(signal?: NodeJS.Signals): void;
}

/** Starts a command in its own process group, collecting its output. */
export function start(cmd: string, args: readonly string[], opts: RunOptions = {}): Running {
  const t0 = Date.now();
  const child = spawn(cmd, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdin!.on("error", () => undefined);
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else child.stdin!.end();
  const kill = (signal: NodeJS.Signals = "SIGKILL"): void => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  };
  let timer: NodeJS.Timeout | undefined;
  if (opts.timeoutMs) timer = setTimeout(() => kill("SIGKILL"), opts.timeoutMs);
  // Whoever awaits `done` keeps this process alive until the pipes close (below, they are unref'd
  // once the command exits): without it a job whose helper outlived it for a moment left the test
  // awaiting a promise with nothing in the event loop ("Promise resolution is still pending but
  // the event loop has already resolved", the dump queue under a loaded full run).
  let alive: NodeJS.Timeout | undefined;
  let settled = false;
  const closed = new Promise<RunResult>((resolve, reject) => {
    child.on("error", (e) => {
      settled = true;
      if (alive) clearInterval(alive);
      reject(e);
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      settled = true;
      if (alive) clearInterval(alive);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.on("exit", () => resolve());
  });
  // A daemon's children (sshd sessions, mariadbd helpers) may hold its pipes after it exits:
  // callers that only wait for `exited` must not keep this process alive for them.
  void exited.then(() => {
    for (const s of [child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  });
  return {
    child,
    get done() {
      if (!settled) alive ??= setInterval(() => undefined, 60_000);
      return closed;
    },
    exited,
    kill,
  };
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return start(cmd, args, opts).done;
}

/** Runs and throws (with the output) unless the exit code is 0. */
export async function mustRun(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.code ?? r.signal}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`);
  }
  return r;
}

/** sh -c SCRIPT, must succeed. */
export function sh(script: string, opts: RunOptions = {}): Promise<RunResult> {
  return mustRun("bash", ["-euo", "pipefail", "-c", script], opts);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 20): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Which of the commands are missing on this machine. */
export async function missingCommands(cmds: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const c of cmds) {
    const r = await run("bash", ["-c", `command -v ${c} || test -x ${c}`]);
    if (r.code !== 0) missing.push(c);
  }
  return missing;
}

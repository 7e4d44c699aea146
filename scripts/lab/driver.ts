// Drives the real engine and the lab hosts from TypeScript: used by the lab demo (`npm run lab`)
// and by the end-to-end tests, so that both exercise exactly the same commands.
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { LabHost, LabOperator, readLabHosts } from "./stacks";

export const REPO = path.resolve(__dirname, "../../..");

export interface LabEnv {
  repo: string;
  /** .lab: key pair, known_hosts, hosts.json, passphrase. */
  labDir: string;
  /** Local file backend of the engine. */
  stateDir: string;
  stacksDir: string;
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function labEnv(overrides: Partial<LabEnv> = {}): LabEnv {
  const labDir = overrides.labDir ?? process.env.DOLIBARR_BACKUP_LAB_DIR ?? path.join(REPO, ".lab");
  return {
    repo: overrides.repo ?? REPO,
    labDir,
    stateDir: overrides.stateDir ?? process.env.DOLIBARR_BACKUP_LAB_STATE ?? hostsStateDir(labDir),
    stacksDir: overrides.stacksDir ?? path.join(overrides.repo ?? REPO, "stacks"),
  };
}

/**
 * The lab's engine state belongs to one generation of lab hosts: recreated hosts (new host keys)
 * get a fresh state, so a state never claims files that a destroyed container took with it.
 */
function hostsStateDir(labDir: string): string {
  const hostsFile = path.join(labDir, "hosts.json");
  const keys = fs.existsSync(hostsFile) ? fs.readFileSync(hostsFile, "utf8").match(/ssh-ed25519 [A-Za-z0-9+/=]+/g) ?? [] : [];
  const generation = crypto.createHash("sha256").update(keys.join("\n")).digest("hex").slice(0, 12);
  return path.join(labDir, "state", generation);
}

/** The lab's secrets passphrase: made once per lab dir, never committed. */
export function passphraseFile(env: LabEnv): string {
  const file = path.join(env.labDir, "passphrase");
  if (!fs.existsSync(file)) {
    fs.mkdirSync(env.labDir, { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(24).toString("base64url") + "\n", { mode: 0o600 });
  }
  return file;
}

export function labHosts(env: LabEnv): LabHost[] {
  return readLabHosts(path.join(env.labDir, "hosts.json"));
}

/** The lab's operator (fleet key operators): a key of its own in the lab dir, made once. */
export function labOperator(env: LabEnv): LabOperator {
  const key = path.join(env.labDir, "operator_ed25519");
  if (!fs.existsSync(key) || !fs.existsSync(`${key}.pub`)) {
    fs.rmSync(key, { force: true });
    fs.rmSync(`${key}.pub`, { force: true });
    const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "lab-operator", "-f", key], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ssh-keygen for the lab operator's key failed: ${r.stderr}`);
  }
  return { name: "lab-operator", publicKey: fs.readFileSync(`${key}.pub`, "utf8").trim() };
}

export function labHost(env: LabEnv, name: string): LabHost {
  const host = labHosts(env).find((h) => h.name === name);
  if (!host) throw new Error(`no lab host ${name} in ${path.join(env.labDir, "hosts.json")}`);
  return host;
}

/**
 * The environment of the engine for the lab: its state and its passphrase file. An inherited
 * PULUMI_CONFIG_PASSPHRASE is removed, even empty: the CLI would take it over the file.
 */
export function engineEnv(env: LabEnv): NodeJS.ProcessEnv {
  const vars: NodeJS.ProcessEnv = { ...process.env, PULUMI_BACKEND_URL: `file://${env.stateDir}`, PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile(env) };
  delete vars.PULUMI_CONFIG_PASSPHRASE;
  return vars;
}

function run(command: string, args: string[], options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): RunResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    input: options.input,
    env: options.env,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: options.timeoutMs ?? 20 * 60 * 1000,
  });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command in the project's engine environment (scripts/engine/env.sh) on the lab's backend. */
export function withEngine(env: LabEnv, command: string[], options: { input?: string } = {}): RunResult {
  fs.mkdirSync(env.stateDir, { recursive: true });
  return run("bash", ["-c", 'source scripts/engine/env.sh && exec "$@"', "engine", ...command], {
    cwd: env.repo,
    input: options.input,
    env: engineEnv(env),
  });
}

/** Runs the pulumi CLI of the project's engine on the lab's backend. */
export function pulumi(env: LabEnv, args: string[], options: { input?: string } = {}): RunResult {
  return withEngine(env, ["pulumi", ...args, "--non-interactive", "--color", "never"], options);
}

/** Like pulumi(), but throws with the CLI's output when it fails. */
export function pulumiOk(env: LabEnv, args: string[], options: { input?: string } = {}): string {
  const result = pulumi(env, args, options);
  if (result.status !== 0) {
    throw new Error(`pulumi ${args.join(" ")} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

export function ensureStack(env: LabEnv, stack: string): void {
  if (pulumi(env, ["stack", "select", stack]).status !== 0) pulumiOk(env, ["stack", "init", stack]);
}

/** ssh's arguments for a shell command on a lab host, with the lab's key and known_hosts (and `options`, e.g. -o ServerAliveInterval=2). */
export function sshArgs(env: LabEnv, host: LabHost, command: string, options: string[] = []): string[] {
  return [
    "-i", path.join(env.labDir, "id_ed25519"),
    "-o", `UserKnownHostsFile=${path.join(env.labDir, "known_hosts")}`,
    "-o", "StrictHostKeyChecking=yes",
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=10",
    ...options,
    "-p", String(host.sshPort),
    `${host.sshUser}@${host.ip}`,
    command,
  ];
}

/** Runs a shell command on a lab host over SSH with the lab's key and known_hosts. */
export function ssh(env: LabEnv, host: LabHost, command: string, options: { input?: string } = {}): RunResult {
  return run("ssh", sshArgs(env, host, command), { input: options.input, timeoutMs: 10 * 60 * 1000 });
}

/** CHECKSUM TABLE … EXTENDED of every base table of a database on a lab host: "table checksum" lines, sorted. */
export function tableChecksums(env: LabEnv, host: string, db: string): string {
  const tables = sshOk(env, labHost(env, host), `mariadb -N -B -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='${db}' AND TABLE_TYPE='BASE TABLE' ORDER BY TABLE_NAME"`)
    .split("\n")
    .filter(Boolean);
  if (tables.length === 0) throw new Error(`no table in ${db} on ${host}`);
  const out = sshOk(env, labHost(env, host), `mariadb -N -B -e "CHECKSUM TABLE ${tables.map((t) => `\\\`${db}\\\`.\\\`${t}\\\``).join(", ")} EXTENDED"`);
  return out.trim().split("\n").sort().join("\n");
}

/**
 * journalctl's match for sshd's lines, by syslog identifier (OpenSSH 9.8+ logs sessions as
 * sshd-session): not by unit, because journald attributes a line to ssh.service only if the
 * sending process still lives when it reads the line, and a short session's lines lose it under load
 * (seen on lab hosts: "session closed" and, in a loaded CI run, "Accepted" without _SYSTEMD_UNIT).
 */
export const SSHD_JOURNAL_MATCH = ["-t", "sshd", "-t", "sshd-session"];

export function sshOk(env: LabEnv, host: LabHost, command: string, options: { input?: string } = {}): string {
  const result = ssh(env, host, command, options);
  if (result.status !== 0) {
    throw new Error(`ssh ${host.name} '${command}' failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/**
 * Waits while a oneshot unit on a lab host is running (ActiveState "activating"), polling every
 * `pollMs`; throws `message` once `timeoutMs` have passed.
 */
export function waitWhileActivating(env: LabEnv, host: LabHost, unit: string, timeoutMs: number, message: string, pollMs = 500): void {
  for (const until = Date.now() + timeoutMs; sshOk(env, host, `systemctl show -P ActiveState ${unit}`).trim() === "activating"; ) {
    if (Date.now() > until) throw new Error(message);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pollMs);
  }
}

/** Runs one of the lab's shell scripts (scripts/lab/lab.sh …). */
export function labScript(env: LabEnv, args: string[]): RunResult {
  return run("bash", [path.join(env.repo, "scripts/lab/lab.sh"), ...args], {
    cwd: env.repo,
    env: { ...process.env, DOLIBARR_BACKUP_LAB_DIR: env.labDir },
  });
}

/**
 * What "identical" means for a mirror: every entry's type, mode, owner and symlink target, every
 * regular file's size and SHA-256, and which files of the tree are hard links of each other.
 * (Link counts themselves are not compared: snapshots of the mirror add links from outside the
 * tree.) Two trees are identical when their digests are equal.
 */
export function treeDigest(env: LabEnv, host: LabHost, dir: string): string {
  const quoted = `'${dir.replace(/'/g, `'\\''`)}'`;
  const out = sshOk(
    env,
    host,
    `set -euo pipefail; cd ${quoted}; ` +
      // directory sizes depend on the file system's history, not on the content: left out
      `find . -mindepth 1 -type f -printf 'f %m %U:%G %s %i\\t%P\\n'; ` +
      `find . -mindepth 1 ! -type f -printf '%y %m %U:%G -\\t%P -> %l\\n'; ` +
      `echo '--- sha256'; find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum`,
  );
  const [entries = "", sums = ""] = out.split("--- sha256\n");
  const rows = entries.split("\n").filter(Boolean).map((line) => {
    const tab = line.indexOf("\t");
    const head = line.slice(0, tab).split(" ");
    return { head, path: line.slice(tab + 1) };
  });
  // A hard-link group is named by its first path; a file with no other link in the tree by "-".
  const byInode = new Map<string, string[]>();
  for (const row of rows) {
    if (row.head[0] === "f") byInode.set(row.head[4]!, [...(byInode.get(row.head[4]!) ?? []), row.path]);
  }
  const lines = rows.map((row) => {
    if (row.head[0] !== "f") return `${row.head.slice(0, 3).join(" ")} ${row.path}`;
    const group = byInode.get(row.head[4]!)!;
    const link = group.length > 1 ? `=${[...group].sort()[0]}` : "-";
    return `${row.head.slice(0, 4).join(" ")} ${link} ${row.path}`;
  });
  return [...lines.sort(), sums].join("\n");
}

/**
 * A project directory that shares the compiled program, scripts and packages with REPO but has its
 * own stacks/ (e2e tests and benches deploy there, never into the repository's stacks/). `copyDist`
 * copies dist/ instead of linking it (to edit the program in the copy).
 */
export function projectCopy(dir: string, options: { copyDist?: boolean } = {}): string {
  fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  for (const shared of ["node_modules", "scripts", "policies", "package.json"]) fs.symlinkSync(path.join(REPO, shared), path.join(dir, shared));
  if (options.copyDist) fs.cpSync(path.join(REPO, "dist"), path.join(dir, "dist"), { recursive: true, verbatimSymlinks: true });
  else fs.symlinkSync(path.join(REPO, "dist"), path.join(dir, "dist"));
  fs.mkdirSync(path.join(dir, "stacks"));
  return dir;
}

// What the renderers produce: files to push and shell commands to run, all plain text.
import { unsafePathProblem } from "../model/safe";

/** One file to push on a server. Compatible with infra/components/remote.ts FileSpec. */
export interface ServerFile {
  path: string;
  content: string;
  /** Octal mode, e.g. "0644". */
  mode: string;
  /** Owner user (default root). */
  owner?: string;
  /** Owner group (default: the owner). */
  group?: string;
  /** Holds credentials: the program keeps its content encrypted in the state and out of logs. */
  secret?: boolean;
}

/**
 * Files plus the commands that go with them, shaped for one remote command (infra/render/push.ts):
 * `create` runs (as root, with sh) after the files are in place and on every change of
 * them; `delete` runs on destroy. Both are idempotent and keep the backups themselves
 * (dumps, mirrors, snapshots).
 */
export interface ServerBundle {
  files: ServerFile[];
  create: string;
  delete: string;
}

/**
 * Refuses a path that is not safe where the renderers put it (shell commands, systemd units, env
 * files): the model's rule (infra/model/safe.ts), the config's own, applied again for every caller
 * (the program, the failover, the lab), since a renderer is the last step before a server.
 */
export function checkSafePath(what: string, p: string): void {
  const problem = unsafePathProblem(p);
  if (problem !== undefined) {
    throw new Error(`${what} ${JSON.stringify(p)} cannot be written into a shell command, a systemd unit or an env file: ${problem}`);
  }
}
/** Single-quotes a word for sh when it needs it. */
export function shq(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A KEY=VALUE file that bash can `source` (values single-quoted). */
export function renderEnvFile(header: string, vars: Record<string, string | number>): string {
  const lines = header
    .trim()
    .split("\n")
    .map((l) => `# ${l}`.trimEnd());
  for (const [key, value] of Object.entries(vars)) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) throw new Error(`bad env key ${key}`);
    const text = String(value);
    if (/[\n\r\0]/.test(text)) throw new Error(`env value of ${key} has a newline`);
    lines.push(`${key}='${text.replace(/'/g, `'\\''`)}'`);
  }
  return lines.join("\n") + "\n";
}

/** Joins command lines into one sh script (the remote side runs it with `set -eu`). */
export function script(lines: Array<string | false | undefined>): string {
  return lines.filter((l): l is string => typeof l === "string" && l.length > 0).join("\n") + "\n";
}

/**
 * A standalone sh script that writes the files (base64 in the script, written to a temp file
 * and renamed, mode and owner set before the rename). For tools that cannot stream stdin;
 * the Pulumi program pushes each file through stdin instead (infra/components/remote.ts).
 * `root` prefixes every path (tests install into a temp dir).
 */
export function installFilesScript(files: readonly ServerFile[], root = ""): string {
  const out = ["set -eu"];
  for (const f of files) {
    const target = shq(root + f.path);
    const owner = `${f.owner ?? "root"}:${f.group ?? f.owner ?? "root"}`;
    const b64 = Buffer.from(f.content, "utf8").toString("base64").replace(/(.{76})/g, "$1\n");
    out.push(
      `mkdir -p -- "$(dirname -- ${target})"`,
      `t="$(mktemp "$(dirname -- ${target})/.dbk-push.XXXXXX")"`,
      `base64 -d >"$t" <<'DBK_EOF'`,
      b64,
      "DBK_EOF",
      `chmod ${shq(f.mode)} "$t"`,
      `chown ${shq(owner)} "$t"`,
      `mv -f -- "$t" ${target}`,
    );
  }
  return out.join("\n") + "\n";
}

/** sh lines removing files (missing ones are fine). */
export function removeFilesScript(paths: readonly string[], root = ""): string {
  return paths.map((p) => `rm -f -- ${shq(root + p)}`).join("\n") + "\n";
}

/**
 * The KEY=VALUE pairs of an env file as renderEnvFile writes it (comments, blank lines, and
 * `KEY='value'` with `'\''` for a quote). Throws on any other line: the jobs `source` the file,
 * so a line this cannot read could do anything.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "" || /^\s*#/.test(line)) return;
    const m = /^([A-Z_][A-Z0-9_]*)='((?:[^']|'\\'')*)'$/.exec(line);
    if (!m) throw new Error(`line ${i + 1} is not KEY='value': ${JSON.stringify(line.slice(0, 120))}`);
    if (m[1]! in out) throw new Error(`line ${i + 1}: ${m[1]} is set twice`);
    out[m[1]!] = m[2]!.replace(/'\\''/g, "'");
  });
  return out;
}

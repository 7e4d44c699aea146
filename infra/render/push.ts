// How a bundle reaches a server: ONE remote command per bundle (one SSH session), its files framed
// on the command's stdin, unpacked and applied by a fixed sh script. Pure: the Pulumi layer only
// passes these strings to @pulumi/command's remote.Command, and the policy pack reads the frame back
// (unframePush) to check what is really pushed.
//
// Frame (text, readable in a preview's diff):
//   dolibarr-backup-push v1
//   file <mode> <owner>:<group> <bytes> <path>
//   <exactly <bytes> bytes of content>
//   (one newline)
//   … more files …
//   end
//
// The apply script keeps, per bundle, the sha256 of the last frame it applied and the paths it wrote
// (in PUSH_STATE_DIR). The same frame again (a connection change alone makes the engine run the
// update) is recognised and nothing is written or run; a path dropped from the bundle is removed.
import { createHash } from "node:crypto";
import type { ServerBundle, ServerFile } from "./files";
import { shq } from "./files";
import { PATHS } from "./paths";

export const PUSH_FORMAT = "dolibarr-backup-push v1";
/** Per bundle: <id>.sha256 (last frame applied) and <id>.paths (files it wrote). */
export const PUSH_STATE_DIR = `${PATHS.stateDir}/pushed`;

const MODE = /^[0-7]{3,4}$/;
const NAME = /^[a-z_][a-z0-9_-]*\$?$/;

function checkFile(f: ServerFile): void {
  const where = `pushed file ${JSON.stringify(f.path)}`;
  if (!f.path.startsWith("/") || /[\u0000-\u001f\u007f]/.test(f.path) || /\s$/.test(f.path) || f.path.split("/").includes("..")) {
    throw new Error(`${where}: expected an absolute path without control characters, trailing blanks or '..'`);
  }
  if (!MODE.test(f.mode)) throw new Error(`${where}: mode ${JSON.stringify(f.mode)} is not octal (e.g. 0644)`);
  for (const name of [f.owner ?? "root", f.group ?? f.owner ?? "root"]) {
    if (!NAME.test(name)) throw new Error(`${where}: owner/group ${JSON.stringify(name)} is not a user or group name`);
  }
}

/** The stdin of a bundle's remote command: every file, framed (see the file's header). */
export function framePush(files: readonly ServerFile[]): string {
  const seen = new Set<string>();
  const parts = [`${PUSH_FORMAT}\n`];
  for (const f of files) {
    checkFile(f);
    if (seen.has(f.path)) throw new Error(`pushed file ${f.path} is listed twice`);
    seen.add(f.path);
    const owner = f.owner ?? "root";
    parts.push(`file ${f.mode} ${owner}:${f.group ?? owner} ${Buffer.byteLength(f.content, "utf8")} ${f.path}\n`, f.content, "\n");
  }
  parts.push("end\n");
  return parts.join("");
}

/** The files of a frame (the inverse of framePush); throws on anything else. */
export function unframePush(stdin: string): ServerFile[] {
  const buf = Buffer.from(stdin, "utf8");
  let at = 0;
  const line = (): string => {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) throw new Error("push frame: unexpected end (a line without its newline)");
    const text = buf.subarray(at, nl).toString("utf8");
    at = nl + 1;
    return text;
  };
  if (line() !== PUSH_FORMAT) throw new Error(`push frame: does not start with '${PUSH_FORMAT}'`);
  const files: ServerFile[] = [];
  for (;;) {
    const header = line();
    if (header === "end") break;
    const m = /^file ([0-7]{3,4}) ([^: ]+):([^: ]+) (\d+) (\/.*)$/.exec(header);
    if (!m) throw new Error(`push frame: bad header line ${JSON.stringify(header.slice(0, 200))}`);
    const bytes = Number(m[4]);
    if (at + bytes + 1 > buf.length || buf[at + bytes] !== 0x0a) throw new Error(`push frame: content of ${m[5]} is not ${bytes} bytes followed by a newline`);
    const content = buf.subarray(at, at + bytes).toString("utf8");
    at += bytes + 1;
    files.push({ path: m[5]!, mode: m[1]!, owner: m[2]!, group: m[3]!, content });
  }
  if (at !== buf.length) throw new Error("push frame: bytes after 'end'");
  return files;
}

/** The name of a bundle's records in PUSH_STATE_DIR: a readable slug of the bundle name + a hash. */
export function pushId(bundleName: string): string {
  const slug = bundleName.replace(/[^A-Za-z0-9@._-]+/g, "_").slice(0, 120);
  return `${slug}.${createHash("sha256").update(bundleName).digest("hex").slice(0, 8)}`;
}

export interface PushOptions {
  /** The bundle's name (unique on the server): names its records in PUSH_STATE_DIR. */
  name: string;
  /** Remove a file when it leaves the bundle, and every file on delete (default true). */
  removeFiles?: boolean;
}

/** Where the fleet's base installation puts the apply program that every later bundle runs (pushApplyCall). */
export const PUSH_LIB_DIR = PATHS.lib;
export const PUSH_APPLY_PATH = `${PUSH_LIB_DIR}/push-apply`;

/**
 * The apply program, shared by every bundle: sh (run as root with `set -eu`), fed by the bundle's
 * variables push_name, push_id, push_remove (1: remove the files that left the bundle) and its
 * function push_create. It applies the frame read from stdin: files written atomically (mode and
 * owner set before the content, then renamed), files no longer in the bundle removed, then the
 * bundle's `create`, then the records. Nothing is written or run when the frame is the one applied
 * last. A failure leaves the records as they were: the next run applies again.
 */
export function pushApplyProgram(): string {
  return [
    // (the variable only serves tests that run the script as an unprivileged user)
    `dir=\${DOLIBARR_BACKUP_PUSH_STATE:-${PUSH_STATE_DIR}}`,
    `id=$push_id`,
    `umask 077`,
    `mkdir -p -- "$dir"`,
    `in=$(mktemp "$dir/.in.XXXXXX")`,
    `t=`,
    `trap 'rm -f -- "$in" "$in.paths" \${t:+"$t"}' EXIT`,
    `cat >"$in"`,
    `sum=$(sha256sum <"$in" | cut -d' ' -f1)`,
    `if [ -f "$dir/$id.sha256" ] && [ "$(cat -- "$dir/$id.sha256")" = "$sum" ]; then`,
    `  echo "dolibarr-backup: $push_name is applied already (sha256 $sum): nothing to do"`,
    `  exit 0`,
    `fi`,
    `exec 3<"$in"`,
    `IFS= read -r first <&3 || first=`,
    `if [ "$first" != ${shq(PUSH_FORMAT)} ]; then echo "dolibarr-backup: stdin is not a ${PUSH_FORMAT} frame" >&2; exit 1; fi`,
    `: >"$in.paths"`,
    `n=0`,
    `while IFS=' ' read -r kind mode own len path <&3; do`,
    `  [ "$kind" = end ] && break`,
    `  case "$kind:$mode:$len:$path" in`,
    `    file:[0-7][0-7][0-7]*:[0-9]*:/*) ;;`,
    `    *) echo "dolibarr-backup: bad frame line: $kind $mode $own $len $path" >&2; exit 1 ;;`,
    `  esac`,
    `  d=$(dirname -- "$path")`,
    `  mkdir -p -- "$d"`,
    `  t=$(mktemp "$d/.dbk-push.XXXXXX")`,
    // mode before content: a file never sits world-readable, even for an instant
    `  chmod "$mode" "$t"`,
    `  chown "$own" "$t"`,
    `  head -c "$len" <&3 >"$t"`,
    `  if [ "$(wc -c <"$t")" -ne "$len" ]; then echo "dolibarr-backup: $path: frame truncated" >&2; exit 1; fi`,
    `  IFS= read -r _ <&3 || true`,
    `  mv -f -- "$t" "$path"`,
    `  t=`,
    `  printf '%s\\n' "$path" >>"$in.paths"`,
    `  n=$((n + 1))`,
    `done`,
    `[ "$kind" = end ] || { echo "dolibarr-backup: frame without its end line" >&2; exit 1; }`,
    `if [ "$push_remove" = 1 ] && [ -f "$dir/$id.paths" ]; then`,
    `  while IFS= read -r old; do`,
    `    grep -Fxq -- "$old" "$in.paths" || { rm -f -- "$old"; echo "dolibarr-backup: removed $old (no longer pushed)"; }`,
    `  done <"$dir/$id.paths"`,
    `fi`,
    `echo "dolibarr-backup: $push_name: $n file(s) written"`,
    // in a subshell: the bundle's own script cannot touch the variables above
    `(push_create)`,
    `mv -f -- "$in.paths" "$dir/$id.paths"`,
    `printf '%s\\n' "$sum" >"$dir/$id.sha256"`,
  ].join("\n");
}

/** The bundle's part of an apply: its name, records id, stale-file removal and `create` (as push_create). */
function pushBundleHeader(bundle: Pick<ServerBundle, "create">, opts: PushOptions): string {
  return [
    `push_name=${shq(opts.name)}`,
    `push_id=${shq(pushId(opts.name))}`,
    `push_remove=${opts.removeFiles === false ? 0 : 1}`,
    `push_create() {`,
    `:`,
    bundle.create.trim(),
    `}`,
  ]
    .filter((l) => l.length > 0)
    .join("\n");
}

/**
 * The self-contained sh script (run as root with `set -eu`) that applies a frame read from stdin:
 * the bundle's header and the whole apply program (pushApplyProgram). For the server's base
 * installation, which installs that program for the others.
 */
export function pushApplyScript(bundle: Pick<ServerBundle, "create">, opts: PushOptions): string {
  return `${pushBundleHeader(bundle, opts)}\n${pushApplyProgram()}`;
}

/**
 * The sh script of every other bundle: its header, then the apply program the server's base
 * installation put at PUSH_APPLY_PATH (one copy per server instead of one in each command's
 * inputs and outputs in the state). Fails, writing nothing, when the program is not there.
 */
export function pushApplyCall(bundle: Pick<ServerBundle, "create">, opts: PushOptions): string {
  return [
    pushBundleHeader(bundle, opts),
    `lib=\${DOLIBARR_BACKUP_PUSH_LIB:-${PUSH_LIB_DIR}}`,
    `[ -r "$lib/push-apply" ] || { echo "dolibarr-backup: $push_name: $lib/push-apply is missing: deploy the fleet stack first (its base installation puts it there)" >&2; exit 1; }`,
    `. "$lib/push-apply"`,
  ].join("\n");
}

/** The apply program as a file of the servers' base installation. */
export function pushApplyFile(): ServerFile {
  return {
    path: PUSH_APPLY_PATH,
    mode: "0644",
    content: `# dolibarr-backup: applies a push frame (${PUSH_FORMAT}); sourced by each bundle's remote command. Rendered, do not edit.\n${pushApplyProgram()}\n`,
  };
}

/**
 * The delete line of a bundle whose removal undoes what the server's other bundles applied (the base
 * installation: its delete stops and disables the instances of the units it removes). Every bundle's
 * frame record goes, so the next push of each one applies it in full (files, enables, restarts)
 * instead of finding its frame "applied already" while its units stay disabled. The paths records
 * stay: they still say which files a bundle wrote.
 */
export function pushRecordsInvalidateLine(): string {
  return `rm -f -- "\${DOLIBARR_BACKUP_PUSH_STATE:-${PUSH_STATE_DIR}}"/*.sha256`;
}

/** The sh script run on delete: the bundle's `delete`, its files (unless kept), its records. */
export function pushDeleteScript(bundle: { delete: string; files: ReadonlyArray<Pick<ServerFile, "path">> }, opts: PushOptions): string {
  const id = pushId(opts.name);
  return [
    bundle.delete.trim(),
    ...(opts.removeFiles === false ? [] : bundle.files.map((f) => `rm -f -- ${shq(f.path)}`)),
    `dir=\${DOLIBARR_BACKUP_PUSH_STATE:-${PUSH_STATE_DIR}}`,
    `rm -f -- "$dir/"${shq(`${id}.sha256`)} "$dir/"${shq(`${id}.paths`)}`,
  ]
    .filter((l) => l.length > 0)
    .join("\n");
}

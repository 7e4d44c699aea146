// Collects a StatusSnapshot over SSH: one connection per active server with the system OpenSSH
// client, the fleet's key and the pinned host keys (StrictHostKeyChecking=yes, as the program's
// remote.Command pins them), running one read-only script that prints what the jobs left behind:
//  - hosting server: <status>/<instance>.dump.json and the dump files of the instance's dumpDir;
//  - backup server: <mirror>/.complete, <mirror>/.snapshots/*, <status>/<instance>.replicate.json,
//    <status>/binlog-<hosting>.json for each hosting server it pulls binlogs from, and, with the
//    fleet's drills on, <status>/<instance>.drill.json, the newest successful line of
//    <state>/drills/<instance>.jsonl and the mirror directory's birth time;
//  - every server: its health: `systemctl is-system-running`, the failed units, the notifier's
//    units (dolibarr-notify.path, .service, the sweep timer and service) and its spool's oldest event;
//  - every server of a fleet declaring operators: the authorized keys files sshd reads for the
//    deploy user (its AuthorizedKeysFile as `sshd -T` says), and ~/.ssh/authorized_keys{,2} of
//    root and of the deploy user (sshKeysScript).
// Nothing is written on the servers. The parsing (parseServerReport) is pure.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DrillFacts } from "../drills/judge";
import { DRILL_MAX_READ_BYTES, drillHistoryFile, drillStatusFile, parseDrillHistory, parseDrillRecord, type ParsedDrillHistory } from "../drills/record";
import { isLost } from "../model/defaults";
import { drillSettingsOf } from "../model/drills";
import type { Instance, Server, Topology } from "../model/types";
import { parseAtRest } from "../model/at-rest";
import { hostKeyWithoutComment } from "../model/host-key";
import { PATHS, SCRIPT, atRestDirs } from "../render/paths";
import { accessManaged } from "../model/operators";
import type { FoundKeysFile } from "./keys";
import { parseRsyncFact } from "../model/rsync";
import { NOTIFY_WATCHED_UNITS } from "../render/units";
import type { BinlogFacts, DumpFacts, MirrorFacts, NotifierUnitFacts, ServerHealth, StatusSnapshot } from "./snapshot";

export interface CollectOptions {
  /** The fleet's SSH private key file (0600). */
  privateKeyFile: string;
  /** The jobs' state dir on a server (default /var/lib/dolibarr-backup); tests relocate it. */
  stateDirOf?: (server: Server) => string;
  /** Seconds per connection attempt (default 10). */
  connectTimeout?: number;
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The script's helpers: item KIND NAME FILE (a file, base64), list KIND NAME DIR PATTERN (names in a directory). */
const SCRIPT_HELPERS = [
  "set -u",
  // health KEY TEXT (also defined by the health part; the at-rest line of a backup server comes before it)
  `health() { printf 'health %s %s\\n' "$1" "$(printf '%s' "$2" | base64 -w0)"; }`,
  'item() { if [ -r "$3" ]; then printf \'%s %s %s\\n\' "$1" "$2" "$(base64 -w0 < "$3")"; else printf \'%s %s -\\n\' "$1" "$2"; fi; }',
  // list KIND INSTANCE DIR PATTERN: the names in DIR matching PATTERN, newline-separated, base64
  'list() { if [ -d "$3" ]; then printf \'%s %s %s\\n\' "$1" "$2" "$(cd "$3" && for f in $4; do [ -e "$f" ] && printf \'%s\\n\' "$f"; done | base64 -w0)"; else printf \'%s %s -\\n\' "$1" "$2"; fi; }',
];

/** The read-only script run on one server for its instances (hosting: dumps; backup: mirrors). */
export function serverScript(topology: Topology, server: Server, stateDir: string = PATHS.stateDir): string {
  const lines = [...SCRIPT_HELPERS];
  const drills = server.role === "backup" && drillSettingsOf(topology.fleet).enabled;
  if (drills) lines.push(...drillFunctions());
  for (const inst of instancesOn(topology, server)) {
    if (server.role === "hosting") {
      lines.push(`item dump-status ${inst.name} ${q(`${stateDir}/status/${inst.name}.dump.json`)}`);
      lines.push(`list dumps ${inst.name} ${q(inst.dumpDir)} ${q(`${inst.database.name}-????????T??????Z.sql.*`)}`);
    } else {
      lines.push(...copyLines(topology, inst.name));
      lines.push(`item replicate-status ${inst.name} ${q(`${stateDir}/status/${inst.name}.replicate.json`)}`);
      if (drills) {
        lines.push(`bounded drill-status ${inst.name} ${q(drillStatusFile(stateDir, inst.name))}`);
        lines.push(`newest_ok drill-last-ok ${inst.name} ${q(drillHistoryFile(stateDir, inst.name))}`);
        lines.push(`born mirror-born ${inst.name} ${q(`${topology.fleet.mirrorRoot}/${inst.name}`)}`);
      }
    }
  }
  if (server.role === "backup") {
    // the data directories on an encrypted volume or not (dbk_at_rest of the deployed common.sh)
    const dirs = atRestDirs(topology.fleet).map(q).join(" ");
    lines.push(`if [ -r ${q(SCRIPT.common)} ]; then health at-rest "$(bash -c '. "$1" && shift && dbk_at_rest "$@"' at-rest ${q(SCRIPT.common)} ${dirs} 2>/dev/null)"; fi`);
    // its rsync (version, protocol, package), judged against the fleet's rsync minimum (model/rsync.ts)
    lines.push(`if [ -r ${q(SCRIPT.common)} ]; then health rsync "$(bash -c '. "$1" && dbk_rsync_fact' rsync ${q(SCRIPT.common)} 2>/dev/null)"; fi`);
    for (const hosting of new Set(instancesOn(topology, server).map((i) => i.hostingServer))) {
      lines.push(`item binlog-status ${hosting} ${q(`${stateDir}/status/binlog-${hosting}.json`)}`);
    }
  }
  lines.push(...healthScript(`${stateDir}/notify/spool`));
  if (accessManaged(topology.fleet)) lines.push(...sshKeysScript(server.ssh.user));
  lines.push("echo end-of-report");
  return lines.join("\n") + "\n";
}

/** Bytes read of one keys file at most (a flood cannot blow the report up). */
export const KEYS_FILE_MAX_BYTES = 262_144;

/**
 * The keys part: for `user`, sshd's own AuthorizedKeysFile and AuthorizedKeysCommand (sshd -T for a
 * connection of that user; %u %h %% and relative paths expanded as sshd does), each such file
 * ("sshkeys sshd <base64 of path, newline, content>"), then the ~/.ssh files ("sshkeys home …";
 * root's "sshkeys root …" when the deploy user is another and sshd lets root in);
 * an unreadable file as "<path>\n!unreadable". Read-only.
 */
export function sshKeysScript(user: string, where: { sshdConfig?: string; rootHome?: string } = {}): string[] {
  const sshd = `/usr/sbin/sshd${where.sshdConfig ? ` -f ${q(where.sshdConfig)}` : ""}`;
  const root = where.rootHome ? q(where.rootHome) : "/root";
  return [
    `keyfile() { if [ -r "$2" ] && [ -f "$2" ]; then printf 'sshkeys %s %s\\n' "$1" "$({ printf '%s\\n' "$2"; head -c ${KEYS_FILE_MAX_BYTES} -- "$2"; } | base64 -w0)"; elif [ -e "$2" ]; then printf 'sshkeys %s %s\\n' "$1" "$(printf '%s\\n!unreadable' "$2" | base64 -w0)"; fi; }`,
    `ku=${q(user)}; kh=$(getent passwd "$ku" | cut -d: -f6)`,
    `keff=$(${sshd} -T -C "user=$ku,host=localhost,addr=127.0.0.1" 2>&1) && kok=1 || kok=0`,
    `if [ "$kok" = 1 ]; then health ssh-akf "$(printf '%s\\n' "$keff" | awk 'tolower($1)=="authorizedkeysfile"{for(i=2;i<=NF;i++)print $i}')"; health ssh-akc "$(printf '%s\\n' "$keff" | awk 'tolower($1)=="authorizedkeyscommand"{$1="";sub(/^ /,"");print}')"; else health ssh-error "$(printf '%s' "$keff" | tail -n 3)"; fi`,
    `if [ "$kok" = 1 ]; then for p in $(printf '%s\\n' "$keff" | awk 'tolower($1)=="authorizedkeysfile"{for(i=2;i<=NF;i++)print $i}'); do f=\${p//%u/$ku}; f=\${f//%h/$kh}; f=\${f//%%/%}; case $f in /*) ;; *) f=$kh/$f ;; esac; keyfile sshd "$f"; done; fi`,
    // the drop-in covers the deploy user only: with another deploy user, root's own files stay live
    // unless sshd refuses root (PermitRootLogin no)
    `rk=home; if [ "$ku" != root ] && [ "$(${sshd} -T -C user=root,host=localhost,addr=127.0.0.1 2>/dev/null | awk 'tolower($1)=="permitrootlogin"{print tolower($2)}')" != no ]; then rk=root; fi`,
    `for f in ${root}/.ssh/authorized_keys ${root}/.ssh/authorized_keys2; do keyfile "$rk" "$f"; done`,
    `for f in "$kh/.ssh/authorized_keys" "$kh/.ssh/authorized_keys2"; do keyfile home "$f"; done`,
  ];
}

/** The "sshkeys" lines' payloads (kind, decoded text) as the files they name. */
export function parseKeysFiles(entries: readonly { kind: string; text: string }[]): FoundKeysFile[] {
  return entries.map(({ kind, text }) => {
    const nl = text.indexOf("\n");
    const path = nl < 0 ? text : text.slice(0, nl);
    const rest = nl < 0 ? "" : text.slice(nl + 1);
    return { path, readBySshd: kind === "sshd" || kind === "root", ...(kind === "root" ? { loginAs: "root" } : {}), ...(rest === "!unreadable" ? {} : { content: rest }) };
  });
}

/** A backup server's copy of one instance: its .complete marker and its snapshots' names. */
function copyLines(topology: Topology, instance: string): string[] {
  const mirror = `${topology.fleet.mirrorRoot}/${instance}`;
  return [`item complete ${instance} ${q(`${mirror}/.complete`)}`, `list snapshots ${instance} ${q(`${mirror}/.snapshots`)} '????????T??????Z'`];
}

/**
 * The read-only script that reads, on one backup server, the whole drill history of each of
 * `instances` (the client reports) and what dates its copy there: the .complete marker, the
 * snapshots, the mirror's birth time. Parsed by parseServerReport (its `histories`).
 */
export function drillHistoryScript(topology: Topology, instances: readonly string[], stateDir: string = PATHS.stateDir): string {
  const lines = [...SCRIPT_HELPERS, ...drillFunctions()];
  for (const inst of instances) {
    lines.push(...copyLines(topology, inst));
    lines.push(`born mirror-born ${inst} ${q(`${topology.fleet.mirrorRoot}/${inst}`)}`);
    lines.push(`bounded drill-history ${inst} ${q(drillHistoryFile(stateDir, inst))}`);
  }
  lines.push("echo end-of-report");
  return lines.join("\n") + "\n";
}

/**
 * The drill part's helpers: a file read up to DRILL_MAX_READ_BYTES (a broken or hostile file cannot
 * flood the report), the history's newest line the drill job wrote with result ok (its JSON is
 * compact: `"result":"ok"` only appears unescaped as that key; the line is parsed and judged
 * again), and a directory's birth time (stat %W: 0 where the filesystem records none).
 */
function drillFunctions(): string[] {
  return [
    `bounded() { if [ -r "$3" ]; then printf '%s %s %s\\n' "$1" "$2" "$(head -c ${DRILL_MAX_READ_BYTES} -- "$3" | base64 -w0)"; else printf '%s %s -\\n' "$1" "$2"; fi; }`,
    `newest_ok() { if [ -r "$3" ]; then printf '%s %s %s\\n' "$1" "$2" "$(grep -F -- '"result":"ok"' "$3" | tail -n 1 | head -c ${DRILL_MAX_READ_BYTES} | base64 -w0)"; else printf '%s %s -\\n' "$1" "$2"; fi; }`,
    `born() { printf '%s %s %s\\n' "$1" "$2" "$(stat -c %W -- "$3" 2>/dev/null | base64 -w0)"; }`,
  ];
}

/** The health part of the server script: systemd's state, its failed units, the notifier, the spool. */
function healthScript(spoolDir: string): string[] {
  return [
    // health KEY TEXT: one line, the text base64-encoded
    `health() { printf 'health %s %s\\n' "$1" "$(printf '%s' "$2" | base64 -w0)"; }`,
    "if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then",
    '  health system-state "$(systemctl is-system-running 2>/dev/null)"',
    '  health failed-units "$(systemctl list-units --state=failed --all --plain --no-legend --no-pager 2>/dev/null)"',
    `  health notifier "$(systemctl show -p Id -p LoadState -p ActiveState -p SubState -p Result -p UnitFileState -- ${NOTIFY_WATCHED_UNITS.join(" ")} 2>/dev/null)"`,
    "else",
    "  health system-state unavailable",
    "fi",
    `spool=${q(spoolDir)}`,
    // the event names start with their spooling time (date +%s%N): the oldest sorts first
    `if [ -d "$spool" ]; then health spool "$(date +%s; find "$spool" -mindepth 1 -maxdepth 1 -type d | wc -l; find "$spool" -mindepth 1 -maxdepth 1 -type d -printf '%f %T@\\n' | LC_ALL=C sort | head -n 1)"; else health spool "$(date +%s; echo 0)"; fi`,
  ];
}

/** Parses the health lines' texts (key → decoded text) into a ServerHealth. */
export function parseHealth(texts: ReadonlyMap<string, string>): ServerHealth | undefined {
  if (texts.size === 0) return undefined;
  const h: ServerHealth = {};
  const state = texts.get("system-state");
  if (state !== undefined) h.systemState = state.trim().split("\n").pop()!.trim();
  const failed = texts.get("failed-units");
  if (failed !== undefined) {
    // "[●] unit load active sub description": the first word that is a unit name
    h.failedUnits = failed
      .split("\n")
      .map((l) => l.trim().split(/\s+/).find((w) => /^[A-Za-z0-9@._:\\-]+\.[a-z]+$/.test(w)))
      .filter((u): u is string => u !== undefined);
  }
  const notifier = texts.get("notifier");
  if (notifier !== undefined) {
    h.notifier = notifier
      .split(/\n\s*\n/)
      .map((block) => {
        const kv = new Map(block.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
        const u: NotifierUnitFacts = { unit: kv.get("Id") ?? "" };
        const set = (key: keyof NotifierUnitFacts, prop: string) => {
          const v = kv.get(prop);
          if (v !== undefined && v !== "") (u as unknown as Record<string, string>)[key] = v;
        };
        set("loadState", "LoadState");
        set("activeState", "ActiveState");
        set("subState", "SubState");
        set("result", "Result");
        set("unitFileState", "UnitFileState");
        return u;
      })
      .filter((u) => u.unit !== "");
  }
  const atRest = texts.get("at-rest");
  if (atRest !== undefined) h.atRest = parseAtRest(atRest);
  const rsync = texts.get("rsync");
  if (rsync !== undefined) h.rsync = parseRsyncFact(rsync);
  const spool = texts.get("spool");
  if (spool !== undefined) {
    const [now, count, oldest] = spool.split("\n");
    const n = Number(count);
    h.spool = { count: Number.isInteger(n) && n >= 0 ? n : 0 };
    // "<event name> <mtime>": the name's leading epoch seconds (the spooling time), else the mtime
    const [name = "", mtime = ""] = (oldest ?? "").trim().split(" ");
    const spooled = /^(\d{10})\d*-/.exec(name)?.[1] ?? /^(\d+)(?:\.\d+)?$/.exec(mtime)?.[1];
    if (spooled !== undefined && /^\d+$/.test(now?.trim() ?? "")) h.spool.oldestAgeSeconds = Math.max(0, Number(now) - Number(spooled));
  }
  return h;
}

/** The instances that use `server` as hosting (hosting server) or backup (backup server). */
export function instancesOn(topology: Topology, server: Server): Instance[] {
  return topology.clients
    .flatMap((c) => c.instances)
    .filter((i) => (server.role === "hosting" ? i.hostingServer === server.name : i.backupServers.includes(server.name)));
}

export interface ServerReport {
  dumps: Map<string, DumpFacts>;
  mirrors: Map<string, Omit<MirrorFacts, "server">>;
  /** By hosting server: the binlogs this backup server pulls from it (only the files that exist). */
  binlogs: Map<string, BinlogFacts>;
  /** By instance: its drills on this backup server (only with the fleet's drills on). */
  drills: Map<string, Omit<DrillFacts, "server">>;
  /** By instance: its whole drill history on this backup server (drillHistoryScript only). */
  histories: Map<string, ParsedDrillHistory>;
  health?: ServerHealth;
}

function decode(field: string | undefined): string | undefined {
  if (field === undefined || field === "-") return undefined;
  return Buffer.from(field, "base64").toString("utf8");
}

function parseJson(text: string | undefined, what: string): { value?: Record<string, unknown>; error?: string } {
  if (text === undefined) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null ? { value: v as Record<string, unknown> } : { error: `${what} is not a JSON object` };
  } catch (e) {
    return { error: `${what} is not valid JSON (${(e as Error).message})` };
  }
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Parses the output of serverScript. Throws when the report is cut short (connection lost). */
export function parseServerReport(output: string): ServerReport {
  const dumps = new Map<string, DumpFacts>();
  const mirrors = new Map<string, Omit<MirrorFacts, "server">>();
  const binlogs = new Map<string, BinlogFacts>();
  const drills = new Map<string, Omit<DrillFacts, "server">>();
  const histories = new Map<string, ParsedDrillHistory>();
  const lines = output.split("\n");
  if (!lines.includes("end-of-report")) throw new Error("the report was cut short (no end-of-report line)");
  const health = new Map<string, string>();
  const keyEntries: { kind: string; text: string }[] = [];
  for (const line of lines) {
    const [kind, inst, field] = line.split(" ");
    if (!kind || !inst || kind === "end-of-report") continue;
    const text = decode(field);
    if (kind === "sshkeys") {
      if (text !== undefined) keyEntries.push({ kind: inst, text });
      continue;
    }
    if (kind === "health") {
      health.set(inst, text ?? "");
      continue;
    }
    if (kind === "binlog-status") {
      if (text === undefined) continue;
      const j = parseJson(text, `binlog-${inst}.json`);
      if (j.error || !j.value) {
        binlogs.set(inst, { error: j.error ?? "empty" });
        continue;
      }
      const v = j.value;
      const num = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : undefined);
      const b: BinlogFacts = {};
      if (typeof v.ok === "boolean") b.ok = v.ok;
      if (str(v.checkedAt)) b.checkedAt = str(v.checkedAt)!;
      if (str(v.newestRecoverableUtc)) b.newestRecoverableUtc = str(v.newestRecoverableUtc)!;
      if (v.recoverableByInstance && typeof v.recoverableByInstance === "object" && !Array.isArray(v.recoverableByInstance)) {
        b.recoverableByInstance = Object.fromEntries(Object.entries(v.recoverableByInstance as Record<string, unknown>).filter((e): e is [string, string] => str(e[1]) !== undefined));
      }
      if (num(v.lagSeconds) !== undefined) b.lagSeconds = num(v.lagSeconds)!;
      if (num(v.maxLagSeconds) !== undefined) b.maxLagSeconds = num(v.maxLagSeconds)!;
      if (Array.isArray(v.problems)) b.problems = v.problems.filter((x): x is string => typeof x === "string");
      if (Array.isArray(v.holes)) {
        const holes = v.holes
          .filter((h): h is Record<string, unknown> => !!h && typeof h === "object" && Array.isArray((h as Record<string, unknown>).files))
          .map((h) => ({ files: (h.files as unknown[]).filter((f): f is string => typeof f === "string"), ...(str(h.fromUtc) ? { fromUtc: str(h.fromUtc)! } : {}), ...(str(h.toUtc) ? { toUtc: str(h.toUtc)! } : {}) }))
          .filter((h) => h.files.length > 0);
        if (holes.length) b.holes = holes;
      }
      binlogs.set(inst, b);
      continue;
    }
    if (kind === "drill-status" || kind === "drill-last-ok") {
      if (text === undefined || text.trim() === "") continue;
      const d = drills.get(inst) ?? {};
      const parsed = parseDrillRecord(text, kind === "drill-status" ? `${inst}.drill.json` : `the newest ok line of drills/${inst}.jsonl`);
      // An unreadable status file leaves the last drill unknown; an unreadable history line only loses the newest success.
      if (parsed.error && kind === "drill-status") d.error = parsed.error;
      else if (parsed.error) d.problems = [...(d.problems ?? []), parsed.error];
      if (parsed.record) d[kind === "drill-status" ? "last" : "lastOk"] = parsed.record;
      if (parsed.problems.length) d.problems = [...(d.problems ?? []), ...parsed.problems];
      drills.set(inst, d);
      continue;
    }
    if (kind === "drill-history") {
      if (text !== undefined) histories.set(inst, parseDrillHistory(text, `drills/${inst}.jsonl`));
      continue;
    }
    if (kind === "mirror-born") {
      const epoch = Number((text ?? "").trim());
      if (Number.isSafeInteger(epoch) && epoch > 0) mirrors.set(inst, { ...mirrors.get(inst), bornAt: new Date(epoch * 1000).toISOString() });
      continue;
    }
    if (kind === "dump-status" || kind === "dumps") {
      const d = dumps.get(inst) ?? {};
      if (kind === "dump-status") {
        const j = parseJson(text, `${inst}.dump.json`);
        if (j.error) d.error = j.error;
        if (j.value) d.lastRun = { ...(str(j.value.result) ? { result: str(j.value.result)! } : {}), ...(str(j.value.finishedAt) ? { finishedAt: str(j.value.finishedAt)! } : {}), ...(str(j.value.message) ? { message: str(j.value.message)! } : {}) };
      } else {
        const names = (text ?? "").split("\n").filter(Boolean);
        const stamps = names.map((n) => /-(\d{8}T\d{6}Z)\.sql\./.exec(n)?.[1]).filter((s): s is string => s !== undefined).sort();
        d.dumpCount = stamps.length;
        if (stamps.length) d.newestDump = stamps[stamps.length - 1]!;
      }
      dumps.set(inst, d);
    } else if (kind === "complete" || kind === "snapshots" || kind === "replicate-status") {
      const m = mirrors.get(inst) ?? {};
      if (kind === "complete") {
        const j = parseJson(text, `${inst}/.complete`);
        if (j.error) m.error = j.error;
        if (j.value) m.complete = { ...(str(j.value.finishedAt) ? { finishedAt: str(j.value.finishedAt)! } : {}), ...(str(j.value.newestDump) ? { newestDump: str(j.value.newestDump)! } : {}), ...(typeof j.value.entries === "number" ? { entries: j.value.entries } : {}) };
      } else if (kind === "snapshots") {
        const stamps = (text ?? "").split("\n").filter((s) => /^\d{8}T\d{6}Z$/.test(s)).sort();
        m.snapshotCount = stamps.length;
        if (stamps.length) {
          m.newestSnapshot = stamps[stamps.length - 1]!;
          m.oldestSnapshot = stamps[0]!;
        }
      } else {
        const j = parseJson(text, `${inst}.replicate.json`);
        if (j.error) m.error = j.error;
        if (j.value) m.lastRun = { ...(str(j.value.result) ? { result: str(j.value.result)! } : {}), ...(str(j.value.finishedAt) ? { finishedAt: str(j.value.finishedAt)! } : {}), ...(str(j.value.message) ? { message: str(j.value.message)! } : {}), ...(str(j.value.warnings) ? { warnings: str(j.value.warnings)! } : {}) };
      }
      mirrors.set(inst, m);
    }
  }
  const h = parseHealth(health);
  if (h && (keyEntries.length > 0 || health.has("ssh-akf") || health.has("ssh-error"))) {
    const akf = health.get("ssh-akf");
    const akc = health.get("ssh-akc")?.trim();
    h.sshKeys = {
      files: parseKeysFiles(keyEntries),
      ...(akf !== undefined ? { authorizedKeysFiles: akf.split("\n").filter(Boolean) } : {}),
      ...(akc ? { authorizedKeysCommand: akc } : {}),
      ...(health.has("ssh-error") ? { error: health.get("ssh-error")!.trim() || "sshd -T failed" } : {}),
    };
  }
  return { dumps, mirrors, binlogs, drills, histories, ...(h ? { health: h } : {}) };
}

/** Runs `script` on the server with bash over SSH; resolves with stdout, rejects with a message. */
export function runOnServer(server: Server, script: string, options: CollectOptions): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-status-"));
  const alias = "dolibarr-backup-target";
  // The key the fleet config pins (model/host-key.ts), and no other: no known_hosts file of the
  // operator's, no key learned on first use.
  let pinned: string;
  try {
    pinned = hostKeyWithoutComment(server.ssh.hostKey ?? "", `server ${server.name} host key (ssh.hostKey)`, server.ssh.host, server.ssh.port);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    return Promise.reject(e as Error);
  }
  const knownHosts = path.join(dir, "known_hosts");
  fs.writeFileSync(knownHosts, `${alias} ${pinned}\n`, { mode: 0o600 });
  const args = [
    "-F", "/dev/null", "-T",
    "-i", options.privateKeyFile,
    "-p", String(server.ssh.port),
    "-l", server.ssh.user,
    "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", `HostKeyAlias=${alias}`, "-o", "CheckHostIP=no", "-o", "UpdateHostKeys=no",
    "-o", `ConnectTimeout=${options.connectTimeout ?? 10}`, "-o", "ConnectionAttempts=1", "-o", "LogLevel=ERROR",
    "--", server.ssh.host, "bash -s",
  ];
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, SSH_AUTH_SOCK: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (e) => reject(new Error(`cannot start ssh: ${e.message}`)));
    child.on("close", (code) => {
      fs.rmSync(dir, { recursive: true, force: true });
      if (code === 0) resolve(stdout);
      else reject(new Error(`ssh ${server.ssh.user}@${server.ssh.host}:${server.ssh.port} exited ${code}: ${(stderr.trim() || stdout.trim()).split("\n").slice(-6).join("\n") || "no message"}`));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(script);
  });
}

/** Fills the snapshot's facts from every active server of the topology (in parallel). */
export async function collect(topology: Topology, snapshot: StatusSnapshot, options: CollectOptions): Promise<StatusSnapshot> {
  const out: StatusSnapshot = JSON.parse(JSON.stringify(snapshot)) as StatusSnapshot;
  const byInstance = new Map(out.instances.map((i) => [i.name, i]));
  await Promise.all(
    topology.fleet.servers.map(async (server) => {
      const entry = out.servers.find((s) => s.name === server.name)!;
      if (isLost(server)) return;
      const on = instancesOn(topology, server);
      let report: ServerReport | undefined;
      let error: string | undefined;
      try {
        const stateDir = options.stateDirOf?.(server) ?? PATHS.stateDir;
        report = parseServerReport(await runOnServer(server, serverScript(topology, server, stateDir), options));
        entry.reachable = true;
        if (report.health) entry.health = report.health;
      } catch (e) {
        error = (e as Error).message;
        entry.reachable = false;
        entry.error = error;
      }
      for (const inst of on) {
        const facts = byInstance.get(inst.name);
        if (!facts) continue;
        if (server.role === "hosting") facts.dump = error ? { error } : report!.dumps.get(inst.name) ?? {};
        else {
          const i = facts.mirrors.findIndex((m) => m.server === server.name);
          const binlog = error ? undefined : binlogOfInstance(report!.binlogs.get(inst.hostingServer), inst.name);
          if (i >= 0) facts.mirrors[i] = { server: server.name, ...(error ? { error } : report!.mirrors.get(inst.name) ?? {}), ...(binlog ? { binlog } : {}) };
          // A silent server's drills: the mirror's error says why, the drills are judged unknown.
          const d = facts.drills?.findIndex((x) => x.server === server.name) ?? -1;
          if (d >= 0) facts.drills![d] = { server: server.name, ...(error ? {} : report!.drills.get(inst.name) ?? {}) };
        }
      }
    }),
  );
  return out;
}

/**
 * One instance's view of its hosting server's binlog status: its own newest recoverable second when
 * the pull wrote one per instance (an instance without a replayable dump yet blanks only its own),
 * else the hosting server's (pulls of an older release).
 */
export function binlogOfInstance(status: BinlogFacts | undefined, instance: string): BinlogFacts | undefined {
  if (!status?.recoverableByInstance) return status;
  const { recoverableByInstance, newestRecoverableUtc: _all, ...rest } = status;
  const own = recoverableByInstance[instance];
  return { ...rest, ...(own !== undefined ? { newestRecoverableUtc: own } : {}) };
}

// A restore drill's record as the drill job writes it on a backup server (issue 21): the status
// file <state>/status/<instance>.drill.json (the last drill) and the history
// <state>/drills/<instance>.jsonl (one record a line, oldest first). Read from a server, so
// nothing in it is trusted: every key is optional, a key of the wrong type is dropped and named,
// strings are clipped. Pure.

export interface DrillRecord {
  instance?: string;
  client?: string;
  job?: string;
  /** "ok" | "failed" as the job writes it; anything else is kept as read, for the judge to name. */
  result?: string;
  message?: string;
  server?: string;
  hostingServer?: string;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
  /** The measured RTO: restoreMs + serveMs + firstPageMs (only on a successful drill). */
  rtoMs?: number;
  restoreMs?: number;
  databaseMs?: number;
  filesMs?: number;
  serveMs?: number;
  firstPageMs?: number;
  source?: string;
  dump?: string;
  version?: string;
  httpStatus?: number;
  /** The checks' lines joined by "; ". */
  checks?: string;
  /**
   * The check of the restored code and documents against the received-hash manifest (.sha256):
   * the manifest's files of those trees, the random sample, the files whose entry changed since the
   * last successful drill, the files hashed in all and their bytes, the check's time (not in the RTO).
   */
  manifestFiles?: number;
  sampledFiles?: number;
  changedSinceDrillFiles?: number;
  hashedFiles?: number;
  hashedBytes?: number;
  hashMs?: number;
  /** What the restore dropped from the copy (device nodes, FIFOs, sockets, setuid/setgid files, files with security.* or trusted.* xattrs). */
  droppedItems?: number;
}

export const DRILL_STRING_KEYS = ["instance", "client", "job", "result", "message", "server", "hostingServer", "startedAt", "finishedAt", "source", "dump", "version", "checks"] as const;
export const DRILL_INTEGER_KEYS = [
  "durationSeconds",
  "rtoMs",
  "restoreMs",
  "databaseMs",
  "filesMs",
  "serveMs",
  "firstPageMs",
  "httpStatus",
  "manifestFiles",
  "sampledFiles",
  "changedSinceDrillFiles",
  "hashedFiles",
  "hashedBytes",
  "hashMs",
  "droppedItems",
] as const;

/** The phases of a drill in the order they run, with what a report calls them. */
export const DRILL_PHASES = [
  ["restoreMs", "restore"],
  ["databaseMs", "database"],
  ["filesMs", "files"],
  ["serveMs", "serve"],
  ["firstPageMs", "first page"],
] as const satisfies ReadonlyArray<readonly [keyof DrillRecord, string]>;

/** Longest string kept from a record (a message or the checks are a line; more is a broken or hostile file). */
export const DRILL_MAX_STRING = 2000;

/** Bytes of a drill file the collectors read at most (a history holds at most 200 records of under 1 KB). */
export const DRILL_MAX_READ_BYTES = 1024 * 1024;

export interface ParsedDrillRecord {
  record?: DrillRecord;
  /** Why the text is no record at all (not JSON, not an object). */
  error?: string;
  /** Keys of the wrong type, dropped. */
  problems: string[];
}

/** The status file of an instance's last drill, below a server's state dir. */
export const drillStatusFile = (stateDir: string, instance: string): string => `${stateDir}/status/${instance}.drill.json`;
/** The drill history of an instance, below a server's state dir. */
export const drillHistoryFile = (stateDir: string, instance: string): string => `${stateDir}/drills/${instance}.jsonl`;

/** One line, at most DRILL_MAX_STRING characters: control characters (a newline, a terminal escape) become spaces. */
const clip = (s: string): string => {
  const line = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ");
  return line.length > DRILL_MAX_STRING ? `${line.slice(0, DRILL_MAX_STRING)}…` : line;
};

/** One record from its JSON text; `what` names the file in the error and the problems. */
export function parseDrillRecord(text: string, what: string): ParsedDrillRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: `${what} is not valid JSON (${clip((e as Error).message)})`, problems: [] };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: `${what} is not a JSON object`, problems: [] };
  const v = value as Record<string, unknown>;
  const record: Record<string, string | number> = {};
  const problems: string[] = [];
  for (const key of DRILL_STRING_KEYS) {
    if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
    const x = v[key];
    if (typeof x === "string") record[key] = clip(x);
    else problems.push(`${what}: ${key} is not a string`);
  }
  for (const key of DRILL_INTEGER_KEYS) {
    if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
    const x = v[key];
    if (typeof x === "number" && Number.isSafeInteger(x) && x >= 0) record[key] = x;
    else problems.push(`${what}: ${key} is not a whole number ≥ 0`);
  }
  return { record: record as DrillRecord, problems };
}

export interface ParsedDrillHistory {
  /** The readable records, in the file's order (oldest first). */
  records: DrillRecord[];
  /** One line per unreadable line or dropped key. */
  problems: string[];
  /** Lines that are no record at all (not JSON, not an object). */
  unreadableLines: number;
}

/** A history file (JSON lines); blank lines are skipped, an unreadable line is named and skipped. */
export function parseDrillHistory(text: string, what: string): ParsedDrillHistory {
  const records: DrillRecord[] = [];
  const problems: string[] = [];
  let unreadableLines = 0;
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const p = parseDrillRecord(line, `${what} line ${i + 1}`);
    if (p.record) records.push(p.record);
    else {
      problems.push(p.error!);
      unreadableLines++;
    }
    problems.push(...p.problems);
  });
  return { records, problems, unreadableLines };
}

// Plain-text rendering of the check report and of config errors, for a terminal or a CI log.
import { MAX_MINUTE_OFFSET } from "../model/defaults";
import { formatIssue, type ConfigError } from "../model/errors";
import { describeSite } from "../model/sites";
import { formatHours, formatMinutesOrHours, formatTimeOfDay } from "../model/time";
import { maxBinlogDatabaseRpoHours, type DatabaseRpoSource } from "../model/rpo";
import type { Violation } from "../model/types";
import type { CheckReport, ClientReport, FleetReport, InstanceReport, ServerLine } from "./check";

const times = (ts: readonly number[]): string => ts.map(formatTimeOfDay).join(" ") || "none";
const hours = (h: number): string => formatHours(h, "never");
const km = (d: number): string => `${Math.round(d)} km`;
const minutesOrHours = (h: number): string => formatMinutesOrHours(h, "never");

/**
 * The database part of an instance's worst-case RPO line: from its binlogs when they are shipped
 * (the dumps then only bound how far back a replay starts), else from its dumps.
 */
export function databaseRpoText(from: DatabaseRpoSource, rpo: { database: number; dumps: number }, max: { database: number; databaseWithBinlogs: number }): string {
  return from === "binlogs"
    ? `${minutesOrHours(rpo.database)} (binlogs shipped, max ${minutesOrHours(max.databaseWithBinlogs)}; newest dump on a backup server ≤ ${hours(rpo.dumps)} old)`
    : `${hours(rpo.database)} (dumps, max ${max.database} h)`;
}

export function formatViolation(v: Violation): string {
  return `${v.severity === "mandatory" ? "✖ [mandatory]" : "⚠ [advisory] "} ${v.ruleId}: ${v.message}`;
}

function serverCols(s: ServerLine): [string, string, string, string] {
  return [s.name, s.provider ?? "?", s.site?.code ?? "?", s.site ? describeSite(s.site) : "(not in fleet)"];
}

/** Width in code points (what a terminal shows for these texts), without allocating. */
function width(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) n--; // the second half of a surrogate pair
  }
  return n;
}

function table(rows: string[][], indent: string): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, width(c))));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i]! - width(c)))).join("  ").trimEnd());
}

function formatInstance(inst: InstanceReport, fleet: FleetReport): string[] {
  const out = [`  instance ${inst.name}`];
  const rows: string[][] = [["hosting", ...serverCols(inst.hosting), "", ""]];
  for (const b of inst.backups) {
    rows.push([
      "backup",
      ...serverCols(b),
      b.distanceFromHostingKm !== undefined ? `${km(b.distanceFromHostingKm)} from hosting` : "",
      `replicates ${times(b.times)}`,
    ]);
  }
  out.push(...table(rows, "    "));
  if (inst.backupPairs.length > 0) {
    out.push(`    between backups: ${inst.backupPairs.map((p) => `${p.a} ↔ ${p.b} ${km(p.km)}`).join(", ")}`);
  }
  out.push(
    `    database ${inst.database}: dumps ${times(inst.dumpTimes)} (window ${fleet.policy.dumpWindowMinutes} min), kept ${inst.retentionDays} days in ${inst.dumpDir}`,
  );
  out.push(
    `    ${inst.replicationsPerDay} replications a day per backup server (+ client offset 0..${MAX_MINUTE_OFFSET} min), ${inst.snapshotsKeep} snapshots kept`,
  );
  out.push(
    `    worst-case RPO: files ${hours(inst.rpo.filesHours)} (max ${fleet.policy.maxRpoHours.files} h), database ${databaseRpoText(inst.rpo.databaseFrom, { database: inst.rpo.databaseHours, dumps: inst.rpo.dumpsHours }, { database: fleet.policy.maxRpoHours.database, databaseWithBinlogs: maxBinlogDatabaseRpoHours(fleet.policy) })}`,
  );
  return out;
}

function formatClient(c: ClientReport, fleet: FleetReport): string[] {
  const out = [`client ${c.client} (${c.file})`];
  for (const inst of c.instances) out.push(...formatInstance(inst, fleet));
  if (c.violations.length === 0) out.push("  ✔ no violation");
  else for (const v of c.violations) out.push(`  ${formatViolation(v)}`);
  return out;
}

export function formatFleet(f: FleetReport): string[] {
  const p = f.policy;
  const out = [
    `fleet ${f.stack} (${f.file}): ${f.serverCount.hosting} hosting and ${f.serverCount.backup} backup servers, ${f.clients.length} client(s)`,
    `  policy: ≥ ${p.minBackupServers} backup servers ≥ ${p.minDistanceKm} km apart, provider diversity ${p.providerDiversity}, ` +
      `≥ ${p.minDumpsPerDay} dumps a day kept ≥ ${p.minRetentionDays} days, dump window ${p.dumpWindowMinutes} min, ` +
      `RPO ≤ ${p.maxRpoHours.files} h (files) / ${p.maxRpoHours.database} h (database from dumps) / ${minutesOrHours(maxBinlogDatabaseRpoHours(p))} (database with binlogs)`,
  ];
  for (const v of f.fleetViolations) out.push(`  ${formatViolation(v)}`);
  for (const c of f.clients) {
    out.push("");
    for (const line of formatClient(c, f)) out.push(line);
  }
  return out;
}

export function formatCheckReport(report: CheckReport): string {
  const lines: string[] = [];
  report.fleets.forEach((f, i) => {
    if (i > 0) lines.push("");
    for (const line of formatFleet(f)) lines.push(line);
  });
  const c = report.counts;
  lines.push(
    "",
    `${c.fleets} fleet(s), ${c.clients} client(s), ${c.instances} instance(s): ` +
      `${c.mandatory} mandatory and ${c.advisory} advisory violation(s)` +
      (c.mandatory > 0 ? " — FAILED" : " — OK"),
  );
  return lines.join("\n") + "\n";
}

export function formatConfigError(err: ConfigError): string {
  return `${err.issues.length} configuration error(s):\n${err.issues.map((i) => `  ${formatIssue(i)}`).join("\n")}\n`;
}

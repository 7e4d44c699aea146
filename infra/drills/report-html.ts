// A client's drill report as one self-contained HTML page (inline CSS, no script, no external
// resource), sober and printable (A4), to hand to the client: its instances, where each is hosted
// and copied, every copy's verdict, the last drills with their RTO and phases, what was checked.
// Pure. Every text read from a server is escaped, and its addresses and key paths are redacted.
import type { Freshness } from "../status/snapshot";
import { escapeHtml as esc } from "../report/html";
import { formatAge, formatDuration, formatUtc } from "./format";
import { redactForClient } from "./redact";
import type { DrillRecord } from "./record";
import type { ClientReport, ReportCopy, ReportInstance, ReportSite } from "./report";

/** Drills listed per instance, newest first (two copies drilled weekly: six weeks). */
export const DRILLS_SHOWN_PER_INSTANCE = 12;

/** How a verdict reads for a client. */
export const VERDICT_LABELS: Record<Freshness, string> = { ok: "proven", stale: "overdue", failing: "failed", unknown: "not verifiable" };

const COLORS: Record<Freshness, string> = { ok: "#2e7d32", stale: "#b35c00", failing: "#c62828", unknown: "#616161" };

/** A text from a server, as the page shows it: addresses and key paths redacted, escaped. */
const fromServer = (s: string): string => esc(redactForClient(s));

const siteText = (s: ReportSite): string => `${esc(s.provider)} ${esc(s.code)} (${esc(s.city)}, ${esc(s.country)})`;

const ms = (x: number | undefined): string => (x === undefined ? "—" : esc(formatDuration(x)));

function verdictOf(copy: ReportCopy): Freshness {
  return copy.availability === "read" ? copy.state!.status : "unknown";
}

/** What a copy's status cell says beside its label. */
function copyExplanation(copy: ReportCopy, maxRtoMinutes: number): string {
  if (copy.availability === "lost") return "this backup server is out of service";
  if (copy.availability === "unreadable") return "its drill records could not be read for this report";
  const st = copy.state!;
  const lines = [...st.reasons, ...st.notes];
  if (st.lastOk?.rtoMs !== undefined && st.lastOk.rtoMs > maxRtoMinutes * 60_000) lines.push(`RTO above the ${maxRtoMinutes} min maximum`);
  if (copy.unreadableRecords > 0) lines.push(`${copy.unreadableRecords} record(s) could not be read`);
  return lines.map(fromServer).join("; ");
}

function copiesTable(inst: ReportInstance, maxRtoMinutes: number): string {
  const rows = inst.copies.map((c) => {
    const verdict = verdictOf(c);
    const last = c.drills[0];
    const rto = c.state?.lastOk?.rtoMs;
    const over = rto !== undefined && rto > maxRtoMinutes * 60_000;
    return `<tr data-server="${esc(c.site.server)}" data-status="${verdict}">
<td>${esc(c.site.server)}</td><td>${siteText(c.site)}</td><td class="num">${c.distanceKm} km</td>
<td>${last ? esc(formatUtc(last.finishedAt!)) : "none yet"}</td><td class="result ${last?.result === "failed" ? "failed" : ""}">${last ? (last.result === "ok" ? "✓ ok" : "✗ FAILED") : "—"}</td>
<td class="num${over ? " over" : ""}">${ms(rto)}</td>
<td><span class="verdict" style="color:${COLORS[verdict]};border-color:${COLORS[verdict]}">${VERDICT_LABELS[verdict]}</span> <span class="why">${copyExplanation(c, maxRtoMinutes)}</span></td></tr>`;
  });
  return `<table class="copies"><thead><tr><th>copy on</th><th>provider and site</th><th>from hosting</th><th>last drill (UTC)</th><th>result</th><th>RTO of the last success</th><th>status</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table>`;
}

function phasesOf(r: DrillRecord): string {
  const parts = [r.databaseMs !== undefined ? `database ${formatDuration(r.databaseMs)}` : "", r.filesMs !== undefined ? `files ${formatDuration(r.filesMs)}` : ""].filter(Boolean);
  return `${ms(r.restoreMs)}${parts.length ? `<br><span class="sub">${esc(parts.join(", "))}</span>` : ""}`;
}

function drillsTable(inst: ReportInstance, maxRtoMinutes: number): string {
  const all = inst.copies.flatMap((c) => c.drills.map((r) => ({ server: c.site.server, r })));
  all.sort((a, b) => Date.parse(b.r.finishedAt!) - Date.parse(a.r.finishedAt!));
  if (all.length === 0) return `<p class="none">No drill of this instance has been recorded yet.</p>`;
  const shown = all.slice(0, DRILLS_SHOWN_PER_INSTANCE);
  const rows = shown.map(({ server, r }) => {
    const failed = r.result === "failed";
    const over = r.rtoMs !== undefined && r.rtoMs > maxRtoMinutes * 60_000;
    const what = failed
      ? `<strong>${fromServer(r.message ?? "no message")}</strong>${r.checks ? `<br><span class="sub">${fromServer(r.checks)}</span>` : ""}`
      : `${fromServer(r.checks ?? r.message ?? "")}`;
    const origin = [r.source ? `from ${redactForClient(r.source)}` : "", r.version ? `Dolibarr ${r.version}` : ""].filter(Boolean).join(" · ");
    return `<tr class="${failed ? "failed" : "ok"}" data-server="${esc(server)}" data-result="${failed ? "failed" : "ok"}">
<td>${esc(formatUtc(r.finishedAt!))}</td><td>${esc(server)}</td><td class="result">${failed ? "✗ FAILED" : "✓ ok"}</td>
<td class="num rto${over ? " over" : ""}">${ms(r.rtoMs)}</td><td class="num">${phasesOf(r)}</td><td class="num">${ms(r.serveMs)}</td><td class="num">${ms(r.firstPageMs)}</td>
<td class="checks">${what}${origin ? `<br><span class="sub">${esc(origin)}</span>` : ""}</td></tr>`;
  });
  const more = all.length - shown.length;
  return `<table class="drills"><thead><tr><th>finished (UTC)</th><th>copy on</th><th>result</th><th>RTO</th><th>restore</th><th>serve</th><th>first page</th><th>checked, or what failed</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table>${more > 0 ? `\n<p class="sub">${more} earlier drill(s) not listed.</p>` : ""}`;
}

/** The opening sentence: how many copies are proven, which are not, the RTO range. */
function summary(report: ClientReport): { ok: boolean; html: string } {
  const copies = report.instances.flatMap((i) => i.copies.map((c) => ({ inst: i.name, c, verdict: verdictOf(c) })));
  const proven = copies.filter((x) => x.verdict === "ok");
  const rtos = copies.map((x) => x.c.state?.lastOk?.rtoMs).filter((x): x is number => x !== undefined);
  const lines = [`${proven.length} of ${copies.length} cop${copies.length === 1 ? "y" : "ies"} proven restorable within the last ${report.settings.staleDays} days.`];
  for (const v of ["failing", "stale", "unknown"] as const) {
    const these = copies.filter((x) => x.verdict === v);
    if (these.length) lines.push(`${VERDICT_LABELS[v][0]!.toUpperCase()}${VERDICT_LABELS[v].slice(1)}: ${these.map((x) => `${esc(x.inst)} on ${esc(x.c.site.server)}`).join(", ")}.`);
  }
  if (rtos.length) {
    const lo = Math.min(...rtos);
    const hi = Math.max(...rtos);
    lines.push(`Measured RTO of the newest successful drills: ${lo === hi ? ms(lo) : `${ms(lo)} to ${ms(hi)}`} (maximum ${report.settings.maxRtoMinutes} min).`);
  }
  return { ok: proven.length === copies.length && copies.length > 0, html: lines.join(" ") };
}

/** The whole page. */
export function renderClientReport(report: ClientReport): string {
  const s = summary(report);
  const generated = Date.parse(report.generatedAt);
  const sections = report.instances.map((inst) => {
    const newest = inst.copies.flatMap((c) => c.drills).map((r) => Date.parse(r.finishedAt!));
    const age = newest.length ? ` · last drill ${esc(formatAge(generated - Math.max(...newest)))} before this report` : "";
    return `<section class="instance" data-instance="${esc(inst.name)}">
<h2>${esc(inst.name)}</h2>
<p>Hosted on ${esc(inst.hosting.server)} at ${siteText(inst.hosting)}; copied to ${inst.copies.length} backup server(s) at other sites${age}.</p>
${copiesTable(inst, report.settings.maxRtoMinutes)}
<h3>Last drills</h3>
${drillsTable(inst, report.settings.maxRtoMinutes)}
</section>`;
  });
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Restore drills — ${esc(report.client)}</title>
<style>
@page{size:A4;margin:14mm}
body{font:13px/1.45 "DejaVu Sans",Arial,sans-serif;color:#1a1a1a;margin:24px auto;max-width:1100px;padding:0 16px}
h1{font-size:22px;margin:0 0 2px}h2{font-size:17px;margin:26px 0 4px;border-bottom:1px solid #bbb;padding-bottom:2px}h3{font-size:14px;margin:14px 0 4px}
.meta,.sub,.why{color:#555}.sub,.why{font-size:11.5px}
.about{font-size:12.5px;color:#333;border-left:3px solid #bbb;padding:2px 10px;margin:12px 0}
#summary{font-size:14px;padding:8px 12px;border:1px solid;border-radius:3px;margin:12px 0}
#summary[data-ok="true"]{border-color:${COLORS.ok};background:#f1f8f1}#summary[data-ok="false"]{border-color:${COLORS.failing};background:#f9e5e5}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f2f2f2;font-weight:600;font-size:12px}td.num{white-space:nowrap}
.copies td:nth-child(-n+6),.drills td:nth-child(-n+3),.copies th,.drills th{white-space:nowrap}
td.result{white-space:nowrap;font-weight:600;color:${COLORS.ok}}tr.failed td.result,td.result.failed{color:${COLORS.failing}}
tr.failed td{background:#fdf0f0}tr.failed td:first-child{border-left:4px solid ${COLORS.failing}}
.over{color:${COLORS.failing};font-weight:600}
.verdict{font-weight:700;border:1.5px solid;border-radius:3px;padding:0 4px;white-space:nowrap;text-transform:uppercase;font-size:11px}
td.checks{font-size:12px}.none{color:#555;font-style:italic}
footer{margin-top:28px;font-size:11px;color:#555;border-top:1px solid #bbb;padding-top:6px}
section.instance{break-inside:auto}tr{break-inside:avoid}h2,h3{break-after:avoid}
@media print{body{margin:0;max-width:none;padding:0}#summary,tr.failed td{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
</style></head>
<body>
<header>
<h1>Restore drills — ${esc(report.client)}</h1>
<p class="meta">Report of ${esc(formatUtc(report.generatedAt))} · maximum RTO ${report.settings.maxRtoMinutes} min · each copy must have been restored successfully within the last ${report.settings.staleDays} days</p>
</header>
<p class="about">Every week, each backup server restores each of your instances from its own copy into a separate, private environment on that server: the database and the documents, then the application is started and its front page opened. The drill checks that the database tables and the files equal the backup, that the page answers as Dolibarr with the expected version and that PHP logs no error; everything it started is then removed. The RTO (recovery time) is the time from the start of the restore to the first page served: restore, serve and first page.</p>
<p id="summary" data-ok="${s.ok}">${s.html}</p>
${sections.join("\n")}
<footer>Times are UTC. Sites are the providers' datacenters; distances are great-circle distances from the hosting site.</footer>
</body></html>
`;
}

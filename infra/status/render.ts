// Renders a StatusReport: a text table for the terminal, JSON, and one self-contained HTML page
// (inline CSS and SVG, no script, no external resource): a map drawn from Natural Earth's country
// outlines (npm world-atlas, projected with d3-geo) with the sites, the hosting → backup links and
// their distances and every instance colored by freshness, then the table. Pure functions of the
// report (the HTML one is async only because d3-geo is an ES module).
import * as fs from "node:fs";
import { formatAge, formatDuration, formatUtc } from "../drills/format";
import type { DrillState } from "../drills/judge";
import { escapeHtml } from "../report/html";
import type { Freshness, InstanceState, StatusReport } from "./snapshot";

export const FRESHNESS_COLORS: Record<Freshness, string> = {
  ok: "#2e7d32",
  stale: "#f9a825",
  failing: "#c62828",
  unknown: "#757575",
};

/** A recoverable second as the table shows it: its age ("45 s", "3 min", "2.5 h"). */
const ageOf = (iso: string | undefined, now: string): string => {
  if (iso === undefined) return "—";
  const s = Math.max(0, (Date.parse(now) - Date.parse(iso)) / 1000);
  return s < 120 ? `${Math.round(s)} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
};

const hours = (h: number | undefined): string => (h === undefined ? "—" : h < 1 ? `${Math.round(h * 60)} min` : `${h.toFixed(1)} h`);

/** The table printed by `npm run status`. */
export function renderTable(report: StatusReport): string {
  // "db": how old the newest recoverable second of the database is (binlogs; "—" without them)
  const rows = [["instance", "client", "status", "hosting", "dump age", "files age", "db age", "db", "RPO files/db", "backup servers"]];
  const now = report.snapshot.collectedAt;
  for (const i of report.instances) {
    rows.push([
      i.name,
      i.client,
      i.status.toUpperCase(),
      i.hostingServer,
      hours(i.dumpAgeHours),
      hours(i.filesAgeHours),
      hours(i.databaseAgeHours),
      ageOf(i.recoverableAt, now),
      `${hours(i.rpoHours.files)}/${hours(i.rpoHours.database)}`,
      i.mirrors.map((m) => `${m.server}:${m.status}${m.filesAgeHours !== undefined ? `(${hours(m.filesAgeHours)}${m.recoverableAt !== undefined ? `, db ${ageOf(m.recoverableAt, now)}` : ""})` : ""}`).join(" "),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  const bad = report.instances.filter((i) => i.status !== "ok");
  for (const i of bad) for (const r of i.reasons) lines.push(`  ${i.name}: ${r}`);
  for (const i of report.instances) for (const w of i.warnings) lines.push(`  ${i.name}: warning: ${w}`);
  lines.push(...drillLines(report));
  // The servers' own items: systemd and the notifier.
  const servers = report.servers.filter((s) => s.checked);
  const badServers = servers.filter((s) => s.status !== "ok");
  if (servers.length > 0) {
    const width = Math.max(...servers.map((x) => x.name.length));
    lines.push("", "servers (systemd, notifier, encryption at rest):");
    for (const s of servers) lines.push(`  ${s.name.padEnd(width)}  ${s.role.padEnd(7)}  ${s.status.toUpperCase()}`);
    for (const s of badServers) for (const r of s.reasons) lines.push(`  ${r}`);
    for (const s of servers) for (const w of s.warnings) lines.push(`  warning: ${w}`);
  }
  const counts = (["ok", "stale", "failing", "unknown"] as Freshness[]).map((f) => `${report.instances.filter((i) => i.status === f).length} ${f}`).join(", ");
  const serverCounts = servers.length === 0 ? "" : `; ${servers.length} server(s): ${(["ok", "failing", "unknown"] as Freshness[]).map((f) => `${servers.filter((s) => s.status === f).length} ${f}`).join(", ")}`;
  lines.push(`fleet ${report.snapshot.fleet} at ${report.snapshot.collectedAt}: ${report.instances.length} instance(s): ${counts}${serverCounts}${report.exitCode !== 0 ? " — NOT OK" : " — OK"}`);
  return lines.join("\n");
}

/** One drill's cells: the last drill (result and age), the newest success's age and its RTO. */
function drillCells(d: DrillState): { last: string; lastOk: string; rto: string } {
  return {
    last: d.last ? `${d.last.result} ${formatAge(d.last.ageMs)} ago` : "none",
    lastOk: d.lastOk ? `${formatAge(d.lastOk.ageMs)} ago` : "none",
    rto: d.lastOk?.rtoMs !== undefined ? formatDuration(d.lastOk.rtoMs) : "—",
  };
}

/** The table's drill section: one line per instance and backup server. */
function drillLines(report: StatusReport): string[] {
  const settings = report.snapshot.drills;
  if (!settings) return [];
  if (!settings.enabled) return ["", "drills: off (fleet key drills.enabled: false)"];
  const rows = [["instance", "backup server", "drill", "last drill", "last success", "RTO"]];
  for (const i of report.instances) {
    for (const d of i.drills) {
      const c = drillCells(d);
      rows.push([i.name, d.server, d.status.toUpperCase(), c.last, c.lastOk, c.rto]);
    }
  }
  if (rows.length === 1) return [];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return ["", `drills (restore on each backup server; stale after ${settings.staleDays} d, maximum RTO ${settings.maxRtoMinutes} min):`, ...rows.map((r) => `  ${r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd()}`)];
}

/** `npm run status -- --json`: the report as plain data. */
export function renderJson(report: StatusReport): string {
  return JSON.stringify({ fleet: report.snapshot.fleet, collectedAt: report.snapshot.collectedAt, ok: report.exitCode === 0, instances: report.instances, servers: report.servers, snapshot: report.snapshot }, null, 2);
}

const esc = escapeHtml;

type GeoModule = typeof import("d3-geo");
// TypeScript compiles import() to require() in CommonJS; d3-geo 3 is an ES module only.
const importEsm = new Function("m", "return import(m)") as (m: string) => Promise<GeoModule>;

interface Point {
  x: number;
  y: number;
}

/** The whole page. `width`×`height` is the map's size in CSS pixels. */
export async function renderHtml(report: StatusReport, options: { width?: number; height?: number } = {}): Promise<string> {
  const W = options.width ?? 960;
  const H = options.height ?? 620;
  const geo = await importEsm("d3-geo");
  const topojson = require("topojson-client") as typeof import("topojson-client");
  const world = JSON.parse(fs.readFileSync(require.resolve("world-atlas/countries-50m.json"), "utf8"));
  const countries = topojson.feature(world, world.objects.countries) as unknown as GeoJSON.FeatureCollection;
  const snap = report.snapshot;
  // Fit the sites, with 4° of margin around each, in the frame.
  const pts: Array<[number, number]> = [];
  for (const s of snap.servers) for (const [dx, dy] of [[-4, -3], [4, 3], [-4, 3], [4, -3]] as const) pts.push([s.site.longitude + dx, s.site.latitude + dy]);
  if (pts.length === 0) pts.push([-10, 35], [30, 60]);
  const projection = geo.geoMercator().fitExtent([[10, 10], [W - 10, H - 10]], { type: "MultiPoint", coordinates: pts });
  projection.clipExtent([[0, 0], [W, H]]);
  const pathOf = geo.geoPath(projection);
  const at = (lon: number, lat: number): Point => {
    const p = projection([lon, lat])!;
    return { x: Math.round(p[0] * 10) / 10, y: Math.round(p[1] * 10) / 10 };
  };
  const land = countries.features
    .map((f) => ({ d: pathOf(f), name: String((f.properties as { name?: string } | null)?.name ?? "") }))
    .filter((c): c is { d: string; name: string } => !!c.d)
    .map((c) => `<path class="country" d="${c.d.replace(/(\d+\.\d)\d+/g, "$1")}"><title>${esc(c.name)}</title></path>`)
    .join("\n");

  const servers = new Map(snap.servers.map((s) => [s.name, s]));
  const byInstance = new Map(report.instances.map((i) => [i.name, i]));
  // One line per (hosting, backup) pair, colored by the worst mirror of its instances.
  const pairs = new Map<string, { from: string; to: string; km: number; status: Freshness; instances: string[] }>();
  const rank: Record<Freshness, number> = { ok: 0, stale: 1, unknown: 2, failing: 3 };
  for (const l of snap.links) {
    const key = `${l.from}→${l.to}`;
    const st = byInstance.get(l.instance)?.mirrors.find((m) => m.server === l.to)?.status ?? "unknown";
    const p = pairs.get(key) ?? { from: l.from, to: l.to, km: l.km, status: "ok" as Freshness, instances: [] };
    if (rank[st] > rank[p.status]) p.status = st;
    p.instances.push(l.instance);
    pairs.set(key, p);
  }
  const linkSvg = [...pairs.values()]
    .map((p) => {
      const a = servers.get(p.from)!.site;
      const b = servers.get(p.to)!.site;
      const pa = at(a.longitude, a.latitude);
      const pb = at(b.longitude, b.latitude);
      const mid = { x: (pa.x + pb.x) / 2, y: (pa.y + pb.y) / 2 };
      return `<g class="link" data-from="${esc(p.from)}" data-to="${esc(p.to)}" data-km="${p.km}" data-status="${p.status}">
<line x1="${pa.x}" y1="${pa.y}" x2="${pb.x}" y2="${pb.y}" stroke="${FRESHNESS_COLORS[p.status]}"><title>${esc(p.from)} → ${esc(p.to)}: ${p.km} km (${esc(p.instances.join(", "))})</title></line>
<text class="km" x="${mid.x}" y="${mid.y - 3}">${p.km} km</text></g>`;
    })
    .join("\n");
  const serverState = new Map(report.servers.map((s) => [s.name, s]));
  const siteSvg = snap.servers
    .map((s) => {
      const p = at(s.site.longitude, s.site.latitude);
      const own = serverState.get(s.name);
      const shape = s.role === "hosting" ? `<rect x="${p.x - 6}" y="${p.y - 6}" width="12" height="12"/>` : `<circle cx="${p.x}" cy="${p.y}" r="6"/>`;
      const unwell = own !== undefined && own.status !== "ok" && s.reachable !== false;
      const cls = `site ${s.role}${s.state === "lost" ? " lost" : ""}${s.reachable === false ? " unreachable" : ""}${unwell ? " unwell" : ""}`;
      const label = s.state === "lost" ? " (lost)" : s.reachable === false ? " (unreachable)" : unwell ? ` (${own!.status})` : "";
      return `<g class="${cls}" data-server="${esc(s.name)}" data-role="${s.role}" data-state="${s.state}" data-status="${own?.status ?? "ok"}">${shape}<text x="${p.x + 9}" y="${p.y + 4}">${esc(s.name)} · ${esc(s.site.city)}${label}</text><title>${esc(s.name)}: ${s.role} at ${esc(s.provider)} ${esc(s.site.id)}, ${esc(s.site.city)} ${esc(s.site.country)}${s.error ? ` — ${esc(s.error)}` : ""}${own?.reasons.length ? ` — ${esc(own.reasons.join("; "))}` : ""}</title></g>`;
    })
    .join("\n");
  // Instances as dots in a ring around their hosting site.
  const ring = new Map<string, InstanceState[]>();
  for (const i of report.instances) ring.set(i.hostingServer, [...(ring.get(i.hostingServer) ?? []), i]);
  const instSvg = [...ring.entries()]
    .flatMap(([host, list]) => {
      const s = servers.get(host);
      if (!s) return [];
      const c = at(s.site.longitude, s.site.latitude);
      return list.map((i, k) => {
        const angle = (2 * Math.PI * k) / list.length - Math.PI / 2;
        const r = 16 + 4 * Math.floor(k / 12);
        const x = Math.round((c.x + r * Math.cos(angle)) * 10) / 10;
        const y = Math.round((c.y + r * Math.sin(angle)) * 10) / 10;
        return `<circle class="instance" data-instance="${esc(i.name)}" data-status="${i.status}" cx="${x}" cy="${y}" r="5" fill="${FRESHNESS_COLORS[i.status]}"><title>${esc(i.name)}: ${i.status}${i.reasons.length ? ` — ${esc(i.reasons.join("; "))}` : ""}</title></circle>`;
      });
    })
    .join("\n");

  const rows = report.instances
    .map(
      (i) => `<tr data-instance="${esc(i.name)}" data-status="${i.status}">
<td>${esc(i.name)}</td><td>${esc(i.client)}</td><td class="status" style="background:${FRESHNESS_COLORS[i.status]}">${i.status}</td><td>${esc(i.hostingServer)}</td>
<td>${hours(i.dumpAgeHours)}</td><td>${hours(i.filesAgeHours)}</td><td>${hours(i.databaseAgeHours)}</td><td class="recoverable"${i.recoverableAt ? ` title="newest recoverable second: ${i.recoverableAt}"` : ""}>${ageOf(i.recoverableAt, snap.collectedAt)}</td><td>${hours(i.rpoHours.files)} / ${hours(i.rpoHours.database)}</td>
<td>${i.mirrors.map((m) => `<span class="mirror" data-server="${esc(m.server)}" data-status="${m.status}" style="border-color:${FRESHNESS_COLORS[m.status]}">${esc(m.server)}: ${m.status} ${hours(m.filesAgeHours)}${m.snapshotAgeHours !== undefined ? `, snapshot ${hours(m.snapshotAgeHours)}` : ""}</span>`).join(" ")}</td>
<td class="reasons">${esc(i.reasons.join("; "))}</td></tr>`,
    )
    .join("\n");
  const counts = (["ok", "stale", "failing", "unknown"] as Freshness[]).map((f) => `<span class="count" data-status="${f}" style="background:${FRESHNESS_COLORS[f]}">${report.instances.filter((i) => i.status === f).length} ${f}</span>`).join(" ");
  const drillSettings = snap.drills;
  const drillRows = report.instances
    .flatMap((i) =>
      i.drills.map((d) => {
        const c = drillCells(d);
        const why = [...d.reasons, ...d.warnings.map((w) => `warning: ${w}`), ...d.notes];
        return `<tr data-instance="${esc(i.name)}" data-server="${esc(d.server)}" data-status="${d.status}"${d.warnings.length ? ' data-warning="true"' : ""}>
<td>${esc(i.name)}</td><td>${esc(d.server)}</td><td class="status" style="background:${FRESHNESS_COLORS[d.status]}">${d.status}</td><td${d.last ? ` title="${esc(formatUtc(d.last.finishedAt))}"` : ""}>${esc(c.last)}</td><td${d.lastOk ? ` title="${esc(formatUtc(d.lastOk.finishedAt))}"` : ""}>${esc(c.lastOk)}</td><td class="rto">${esc(c.rto)}</td><td class="reasons">${esc(why.join("; "))}</td></tr>`;
      }),
    )
    .join("\n");
  const drillSection = !drillSettings
    ? ""
    : !drillSettings.enabled
      ? `<h2>Restore drills</h2>\n<p id="drills-off">off (fleet key drills.enabled: false)</p>`
      : `<h2>Restore drills</h2>
<p>each backup server restores, serves and checks its own copy weekly; stale after ${drillSettings.staleDays} days, maximum RTO ${drillSettings.maxRtoMinutes} min</p>
<table id="drills"><thead><tr><th>instance</th><th>backup server</th><th>drill</th><th>last drill</th><th>last success</th><th>RTO</th><th>why</th></tr></thead>
<tbody>
${drillRows}
</tbody></table>`;
  const serverRows = report.servers
    .filter((s) => s.checked)
    .map(
      (s) => `<tr data-server="${esc(s.name)}" data-status="${s.status}">
<td>${esc(s.name)}</td><td>${s.role}</td><td class="status" style="background:${FRESHNESS_COLORS[s.status]}">${s.status}</td><td class="reasons">${esc([...s.reasons, ...s.warnings.map((w) => `warning: ${w}`)].join("; "))}</td></tr>`,
    )
    .join("\n");

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Backup status — fleet ${esc(snap.fleet)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:16px;margin:16px 0 0}
svg{background:#dbe9f4;border:1px solid #999}
.country{fill:#f4f1e8;stroke:#a9a39a;stroke-width:.5}
.link line{stroke-width:2.5;stroke-dasharray:6 3}
.km{font-size:11px;text-anchor:middle;fill:#333;paint-order:stroke;stroke:#fff;stroke-width:3px}
.site rect,.site circle{fill:#1f4e79;stroke:#fff;stroke-width:1.5}
.site.backup circle{fill:#6a1b9a}
.site.lost rect,.site.lost circle{fill:#000}
.site.unreachable rect,.site.unreachable circle{fill:#c62828}
.site.unwell rect,.site.unwell circle{stroke:#c62828;stroke-width:3}
.site text{font-size:12px;paint-order:stroke;stroke:#fff;stroke-width:3px}
.instance{stroke:#fff;stroke-width:1}
table{border-collapse:collapse;margin-top:12px}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
td.status{color:#fff;font-weight:bold;text-transform:uppercase}
.mirror{border:2px solid;border-radius:3px;padding:0 3px;white-space:nowrap}
.count{color:#fff;padding:1px 6px;border-radius:3px}
.reasons{font-size:12px;color:#555}
</style></head>
<body>
<h1>Backup status — fleet ${esc(snap.fleet)}</h1>
<p id="summary" data-exit-code="${report.exitCode}">collected ${esc(snap.collectedAt)} · timers in ${esc(snap.timeZone)} · ${counts}</p>
<svg id="map" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<g id="countries">
${land}
</g>
<g id="links">
${linkSvg}
</g>
<g id="sites">
${siteSvg}
</g>
<g id="instances">
${instSvg}
</g>
</svg>
<p>■ hosting server · ● backup server · dots around a hosting server: its instances · colors: ${(["ok", "stale", "failing", "unknown"] as Freshness[]).map((f) => `<span style="color:${FRESHNESS_COLORS[f]}">${f}</span>`).join(", ")}. Map data: Natural Earth (world-atlas).</p>
<table id="status"><thead><tr><th>instance</th><th>client</th><th>status</th><th>hosting</th><th>dump age</th><th>files age</th><th>db age</th><th title="age of the newest second a restore reaches (binary logs)">db</th><th>RPO files / db</th><th>mirrors</th><th>why</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${drillSection}
<h2>Servers: systemd and notifier</h2>
<table id="servers"><thead><tr><th>server</th><th>role</th><th>status</th><th>why</th></tr></thead>
<tbody>
${serverRows}
</tbody></table>
</body></html>
`;
}

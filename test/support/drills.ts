// Drill records for tests, as the drill job writes them (issue 21): one flat object per drill,
// integers as numbers, every time ISO UTC to the second.
import type { DrillRecord } from "../../infra/drills/record";

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

/** A successful drill of `instance` on `server` that finished at `finishedAtMs`, with its phases. */
export function okDrill(instance: string, server: string, finishedAtMs: number, overrides: Partial<DrillRecord> = {}): DrillRecord {
  const restoreMs = overrides.restoreMs ?? 95_000;
  const serveMs = overrides.serveMs ?? 2_400;
  const firstPageMs = overrides.firstPageMs ?? 610;
  const rtoMs = restoreMs + serveMs + firstPageMs;
  return {
    instance,
    client: instance.split("-")[0]!,
    job: "drill",
    result: "ok",
    message: `restored and served in ${Math.round(rtoMs / 1000)} s`,
    server,
    hostingServer: "web-rbx",
    startedAt: iso(finishedAtMs - rtoMs - 4_000),
    finishedAt: iso(finishedAtMs),
    durationSeconds: Math.round((rtoMs + 4_000) / 1000),
    rtoMs,
    restoreMs,
    databaseMs: Math.round(restoreMs * 0.6),
    filesMs: Math.round(restoreMs * 0.4),
    serveMs,
    firstPageMs,
    source: `snapshot ${iso(finishedAtMs - 3_600_000).replace(/[-:]/g, "")}`,
    dump: `dolibarr_${instance.replace(/-/g, "_")}-20261207T110000Z.sql.zst`,
    version: "18.0.4",
    httpStatus: 200,
    checks: "database: 12 tables identical; tree documents identical; tree code identical; front page: HTTP 200, Dolibarr 18.0.4; PHP error log: empty",
    ...overrides,
  };
}

/** A failed drill: no RTO, the phases that ran, what failed. */
export function failedDrill(instance: string, server: string, finishedAtMs: number, message: string, overrides: Partial<DrillRecord> = {}): DrillRecord {
  const { rtoMs: _rto, serveMs: _serve, firstPageMs: _page, httpStatus: _http, version: _version, ...rest } = okDrill(instance, server, finishedAtMs);
  return { ...rest, result: "failed", message, checks: "database: 12 tables identical; front page: HTTP 500", httpStatus: 500, ...overrides };
}

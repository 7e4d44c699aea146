// The MariaDB drop-in that turns a hosting server's binary logs on (point-in-time recovery, issue
// 20), and the lines of the base bundle that apply it. Pure. The drop-in is pushed to
// mariadbBinlogRenderedPath; dolibarr-binlog-setup compares it with the installed drop-in and with
// what the running server uses, installs it, sets the dynamic settings with SET GLOBAL and restarts
// MariaDB only when a static one (log_bin, its path) changed, and says which in its output.
import { BINLOG_BASENAME, binlogOf, binlogSettingsOf } from "../model/binlog";
import type { Fleet, Server } from "../model/types";
import { type ServerFile, shq } from "./files";
import { SCRIPT, mariadbBinlogDropInPath, mariadbBinlogRenderedPath } from "./paths";

/** The settings MariaDB reads only at start (dolibarr-binlog-setup STATIC_KEYS): changing one restarts it. */
export const STATIC_BINLOG_KEYS = ["log_bin", "log_bin_index"] as const;

/** The settings, in the order written; every one is checked against the running server by dolibarr-binlog-setup. */
export function binlogSettings(fleet: Fleet, server: Server): Array<[string, string]> | undefined {
  const b = binlogOf(server);
  if (!b) return undefined;
  const s = binlogSettingsOf(fleet);
  if (!s.dir.startsWith("/") || /[\s'"\\#;=]/.test(s.dir)) throw new Error(`binlog dir '${s.dir}' must be an absolute path without spaces, quotes, '#', ';' or '='`);
  const base = `${s.dir}/${BINLOG_BASENAME}`;
  return [
    ["log_bin", base],
    ["log_bin_index", `${base}.index`],
    ["binlog_format", "ROW"],
    ["binlog_row_image", "FULL"],
    ["server_id", String(b.serverId)],
    ["gtid_domain_id", String(b.serverId)],
    ["gtid_strict_mode", "ON"],
    ["sync_binlog", "1"],
    ["max_binlog_size", String(s.maxFileMB * 1024 * 1024)],
    ["binlog_expire_logs_seconds", String(s.keepDays * 86400)],
    ["binlog_checksum", "CRC32"],
    ["binlog_annotate_row_events", "ON"],
  ];
}

/** The drop-in's text, or undefined when the server's binlogs are off. */
export function renderBinlogDropIn(fleet: Fleet, server: Server): string | undefined {
  const settings = binlogSettings(fleet, server);
  if (!settings) return undefined;
  const s = binlogSettingsOf(fleet);
  return [
    `# Binary logs of hosting server ${server.name} for point-in-time recovery (rendered by dolibarr-backup,`,
    `# fleet ${fleet.stack}; installed and applied by ${SCRIPT.binlogSetup}: do not edit).`,
    "# ROW events with full row images, one GTID domain per server (= server_id, unique in the fleet),",
    `# each commit on disk before it returns (sync_binlog=1), files of ${s.maxFileMB} MiB kept ${s.keepDays} days`,
    "# (the dumps' retention with margin).",
    `# A change of ${STATIC_BINLOG_KEYS.join(" or ")} restarts MariaDB when applied; the others apply without restart`,
    "# (SET GLOBAL): a preview's diff of this file says which.",
    "[mariadbd]",
    ...settings.map(([k, v]) => `${k} = ${v}`),
    "",
  ].join("\n");
}

/** The base bundle's files for the binlogs: the rendered drop-in (none when off). */
export function binlogBaseFiles(fleet: Fleet, server: Server): ServerFile[] {
  const text = renderBinlogDropIn(fleet, server);
  return text === undefined ? [] : [{ path: mariadbBinlogRenderedPath, content: text, mode: "0644" }];
}

/**
 * The create line: apply the rendered drop-in, or (binlogs off for this server) remove the drop-in
 * this program installed earlier, if any; a MariaDB configured by someone else is never touched.
 */
export function binlogCreateLine(fleet: Fleet, server: Server): string | undefined {
  if (server.role !== "hosting") return undefined;
  return renderBinlogDropIn(fleet, server) === undefined
    ? `${SCRIPT.binlogSetup} off ${shq(mariadbBinlogDropInPath)}`
    : `${SCRIPT.binlogSetup} apply ${shq(mariadbBinlogRenderedPath)} ${shq(mariadbBinlogDropInPath)}`;
}

/** The delete line: the drop-in goes, MariaDB is not restarted by a destroy (it says so). */
export function binlogDeleteLine(server: Server): string | undefined {
  if (server.role !== "hosting") return undefined;
  return `if [ -x ${SCRIPT.binlogSetup} ]; then ${SCRIPT.binlogSetup} remove ${shq(mariadbBinlogDropInPath)} || true; fi`;
}

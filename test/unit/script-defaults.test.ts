// The server scripts fall back to defaults of their own (`${VAR:-value}`) when a config lacks a
// key (a config rendered by an older version, a job run by hand). Each such default must be the
// model's, or a knob the model does not have (listed below with why): two copies that drift apart
// would make an old config behave unlike a new one. Every literal default found in the scripts is
// in one of the two tables, so a new one cannot be added without saying which it is.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_AT_REST } from "../../infra/model/at-rest";
import { BINLOG_BASENAME } from "../../infra/model/binlog";
import { BACKUP_USER_PREFIX, DEFAULT_DUMP_VERIFICATION, DEFAULT_MAX_CONCURRENT_DUMPS, DEFAULT_SCHEDULE, DEFAULT_SNAPSHOT_RETENTION, DEFAULT_SSH_PORT, DEFAULT_TIME_ZONE } from "../../infra/model/defaults";
import { DEFAULT_DRILL_SAMPLE_MIN, DEFAULT_DRILL_SAMPLE_PERCENT } from "../../infra/model/drills";
import { DEFAULT_NOTIFY_LOG_LINES, DEFAULT_NOTIFY_TIMEOUT_SECONDS, DEFAULT_TEXTFILE_DIR } from "../../infra/model/notifications";
import { DEFAULT_PATH_ROOTS } from "../../infra/model/paths";
import { PATHS } from "../../infra/render/paths";
import { DEFAULT_MAX_DELETE_PERCENT } from "../../infra/render/server";
import { repoRoot } from "../../infra/render/repo";

const SERVER_DIR = path.join(repoRoot(), "scripts", "server");

/** Variable → the model's value, as the script must spell it (after the common variables are expanded). */
const FROM_MODEL: Record<string, string> = {
  RETENTION_DAYS: String(DEFAULT_SCHEDULE.retentionDays),
  DUMPS_PER_DAY: String(DEFAULT_SCHEDULE.dumpTimes.length),
  SNAPSHOT_KEEP_HOURS: String(DEFAULT_SNAPSHOT_RETENTION.keepHours),
  SNAPSHOT_KEEP_DAYS: String(DEFAULT_SNAPSHOT_RETENTION.keepDays),
  SNAPSHOT_KEEP_WEEKS: String(DEFAULT_SNAPSHOT_RETENTION.keepWeeks),
  SUSPICIOUS_CHANGE_PERCENT: String(DEFAULT_SNAPSHOT_RETENTION.suspiciousChangePercent),
  MAX_DELETE_PERCENT: String(DEFAULT_MAX_DELETE_PERCENT),
  MAX_CONCURRENT_DUMPS: String(DEFAULT_MAX_CONCURRENT_DUMPS),
  DUMP_VERIFY: DEFAULT_DUMP_VERIFICATION,
  DRILL_SAMPLE_PERCENT: String(DEFAULT_DRILL_SAMPLE_PERCENT),
  DRILL_SAMPLE_MIN: String(DEFAULT_DRILL_SAMPLE_MIN),
  DRILL_TIME_ZONE: DEFAULT_TIME_ZONE,
  DRILL_ROOT: PATHS.drillDir,
  NOTIFY_LOG_LINES: String(DEFAULT_NOTIFY_LOG_LINES),
  NOTIFY_TIMEOUT_SECONDS: String(DEFAULT_NOTIFY_TIMEOUT_SECONDS),
  NOTIFY_MAIL_EVENTS: "failures",
  NOTIFY_WEBHOOK_EVENTS: "failures",
  METRICS_DIR: DEFAULT_TEXTFILE_DIR,
  AT_REST: DEFAULT_AT_REST,
  SOURCE_PORT: String(DEFAULT_SSH_PORT),
  DBK_USER_PREFIX: BACKUP_USER_PREFIX,
  EXPORT_ROOT: PATHS.exportRoot,
  DOLIBARR_BACKUP_STATE_DIR: PATHS.stateDir,
  DOLIBARR_BACKUP_CONF_DIR: PATHS.confDir,
  SSH_KEY: `${PATHS.sshDir}/id_ed25519`,
  KNOWN_HOSTS: `${PATHS.sshDir}/known_hosts`,
  BINLOG_BASENAME,
};

/** Knobs of the scripts alone: not fleet settings, so the model has no value to agree with. */
const SCRIPT_ONLY: Record<string, string> = {
  TMPDIR: "the process's own temporary directory",
  LOCK_WAIT_SECONDS: "how long a job run waits for the previous one; a command-line option too",
  NOTIFY_SENDMAIL: "the MTA's path on Debian",
  NOTIFY_MAX_AGE_HOURS: "how long an undeliverable notification is retried",
  DUMP_ZSTD_LEVEL: "the compression level, a tuning knob",
  DUMP_QUEUE_WAIT_SECONDS: "how long a dump waits for a queue slot",
  SNAPSHOTS: "on unless a config says 0 (the model always renders it)",
  MAX_DUMP_AGE_HOURS: "0: no age check unless rendered",
  DUMP_BINLOG_POSITION: "0: off unless binlogs are shipped",
  DOLIBARR_BACKUP_LOCK_DIR: "systemd's /run/lock, not a setting",
  NOTIFY_ENABLED: "0: off unless the fleet declares notifiers",
  SNAPSHOT_KEEP_MIN: "at least the newest snapshot, whatever the ages",
  ALLOW_BIG_DELETE: "off unless the operator says so (--allow-big-delete)",
  DBK_PROG: "the calling script's name, for its log lines",
  DBK_INSTANCE: "a placeholder in log lines before the instance is known",
  DBK_JOB_PING: "off unless the job pings",
  DBK_SYS_ROOT: "the kernel's /sys (tests point it elsewhere)",
  DBK_BINLOG_VERIFY_SECONDS: "how often the pull re-hashes kept binlogs, a tuning knob",
  DBK_MARIADB_RESTART: "how the setup restarts MariaDB (tests replace it)",
  DBK_MARIADB_USER: "Debian's MariaDB user",
  DBK_LAST_ERROR: "a message placeholder",
  MONITOR_SERVICE_RESULT: "systemd's OnFailure= environment, when absent",
};

/** Every `${VAR:-value}` of the server scripts whose value is not empty, another variable alone, or a command. */
function literalDefaults(): { file: string; name: string; value: string }[] {
  const found: { file: string; name: string; value: string }[] = [];
  for (const file of fs.readdirSync(SERVER_DIR)) {
    const text = fs.readFileSync(path.join(SERVER_DIR, file), "utf8");
    for (const m of text.matchAll(/\$\{([A-Z_]+):-([^}]*)\}/g)) {
      const value = m[2]!;
      if (value === "" || value === "?" || /^\$[A-Za-z_]+$/.test(value) || value.includes("$(") || value.includes("${")) continue;
      // a path built from the instance's name: the model's is a function (instanceMyCnfPath and the like)
      if (value.includes("$instance")) continue;
      found.push({ file, name: m[1]!, value });
    }
  }
  return found;
}

/** The script's value with the common variables it is built from replaced by their defaults. */
function expand(value: string): string {
  return value
    .replace(/\$DBK_STATE_DIR\b/g, PATHS.stateDir)
    .replace(/\$DBK_CONF_DIR\b/g, PATHS.confDir);
}

describe("the server scripts' own defaults", () => {
  const found = literalDefaults();

  it("finds the defaults it checks (the scan sees the scripts)", () => {
    assert.ok(found.length >= 30, `only ${found.length} defaults found in ${SERVER_DIR}`);
    assert.ok(found.some((d) => d.name === "RETENTION_DAYS"));
  });

  it("each is the model's value, in every script that has it", () => {
    const wrong = found.filter((d) => d.name in FROM_MODEL && expand(d.value) !== FROM_MODEL[d.name]);
    assert.deepEqual(
      wrong.map((d) => `${d.file}: \${${d.name}:-${d.value}} but the model says ${FROM_MODEL[d.name]}`),
      [],
    );
  });

  it("none is left unaccounted for: a new default is either the model's or a script's own knob", () => {
    const unknown = found.filter((d) => !(d.name in FROM_MODEL) && !(d.name in SCRIPT_ONLY));
    assert.deepEqual(unknown.map((d) => `${d.file}: \${${d.name}:-${d.value}}`), []);
  });

  it("the tables name no variable the scripts do not have (a renamed one is noticed)", () => {
    const names = new Set(found.map((d) => d.name));
    assert.deepEqual(Object.keys(FROM_MODEL).filter((n) => !names.has(n)), []);
    assert.deepEqual(Object.keys(SCRIPT_ONLY).filter((n) => !names.has(n)), []);
  });

  it("the jobs' default allowed roots are the model's", () => {
    const common = fs.readFileSync(path.join(SERVER_DIR, "dolibarr-backup-common.sh"), "utf8");
    const m = /^DBK_DEFAULT_PATH_ROOTS="([^"]*)"$/m.exec(common);
    assert.ok(m, "DBK_DEFAULT_PATH_ROOTS not found in dolibarr-backup-common.sh");
    assert.deepEqual(m[1]!.split(" "), [...DEFAULT_PATH_ROOTS]);
  });
});

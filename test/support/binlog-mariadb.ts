// A private MariaDB that reads its options like Debian's does (a my.cnf including a conf.d
// directory), restartable by a shell script: what dolibarr-binlog-setup needs to be tested for
// real (install a drop-in, SET GLOBAL, restart), and the source server of the replay tests and
// benches (startBinlogSource: the fleet's rendered drop-in in its conf.d; dumpWithPosition).
import * as fs from "node:fs";
import * as path from "node:path";
import { DUMP_PRIVILEGES } from "../../infra/components/instance";
import { parseFleetConfig } from "../../infra/model/parse";
import { renderBinlogDropIn } from "../../infra/render/binlog";
import { renderEnvFile } from "../../infra/render/files";
import { serverScriptPath } from "../../infra/render/repo";
import { mustRun, run, waitFor } from "./jobs-exec";
import { testHostKey } from "./host-keys";

export interface ConfMariaDb {
  dir: string;
  socket: string;
  /** The conf.d directory my.cnf includes (where the drop-in goes). */
  confDir: string;
  optionFile: string;
  /** The server's my.cnf (what DBK_MARIADB_DEFAULTS_FILE names). */
  defaultsFile: string;
  /** A script that restarts the server (what DBK_MARIADB_RESTART runs). */
  restartScript: string;
  query(sql: string, database?: string): Promise<string>;
  /** The running server's pid (changes on a restart). */
  pid(): string;
  stop(): Promise<void>;
}

export async function startConfMariaDb(dir: string, extra: string[] = []): Promise<ConfMariaDb> {
  fs.mkdirSync(dir, { recursive: true });
  const datadir = path.join(dir, "data");
  const socket = path.join(dir, "mysqld.sock");
  const confDir = path.join(dir, "conf.d");
  const pidFile = path.join(dir, "mysqld.pid");
  const optionFile = path.join(dir, "client.cnf");
  fs.mkdirSync(confDir, { recursive: true });
  // Its own tmpdir (see jobs-mariadb.ts: a starting mariadbd removes the #sql* files of its tmpdir).
  const tmpdir = path.join(dir, "tmp");
  fs.mkdirSync(tmpdir, { recursive: true });
  await mustRun("mariadb-install-db", ["--no-defaults", `--datadir=${datadir}`, "--user=root", "--auth-root-authentication-method=socket", "--skip-test-db", `--tmpdir=${tmpdir}`]);
  const myCnf = path.join(dir, "my.cnf");
  fs.writeFileSync(
    myCnf,
    [
      "[mariadbd]",
      `datadir = ${datadir}`,
      `tmpdir = ${tmpdir}`,
      `socket = ${socket}`,
      "skip_networking",
      "user = root",
      `pid_file = ${pidFile}`,
      `log_error = ${path.join(dir, "error.log")}`,
      "innodb_buffer_pool_size = 64M",
      "innodb_flush_log_at_trx_commit = 2",
      "character_set_server = utf8mb4",
      "collation_server = utf8mb4_unicode_ci",
      ...extra,
      `!includedir ${confDir}`,
      "",
    ].join("\n"),
  );
  fs.writeFileSync(optionFile, `[client]\nsocket=${socket}\nuser=root\n`, { mode: 0o600 });
  const startLine = `setsid mariadbd --defaults-file=${myCnf} </dev/null >>${path.join(dir, "stdout.log")} 2>&1 &`;
  const waitUp = `for i in $(seq 1 600); do mariadb --defaults-extra-file=${optionFile} -e 'SELECT 1' >/dev/null 2>&1 && exit 0; sleep 0.1; done; echo 'mariadbd did not start' >&2; tail -20 ${path.join(dir, "error.log")} >&2; exit 1`;
  const stopLine = `if [ -s ${pidFile} ]; then p=$(cat ${pidFile}); mariadb-admin --defaults-extra-file=${optionFile} shutdown || kill "$p" || true; while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; fi`;
  const restartScript = path.join(dir, "restart.sh");
  fs.writeFileSync(restartScript, `#!/bin/bash\nset -u\n${stopLine}\n${startLine}\n${waitUp}\n`, { mode: 0o755 });
  const startScript = path.join(dir, "start.sh");
  fs.writeFileSync(startScript, `#!/bin/bash\nset -u\n${startLine}\n${waitUp}\n`, { mode: 0o755 });
  await mustRun(startScript, []);
  const query = async (sql: string, database?: string): Promise<string> =>
    (await mustRun("mariadb", [`--defaults-extra-file=${optionFile}`, "--batch", "--skip-column-names", "--default-character-set=utf8mb4", ...(database ? [database] : [])], { input: sql })).stdout;
  const pid = (): string => fs.readFileSync(pidFile, "utf8").trim();
  const stop = async (): Promise<void> => {
    if (!fs.existsSync(pidFile)) return;
    await run("bash", ["-c", stopLine]);
  };
  await waitFor(async () => fs.existsSync(pidFile), 10_000, "the pid file");
  return { dir, socket, confDir, optionFile, defaultsFile: myCnf, restartScript, query, pid, stop };
}

/**
 * The source server of the binlog tests and benches: a ConfMariaDb whose conf.d holds the fleet's
 * rendered binlog drop-in (renderBinlogDropIn of a two-server fleet with `binlog.dir` = binlogDir),
 * so it writes its binary logs as a hosting server with binlogs on does.
 */
export async function startBinlogSource(dir: string, binlogDir: string, opts: { maxFileMB?: number } = {}): Promise<ConfMariaDb> {
  const fleet = parseFleetConfig(
    {
      servers: [
        { name: "web-a", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.10", hostKey: testHostKey("203.0.113.10") } },
        { name: "bk-sbg", role: "backup", provider: "ovh", site: "sbg", ssh: { host: "203.0.113.20", hostKey: testHostKey("203.0.113.20") } },
      ],
      binlog: { dir: binlogDir, ...(opts.maxFileMB === undefined ? {} : { maxFileMB: opts.maxFileMB }) },
    },
    { stack: "fleet", file: "stacks/Pulumi.fleet.yaml" },
  );
  fs.mkdirSync(binlogDir, { recursive: true });
  fs.mkdirSync(path.join(dir, "conf.d"), { recursive: true });
  fs.writeFileSync(path.join(dir, "conf.d", "60-dolibarr-backup-binlog.cnf"), renderBinlogDropIn(fleet, fleet.servers[0]!)!);
  return startConfMariaDb(dir);
}

/** The SQL that creates the dump account a client stack creates for DATABASE (DUMP_PRIVILEGES). */
export function dumpUserSql(database: string): string {
  return `CREATE USER dump@localhost; GRANT ${DUMP_PRIVILEGES.join(", ")} ON ${database}.* TO dump@localhost; GRANT SELECT ON mysql.proc TO dump@localhost;`;
}

/** The environment of a server job whose conf, state and lock dirs are root/etc, root/state, root/lock. */
export function jobEnv(root: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, DOLIBARR_BACKUP_CONF_DIR: path.join(root, "etc"), DOLIBARR_BACKUP_STATE_DIR: path.join(root, "state"), DOLIBARR_BACKUP_LOCK_DIR: path.join(root, "lock"), ...extra };
}

/**
 * One real dolibarr-dump of DATABASE on the source as the dump account, with its binlog position
 * (DUMP_BINLOG_POSITION=1, as renderHostingInstance writes it for a hosting server with binlogs
 * on): instance INSTANCE configured in root/etc, dumps in root/dumps. Returns the dump and its .pos.
 */
export async function dumpWithPosition(root: string, src: ConfMariaDb, instance: string, database: string): Promise<{ dump: string; pos: string }> {
  const etc = path.join(root, "etc");
  fs.mkdirSync(path.join(etc, "instances"), { recursive: true });
  const opt = path.join(etc, "instances", `${instance}.my.cnf`);
  fs.writeFileSync(opt, `[client]\nsocket=${src.socket}\nuser=dump\n`, { mode: 0o600 });
  fs.writeFileSync(
    path.join(etc, "instances", `${instance}.env`),
    renderEnvFile("test", { INSTANCE: instance, DB_NAME: database, DUMP_DIR: path.join(root, "dumps"), PATH_ROOTS: root, RETENTION_DAYS: 7, DUMPS_PER_DAY: 2, BACKUP_SERVERS: "", MYSQL_OPTION_FILE: opt, DUMP_BINLOG_POSITION: 1 }),
  );
  await mustRun(serverScriptPath("dolibarr-dump"), [instance], { env: jobEnv(root) });
  const files = fs.readdirSync(path.join(root, "dumps"));
  return { dump: path.join(root, "dumps", files.find((f) => f.endsWith(".sql.zst"))!), pos: path.join(root, "dumps", files.find((f) => f.endsWith(".pos"))!) };
}

// A private MariaDB server for the server-jobs tests and benches: Debian's mariadbd on a
// temp datadir, unix socket only (--skip-networking), root over the socket. Stopped by stop().
import * as fs from "node:fs";
import * as path from "node:path";
import { mustRun, run, start, type Running, waitFor } from "./jobs-exec";

export interface MariaDb {
  dir: string;
  socket: string;
  /** A [client] option file (0600) pointing at the socket, as root. */
  optionFile: string;
  /** Runs SQL with the mariadb client; returns the tab-separated output without headers. */
  query(sql: string, database?: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `serverDefaults`: no max_allowed_packet nor charset/collation options (a target server as
 * Debian installs it, to prove restores need no tuning).
 */
export async function startMariaDb(dir: string, opts: { bufferPoolMb?: number; serverDefaults?: boolean; extraArgs?: string[] } = {}): Promise<MariaDb> {
  fs.mkdirSync(dir, { recursive: true });
  const datadir = path.join(dir, "data");
  const socket = path.join(dir, "mysqld.sock");
  const optionFile = path.join(dir, "client.cnf");
  // Its own tmpdir: a mariadbd that starts removes the #sql* files it finds in its tmpdir, and with
  // /tmp shared it removed those of another server's mariadb-install-db (seen in a full run).
  const tmpdir = path.join(dir, "tmp");
  fs.mkdirSync(tmpdir, { recursive: true });
  await mustRun("mariadb-install-db", [
    "--no-defaults",
    `--datadir=${datadir}`,
    "--user=root",
    "--auth-root-authentication-method=socket",
    "--skip-test-db",
    `--tmpdir=${tmpdir}`,
  ]);
  const server: Running = start("mariadbd", [
    "--no-defaults",
    `--datadir=${datadir}`,
    `--tmpdir=${tmpdir}`,
    `--socket=${socket}`,
    "--skip-networking",
    "--user=root",
    `--pid-file=${path.join(dir, "mysqld.pid")}`,
    `--log-error=${path.join(dir, "error.log")}`,
    `--innodb-buffer-pool-size=${opts.bufferPoolMb ?? 256}M`,
    "--innodb-log-file-size=128M",
    "--innodb-flush-log-at-trx-commit=2",
    ...(opts.serverDefaults ? [] : ["--max-allowed-packet=256M", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"]),
    "--event-scheduler=OFF",
    ...(opts.extraArgs ?? []),
  ]);
  let exited = false;
  void server.exited.then(() => (exited = true));
  fs.writeFileSync(optionFile, `[client]\nsocket=${socket}\nuser=root\n`, { mode: 0o600 });
  fs.chmodSync(optionFile, 0o600);
  await waitFor(
    async () => {
      if (exited) throw new Error(`mariadbd exited: ${fs.readFileSync(path.join(dir, "error.log"), "utf8").slice(-2000)}`);
      if (!fs.existsSync(socket)) return false;
      return (await run("mariadb", [`--defaults-extra-file=${optionFile}`, "-e", "SELECT 1"])).code === 0;
    },
    60_000,
    "mariadbd to accept connections",
    100,
  );
  const query = async (sql: string, database?: string): Promise<string> => {
    const r = await mustRun(
      "mariadb",
      [`--defaults-extra-file=${optionFile}`, "--batch", "--skip-column-names", "--default-character-set=utf8mb4", ...(database ? [database] : [])],
      { input: sql },
    );
    return r.stdout;
  };
  const stop = async (): Promise<void> => {
    if (exited) return;
    await run("mariadb-admin", [`--defaults-extra-file=${optionFile}`, "shutdown"]);
    const t = setTimeout(() => server.kill("SIGKILL"), 30_000);
    await server.exited;
    clearTimeout(t);
  };
  return { dir, socket, optionFile, query, stop };
}

// dolibarr-binlog-setup on a real MariaDB (issue 20): the rendered drop-in installed, the binary
// logs turned on with a restart, dynamic changes applied with SET GLOBAL and no restart, nothing
// done when nothing changed, binlogs turned off again; the output says which each time.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseFleetConfig } from "../../infra/model/parse";
import { renderBinlogDropIn } from "../../infra/render/binlog";
import { serverScriptPath } from "../../infra/render/repo";
import { type ConfMariaDb, startConfMariaDb } from "../support/binlog-mariadb";
import { renderEnvFile } from "../../infra/render/files";
import { missingCommands, run, sleep } from "../support/jobs-exec";
import { skipUnlessCi } from "../support/prerequisites";
import { testHostKey } from "../support/host-keys";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-binlog-setup-"));
const binlogDir = path.join(root, "binlogs");

function rendered(binlog: Record<string, unknown>, server: Record<string, unknown> = {}): string {
  const fleet = parseFleetConfig(
    {
      servers: [
        { name: "web-a", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.10", hostKey: testHostKey("203.0.113.10") }, ...server },
        { name: "bk-sbg", role: "backup", provider: "ovh", site: "sbg", ssh: { host: "203.0.113.20", hostKey: testHostKey("203.0.113.20") } },
      ],
      binlog: { dir: binlogDir, ...binlog },
    },
    { stack: "fleet", file: "stacks/Pulumi.fleet.yaml" },
  );
  const text = renderBinlogDropIn(fleet, fleet.servers[0]!);
  const file = path.join(root, "rendered.cnf");
  if (text !== undefined) fs.writeFileSync(file, text);
  return file;
}

describe("dolibarr-binlog-setup (real MariaDB)", { skip: skipUnlessCi(process.getuid?.() === 0 ? undefined : "needs root", "binlog setup") }, () => {
  let db: ConfMariaDb;
  let dropIn: string;
  const setup = async (...args: string[]) => {
    const r = await run(serverScriptPath("dolibarr-binlog-setup"), args, {
      env: { ...process.env, DBK_MARIADB_RESTART: db.restartScript, DBK_MARIADB_OPTION_FILE: db.optionFile, DBK_MARIADB_USER: "root", DBK_MARIADB_DEFAULTS_FILE: db.defaultsFile },
    });
    return { ...r, out: r.stdout + r.stderr };
  };
  const global = async (name: string) => (await db.query(`SELECT @@GLOBAL.${name}`)).trim();

  before(async () => {
    const missing = await missingCommands(["mariadbd", "mariadb", "mariadb-install-db"]);
    assert.deepEqual(missing, []);
    db = await startConfMariaDb(path.join(root, "db"));
    dropIn = path.join(db.confDir, "60-dolibarr-backup-binlog.cnf");
  });
  after(async () => {
    await db?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("refuses a rendered file it cannot read as key = value lines, changing nothing", async () => {
    const bad = path.join(root, "bad.cnf");
    fs.writeFileSync(bad, "[mariadbd]\nlog_bin=/x\n");
    const r = await setup("apply", bad, dropIn);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /bad\.cnf: line 'log_bin=\/x' is not 'key = value'/);
    assert.ok(!fs.existsSync(dropIn));
    assert.equal(await global("log_bin"), "0");
  });

  it("turns binlogs on: installs the drop-in, creates the directory, restarts MariaDB once and says so", async () => {
    const pid = db.pid();
    const r = await setup("apply", rendered({}), dropIn);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /restarted: log_bin OFF→.*binlogs\/binlog; log_bin_index/);
    assert.notEqual(db.pid(), pid, "MariaDB was restarted");
    assert.equal(fs.readFileSync(dropIn, "utf8"), fs.readFileSync(path.join(root, "rendered.cnf"), "utf8"));
    assert.equal(await global("log_bin"), "1");
    assert.equal(await global("log_bin_basename"), `${binlogDir}/binlog`);
    assert.equal(await global("binlog_format"), "ROW");
    assert.equal(await global("binlog_row_image"), "FULL");
    assert.equal(await global("sync_binlog"), "1");
    assert.equal(await global("gtid_strict_mode"), "1");
    assert.equal(await global("binlog_expire_logs_seconds"), String(9 * 86400));
    assert.equal(await global("max_binlog_size"), String(64 * 1048576));
    assert.equal(await global("server_id"), await global("gtid_domain_id"));
    assert.ok(fs.readdirSync(binlogDir).some((f) => /^binlog\.\d{6}$/.test(f)));
  });

  it("nothing changed: no restart, and it says so", async () => {
    const pid = db.pid();
    const r = await setup("apply", rendered({}), dropIn);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /unchanged: MariaDB uses every binlog setting/);
    assert.equal(db.pid(), pid);
  });

  it("a dump right after binlogs were turned on (no GTID logged yet) records an empty GTID, and replays from it", async () => {
    await db.query("SET SESSION sql_log_bin = 0; CREATE DATABASE fresh; CREATE TABLE fresh.t (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO fresh.t VALUES (1)");
    assert.equal(await global("gtid_binlog_pos"), "");
    const etc = path.join(root, "etc");
    fs.mkdirSync(path.join(etc, "instances"), { recursive: true });
    fs.writeFileSync(
      path.join(etc, "instances", "fresh.env"),
      renderEnvFile("test", { INSTANCE: "fresh", DB_NAME: "fresh", DUMP_DIR: path.join(root, "dumps"), PATH_ROOTS: root, MYSQL_OPTION_FILE: db.optionFile, DUMP_BINLOG_POSITION: 1 }),
    );
    const env = { ...process.env, DOLIBARR_BACKUP_CONF_DIR: etc, DOLIBARR_BACKUP_STATE_DIR: path.join(root, "state"), DOLIBARR_BACKUP_LOCK_DIR: path.join(root, "lock") };
    const d = await run(serverScriptPath("dolibarr-dump"), ["fresh"], { env });
    assert.equal(d.code, 0, d.stderr);
    const pos = path.join(root, "dumps", fs.readdirSync(path.join(root, "dumps")).find((f) => f.endsWith(".pos"))!);
    assert.match(fs.readFileSync(pos, "utf8"), /^gtid\t$/m);
    const at = Number((await db.query("INSERT INTO fresh.t VALUES (2); SELECT UNIX_TIMESTAMP(NOW())")).trim());
    await sleep(1100);
    const r = await run(serverScriptPath("dolibarr-binlog-replay"), ["--check", "--pos", pos, "--binlog-dir", binlogDir, "--database", "fresh", "--stop", `${new Date(at * 1000).toISOString().slice(0, 19)}Z`]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${fs.readFileSync(pos, "utf8")}`);
    assert.match(r.stdout, new RegExp(`^last\\t${await global("gtid_domain_id")}-\\d+-1\\t`, "m"), r.stdout);
  });

  it("a dynamic setting changed (retention, or one set by hand): SET GLOBAL, no restart", async () => {
    const pid = db.pid();
    const r = await setup("apply", rendered({ keepDays: 12, maxFileMB: 16 }), dropIn);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /set without restart: .*max_binlog_size 67108864→16777216.*binlog_expire_logs_seconds 777600→1036800/);
    assert.equal(db.pid(), pid, "not restarted");
    assert.equal(await global("binlog_expire_logs_seconds"), String(12 * 86400));
    assert.match(fs.readFileSync(dropIn, "utf8"), /^binlog_expire_logs_seconds = 1036800$/m);

    await db.query("SET GLOBAL sync_binlog = 0");
    const again = await setup("apply", rendered({ keepDays: 12, maxFileMB: 16 }), dropIn);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /set without restart: sync_binlog 0→1/);
    assert.equal(await global("sync_binlog"), "1");
    assert.equal(db.pid(), pid);
  });

  it("a later drop-in overriding a setting is refused before any restart, naming it", async () => {
    const later = path.join(db.confDir, "70-other.cnf");
    fs.writeFileSync(later, "[mariadbd]\nbinlog_format = MIXED\nsync-binlog = 0\n");
    const pid = db.pid();
    try {
      const r = await setup("apply", rendered({ keepDays: 13, maxFileMB: 16 }), dropIn);
      assert.notEqual(r.code, 0);
      assert.match(r.out, /option files override binlog settings of .*60-dolibarr-backup-binlog\.cnf: binlog_format=MIXED sync_binlog=0 .*nothing was restarted/);
      assert.equal(db.pid(), pid);
      // the drop-in as it was before (keepDays 12): nothing half-applied
      assert.match(fs.readFileSync(dropIn, "utf8"), /^binlog_expire_logs_seconds = 1036800$/m);
      assert.equal(await global("binlog_expire_logs_seconds"), String(12 * 86400));
    } finally {
      fs.rmSync(later, { force: true });
    }
  });

  it("MariaDB not coming back after the restart: the previous drop-in put back, MariaDB restarted with it, the run fails", async () => {
    // a restart command that stops MariaDB and fails the first time (what a bad setting does), works the second
    const flaky = path.join(root, "flaky-restart.sh");
    fs.writeFileSync(flaky, `#!/bin/bash\nif [ ! -e ${root}/flaky.once ]; then touch ${root}/flaky.once; mariadb-admin --defaults-extra-file=${db.optionFile} shutdown; sleep 1; exit 1; fi\nexec ${db.restartScript}\n`, { mode: 0o755 });
    const previous = fs.readFileSync(dropIn, "utf8");
    const r = await run(serverScriptPath("dolibarr-binlog-setup"), ["apply", rendered({ dir: path.join(root, "binlogs2"), keepDays: 12, maxFileMB: 16 }), dropIn], {
      env: { ...process.env, DBK_MARIADB_RESTART: flaky, DBK_MARIADB_OPTION_FILE: db.optionFile, DBK_MARIADB_USER: "root", DBK_MARIADB_DEFAULTS_FILE: db.defaultsFile },
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /MariaDB did not come back with the new binlog settings \(log_bin .*binlogs\/binlog→.*binlogs2\/binlog.*the previous drop-in was put back and MariaDB restarted with it/);
    assert.equal(fs.readFileSync(dropIn, "utf8"), previous);
    assert.equal(await global("log_bin_basename"), `${binlogDir}/binlog`);
  });

  it("binlogs off for the server: our drop-in removed, MariaDB restarted without binlogs; then not touched", async () => {
    const pid = db.pid();
    const r = await setup("off", dropIn);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /restarted: binlogs turned off by the fleet config/);
    assert.notEqual(db.pid(), pid);
    assert.ok(!fs.existsSync(dropIn));
    assert.equal(await global("log_bin"), "0");
    const pid2 = db.pid();
    const again = await setup("off", dropIn);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /nothing of ours .* MariaDB not touched/);
    assert.equal(db.pid(), pid2);
  });
});

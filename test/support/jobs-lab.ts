// A one-machine lab of the server jobs: a "hosting server" (private MariaDB, Dolibarr-like
// trees, the dump and export scripts, a dbk-<backup> user reached through a private sshd on
// 127.0.0.1) and a "backup server" (its key, pinned known_hosts, mirrors), both installed
// from the real renderers' output relocated under a temp dir. Needs root (users, bind
// mounts, ACLs). Used by test/integration/server-jobs*.test.ts and test/bench/{dump,replicate}*.ts.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DumpVerification } from "../../infra/model/defaults";
import type { Fleet, Instance, Server, Site, Topology } from "../../infra/model/types";
import { PATHS } from "../../infra/render/paths";
import { serverScriptPath } from "../../infra/render/repo";
import { renderBackupInstance, renderHostingAccess, renderHostingInstance, renderServerBase } from "../../infra/render/server";
import type { ServerFile } from "../../infra/render/files";
import { createDolibarrDatabase, createDolibarrTree, type DatabaseOptions, type DolibarrTree, type TreeOptions } from "./dolibarr-fixture";
import { mustRun, run, type RunResult, type Running, start } from "./jobs-exec";
import { type MariaDb, startMariaDb } from "./jobs-mariadb";
import { generateKey, type Sshd, startSshd } from "./jobs-sshd";
import { testHostKey } from "./host-keys";

/** Commands the lab needs (Debian packages in scripts/ci/apt-packages.txt). */
export const LAB_COMMANDS = [
  "mariadbd",
  "mariadb-install-db",
  "mariadb-dump",
  "mariadb",
  "rsync",
  "/usr/bin/rrsync",
  "python3",
  "/usr/sbin/sshd",
  "ssh",
  "ssh-keygen",
  "zstd",
  "setfacl",
  "getfacl",
  "flock",
  "findmnt",
  "useradd",
  "perl",
];

/** Why the lab cannot run here, or undefined when it can (synchronous: for describe's skip). */
export function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (users, bind mounts, ACLs)";
  const missing = LAB_COMMANDS.filter((c) => spawnSync("bash", ["-c", `command -v ${c} || test -x ${c}`]).status !== 0);
  if (missing.length > 0) return `missing commands: ${missing.join(", ")} (install scripts/ci/apt-packages.txt)`;
  return undefined;
}

export interface LabInstance {
  name: string;
  instance: Instance;
  tree: DolibarrTree;
  dbName: string;
  dumpDir: string;
  mirror: string;
}

export interface Side {
  etc: string;
  varLib: string;
  lock: string;
  env: NodeJS.ProcessEnv;
}

const SITE_A: Site = { id: "ovh:rbx", provider: "ovh", code: "rbx", city: "Roubaix", country: "FR", latitude: 50.69, longitude: 3.17 };
const SITE_B: Site = { id: "ionos:de/fra", provider: "ionos", code: "de/fra", city: "Frankfurt", country: "DE", latitude: 50.11, longitude: 8.68 };

export class JobsLab {
  readonly instances = new Map<string, LabInstance>();
  readonly backupServer: string;
  readonly user: string;
  topology!: Topology;
  private accessDelete = "";
  binlogDir: string | undefined;

  private constructor(
    readonly root: string,
    readonly db: MariaDb,
    readonly sshd: Sshd,
    readonly hosting: Side,
    readonly backup: Side,
    readonly mirrorRoot: string,
    readonly backupKey: string,
  ) {
    this.backupServer = `itest${process.pid}`;
    this.user = `dbk-${this.backupServer}`;
  }

  /**
   * `binlogDir`: the hosting server's MariaDB writes binlogs there (ROW, GTIDs, server_id 7) and the
   * fleet has them on for it (dumps record their position, the export and the pull configs follow).
   * `startDb`: starts the hosting server's MariaDB instead (e.g. startBinlogSource, the fleet's
   * drop-in writing into binlogDir); it is stopped by close().
   */
  static async create(opts: { bufferPoolMb?: number; binlogDir?: string; startDb?: (dir: string) => Promise<MariaDb> } = {}): Promise<JobsLab> {
    await removeStaleLabUsers();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-lab-"));
    fs.chmodSync(root, 0o755);
    const side = (name: string): Side => {
      const etc = path.join(root, name, "etc");
      const varLib = path.join(root, name, "var-lib");
      const lock = path.join(root, name, "lock");
      for (const d of [etc, path.join(etc, "instances"), varLib, lock, path.join(root, name, "tmp")]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
      fs.chmodSync(path.join(root, name), 0o755);
      return {
        etc,
        varLib,
        lock,
        // TMPDIR: what a SIGKILLed job cannot clean stays in the lab (systemd gives the real
        // services a PrivateTmp=).
        env: { ...process.env, DOLIBARR_BACKUP_CONF_DIR: etc, DOLIBARR_BACKUP_STATE_DIR: varLib, DOLIBARR_BACKUP_LOCK_DIR: lock, TMPDIR: path.join(root, name, "tmp") },
      };
    };
    const hosting = side("hosting");
    const backup = side("backup");
    const binlogArgs = opts.binlogDir
      ? [`--log-bin=${opts.binlogDir}/binlog`, `--log-bin-index=${opts.binlogDir}/binlog.index`, "--server-id=7", "--gtid-domain-id=7", "--binlog-format=ROW", "--binlog-row-image=FULL", "--sync-binlog=1"]
      : [];
    if (opts.binlogDir) fs.mkdirSync(opts.binlogDir, { recursive: true, mode: 0o750 });
    const dbDir = path.join(root, "mariadb");
    const [db, sshd] = await Promise.all([opts.startDb ? opts.startDb(dbDir) : startMariaDb(dbDir, { bufferPoolMb: opts.bufferPoolMb, extraArgs: binlogArgs }), startSshd(path.join(root, "sshd"))]);
    const backupKey = path.join(backup.etc, "ssh", "id_ed25519");
    fs.mkdirSync(path.dirname(backupKey), { recursive: true, mode: 0o700 });
    await generateKey(backupKey, "itest-backup");
    const lab = new JobsLab(root, db, sshd, hosting, backup, path.join(root, "backup", "mirrors"), backupKey);
    lab.binlogDir = opts.binlogDir;
    try {
      await lab.setUp();
    } catch (e) {
      await lab.close().catch(() => undefined);
      throw e;
    }
    return lab;
  }

  get hostingServer(): Server {
    return this.topology.fleet.servers[0]!;
  }

  get backupServerEntry(): Server {
    return this.topology.fleet.servers[1]!;
  }

  /** Rewrites production paths of rendered text to this lab's. */
  relocate(text: string, side: "hosting" | "backup"): string {
    const s = side === "hosting" ? this.hosting : this.backup;
    return text.split(PATHS.stateDir).join(s.varLib).split(PATHS.confDir).join(s.etc);
  }

  writeRendered(files: readonly ServerFile[], side: "hosting" | "backup"): void {
    for (const f of files) {
      const target = this.relocate(f.path, side);
      if (!target.startsWith(this.root)) continue; // units and scripts: tested elsewhere
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, this.relocate(f.content, side));
      fs.chmodSync(target, parseInt(f.mode, 8));
    }
  }

  private async setUp(): Promise<void> {
    const fleet: Fleet = {
      stack: "itest-fleet",
      file: "stacks/Pulumi.itest-fleet.yaml",
      servers: [
        {
          name: "itest-hosting",
          role: "hosting",
          provider: "ovh",
          site: SITE_A,
          ssh: { host: "127.0.0.1", port: this.sshd.port, user: "root", hostKey: this.sshd.hostKey },
          ...(this.binlogDir ? { binlog: { enabled: true, serverId: 7, serverIdDeclared: true } } : {}),
        },
        { name: this.backupServer, role: "backup", provider: "ionos", site: SITE_B, ssh: { host: "127.0.0.1", port: 22, user: "root", hostKey: testHostKey(this.backupServer) } },
      ],
      policy: {
        minBackupServers: 1,
        minDistanceKm: 0,
        providerDiversity: "off",
        minDumpsPerDay: 2,
        minRetentionDays: 7,
        dumpWindowMinutes: 30,
        maxRpoHours: { files: 24, database: 24 },
      },
      mirrorRoot: this.mirrorRoot,
      // The hosting side's instance trees and dumps are below it (the jobs refuse any directory
      // that resolves outside the instance's PATH_ROOTS).
      pathRoots: [path.join(this.root, "hosting")],
      // Relocated into the lab like every state path (never the machine's node_exporter dir).
      metrics: { textfileDir: `${PATHS.stateDir}/metrics` },
      ...(this.binlogDir ? { binlog: { dir: this.binlogDir, keepDays: 9, maxFileMB: 64, maxLagSeconds: 300 } } : {}),
    };
    this.topology = { fleet, clients: [{ stack: "itest-client", file: "stacks/Pulumi.itest-client.yaml", client: "itest", fleetStack: "itest-fleet", instances: [] }] };
    // backup server: known_hosts from the renderer
    this.writeRendered(renderServerBase(fleet, this.backupServerEntry).files, "backup");
    // hosting server: the access of the backup server, with the rendered commands
    const access = renderHostingAccess(fleet, this.hostingServer, this.backupServerEntry, fs.readFileSync(`${this.backupKey}.pub`, "utf8"));
    this.writeRendered(access.files, "hosting");
    await mustRun("sh", ["-eu", "-c", this.relocate(access.create, "hosting")]);
    this.accessDelete = this.relocate(access.delete, "hosting");
  }

  /** Re-renders an instance's hosting config with the fleet key dumpVerification, as `pulumi up` would push it. */
  setDumpVerification(name: string, verification: DumpVerification): void {
    const li = this.instances.get(name);
    if (!li) throw new Error(`no instance ${name} in the lab`);
    const topology: Topology = { ...this.topology, fleet: { ...this.topology.fleet, dumpVerification: verification } };
    this.writeRendered(renderHostingInstance(topology, li.instance).files, "hosting");
  }

  /** Creates an instance: tree, database, rendered config on both sides, export applied. */
  async addInstance(
    name: string,
    opts: { tree?: TreeOptions; database?: DatabaseOptions | false; snapshotsKeep?: number; dumpDir?: string; times?: number[]; base?: string } = {},
  ): Promise<LabInstance> {
    // `base`: the directory holding its htdocs and documents (default hosting/srv/<name>)
    const base = opts.base ?? path.join(this.root, "hosting", "srv", name);
    const tree = createDolibarrTree(base, opts.tree);
    const dbName = `dolibarr_${name.replace(/[^A-Za-z0-9]/g, "_")}`;
    if (opts.database !== false) await createDolibarrDatabase(this.db, dbName, opts.database || {});
    const dumpDir = opts.dumpDir ?? path.join(this.root, "hosting", "dumps", name);
    fs.mkdirSync(dumpDir, { recursive: true, mode: 0o750 });
    const instance: Instance = {
      name,
      client: "itest",
      hostingServer: "itest-hosting",
      database: { name: dbName },
      codeRoot: tree.codeRoot,
      documentsDir: tree.documentsDir,
      dumpDir,
      backupServers: [this.backupServer],
      schedule: { dumpTimes: [0, 720], retentionDays: 7, replicationsPerDay: 4 },
      snapshotsKeep: opts.snapshotsKeep ?? 0,
    };
    this.topology.clients[0]!.instances.push(instance);
    this.writeRendered(renderHostingInstance(this.topology, instance).files, "hosting");
    fs.copyFileSync(this.db.optionFile, path.join(this.hosting.etc, "instances", `${name}.my.cnf`));
    fs.chmodSync(path.join(this.hosting.etc, "instances", `${name}.my.cnf`), 0o600);
    const plan = { instance: name, backupServer: this.backupServer, times: opts.times ?? [180, 540, 900, 1260] };
    this.writeRendered(renderBackupInstance(this.topology, instance, plan).files, "backup");
    const li: LabInstance = { name, instance, tree, dbName, dumpDir, mirror: path.join(this.mirrorRoot, name) };
    this.instances.set(name, li);
    await this.exportCmd("apply", name);
    return li;
  }

  script(name: "dolibarr-dump" | "dolibarr-export" | "dolibarr-replicate" | "dolibarr-restore"): string {
    return serverScriptPath(name);
  }

  exportCmd(action: "apply" | "refresh" | "unmount" | "remove", instance: string): Promise<RunResult> {
    return mustRun(this.script("dolibarr-export"), [action, instance], { env: this.hosting.env });
  }

  startDump(instance: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Running {
    return start(this.script("dolibarr-dump"), [...args, instance], { env: { ...this.hosting.env, ...env } });
  }

  dump(instance: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return this.startDump(instance, args, env).done;
  }

  startReplicate(instance: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Running {
    return start(this.script("dolibarr-replicate"), [...args, instance], { env: { ...this.backup.env, ...env } });
  }

  replicate(instance: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return this.startReplicate(instance, args, env).done;
  }

  /** Runs dolibarr-restore on the backup side (with the lab's MariaDB option file unless given). */
  restore(args: string[]): Promise<RunResult> {
    const db = args.includes("--mysql-option-file") ? [] : ["--mysql-option-file", this.db.optionFile];
    return run(this.script("dolibarr-restore"), [...db, ...args], { env: this.backup.env });
  }

  /** SSH options of the backup side, for ad-hoc rsync/ssh calls as the dbk user. */
  sshCommand(): string {
    const kh = path.join(this.backup.etc, "ssh", "known_hosts");
    return `ssh -F none -i ${this.backupKey} -p ${this.sshd.port} -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=${kh} -o StrictHostKeyChecking=yes`;
  }

  /** Lets the backup key log in as root on the lab's sshd (restore pushed over SSH). */
  allowRootPush(): void {
    fs.writeFileSync(this.sshd.extraKeysFile("root"), fs.readFileSync(`${this.backupKey}.pub`));
  }

  dumpStatus(instance: string): Record<string, unknown> {
    return JSON.parse(fs.readFileSync(path.join(this.hosting.varLib, "status", `${instance}.dump.json`), "utf8")) as Record<string, unknown>;
  }

  replicateStatus(instance: string): Record<string, unknown> {
    return JSON.parse(fs.readFileSync(path.join(this.backup.varLib, "status", `${instance}.replicate.json`), "utf8")) as Record<string, unknown>;
  }

  /** Dump files (final names only, without their .manifest and .floats.sql) of an instance, sorted. */
  dumps(instance: string): string[] {
    const li = this.instances.get(instance)!;
    return fs.readdirSync(li.dumpDir).filter((f) => !f.startsWith(".") && /\.sql\.(zst|gz)$/.test(f)).sort();
  }

  async close(): Promise<void> {
    const errors: string[] = [];
    for (const name of this.instances.keys()) {
      const r = await run(this.script("dolibarr-export"), ["remove", name], { env: this.hosting.env });
      if (r.code !== 0) errors.push(r.stderr);
    }
    await run("sh", ["-c", `findmnt -rn -o TARGET | grep -F '${this.root}/' | sort -r | xargs -r -n1 umount -l`]);
    if (this.accessDelete) await run("sh", ["-eu", "-c", this.accessDelete]);
    await run("userdel", [this.user]);
    await run("groupdel", [this.user]);
    await Promise.all([this.sshd.stop(), this.db.stop()]);
    const mounts = (await run("findmnt", ["-rn", "-o", "TARGET"])).stdout.split("\n").filter((m) => m.startsWith(`${this.root}/`));
    if (mounts.length === 0 && !process.env.DBK_KEEP_LAB) fs.rmSync(this.root, { recursive: true, force: true });
    else if (mounts.length > 0) errors.push(`mounts left under ${this.root}: ${mounts.join(", ")} (not removed)`);
    if (errors.length > 0) throw new Error(`lab close: ${errors.join("\n")}`);
  }
}

/** Users of labs whose process is gone (a killed test run). */
async function removeStaleLabUsers(): Promise<void> {
  const passwd = fs.readFileSync("/etc/passwd", "utf8");
  for (const line of passwd.split("\n")) {
    const m = /^dbk-itest(\d+):/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      await run("userdel", [`dbk-itest${pid}`]);
      await run("groupdel", [`dbk-itest${pid}`]);
    }
  }
}

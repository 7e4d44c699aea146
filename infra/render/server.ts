// Pure renderers of everything pushed to the servers for the backup jobs: the program, the
// tests and the docs all see the same text. See docs/server-jobs.md.
//
// Ownership (so that destroying one client stack removes exactly its own things):
//   fleet stack  – renderServerBase (scripts, template units, dirs, known_hosts, the backup
//                  server's own SSH key) and renderHostingAccess (one user + authorized_keys
//                  per (hosting server, backup server); knows no instance);
//   client stack – renderHostingInstance and renderBackupInstance (per-instance config,
//                  timer drop-ins, export entries).
import { pushApplyFile, pushRecordsInvalidateLine } from "./push";
import { binlogOf, binlogSettingsOf } from "../model/binlog";
import { hostKeyWithoutComment } from "../model/host-key";
import { hostForRemotePath, isSshHost, knownHostsHost, sourceAddressesOf, sourceAddressProblem } from "../model/address";
import { SAFE_DATABASE_RE, databaseNameProblem } from "../model/safe";
import { DEFAULT_PATH_ROOTS, rootsForClient } from "../model/paths";
import { STACK_RE } from "../model/schema";
import { MAX_MINUTE_OFFSET, fleetDumpVerification, fleetMaxConcurrentDumps, fleetTimeZone, isLost, snapshotRetentionOf } from "../model/defaults";
import { planInstance } from "../model/schedule";
import type { Fleet, Instance, ReplicationPlan, Server, Topology } from "../model/types";
import { binlogBaseFiles, binlogCreateLine, binlogDeleteLine } from "./binlog";
import { binlogHeartbeatCreateLine, binlogHeartbeatDeleteLine, binlogHeartbeatFiles, binlogPullBaseFiles, binlogPullTimerLine } from "./binlog-ship";
import { checkTimeZone, checkTimes, onCalendar } from "./calendar";
import { drillSlot } from "../model/drill-slot";
import { drillSettingsOf } from "../model/drills";
import { atRestOf } from "../model/at-rest";
import { rsyncSettingsOf } from "../model/rsync";
import { formatTimeOfDay } from "../model/time";
import { type ServerBundle, type ServerFile, checkSafePath, renderEnvFile, script, shq } from "./files";
import {
  PATHS,
  SCRIPT,
  atRestDirs,
  backupUser,
  backupUserHome,
  binlogMirrorDir,
  exportDir,
  instanceEnvPath,
  knownHostsPath,
  mysqlOptionFilePath,
  sshKeyPath,
  timerDropInPath,
  unitPath,
} from "./paths";
import { notifyBaseFiles, notifyCreateLines, notifyDeleteLines } from "./notify";
import { readServerScript } from "./repo";
import {
  DUMP_SERVICE,
  DUMP_TIMER,
  BINLOG_PULL_TIMER,
  EXPORT_SERVICE,
  templateInstancesStopLine,
  REPLICATE_SERVICE,
  REPLICATE_TIMER,
  DRILL_SERVICE,
  DRILL_TIMER,
  drillServiceUnit,
  drillTimerUnit,
  dumpServiceUnit,
  dumpTimerUnit,
  exportServiceUnit,
  replicateServiceUnit,
  replicateTimerUnit,
  timerDropIn,
} from "./units";

/** Default share of the mirror's entries a replication may delete before it refuses. */
export const DEFAULT_MAX_DELETE_PERCENT = 20;

/** Debian packages each role needs (installed by renderServerBase's create when missing). */
export const SERVER_PACKAGES: Record<Server["role"], string[]> = {
  hosting: ["rsync", "python3", "zstd", "acl", "util-linux", "openssh-server", "curl"],
  // MariaDB, PHP-FPM and nginx: the restore drills' (dolibarr-drill runs its own instances of
  // them; the packages' own services are turned off by the base installation).
  backup: ["rsync", "openssh-client", "zstd", "acl", "attr", "util-linux", "perl", "curl", "mariadb-server", "mariadb-client", "php-fpm", "php-mysql", "nginx"],
};

/**
 * The services the drill packages start on installation: stopped and disabled on a backup server
 * (a web server on port 80 and a database nobody uses are attack surface; the drills start their own).
 */
export const DRILL_PACKAGE_SERVICES = ["nginx.service", "php*-fpm.service"] as const;

/** The create line that turns them off: `disable` takes unit names, not patterns, so they are listed first. */
function drillPackageServicesOffLine(): string {
  const patterns = DRILL_PACKAGE_SERVICES.map((u) => `'${u}'`).join(" ");
  return `for u in $(systemctl list-unit-files --plain --no-legend ${patterns} 2>/dev/null | awk '{print $1}'); do systemctl disable --now "$u" 2>/dev/null || true; done`;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function checkName(what: string, name: string): void {
  if (!NAME_RE.test(name) || name.includes("..")) {
    throw new Error(`${what} name '${name}' cannot be used in unit names and paths (letters, digits, _ . -)`);
  }
}

const checkAbsolutePath = checkSafePath;

/** A Pulumi stack name as the project writes it into files (a comment line, an env value). */
function checkStack(what: string, stack: string): void {
  if (!STACK_RE.test(stack)) throw new Error(`${what} ${JSON.stringify(stack)} cannot be written into a server's files: expected letters, digits and ._- (a Pulumi stack name)`);
}

/** An SSH host as it goes into known_hosts, an env file, an rsync source: the model's rule. */
function checkHost(what: string, host: string): void {
  if (!isSshHost(host)) throw new Error(`${what} ${JSON.stringify(host)} cannot be written into a server's files: expected a host name or an IP address`);
}

function serverByName(fleet: Fleet, name: string, role?: Server["role"]): Server {
  const s = fleet.servers.find((x) => x.name === name);
  if (!s) throw new Error(`server ${name} is not in fleet ${fleet.stack}`);
  if (role && s.role !== role) throw new Error(`server ${name} is a ${s.role} server, expected ${role}`);
  return s;
}

function unitFile(name: string, content: string): ServerFile {
  return { path: unitPath(name), content, mode: "0644" };
}

function unitFileNames(files: readonly ServerFile[]): string[] {
  return files.filter((f) => f.path.startsWith(`${PATHS.unitDir}/`)).map((f) => f.path.slice(PATHS.unitDir.length + 1));
}

function scriptFile(path: string, name: Parameters<typeof readServerScript>[0], mode = "0755"): ServerFile {
  return { path, content: readServerScript(name), mode };
}

function installPackages(role: Server["role"]): string {
  const pkgs = SERVER_PACKAGES[role].join(" ");
  return `dpkg -s ${pkgs} >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${pkgs}; }`;
}

/** The known_hosts line pinning one server's SSH host key (mandatory: model/host-key.ts). */
export function knownHostsLine(server: Server): string {
  checkHost(`server ${server.name} ssh.host`, server.ssh.host);
  const host = knownHostsHost(server.ssh.host, server.ssh.port);
  return `${host} ${hostKeyWithoutComment(server.ssh.hostKey ?? "", `server ${server.name} host key (ssh.hostKey)`, server.ssh.host, server.ssh.port)}`;
}

/**
 * Fleet stack, every server: the job scripts, the template units, the directories, and on a
 * backup server the pinned known_hosts of every hosting server of the fleet plus its own SSH
 * key (generated on the server when missing; see backupKeyCommand).
 */
export function renderServerBase(fleet: Fleet, server: Server): ServerBundle {
  checkName("server", server.name);
  checkStack("fleet stack", fleet.stack);
  const common = scriptFile(SCRIPT.common, "dolibarr-backup-common.sh", "0644");
  if (server.role === "hosting") {
    const files: ServerFile[] = [
      common,
      scriptFile(SCRIPT.dump, "dolibarr-dump"),
      scriptFile(SCRIPT.export, "dolibarr-export"),
      unitFile(DUMP_SERVICE, dumpServiceUnit()),
      unitFile(DUMP_TIMER, dumpTimerUnit()),
      unitFile(EXPORT_SERVICE, exportServiceUnit()),
      ...notifyBaseFiles(fleet, server),
      scriptFile(SCRIPT.binlogSetup, "dolibarr-binlog-setup"),
      ...binlogBaseFiles(fleet, server),
      ...binlogHeartbeatFiles(server),
      pushApplyFile(),
    ];
    return {
      files,
      create: script([
        installPackages("hosting"),
        `install -d -m 0755 ${PATHS.confDir} ${PATHS.instancesDir} ${PATHS.stateDir} ${PATHS.statusDir} ${PATHS.usersHome}`,
        `install -d -m 0755 ${PATHS.exportRoot}`,
        "systemctl daemon-reload",
        ...notifyCreateLines(fleet),
        binlogCreateLine(fleet, server),
        // After the drop-in is applied: the heartbeat writes into the binlogs every 30 s.
        binlogHeartbeatCreateLine(server),
      ]),
      delete: script([
        templateInstancesStopLine(unitFileNames(files)),
        pushRecordsInvalidateLine(),
        binlogHeartbeatDeleteLine(server),
        binlogDeleteLine(server),
        ...notifyDeleteLines(),
        ...files.map((f) => `rm -f -- ${shq(f.path)}`),
        "systemctl daemon-reload || true",
        `rmdir --ignore-fail-on-non-empty ${PATHS.exportRoot} ${PATHS.usersHome} || true`,
      ]),
    };
  }
  // A lost hosting server is trusted no more (pinned key or not): nothing may pull from it.
  const hostingKeys = fleet.servers
    .filter((s) => s.role === "hosting" && !isLost(s))
    .map(knownHostsLine);
  const files: ServerFile[] = [
    common,
    scriptFile(SCRIPT.replicate, "dolibarr-replicate"),
    scriptFile(SCRIPT.restore, "dolibarr-restore"),
    scriptFile(SCRIPT.drill, "dolibarr-drill"),
    scriptFile(SCRIPT.binlogReplay, "dolibarr-binlog-replay"),
    scriptFile(SCRIPT.binlogPull, "dolibarr-binlog-pull"),
    ...binlogPullBaseFiles(fleet, server),
    unitFile(REPLICATE_SERVICE, replicateServiceUnit(fleet)),
    unitFile(REPLICATE_TIMER, replicateTimerUnit()),
    unitFile(DRILL_SERVICE, drillServiceUnit()),
    unitFile(DRILL_TIMER, drillTimerUnit()),
    {
      path: knownHostsPath,
      content: `# Pinned SSH host keys of the hosting servers of fleet ${fleet.stack} (rendered).\n${hostingKeys.map((l) => `${l}\n`).join("")}`,
      mode: "0644",
    },
    ...notifyBaseFiles(fleet, server),
    pushApplyFile(),
  ];
  checkAbsolutePath("mirrorRoot", fleet.mirrorRoot);
  return {
    files,
    create: script([
      installPackages("backup"),
      drillPackageServicesOffLine(),
      `install -d -m 0755 ${PATHS.confDir} ${PATHS.instancesDir} ${PATHS.stateDir} ${PATHS.statusDir}`,
      `install -d -m 0700 ${PATHS.sshDir}`,
      // encryptionAtRest required: no mirror root made on a plain disk (the deploy stops here, before it).
      atRestDeployLine(fleet),
      // The mirrors carry the hosting servers' owners, modes and ACLs as numeric ids: no
      // local user of the backup server may walk into them.
      `install -d -m 0700 ${shq(fleet.mirrorRoot)}`,
      // The hosting servers' binlogs (dolibarr-binlog-pull), beside the mirrors.
      `install -d -m 0700 ${shq(`${fleet.mirrorRoot}/.binlogs`)}`,
      backupKeyScript(server.name),
      "systemctl daemon-reload",
      // Running pull timers take a changed second of the minute (a backup server added) now.
      `systemctl try-restart '${BINLOG_PULL_TIMER.replace("@.", "@*.")}' 2>/dev/null || true`,
      ...notifyCreateLines(fleet),
    ]),
    delete: script([
      templateInstancesStopLine(unitFileNames(files)),
      pushRecordsInvalidateLine(),
      ...notifyDeleteLines(),
      ...files.map((f) => `rm -f -- ${shq(f.path)}`),
      "systemctl daemon-reload || true",
      // The mirrors and the SSH key stay: backups are never removed by a destroy.
    ]),
  };
}

/**
 * The deploy's check of a backup server's data directories (the mirror root, the drills' work
 * root) with dbk_at_rest_gate: required fails the create when one is not on an encrypted volume,
 * advisory prints the warning into the deploy's output, off checks nothing.
 */
export function atRestDeployLine(fleet: Fleet): string {
  const mode = atRestOf(fleet);
  if (mode === "off") return ": encryptionAtRest off";
  const dirs = atRestDirs(fleet).map(shq).join(" ");
  return `bash -c '. "$1" && shift && dbk_at_rest_gate "$@" || { echo "ERROR: $DBK_AT_REST_PROBLEM" >&2; exit 1; }' at-rest ${SCRIPT.common} ${mode} 'the backup data directories' ${dirs}`;
}

function backupKeyScript(serverName: string): string {
  return `test -s ${sshKeyPath} || ssh-keygen -q -t ed25519 -N '' -C ${shq(`dolibarr-backup@${serverName}`)} -f ${sshKeyPath}`;
}

/**
 * Fleet stack, backup server: creates the server's replication key when missing and prints
 * its public key on stdout (a remote.Command whose stdout feeds renderHostingAccess).
 */
export function backupKeyCommand(server: Server): string {
  checkName("server", server.name);
  if (server.role !== "backup") throw new Error(`${server.name} is not a backup server`);
  return script([`install -d -m 0700 ${PATHS.sshDir}`, backupKeyScript(server.name), `cat ${sshKeyPath}.pub`]);
}

export interface HostingAccess extends ServerBundle {
  /** Unix user of the backup server on the hosting server. */
  user: string;
  home: string;
  /** The user's rrsync root: <exportRoot>/<backupServer>. */
  exportDir: string;
  /** The authorized_keys options, as infra/components/contract.ts AccessDeclaration wants them. */
  keyOptions: string[];
  authorizedKeysLine: string;
}

const PUBLIC_KEY_RE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n\r"]*)?$/;

/**
 * Fleet stack, hosting server: the user dbk-<backupServer> and its authorized_keys line
 *   restrict,from="<backup address>",command="/usr/bin/rrsync -ro <exportRoot>/<backupServer>" <key>
 * The export dir is owned root:dbk-<backupServer> 0750; client stacks add and remove their
 * instances in it (renderHostingInstance).
 */
export function renderHostingAccess(
  fleet: Fleet,
  hostingServer: Server,
  backupServer: Server,
  backupPublicKey: string,
): HostingAccess {
  if (hostingServer.role !== "hosting") throw new Error(`${hostingServer.name} is not a hosting server`);
  if (backupServer.role !== "backup") throw new Error(`${backupServer.name} is not a backup server`);
  serverByName(fleet, hostingServer.name, "hosting");
  serverByName(fleet, backupServer.name, "backup");
  checkName("server", backupServer.name);
  const user = backupUser(backupServer.name);
  if (user.length > 32) throw new Error(`user name ${user} is longer than 32 characters: shorten backup server ${backupServer.name}`);
  const key = backupPublicKey.trim();
  if (!PUBLIC_KEY_RE.test(key)) throw new Error(`the public key of ${backupServer.name} is not one OpenSSH public key line`);
  const from = backupSourceAddresses(backupServer).join(",");
  const home = backupUserHome(backupServer.name);
  const dir = exportDir(backupServer.name);
  const keyOptions = ["restrict", `from="${from}"`, `command="${PATHS.rrsync} -ro ${dir}"`];
  const authorizedKeysLine = `${keyOptions.join(",")} ${key}`;
  const keysPath = `${home}/.ssh/authorized_keys`;
  return {
    user,
    home,
    exportDir: dir,
    keyOptions,
    authorizedKeysLine,
    files: [
      {
        path: keysPath,
        content: `# Backup server ${backupServer.name}: read-only rsync of ${dir} (rendered by dolibarr-backup).\n${authorizedKeysLine}\n`,
        mode: "0644",
      },
    ],
    create: script([
      `getent group ${user} >/dev/null || groupadd --system ${user}`,
      `id -u ${user} >/dev/null 2>&1 || useradd --system --gid ${user} --home-dir ${home} --no-create-home --shell /bin/sh --comment ${shq(`dolibarr-backup pull by ${backupServer.name}`)} ${user}`,
      // '*' = no password but not locked: sshd refuses public keys of locked ('!') accounts without PAM.
      `usermod -p '*' ${user}`,
      // Root-owned home: the user can change nothing, not even its own authorized_keys.
      `install -d -m 0755 -o root -g root ${home} ${home}/.ssh`,
      `chown root:root ${keysPath} && chmod 0644 ${keysPath}`,
      `install -d -m 0750 -o root -g ${user} ${dir}`,
    ]),
    delete: script([
      `rm -f -- ${keysPath}`,
      // Instances still exported to this server (client stacks not destroyed yet) keep the user.
      `rmdir ${dir} 2>/dev/null || true`,
      `if [ ! -d ${dir} ] && id -u ${user} >/dev/null 2>&1; then userdel ${user}; fi`,
      `rmdir ${home}/.ssh ${home} 2>/dev/null || true`,
    ]),
  };
}

/** The from= addresses of a backup server's key (sourceAddressesOf), refused when none or invalid. */
export function backupSourceAddresses(backupServer: Server): string[] {
  const sources = sourceAddressesOf(backupServer);
  if (sources.length === 0) {
    throw new Error(
      `backup server ${backupServer.name} is declared by host name (${backupServer.ssh.host}) without sourceAddresses: sshd would never match its from=; declare the addresses its pulls come from`,
    );
  }
  for (const a of sources) {
    const problem = sourceAddressProblem(a);
    if (problem) throw new Error(`backup server ${backupServer.name}: source address ${problem}`);
  }
  return sources;
}

function checkInstance(instance: Instance): void {
  checkName("instance", instance.name);
  checkName(`instance ${instance.name} client`, instance.client);
  checkName(`instance ${instance.name} hostingServer`, instance.hostingServer);
  checkAbsolutePath(`instance ${instance.name} codeRoot`, instance.codeRoot);
  checkAbsolutePath(`instance ${instance.name} documentsDir`, instance.documentsDir);
  checkAbsolutePath(`instance ${instance.name} dumpDir`, instance.dumpDir);
  if (!SAFE_DATABASE_RE.test(instance.database.name)) {
    throw new Error(`instance ${instance.name}: database name ${JSON.stringify(instance.database.name)} cannot be written into SQL, a shell command or an env file: expected letters, digits and '_' (1 to 64)`);
  }
  const dbProblem = databaseNameProblem(instance.database.name);
  if (dbProblem) throw new Error(`instance ${instance.name}: database ${dbProblem}`);
  for (const b of instance.backupServers) checkName("backup server", b);
  checkTimes(instance.schedule.dumpTimes, `instance ${instance.name} dump times`);
}

/** Hours the newest dump may be old before a replication notes it (warning only): the longest gap between dumps plus 2h. */
export function maxDumpAgeHours(dumpTimes: readonly number[]): number {
  const t = checkTimes(dumpTimes);
  let gap = 0;
  for (let i = 0; i < t.length; i++) {
    const next = i + 1 < t.length ? t[i + 1]! : t[0]! + 1440;
    gap = Math.max(gap, next - t[i]!);
  }
  return Math.ceil(gap / 60) + 2;
}

/**
 * The allowed roots of an instance's directories, as its hosting server's jobs check them again
 * (PATH_ROOTS of its env: dolibarr-export and dolibarr-dump refuse a directory that resolves
 * outside them). The fleet's pathRoots with <client> replaced by the instance's client.
 */
export function instancePathRoots(fleet: Fleet, instance: Instance): string[] {
  const roots = rootsForClient(fleet.pathRoots ?? DEFAULT_PATH_ROOTS, instance.client);
  roots.forEach((r, k) => checkAbsolutePath(`pathRoots[${k}] of instance ${instance.name}`, r));
  return roots;
}

/**
 * Client stack, hosting server of the instance: its config, its dump timer's times, and its
 * read-only export to each of its backup servers (dolibarr-export@<instance>.service).
 * `create` also starts a first dump when the dump dir has none (so that the first
 * replication finds one).
 */
export function renderHostingInstance(topology: Topology, instance: Instance): ServerBundle {
  const i = instance;
  checkInstance(i);
  const hosting = serverByName(topology.fleet, i.hostingServer, "hosting");
  for (const b of i.backupServers) serverByName(topology.fleet, b, "backup");
  const env = renderEnvFile(
    `Dolibarr instance ${i.name} (client ${i.client}) on hosting server ${i.hostingServer}.\nRendered by dolibarr-backup (client stack): read by dolibarr-dump and dolibarr-export.`,
    {
      INSTANCE: i.name,
      CLIENT: i.client,
      DB_NAME: i.database.name,
      CODE_ROOT: i.codeRoot,
      DOCUMENTS_DIR: i.documentsDir,
      DUMP_DIR: i.dumpDir,
      PATH_ROOTS: instancePathRoots(topology.fleet, i).join(" "),
      RETENTION_DAYS: i.schedule.retentionDays,
      DUMPS_PER_DAY: i.schedule.dumpTimes.length,
      BACKUP_SERVERS: i.backupServers.join(" "),
      EXPORT_ROOT: PATHS.exportRoot,
      MYSQL_OPTION_FILE: mysqlOptionFilePath(i.name),
      MAX_CONCURRENT_DUMPS: fleetMaxConcurrentDumps(topology.fleet),
      DUMP_VERIFY: fleetDumpVerification(topology.fleet),
      // Binlogs on (fleet servers[].binlog): each dump records its binlog position (dolibarr-dump),
      // and dolibarr-export exports the binlog directory to the backup servers (EXPORT_ROOT/<backup>/.binlog).
      ...(binlogOf(hosting) ? { DUMP_BINLOG_POSITION: 1, BINLOG_SOURCE_DIR: binlogSettingsOf(topology.fleet).dir } : {}),
    },
  );
  const dropIn = timerDropInPath("dolibarr-dump", i.name);
  const dumpTimer = `dolibarr-dump@${i.name}.timer`;
  const exportUnit = `dolibarr-export@${i.name}.service`;
  return {
    files: [
      { path: instanceEnvPath(i.name), content: env, mode: "0644" },
      {
        path: dropIn,
        content: timerDropIn(`Dump times of ${i.name} (rendered by dolibarr-backup).`, onCalendar(i.schedule.dumpTimes, fleetTimeZone(topology.fleet))),
        mode: "0644",
      },
    ],
    create: script([
      // No `install -d` of the dump dir here: dolibarr-export apply (the reload below) makes it, once
      // it checked that it and its parents are root's (a parent a user can write could swap it for a
      // symbolic link, and install -m would chmod where that points).
      // One reload per bundle (its cost grows with the server's units, and 50 instances deploy
      // one after another): the enables only add the symlinks, the reload above made the units known.
      "systemctl daemon-reload",
      `systemctl enable --no-reload ${exportUnit} ${dumpTimer}`,
      `systemctl reload-or-restart ${exportUnit}`,
      `systemctl restart ${dumpTimer}`,
      `ls ${shq(i.dumpDir)}/*.sql.* >/dev/null 2>&1 || systemctl start --no-block dolibarr-dump@${i.name}.service`,
    ]),
    delete: script([
      `systemctl disable --now ${dumpTimer} 2>/dev/null || true`,
      `systemctl stop dolibarr-dump@${i.name}.service 2>/dev/null || true`,
      `systemctl disable --now ${exportUnit} 2>/dev/null || true`,
      // Unmounts and removes the export entries and the read ACLs; the data and dumps stay.
      `if [ -f ${instanceEnvPath(i.name)} ]; then ${SCRIPT.export} remove ${i.name}; fi`,
      `rm -f -- ${instanceEnvPath(i.name)} ${dropIn}`,
      `rmdir ${PATHS.unitDir}/${dumpTimer}.d 2>/dev/null || true`,
      "systemctl daemon-reload",
      `systemctl reset-failed dolibarr-dump@${i.name}.service ${exportUnit} 2>/dev/null || true`,
    ]),
  };
}

/**
 * Client stack, one backup server of the instance: the replication config and its timer's
 * times (the plan's). The mirror is <mirrorRoot>/<instance>; destroy keeps it.
 */
export function renderBackupInstance(topology: Topology, instance: Instance, plan: ReplicationPlan): ServerBundle {
  const i = instance;
  checkInstance(i);
  if (plan.instance !== i.name) throw new Error(`replication plan of ${plan.instance} given for instance ${i.name}`);
  if (!i.backupServers.includes(plan.backupServer)) {
    throw new Error(`${plan.backupServer} is not a backup server of instance ${i.name}`);
  }
  const hosting = serverByName(topology.fleet, i.hostingServer, "hosting");
  serverByName(topology.fleet, plan.backupServer, "backup");
  checkAbsolutePath("mirrorRoot", topology.fleet.mirrorRoot);
  checkHost(`hosting server ${hosting.name} ssh.host`, hosting.ssh.host);
  checkTimes(plan.times, `replication of ${i.name} by ${plan.backupServer}`);
  const retention = snapshotRetentionOf(topology.fleet);
  // Kept for a lost hosting server too: its binlogs pulled so far are what a restore --at needs (its
  // pull config goes from the fleet's base, so the timer's condition skips it).
  const shipped = binlogOf(hosting) !== undefined;
  const drillSettings = drillSettingsOf(topology.fleet);
  const env = renderEnvFile(
    `Dolibarr instance ${i.name} (client ${i.client}) pulled by backup server ${plan.backupServer} from ${i.hostingServer}.\nRendered by dolibarr-backup (client stack): read by dolibarr-replicate, dolibarr-restore and dolibarr-drill.`,
    {
      INSTANCE: i.name,
      CLIENT: i.client,
      HOSTING_SERVER: i.hostingServer,
      // rsync's remote syntax: an IPv6 host goes in brackets (user@[2001:db8::1]:path).
      SOURCE_HOST: hostForRemotePath(hosting.ssh.host),
      SOURCE_PORT: hosting.ssh.port,
      SOURCE_USER: backupUser(plan.backupServer),
      SOURCE_PATH: i.name,
      MIRROR_ROOT: topology.fleet.mirrorRoot,
      // Snapshots by age (fleet key snapshots); the instance's snapshots.keep: 0 turns them
      // off, N > 0 keeps at least the N newest whatever their age.
      SNAPSHOTS: i.snapshotsKeep > 0 ? 1 : 0,
      SNAPSHOT_KEEP_HOURS: retention.keepHours,
      SNAPSHOT_KEEP_DAYS: retention.keepDays,
      SNAPSHOT_KEEP_WEEKS: retention.keepWeeks,
      SNAPSHOT_KEEP_MIN: Math.max(1, i.snapshotsKeep),
      SUSPICIOUS_CHANGE_PERCENT: retention.suspiciousChangePercent,
      MAX_DELETE_PERCENT: DEFAULT_MAX_DELETE_PERCENT,
      MAX_DUMP_AGE_HOURS: maxDumpAgeHours(i.schedule.dumpTimes),
      SSH_KEY: sshKeyPath,
      KNOWN_HOSTS: knownHostsPath,
      // The drill's check of the restored files against the received-hash manifest (fleet key drills).
      DRILL_SAMPLE_PERCENT: drillSettings.sampleDocumentsPercent,
      DRILL_SAMPLE_MIN: drillSettings.sampleDocumentsMin,
      // Binlogs on: where this backup server keeps the hosting server's binlogs (dolibarr-binlog-pull,
      // read by dolibarr-restore --at), and the retention the pulls keep them for at least.
      ...(shipped ? { BINLOG_DIR: binlogMirrorDir(topology.fleet.mirrorRoot, hosting.name), RETENTION_DAYS: i.schedule.retentionDays } : {}),
      // dolibarr-drill is gone by the instance's next dump (its window and the replications after it).
      DRILL_STOP_AT: [...new Set(i.schedule.dumpTimes)].sort((a, b) => a - b).map(formatTimeOfDay).join(" "),
      DRILL_TIME_ZONE: checkTimeZone(fleetTimeZone(topology.fleet)),
      // The fleet's encryptionAtRest: required, the replication and the drill refuse to write outside an encrypted volume.
      AT_REST: atRestOf(topology.fleet),
      // The fleet's minimum rsync: the replication refuses to pull with an older one (model/rsync.ts).
      RSYNC_MIN_VERSION: rsyncSettingsOf(topology.fleet).minVersion,
      RSYNC_MIN_PACKAGES: rsyncSettingsOf(topology.fleet).minPackages.join(" "),
    },
  );
  const dropIn = timerDropInPath("dolibarr-replicate", i.name);
  const timer = `dolibarr-replicate@${i.name}.timer`;
  // The hosting server's pull timer, on while any instance here names its binlog dir (create and delete).
  const pullLine = binlogPullTimerLine(topology.fleet, hosting.name);
  // The slot may not depend on the client's minute offset (a file rendered the same for two offsets
  // is taken as offset-free, see deferredBundle): the offset-0 times, each widened by the largest offset.
  const unshifted = planInstance(topology.fleet, i, { minuteOffset: 0 }).find((p) => p.backupServer === plan.backupServer)?.times ?? plan.times;
  const drill = drillSlot(i.name, plan.backupServer, i.schedule.dumpTimes, unshifted, MAX_MINUTE_OFFSET, drillSettings.maxRtoMinutes);
  const drillDropIn = timerDropInPath("dolibarr-drill", i.name);
  const drillTimer = `dolibarr-drill@${i.name}.timer`;
  const drills = drillSettings.enabled;
  const drillCalendar = `${drill.weekday} *-*-* ${String(Math.floor(drill.minute / 60)).padStart(2, "0")}:${String(drill.minute % 60).padStart(2, "0")}:00 ${checkTimeZone(fleetTimeZone(topology.fleet))}`;
  return {
    files: [
      { path: instanceEnvPath(i.name), content: env, mode: "0644" },
      {
        path: dropIn,
        content: timerDropIn(
          `Replication times of ${i.name} on ${plan.backupServer} (rendered by dolibarr-backup from the replication plan).`,
          onCalendar(plan.times, fleetTimeZone(topology.fleet)),
        ),
        mode: "0644",
      },
      ...(drills
        ? [
            {
              path: drillDropIn,
              content: timerDropIn(`Weekly restore drill of ${i.name} on ${plan.backupServer} (rendered by dolibarr-backup: a day and time outside its dumps and this server's replications).`, `OnCalendar=\nOnCalendar=${drillCalendar}\n`),
              mode: "0644",
            },
          ]
        : []),
    ],
    create: script([
      "systemctl daemon-reload",
      // Drills turned off (fleet drills.enabled: false): the timer goes, its drop-in left the bundle.
      ...(drills ? [`systemctl enable --no-reload ${timer} ${drillTimer}`, `systemctl restart ${timer} ${drillTimer}`] : [`systemctl enable --no-reload ${timer}`, `systemctl restart ${timer}`, `systemctl disable --now ${drillTimer} 2>/dev/null || true`]),
      pullLine,
    ]),
    delete: script([
      `systemctl disable --now ${timer} ${drillTimer} 2>/dev/null || true`,
      `systemctl stop dolibarr-replicate@${i.name}.service dolibarr-drill@${i.name}.service 2>/dev/null || true`,
      `rm -f -- ${instanceEnvPath(i.name)} ${dropIn} ${drillDropIn}`,
      `rmdir ${PATHS.unitDir}/${timer}.d ${PATHS.unitDir}/${drillTimer}.d 2>/dev/null || true`,
      "systemctl daemon-reload",
      // The last instance of its hosting server gone: its binlog pulls stop (the binlogs stay).
      pullLine,
      `systemctl reset-failed dolibarr-replicate@${i.name}.service dolibarr-drill@${i.name}.service 2>/dev/null || true`,
      // The mirror <mirrorRoot>/<instance> and its snapshots stay (remove them by hand).
    ]),
  };
}

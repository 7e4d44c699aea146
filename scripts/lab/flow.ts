// The steps of the lab run, shared by the demo (`npm run lab`) and the end-to-end tests:
// write the lab's stack configs, deploy them with the real engine, run the jobs, prove the mirrors.
import * as fs from "node:fs";
import * as path from "node:path";
import { loadStackFiles } from "../../infra/model";
import type { Instance, Topology } from "../../infra/model/types";
import { shippedHostingServers } from "../../infra/render/binlog-ship";
import { drillStatusPath, dumpStatusPath, replicateStatusPath } from "../../infra/render/paths";
import { LabEnv, labHost, labHosts, labOperator, pulumi, pulumiOk, RunResult, ssh, sshOk, treeDigest, ensureStack, waitWhileActivating, withEngine } from "./driver";
import { LAB_CLIENTS, LAB_FLEET_STACK, LabAddressFamily, LabClient, labClientConfig, labFleetConfig, writeStackFile } from "./stacks";

const NS = "dolibarr-backup";

export function stackFile(env: LabEnv, stack: string): string {
  return path.join(env.stacksDir, `Pulumi.${stack}.yaml`);
}

/** Writes the lab fleet and client stack configs and makes sure their stacks and secrets exist. */
export function prepareLabStacks(env: LabEnv, clients: LabClient[] = LAB_CLIENTS, addressFamily: LabAddressFamily = "ipv4"): string[] {
  if (!fs.existsSync(env.stateDir)) {
    // A new state: the salt and secrets that older lab stack files carry belong to an old one.
    for (const file of fs.existsSync(env.stacksDir) ? fs.readdirSync(env.stacksDir) : []) {
      if (/^Pulumi\.lab-.*\.yaml$/.test(file)) fs.rmSync(path.join(env.stacksDir, file));
    }
  }
  fs.mkdirSync(env.stacksDir, { recursive: true });
  const files = [writeStackFile(env.stacksDir, LAB_FLEET_STACK, labFleetConfig(labHosts(env), addressFamily, [labOperator(env)]))];
  for (const client of clients) files.push(writeStackFile(env.stacksDir, client.stack, labClientConfig(client)));
  ensureStack(env, LAB_FLEET_STACK);
  const secret = pulumi(env, ["config", "get", `${NS}:sshPrivateKey`, "--stack", LAB_FLEET_STACK]);
  if (secret.status !== 0) {
    const key = fs.readFileSync(path.join(env.labDir, "id_ed25519"), "utf8");
    pulumiOk(env, ["config", "set", "--secret", `${NS}:sshPrivateKey`, "--stack", LAB_FLEET_STACK], { input: key });
  }
  for (const client of clients) ensureStack(env, client.stack);
  return files;
}

export function labTopology(env: LabEnv, clients: LabClient[] = LAB_CLIENTS): Topology {
  const files = [stackFile(env, LAB_FLEET_STACK), ...clients.map((c) => stackFile(env, c.stack))];
  const loaded = loadStackFiles(files, { stacksDir: env.stacksDir });
  const topology = loaded.topologies.find((t) => t.fleet.stack === LAB_FLEET_STACK);
  if (!topology) throw new Error(`no topology for ${LAB_FLEET_STACK} in ${files.join(", ")}`);
  return topology;
}

/**
 * `pulumi preview|up` through the same scripts as the users' CI (scripts/deploy): fleet first,
 * then clients, with the policy pack.
 */
export function deploy(env: LabEnv, action: "preview" | "up", stackFiles: string[]): RunResult {
  const listed = withEngine(env, ["bash", "scripts/deploy/stacks.sh", ...stackFiles]);
  if (listed.status !== 0) return listed;
  return withEngine(env, ["bash", "scripts/deploy/run.sh", action], { input: listed.stdout });
}

/** Starts the dump of every instance on its hosting server (systemctl waits for the oneshot). */
export function runDumps(env: LabEnv, topology: Topology): void {
  for (const instance of instances(topology)) {
    sshOk(env, labHost(env, instance.hostingServer), `systemctl start dolibarr-dump@${instance.name}.service`);
  }
}

/** Starts one replication of every instance on each of its backup servers. */
export function runReplications(env: LabEnv, topology: Topology): void {
  for (const instance of instances(topology)) {
    for (const backup of instance.backupServers) {
      sshOk(env, labHost(env, backup), `systemctl start dolibarr-replicate@${instance.name}.service`);
    }
  }
}

/**
 * One binlog pull on each backup server for each hosting server whose binlogs it pulls, started once
 * the replications are over: the newest recoverable second counts from the newest mirrored dump, so a
 * pull that read the mirror before the replication brought that dump reports none yet (until its
 * next run, a minute later). A pull the timer is running may have read the mirror too early: it
 * ends first.
 */
export function runBinlogPulls(env: LabEnv, topology: Topology): void {
  const shipped = new Set(shippedHostingServers(topology.fleet).map((s) => s.name));
  const pulls = new Map<string, Set<string>>();
  for (const instance of instances(topology).filter((i) => shipped.has(i.hostingServer))) {
    for (const backup of instance.backupServers) pulls.set(backup, (pulls.get(backup) ?? new Set()).add(instance.hostingServer));
  }
  for (const [backup, hostingServers] of pulls) {
    const host = labHost(env, backup);
    for (const hosting of hostingServers) {
      const unit = `dolibarr-binlog-pull@${hosting}.service`;
      waitWhileActivating(env, host, unit, 120_000, `${unit} on ${backup} still runs after 120 s`);
      sshOk(env, host, `systemctl start ${unit}`);
    }
  }
}

export function instances(topology: Topology): Instance[] {
  return topology.clients.flatMap((c) => c.instances);
}

export interface MirrorCheck {
  instance: string;
  backupServer: string;
  part: "code" | "documents" | "dumps";
  identical: boolean;
  entries: number;
  /** First differing lines, when not identical. */
  difference?: string;
}

/**
 * One replication of every instance on each of its backup servers, then every mirror compared with its
 * source. The lab's timers run on the real schedule (the 00:00 Europe/Paris dumps fire at 23:00 UTC), so
 * a scheduled job may change a source between the pull and the comparison: the round is then run
 * again, up to `rounds` times. A mirror that differs from a source that stood still is reported at once.
 * The binlog pulls run last (see runBinlogPulls).
 */
export function replicateAndVerify(env: LabEnv, topology: Topology, rounds = 3): MirrorCheck[] {
  for (let round = 1; ; round++) {
    const before = sourceDigests(env, topology);
    runReplications(env, topology);
    const checks = verifyMirrors(env, topology);
    const after = checks.every((c) => c.identical) || round === rounds ? before : sourceDigests(env, topology);
    const moved = [...before].filter(([key, digest]) => after.get(key) !== digest).map(([key]) => key);
    if (moved.length === 0) {
      runBinlogPulls(env, topology);
      return checks;
    }
    console.log(`a source changed while it was replicated (${moved.join(", ")}): replicating again (round ${round + 1} of ${rounds})`);
  }
}

function sourceParts(instance: Instance): Array<[MirrorCheck["part"], string]> {
  return [
    ["code", instance.codeRoot],
    ["documents", instance.documentsDir],
    ["dumps", instance.dumpDir],
  ];
}

function sourceDigests(env: LabEnv, topology: Topology): Map<string, string> {
  const digests = new Map<string, string>();
  for (const instance of instances(topology)) {
    for (const [part, dir] of sourceParts(instance)) digests.set(`${instance.name}/${part}`, treeDigest(env, labHost(env, instance.hostingServer), dir));
  }
  return digests;
}

/** Compares every part of every mirror with its source, entry by entry (see treeDigest). */
export function verifyMirrors(env: LabEnv, topology: Topology): MirrorCheck[] {
  const checks: MirrorCheck[] = [];
  for (const instance of instances(topology)) {
    const hosting = labHost(env, instance.hostingServer);
    for (const [part, dir] of sourceParts(instance)) {
      const source = treeDigest(env, hosting, dir);
      for (const backup of instance.backupServers) {
        const mirror = treeDigest(env, labHost(env, backup), `${topology.fleet.mirrorRoot}/${instance.name}/${part}`);
        const check: MirrorCheck = { instance: instance.name, backupServer: backup, part, identical: source === mirror, entries: source.split("\n").length };
        if (!check.identical) check.difference = firstDifference(source, mirror);
        checks.push(check);
      }
    }
  }
  return checks;
}

function firstDifference(a: string, b: string): string {
  const left = a.split("\n");
  const right = b.split("\n");
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    if (left[i] !== right[i]) return `source: ${left[i] ?? "(end)"}\nmirror: ${right[i] ?? "(end)"}`;
  }
  return "";
}

/** The status files the jobs write, read from the servers. */
export function jobStatus(env: LabEnv, topology: Topology): Array<{ instance: string; server: string; job: string; status: unknown }> {
  const out: Array<{ instance: string; server: string; job: string; status: unknown }> = [];
  for (const instance of instances(topology)) {
    const read = (server: string, file: string, job: string) => {
      const result = ssh(env, labHost(env, server), `cat ${file}`);
      out.push({ instance: instance.name, server, job, status: result.status === 0 ? JSON.parse(result.stdout) : null });
    };
    read(instance.hostingServer, dumpStatusPath(instance.name), "dump");
    for (const backup of instance.backupServers) read(backup, replicateStatusPath(instance.name), "replicate");
  }
  return out;
}

/** A restore drill's status file (dolibarr-drill), as read from its backup server. */
export interface DrillRecord {
  instance: string;
  backupServer: string;
  /** The unit's exit code (0: served and every check passed). */
  exitCode: number;
  status: Record<string, unknown> | null;
}

/** One restore drill of every instance on each of its backup servers (the timer's unit, run now). */
export function runDrills(env: LabEnv, topology: Topology): DrillRecord[] {
  const out: DrillRecord[] = [];
  for (const instance of instances(topology)) {
    for (const backup of instance.backupServers) {
      const host = labHost(env, backup);
      const run = ssh(env, host, `systemctl start dolibarr-drill@${instance.name}.service`);
      const read = ssh(env, host, `cat ${drillStatusPath(instance.name)}`);
      out.push({ instance: instance.name, backupServer: backup, exitCode: run.status ?? -1, status: read.status === 0 ? (JSON.parse(read.stdout) as Record<string, unknown>) : null });
    }
  }
  return out;
}

/** The next run of each of the instance's timers, as systemd computes it on the server. */
export function nextRuns(env: LabEnv, topology: Topology): Array<{ instance: string; server: string; unit: string; next: string }> {
  const out: Array<{ instance: string; server: string; unit: string; next: string }> = [];
  for (const instance of instances(topology)) {
    const servers: Array<[string, string]> = [
      [instance.hostingServer, `dolibarr-dump@${instance.name}.timer`],
      ...instance.backupServers.map((b): [string, string] => [b, `dolibarr-replicate@${instance.name}.timer`]),
    ];
    for (const [server, unit] of servers) {
      const next = sshOk(env, labHost(env, server), `systemctl show -P NextElapseUSecRealtime ${unit}`).trim();
      out.push({ instance: instance.name, server, unit, next });
    }
  }
  return out;
}

/**
 * Gives each instance of a client a small Dolibarr-like tree (htdocs with custom/ and
 * conf/conf.php, a documents dir) and an empty database on its hosting host, in one SSH session per
 * host. For scale runs, whose instances lab.sh does not seed.
 */
export function prepareInstances(env: LabEnv, client: LabClient): void {
  const byHost = new Map<string, LabClient["instances"]>();
  for (const i of client.instances) byHost.set(i.hostingServer, [...(byHost.get(i.hostingServer) ?? []), i]);
  for (const [host, list] of byHost) {
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const script = list
      .map((i) =>
        [
          `mkdir -p ${q(`${i.codeRoot}/custom/agefodd`)} ${q(`${i.codeRoot}/conf`)} ${q(i.documentsDir)}`,
          `printf '<?php\\n$dolibarr_main_db_name=%s;\\n' ${q(`'${i.database.name}'`)} >${q(`${i.codeRoot}/conf/conf.php`)}`,
          `printf 'module\\n' >${q(`${i.codeRoot}/custom/agefodd/core.php`)}`,
          `printf 'invoice\\n' >${q(`${i.documentsDir}/facture-${i.name}.pdf`)}`,
          `mariadb -e ${q(`CREATE DATABASE IF NOT EXISTS \`${i.database.name}\` CHARACTER SET utf8mb4; CREATE TABLE IF NOT EXISTS \`${i.database.name}\`.llx_const (rowid INT PRIMARY KEY, name VARCHAR(180)); INSERT IGNORE INTO \`${i.database.name}\`.llx_const VALUES (1, 'MAIN_VERSION');`)}`,
        ].join("\n"),
      )
      .join("\n");
    sshOk(env, labHost(env, host), `set -eu\n${script}`);
  }
}

/**
 * The units `systemctl --failed` lists on every lab host, and `systemctl is-system-running`, by
 * host; only the hosts with a failed unit or a system not "running" are returned.
 */
export function failedUnits(env: LabEnv): Array<{ host: string; state: string; units: string[] }> {
  const out: Array<{ host: string; state: string; units: string[] }> = [];
  for (const host of labHosts(env)) {
    const text = sshOk(env, host, "systemctl is-system-running || true; echo ---; systemctl list-units --state=failed --all --plain --no-legend --no-pager");
    const [state = "", list = ""] = text.split("---\n");
    const units = list
      .split("\n")
      .map((l) => l.trim().split(/\s+/).find((w) => /^[A-Za-z0-9@._:\\-]+\.[a-z]+$/.test(w)))
      .filter((u): u is string => u !== undefined);
    if (units.length > 0 || state.trim() !== "running") out.push({ host: host.name, state: state.trim(), units });
  }
  return out;
}

/** A message naming every failed unit of the lab hosts (each with its result), or undefined when there is none. */
export function failedUnitsReport(env: LabEnv): string | undefined {
  const bad = failedUnits(env);
  if (bad.length === 0) return undefined;
  return bad
    .map((b) => {
      const detail = b.units.length ? sshOk(env, labHost(env, b.host), `systemctl show -p Id -p Result -p ActiveState --value -- ${b.units.map((u) => `'${u}'`).join(" ")} | paste -sd' '`).trim() : "";
      return `${b.host}: systemd ${b.state}; failed: ${b.units.join(", ") || "none listed"}${detail ? ` (${detail})` : ""}`;
    })
    .join("\n");
}

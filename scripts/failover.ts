// `scripts/failover.sh --instance NAME --from BACKUP --to HOSTING [--snapshot STAMP|latest]
//  [--at TIME|now] [--force] [--keep-special-files] [--ssh-key FILE] [--stacks-dir DIR] [--dry-run]`
// Every server is reached with the host key the fleet config pins (ssh.hostKey), and no other.
//
// Restores an instance from a chosen backup server's mirror (its newest complete state) or one of
// its dated snapshots onto another hosting server: database, code (htdocs with custom/ and
// conf/conf.php), documents, with owners, modes and ACLs, by running the existing dolibarr-restore
// ON the backup server, pushing to the target over SSH. Run from the ops machine with the fleet's key;
// the backup server gets a one-time key, authorized on the target's root only from the backup
// server's address and removed at the end whatever happens. Then: set the instance's hostingServer
// to the target in its client stack file (and the lost server's `state: lost` in the fleet stack
// file), `npm run check`, and `pulumi up` (scripts/deploy) rewires dumps and replication.
// See docs/failover.md.
import * as crypto from "node:crypto";
import * as path from "node:path";
import { isConfigError } from "../infra/model/errors";
import { hostKeyWithoutComment } from "../infra/model/host-key";
import { loadStacksDir } from "../infra/model/load";
import type { Instance, Server, Topology } from "../infra/model/types";
import { pullFamilyProblem, sourceAddressesOf } from "../infra/model/address";
import { SCRIPT } from "../infra/render/paths";
import { formatConfigError } from "../infra/report/text";
import { runOnServer } from "../infra/status/collect";
import { KNOWN_HOSTS_GONE } from "./fleet-access";

export interface FailoverRequest {
  instance: string;
  from: string;
  to: string;
  /** A snapshot stamp, "latest", or undefined for the mirror's newest complete state. */
  snapshot?: string;
  /**
   * The database as it was at this second (dolibarr-restore --at: the newest dump before it and the
   * binlogs kept on the backup server), its zone explicit, or "now" (the newest recoverable second).
   */
  at?: string;
  /** Overwrite a database that already has tables on the target. */
  force?: boolean;
  /**
   * dolibarr-restore --keep-special-files: restore the mirror's device nodes, FIFOs, sockets,
   * setuid/setgid bits and security.* and trusted.* xattrs (by default dropped and listed: the mirror
   * comes from a hosting server that may have been compromised).
   */
  keepSpecialFiles?: boolean;
}

export interface FailoverPlan {
  topology: Topology;
  instance: Instance;
  from: Server;
  to: Server;
  /** The dolibarr-restore arguments, run on `from` (ssh key and known_hosts added at run time). */
  restoreArgs: string[];
  /** What ops change afterwards. */
  nextSteps: string[];
}

/** The forms dolibarr-restore --at reads (its parser, dbk_parse_time, has the last word on the backup server). */
export const AT_FORMAT = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2} ?(Z|UTC|[+-]\d{2}:?\d{2}|[A-Za-z_]+(\/[A-Za-z0-9_+-]+)+)$/;

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Checks the request against the stack configs and says what will run; throws a message naming what is wrong. */
export function planFailover(topologies: readonly Topology[], req: FailoverRequest): FailoverPlan {
  const found = topologies.flatMap((t) => t.clients.flatMap((c) => c.instances.filter((i) => i.name === req.instance).map((i) => ({ t, i, c }))));
  if (found.length === 0) throw new Error(`no instance "${req.instance}" in the client stack files`);
  if (found.length > 1) {
    throw new Error(`instance "${req.instance}" is declared in ${found.length} client stacks (${found.map((f) => f.c.file).join(", ")}): pass --stacks-dir with one fleet's stack files`);
  }
  const { t: topology, i: instance, c: client } = found[0]!;
  const server = (name: string) => topology.fleet.servers.find((s) => s.name === name);
  const from = server(req.from);
  const to = server(req.to);
  if (!from) throw new Error(`--from ${req.from}: no such server in fleet ${topology.fleet.stack}`);
  if (from.role !== "backup") throw new Error(`--from ${req.from}: a ${from.role} server; expected one of the instance's backup servers (${instance.backupServers.join(", ")})`);
  if (from.state === "lost") throw new Error(`--from ${req.from}: the fleet marks it lost; restore from another of ${instance.backupServers.join(", ")}`);
  if (!instance.backupServers.includes(from.name)) throw new Error(`--from ${req.from}: not a backup server of ${instance.name} (${instance.backupServers.join(", ")}): it holds no mirror of it`);
  if (!to) throw new Error(`--to ${req.to}: no such server in fleet ${topology.fleet.stack}`);
  if (to.role !== "hosting") throw new Error(`--to ${req.to}: a ${to.role} server; expected a hosting server`);
  if (to.state === "lost") throw new Error(`--to ${req.to}: the fleet marks it lost`);
  if (to.name === instance.hostingServer) throw new Error(`--to ${req.to}: already the instance's hosting server (restore in place with dolibarr-restore on ${from.name})`);
  // The restore connects from the backup server to the target: from= (its source addresses) must hold one of the target's family.
  const family = pullFamilyProblem(sourceAddressesOf(from), to.ssh.host);
  if (family) throw new Error(`--from ${from.name} cannot restore onto --to ${to.name}: ${family}; declare its addresses of both families in its sourceAddresses (${topology.fleet.file})`);
  if (req.snapshot !== undefined && req.snapshot !== "latest" && !/^\d{8}T\d{6}Z$/.test(req.snapshot)) throw new Error(`--snapshot ${req.snapshot}: expected a stamp YYYYMMDDTHHMMSSZ or "latest"`);
  if (req.at !== undefined && req.at !== "now" && !AT_FORMAT.test(req.at)) {
    throw new Error(`--at ${req.at}: expected a date, a time to the second and an explicit time zone ("2026-12-06 10:42:00 Europe/Paris", "2026-12-06 10:42:00 +01:00", "2026-12-06T09:42:00Z") or now`);
  }
  const restoreArgs = [
    ...(req.snapshot ? ["--snapshot", req.snapshot] : []),
    ...(req.at ? ["--at", req.at] : []),
    "--target-host", `${to.ssh.user}@${to.ssh.host}`,
    "--target-port", String(to.ssh.port),
    "--code-dir", instance.codeRoot,
    "--documents-dir", instance.documentsDir,
    "--database", instance.database.name,
    // Dolibarr's own MariaDB account (conf.php's user and password): a new server has none.
    "--db-account",
    ...(req.force ? ["--force"] : []),
    ...(req.keepSpecialFiles ? ["--keep-special-files"] : []),
    instance.name,
  ];
  const old = server(instance.hostingServer);
  const nextSteps = [
    `${client.file}: set instances[${client.instances.indexOf(instance)}].hostingServer to ${to.name}`,
    ...(old && old.state !== "lost" ? [`${topology.fleet.file}: if ${old.name} is gone, mark it: state: lost`] : []),
    `npm run check   (the rules on the new placement: distances from ${to.site.city} to every backup site)`,
    `bash scripts/deploy/stacks.sh ${topology.fleet.file} ${client.file} | bash scripts/deploy/run.sh up   (rewires the dumps on ${to.name} and the replications from it)`,
    `point DNS or the proxy at ${to.name} (a WARNING on the restore's "database account" line is a step of its own: the account conf/conf.php names, created by hand)`,
  ];
  return { topology, instance, from, to, restoreArgs, nextSteps };
}

/** The target's host key as the fleet config pins it ("<type> <base64>"; model/host-key.ts). */
export function hostKeyOf(server: Server): string {
  return hostKeyWithoutComment(server.ssh.hostKey ?? "", `server ${server.name} host key (ssh.hostKey)`, server.ssh.host, server.ssh.port);
}

/** The scripts of each step, as they run (pure: tests read them). */
/**
 * bash: `akf`, the keys file sshd reads first for the user running it (sshd -T, %u %h %% and a
 * relative path expanded as sshd does): ~/.ssh/authorized_keys, or the root-owned file under
 * /etc/ssh when the fleet manages SSH access (fleet key operators), where a key in ~/.ssh is ignored.
 * awk reads all of sshd's output: an awk that exits at the match can end sshd by SIGPIPE, and
 * with pipefail the answer is then lost (the key went to the ignored ~/.ssh, now and then).
 * (DBK_SSHD: another sshd binary, for tests.)
 */
const SELF_KEYS_FILE = [
  'me=$(id -un); akf=$("${DBK_SSHD:-/usr/sbin/sshd}" -T -C "user=$me,host=localhost,addr=127.0.0.1" 2>/dev/null | awk \'tolower($1)=="authorizedkeysfile" && !seen {print $2; seen=1}\') || akf=',
  'akf=${akf:-.ssh/authorized_keys}; akf=${akf//%u/$me}; akf=${akf//%h/$HOME}; akf=${akf//%%/%}',
  'case $akf in /*) ;; *) akf=$HOME/$akf ;; esac',
];

export function failoverScripts(plan: FailoverPlan, tag: string, toHostKey: string): { prepare: string; authorize: (publicKey: string) => string; restore: string; revoke: string; cleanup: string } {
  const dir = `/root/.dolibarr-backup-failover-${tag}`;
  const known = plan.to.ssh.port === 22 ? plan.to.ssh.host : `[${plan.to.ssh.host}]:${plan.to.ssh.port}`;
  const marker = `dolibarr-backup-failover-${tag}`;
  return {
    prepare: [
      "set -euo pipefail",
      `install -d -m 0700 ${dir}`,
      `ssh-keygen -q -t ed25519 -N '' -C ${marker} -f ${dir}/key`,
      `printf '%s\\n' ${q(`${known} ${toHostKey}`)} > ${dir}/known_hosts`,
      `cat ${dir}/key.pub`,
    ].join("\n"),
    authorize: (publicKey: string) =>
      [
        "set -euo pipefail",
        ...SELF_KEYS_FILE,
        'if [ ! -e "$akf" ]; then d=$(dirname -- "$akf"); [ -d "$d" ] || install -d -m 0700 -- "$d"; install -m 0600 /dev/null "$akf"; fi',
        // from= holds addresses only (sshd never resolves names): the backup server's source addresses.
        `printf '%s\\n' ${q(`restrict,from="${sourceAddressesOf(plan.from).join(",")}" ${publicKey.trim().split(/\s+/).slice(0, 2).join(" ")} ${marker}`)} >> "$akf"`,
      ].join("\n"),
    restore: ["set -euo pipefail", [SCRIPT.restore, "--ssh-key", `${dir}/key`, "--known-hosts", `${dir}/known_hosts`, ...plan.restoreArgs].map((a) => (a.startsWith("/root/") || a === SCRIPT.restore ? a : q(a))).join(" ")].join("\n"),
    revoke: ["set -euo pipefail", ...SELF_KEYS_FILE, `if [ -f "$akf" ]; then grep -v -F ${q(marker)} "$akf" > "$akf.failover" || true; cat "$akf.failover" > "$akf"; rm -f "$akf.failover"; fi`].join("\n"),
    cleanup: `rm -rf ${dir}`,
  };
}

async function main(argv: string[]): Promise<number> {
  const repo = process.env.DOLIBARR_BACKUP_PROJECT || path.resolve(__dirname, "../..");
  const req: Partial<FailoverRequest> = {};
  let stacksDir = path.join(repo, "stacks");
  let sshKey = process.env.DOLIBARR_BACKUP_SSH_KEY;
  let dryRun = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => argv[++i] ?? "";
    if (a === "--instance") req.instance = v();
    else if (a === "--from") req.from = v();
    else if (a === "--to") req.to = v();
    else if (a === "--snapshot") req.snapshot = v();
    else if (a === "--at") req.at = v();
    else if (a === "--force") req.force = true;
    else if (a === "--keep-special-files") req.keepSpecialFiles = true;
    else if (a === "--ssh-key") sshKey = v();
    else if (a === "--known-hosts") {
      console.error(`failover: ${KNOWN_HOSTS_GONE}`);
      return 2;
    }
    else if (a === "--stacks-dir") stacksDir = v();
    else if (a === "--dry-run") dryRun = true;
    else if (a === "-h" || a === "--help") {
      console.log("usage: scripts/failover.sh --instance NAME --from BACKUP --to HOSTING [--snapshot STAMP|latest] [--at TIME|now] [--force] [--keep-special-files] [--ssh-key FILE] [--stacks-dir DIR] [--dry-run]\n(docs/failover.md)");
      return 0;
    } else {
      console.error(`failover: unknown argument ${a}`);
      return 2;
    }
  }
  if (!req.instance || !req.from || !req.to) {
    console.error("failover: --instance, --from and --to are required (docs/failover.md)");
    return 2;
  }
  let plan: FailoverPlan;
  try {
    plan = planFailover(loadStacksDir(stacksDir).topologies, req as FailoverRequest);
  } catch (e) {
    console.error(isConfigError(e) ? formatConfigError(e) : `failover: ${(e as Error).message}`);
    return 2;
  }
  const tag = `${plan.instance.name}-${crypto.randomBytes(4).toString("hex")}`;
  let steps: ReturnType<typeof failoverScripts>;
  try {
    steps = failoverScripts(plan, tag, hostKeyOf(plan.to));
  } catch (e) {
    console.error(`failover: ${(e as Error).message}`);
    return 2;
  }
  console.log(`failover of ${plan.instance.name}: from the ${req.snapshot ? `snapshot ${req.snapshot}` : "newest complete mirror"} on ${plan.from.name} onto ${plan.to.name}${req.at ? `, the database as at ${req.at} (dump + binlogs)` : ""}`);
  console.log(`  on ${plan.from.name}: ${SCRIPT.restore} ${plan.restoreArgs.join(" ")}`);
  if (dryRun) {
    console.log(["", "then:", ...plan.nextSteps.map((s) => `  - ${s}`)].join("\n"));
    return 0;
  }
  if (!sshKey) {
    console.error("failover: give the fleet's SSH key with --ssh-key FILE (or DOLIBARR_BACKUP_SSH_KEY)");
    return 2;
  }
  const opts = { privateKeyFile: sshKey, connectTimeout: 20 };
  const t0 = Date.now();
  let code = 0;
  let authorized = false;
  try {
    const publicKey = (await runOnServer(plan.from, steps.prepare, opts)).trim().split("\n").pop()!;
    await runOnServer(plan.to, steps.authorize(publicKey), opts);
    authorized = true;
    const out = await runLogged(plan.from, steps.restore, opts);
    process.stdout.write(out);
  } catch (e) {
    console.error(`failover: FAILED: ${(e as Error).message}`);
    code = 1;
  } finally {
    if (authorized) await runOnServer(plan.to, steps.revoke, opts).catch((e: Error) => console.error(`failover: could not remove the one-time key from ${plan.to.name}: ${e.message}`));
    await runOnServer(plan.from, steps.cleanup, opts).catch(() => undefined);
  }
  if (code === 0) {
    console.log(`failover of ${plan.instance.name} onto ${plan.to.name}: restored and checked in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    console.log(["then:", ...plan.nextSteps.map((s) => `  - ${s}`)].join("\n"));
  }
  return code;
}

/** runOnServer, but dolibarr-restore logs to stderr: keep it for the operator. */
function runLogged(server: Server, script: string, opts: Parameters<typeof runOnServer>[2]): Promise<string> {
  return runOnServer(server, `exec 2>&1\n${script}`, opts);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (c) => process.exit(c),
    (e: unknown) => {
      console.error(`failover: ${(e as Error).stack ?? e}`);
      process.exit(2);
    },
  );
}

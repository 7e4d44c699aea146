// Client stack: one component per Dolibarr instance, carrying the contract's InstanceProps, with
//  - on the hosting server: a least-privilege MariaDB account for the dumps (password generated,
//    pushed through stdin only), the instance's dump config and timer, its read-only exports;
//  - on each backup server: the replication config and timer at the planned (staggered) times.
// Destroying it disables and removes exactly these; dumps and mirrors stay.
import { createHash, createHmac } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { databaseNameProblem } from "../model/safe";
import { planInstance } from "../model/schedule";
import type { ClientStack, Instance, ReplicationPlan, Server, Topology } from "../model/types";
import type * as command from "@pulumi/command";
import { dirname } from "node:path";
import { mysqlOptionFilePath, renderBackupInstance, renderHostingInstance } from "../render";
import { ServerBundleResource, deferredBundle, knownFiles } from "./bundle";
import { TYPES, instanceContract, serverFactsOf, type AccessDeclaration, type InstanceProps, type ServerFacts } from "./contract";
import { asRoot, connectionOf, remoteCommand, remoteHost, shq, type RemoteHost } from "./remote";

/** A server of the fleet as a client stack reaches it. */
export interface ServerHandle {
  server: Server;
  remote: RemoteHost;
}

/** One handle per server and program run: its session lanes are shared by all the instances. */
export function serverHandle(server: Server, privateKey: pulumi.Input<string>): ServerHandle {
  return { server, remote: remoteHost(server.name, server.ssh, privateKey) };
}

export function serverFacts(s: Server): ServerFacts {
  return serverFactsOf(s);
}

/** MariaDB account of an instance's dumps: "dbk_<instance>" ('-' kept), at most 32 characters. */
export function dumpAccountName(instance: string): string {
  const name = `dbk_${instance}`;
  if (name.length <= 32) return name;
  const hash = createHash("sha256").update(instance).digest("hex").slice(0, 8);
  return `${name.slice(0, 23)}_${hash}`;
}

/** Privileges mariadb-dump --single-transaction --routines --triggers --events --no-tablespaces needs on the database. */
export const DUMP_PRIVILEGES = ["SELECT", "SHOW VIEW", "TRIGGER", "LOCK TABLES", "EVENT"] as const;

const MARIADB = `"$(command -v mariadb || command -v mysql)"`;

const PASSWORD_SLOT = "\u0000password\u0000";

/** The account statements with a slot for the password. */
function dumpAccountSqlTemplate(instance: Instance): string {
  const dbProblem = databaseNameProblem(instance.database.name);
  if (dbProblem) throw new Error(`dump account of ${instance.name}: database ${dbProblem}`);
  const user = `'${dumpAccountName(instance.name)}'@'localhost'`;
  return [
    `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY '${PASSWORD_SLOT}';`,
    `ALTER USER ${user} IDENTIFIED BY '${PASSWORD_SLOT}';`,
    `GRANT ${DUMP_PRIVILEGES.join(", ")} ON \`${instance.database.name}\`.* TO ${user};`,
    "",
  ].join("\n");
}

function optionFileTemplate(instance: Instance): string {
  return [
    `# MariaDB account of the dumps of ${instance.name} (least privilege). Rendered by dolibarr-backup (client stack).`,
    "[client]",
    `user=${dumpAccountName(instance.name)}`,
    `password=${PASSWORD_SLOT}`,
    "",
  ].join("\n");
}

function checkPassword(password: string): void {
  if (!/^[A-Za-z0-9]+$/.test(password)) throw new Error("the dump account password must be alphanumeric");
}

/** SQL creating or updating the dump account (what the account command sends MariaDB). */
export function dumpAccountSql(instance: Instance, password: string): string {
  checkPassword(password);
  return dumpAccountSqlTemplate(instance).split(PASSWORD_SLOT).join(password);
}

/** The 0600 option file the dumps read (mysqlOptionFilePath). */
export function optionFileContent(instance: Instance, password: string): string {
  checkPassword(password);
  return optionFileTemplate(instance).split(PASSWORD_SLOT).join(password);
}

/** A `printf` of `template` with the password in its slots, as sh words: printf is a builtin, so the password never shows in a process list. */
function printfWithPassword(template: string): string {
  const parts = template.split(PASSWORD_SLOT);
  const format = parts.map((p) => p.replace(/\\/g, "\\\\").replace(/%/g, "%%")).join("%s");
  return `printf ${shq(format)}${' "$pw"'.repeat(parts.length - 1)}`;
}

/**
 * Script of the dump account command. Its stdin is the password (one line, letters and digits):
 * it creates or updates the account (the statements of dumpAccountSql), grants the right to read
 * the routines' bodies (--routines): SHOW CREATE ROUTINE on the database (MariaDB >= 11.3), and
 * then takes back a SELECT on mysql.proc that the account still holds from a 10.x server (every
 * database's routines); else (MariaDB 10.x, e.g. Debian 12's 10.11, which has no such privilege)
 * SELECT on mysql.proc, the least that works there: measured on 10.11 (test/integration/root-paths.test.ts),
 * EXECUTE or ALTER ROUTINE on the database, or a column grant on mysql.proc, make mariadb-dump fail
 * ("insufficient privileges to SHOW CREATE PROCEDURE"), and no routine privilege at all makes it
 * leave every routine out and exit 0. Then it writes the 0600 option file (optionFileContent).
 * MariaDB's own messages are withheld (they may quote the statement, so the password): only its
 * error code is shown, and the command's output holds no secret.
 */
export function dumpAccountScript(instance: Instance): string {
  const name = instance.name;
  const user = `'${dumpAccountName(name)}'@'localhost'`;
  const routines = `GRANT SHOW CREATE ROUTINE ON \`${instance.database.name}\`.* TO ${user}`;
  const proc = `GRANT SELECT ON mysql.proc TO ${user}`;
  const showGrants = `SHOW GRANTS FOR ${user}`;
  const revokeProc = `REVOKE SELECT ON mysql.proc FROM ${user}`;
  const file = mysqlOptionFilePath(name);
  return [
    `IFS= read -r pw || true`,
    `case "$pw" in '' | *[!A-Za-z0-9]*) echo "dump account of ${name}: expected the password (letters and digits) on stdin" >&2; exit 1 ;; esac`,
    `m=${MARIADB}`,
    `if ! out=$(${printfWithPassword(dumpAccountSqlTemplate(instance))} | "$m" --batch 2>&1); then`,
    `  code=$(printf '%s\\n' "$out" | grep -o '^ERROR [0-9]* ([0-9A-Z]*)' | head -n 1 || true)`,
    `  echo "dump account of ${name}: MariaDB refused the account statements (\${code:-no error code}); its message is withheld, it may quote the password" >&2`,
    `  exit 1`,
    `fi`,
    `if "$m" --batch -e ${shq(routines)} 2>/dev/null; then`,
    `  if "$m" --batch --skip-column-names -e ${shq(showGrants)} | grep -q ${shq("ON `mysql`.`proc` TO")}; then "$m" --batch -e ${shq(revokeProc)}; fi`,
    `else`,
    `  "$m" --batch -e ${shq(proc)}`,
    `fi`,
    `mkdir -p -- ${shq(dirname(file))}`,
    `t=$(mktemp ${shq(dirname(file))}/.dbk-push.XXXXXX)`,
    `trap 'rm -f -- "$t"' EXIT`,
    `chmod 0600 "$t"`,
    `${printfWithPassword(optionFileTemplate(instance))} >"$t"`,
    `mv -f -- "$t" ${shq(file)}`,
    `trap - EXIT`,
  ].join("\n");
}

export function dropDumpAccountScript(instance: Instance): string {
  const drop = `DROP USER IF EXISTS '${dumpAccountName(instance.name)}'@'localhost'`;
  return [
    `${MARIADB} --batch -e ${shq(drop)} || echo "warning: could not drop the MariaDB account of ${instance.name} (MariaDB down?)" >&2`,
    `rm -f -- ${shq(mysqlOptionFilePath(instance.name))}`,
  ].join("\n");
}

const BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * The dump account's password of an instance: 32 letters and digits, at least one of each kind,
 * derived (HMAC-SHA256) from the client's secret and the instance name. One random secret per client
 * stack instead of one RandomPassword resource per instance (a resource is a step and a full state
 * write of every `pulumi up`); knowing one instance's password tells nothing of another's or of the
 * secret. A new client secret (replace `<client>/db-secret`) gives every instance a new password.
 */
export function dumpAccountPassword(clientSecret: string, instance: string): string {
  if (clientSecret.length === 0) throw new Error("the client's dump account secret is empty");
  const chars: string[] = [];
  for (let block = 0; chars.length < 32 || !/[a-z]/.test(chars.join("")) || !/[A-Z]/.test(chars.join("")) || !/[0-9]/.test(chars.join("")); block++) {
    if (chars.length >= 32) chars.length = 0; // a draw without every kind: draw again from the next blocks
    const bytes = createHmac("sha256", clientSecret).update(`dolibarr-backup dump account\u0000${instance}\u0000${block}`).digest();
    // rejection sampling: 248 = 4 × 62, so every character is equally likely
    for (const b of bytes) if (b < 248 && chars.length < 32) chars.push(BASE62[b % 62]!);
  }
  return chars.join("");
}

export interface InstanceArgs {
  topology: Topology;
  client: ClientStack;
  instance: Instance;
  hosting: ServerHandle;
  backups: ServerHandle[];
  /** The access the fleet declared on the hosting server for the instance's backup servers. */
  access: AccessDeclaration[];
  /** The client's stable minute offset (0..MAX_MINUTE_OFFSET), unknown on a first preview. */
  minuteOffset: pulumi.Input<number>;
  /** The client's secret the dump accounts' passwords derive from (dumpAccountPassword). */
  dbSecret: pulumi.Input<string>;
}

export class InstanceComponent extends pulumi.ComponentResource {
  readonly replications: pulumi.Output<ReplicationPlan[]>;
  /** The dump account's password (secret). */
  readonly password: pulumi.Output<string>;
  readonly dbAccount: command.remote.Command;
  readonly hostingBundle: ServerBundleResource;
  readonly backupBundles: Record<string, ServerBundleResource> = {};

  constructor(args: InstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    const { topology, instance: inst } = args;
    const fleet = topology.fleet;
    const replications = pulumi
      .output(args.minuteOffset)
      .apply((minuteOffset) => planInstance(fleet, inst, { minuteOffset }));
    // The contract is built in the model (infra/model/contract.ts): the component only passes it on.
    const props: { [K in keyof InstanceProps]: pulumi.Input<InstanceProps[K]> } = {
      ...instanceContract({
        topology,
        client: args.client,
        instance: inst,
        hosting: args.hosting.server,
        backups: args.backups.map((b) => b.server),
        access: args.access,
      }),
      replications,
    };
    // No inputs of its own in the state: the contract's properties are the component's outputs
    // (registerOutputs below), which is what the policy pack reads (a stack policy sees outputs).
    // Inputs would hold the same ~4 KB a second time per instance.
    super(TYPES.instance, inst.name, {}, opts);
    this.replications = replications;

    const hosting = args.hosting;
    const hostingConnection = connectionOf(hosting.remote);
    const user = hosting.server.ssh.user;

    // Least-privilege account for the dumps; its password exists only in the state (secret: the
    // client's secret it derives from), in the stdin of one command, and in the 0600 option file on
    // the hosting server.
    this.password = pulumi.secret(pulumi.output(args.dbSecret).apply((secret) => dumpAccountPassword(secret, inst.name)));
    const accountCreate = asRoot(user, dumpAccountScript(inst));
    this.dbAccount = remoteCommand(
      `${inst.name}/${hosting.server.name}/db-account`,
      hosting.remote,
      {
        connection: hostingConnection,
        create: accountCreate,
        delete: asRoot(user, dropDumpAccountScript(inst)),
        stdin: pulumi.secret(this.password.apply((pw) => `${pw}\n`)),
        logging: "none",
      },
      { parent: this, additionalSecretOutputs: ["stdout", "stderr"] },
    );

    const hostingBundle = renderHostingInstance(topology, inst);
    this.hostingBundle = new ServerBundleResource(
      `${inst.name}/${hosting.server.name}`,
      {
        host: hosting.remote,
        connection: hostingConnection,
        files: knownFiles(hostingBundle),
        create: hostingBundle.create,
        delete: hostingBundle.delete,
        after: [this.dbAccount],
      },
      { parent: this },
    );

    for (const backup of args.backups) {
      const b = backup.server.name;
      // Rendered with the plan of the client's minute offset (known at the first `pulumi up`).
      const render = (offset: number) => {
        const plan = planInstance(fleet, inst, { minuteOffset: offset }).find((p) => p.backupServer === b);
        if (!plan) throw new Error(`instance ${inst.name}: no replication plan for ${b}`);
        return renderBackupInstance(topology, inst, plan);
      };
      this.backupBundles[b] = new ServerBundleResource(
        `${inst.name}/${b}`,
        {
          host: backup.remote,
          connection: connectionOf(backup.remote),
          ...deferredBundle(`replication of ${inst.name} on ${b}`, render, [0, 1], pulumi.output(args.minuteOffset)),
          // The export must be in place before the first replication; destroy stops replications first.
          after: [this.hostingBundle.apply],
        },
        { parent: this },
      );
    }
    // The policy pack reads the contract's properties from the component's outputs.
    this.registerOutputs(props);
  }
}

// Client stack: one component per Dolibarr instance, carrying the contract's InstanceProps, with
//  - on the hosting server: a least-privilege MariaDB account for the dumps (password generated,
//    pushed through stdin only), the instance's dump config and timer, its read-only exports;
//  - on each backup server: the replication config and timer at the planned (staggered) times.
// Destroying it disables and removes exactly these; dumps and mirrors stay.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { planInstance } from "../model/schedule";
import type { ClientStack, Instance, ReplicationPlan, Server, Topology } from "../model/types";
import { RandomPassword } from "../providers/random";
import { SshCommand } from "../providers/ssh-command";
import { mysqlOptionFilePath, renderBackupInstance, renderHostingInstance } from "../render";
import { ServerBundleResource, deferredBundle, knownFiles, type DeferredFile } from "./bundle";
import { TYPES, type AccessDeclaration, type InstanceProps, type ServerFacts } from "./contract";
import { asRoot, connectionOf, shq, type RemoteHost } from "./remote";
import { addressOf } from "./servers";

/** A server of the fleet as a client stack reaches it. */
export interface ServerHandle {
  server: Server;
  remote: RemoteHost;
}

export function serverHandle(server: Server, privateKey: pulumi.Input<string>): ServerHandle {
  return { server, remote: { name: server.name, ssh: server.ssh, privateKey } };
}

export function serverFacts(s: Server): ServerFacts {
  return { name: s.name, role: s.role, provider: s.provider, site: s.site, address: addressOf(s.ssh) };
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

/** SQL (sent on stdin, it holds the password) creating or updating the dump account. */
export function dumpAccountSql(instance: Instance, password: string): string {
  if (!/^[A-Za-z0-9]+$/.test(password)) throw new Error("the dump account password must be alphanumeric");
  const user = `'${dumpAccountName(instance.name)}'@'localhost'`;
  return [
    `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY '${password}';`,
    `ALTER USER ${user} IDENTIFIED BY '${password}';`,
    `GRANT ${DUMP_PRIVILEGES.join(", ")} ON \`${instance.database.name}\`.* TO ${user};`,
    "",
  ].join("\n");
}

/**
 * Script of the dump account command: the SQL from stdin, then the right to read the routines'
 * bodies (--routines): SHOW CREATE ROUTINE on the database (MariaDB ≥ 11.3), else SELECT on
 * mysql.proc (MariaDB 10.x, e.g. Debian 12's 10.11).
 */
export function dumpAccountScript(instance: Instance): string {
  const user = `'${dumpAccountName(instance.name)}'@'localhost'`;
  const routines = `GRANT SHOW CREATE ROUTINE ON \`${instance.database.name}\`.* TO ${user}`;
  const proc = `GRANT SELECT ON mysql.proc TO ${user}`;
  return [
    `${MARIADB} --batch`,
    `${MARIADB} --batch -e ${shq(routines)} 2>/dev/null || ${MARIADB} --batch -e ${shq(proc)}`,
  ].join("\n");
}

export function dropDumpAccountScript(instance: Instance): string {
  const drop = `DROP USER IF EXISTS '${dumpAccountName(instance.name)}'@'localhost'`;
  return `${MARIADB} --batch -e ${shq(drop)} || echo "warning: could not drop the MariaDB account of ${instance.name} (MariaDB down?)" >&2`;
}

/** The 0600 option file the dumps read (mysqlOptionFilePath). */
export function optionFileContent(instance: Instance, password: string): string {
  return [
    `# MariaDB account of the dumps of ${instance.name} (least privilege). Rendered by dolibarr-backup (client stack).`,
    "[client]",
    `user=${dumpAccountName(instance.name)}`,
    `password=${password}`,
    "",
  ].join("\n");
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
}

export class InstanceComponent extends pulumi.ComponentResource {
  readonly replications: pulumi.Output<ReplicationPlan[]>;
  readonly password: RandomPassword;
  readonly dbAccount: SshCommand;
  readonly hostingBundle: ServerBundleResource;
  readonly backupBundles: Record<string, ServerBundleResource> = {};

  constructor(args: InstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    const { topology, instance: inst } = args;
    const fleet = topology.fleet;
    const replications = pulumi
      .output(args.minuteOffset)
      .apply((minuteOffset) => planInstance(fleet, inst, { minuteOffset }));
    const props: { [K in keyof InstanceProps]: pulumi.Input<InstanceProps[K]> } = {
      fleetStack: fleet.stack,
      client: args.client.client,
      instance: inst,
      hostingServer: serverFacts(args.hosting.server),
      backupServers: args.backups.map((b) => serverFacts(b.server)),
      policy: fleet.policy,
      mirrorRoot: fleet.mirrorRoot,
      replications,
      access: args.access,
    };
    super(TYPES.instance, inst.name, props, opts);
    this.replications = replications;

    const hosting = args.hosting;
    const hostingConnection = connectionOf(hosting.remote);
    const user = hosting.server.ssh.user;

    // Least-privilege account for the dumps; its password exists only in the state (secret), in
    // the stdin of two commands, and in the 0600 option file on the hosting server.
    this.password = new RandomPassword(
      `${inst.name}/db-password`,
      // letters and digits, at least one of each kind
      { length: 32 },
      { parent: this },
    );
    const sql = pulumi.secret(this.password.result.apply((pw) => dumpAccountSql(inst, pw)));
    const accountCreate = asRoot(user, dumpAccountScript(inst));
    this.dbAccount = new SshCommand(
      `${inst.name}/${hosting.server.name}/db-account`,
      {
        connection: hostingConnection,
        create: accountCreate,
        update: accountCreate,
        delete: asRoot(user, dropDumpAccountScript(inst)),
        stdin: sql,
        // A MariaDB error may quote the SQL (and so the password): nothing logged, outputs secret.
        logging: "none",
      },
      { parent: this, additionalSecretOutputs: ["stdout", "stderr"] },
    );

    const optionFile: DeferredFile = {
      path: mysqlOptionFilePath(inst.name),
      mode: "0600",
      content: pulumi.secret(this.password.result.apply((pw) => optionFileContent(inst, pw))),
      secret: true,
    };
    const hostingBundle = renderHostingInstance(topology, inst);
    this.hostingBundle = new ServerBundleResource(
      `${inst.name}/${hosting.server.name}`,
      {
        host: hosting.remote,
        connection: hostingConnection,
        files: [...knownFiles(hostingBundle), optionFile],
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
          after: [this.hostingBundle],
        },
        { parent: this },
      );
    }
    // The policy pack reads the contract's properties from the component's outputs.
    this.registerOutputs(props);
  }
}

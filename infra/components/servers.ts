// Fleet stack: one component per server (HostingServer / BackupServer) carrying the contract's
// ServerProps, with the server's base installation (scripts, template units, directories,
// packages), a backup server's own SSH key (generated on the server, only the public key leaves
// it) and, on a hosting server, one restricted user per backup server.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { Fleet, Server } from "../model/types";
import type { FactCheck } from "../providers/facts";
import type * as command from "@pulumi/command";
import { backupKeyCommand, renderHostingAccess, renderServerAccess, renderServerBase, type HostingAccess } from "../render";
import { accessManaged, operatorsOn } from "../model/operators";
import { publicKeyOfPrivateKey } from "../model/ssh-keys";
import { ServerBundleResource, deferredBundle, knownFiles } from "./bundle";
import { hostKeyProblem } from "../model/host-key";
import { TYPES, type AccessDeclaration, type ServerProps } from "./contract";
import { asRoot, connectionOf, remoteCommand, remoteHost, type Connection, type RemoteHost } from "./remote";

/** "SHA256:…" fingerprint of an OpenSSH public key line, as `ssh-keygen -lf` prints it. */
export function sshFingerprint(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (!blob) throw new Error(`not an OpenSSH public key line: ${publicKeyLine.slice(0, 40)}`);
  const digest = createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

/** The first line of `stdout` that looks like an OpenSSH public key (or a clear error). */
export function publicKeyFrom(stdout: string, what: string): string {
  const line = stdout
    .split("\n")
    .map((l) => l.trim())
    .find((l) => /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( |$)/.test(l));
  if (!line) throw new Error(`${what}: expected an OpenSSH public key line, got ${JSON.stringify(stdout.slice(0, 120))}`);
  return line;
}

/** The contract's `address`: "host", "host:port" when the port is not 22, "[v6]:port" for IPv6. */
export function addressOf(ssh: Pick<Server["ssh"], "host" | "port">): string {
  if (ssh.port === 22) return ssh.host;
  return ssh.host.includes(":") ? `[${ssh.host}]:${ssh.port}` : `${ssh.host}:${ssh.port}`;
}

export interface FleetServerArgs {
  fleet: Fleet;
  server: Server;
  privateKey: pulumi.Input<string>;
  factCheck?: FactCheck;
}

/**
 * What every server component has: the contract's props, its connection, its host key (the one the
 * fleet config pins: no command ever reads it from the server) and its base installation.
 */
abstract class FleetServer extends pulumi.ComponentResource {
  /** The contract's properties (inputs and outputs of the component: the policy pack reads the outputs). */
  readonly props: ServerProps;
  readonly server: Server;
  readonly remote: RemoteHost;
  readonly connection: pulumi.Output<Connection>;
  readonly hostKey: pulumi.Output<string>;
  readonly hostKeyFingerprint: pulumi.Output<string>;
  readonly base: ServerBundleResource;
  /** The keys sshd accepts for the deploy user (only when the fleet declares operators). */
  readonly sshAccess?: ServerBundleResource;

  protected constructor(
    type: string,
    args: FleetServerArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    const s = args.server;
    const props = serverPropsOf(args.fleet, s);
    super(type, s.name, props, opts);
    this.props = props;
    this.server = s;
    this.remote = remoteHost(s.name, s.ssh, args.privateKey);
    // The declared key, checked by the one rule (model/host-key.ts) even when the fleet was not
    // parsed from a config: every command of the server pins it, none reads it from the server.
    const problem = hostKeyProblem(s.ssh.hostKey ?? "", s.ssh.host, s.ssh.port);
    if (problem) throw new Error(`server ${s.name}: ssh.hostKey: ${problem}`);
    this.hostKey = pulumi.output(s.ssh.hostKey.trim());
    this.connection = connectionOf(this.remote, this.hostKey);
    this.hostKeyFingerprint = pulumi.output(sshFingerprint(s.ssh.hostKey));
    this.base = new ServerBundleResource(
      `${s.name}/base`,
      {
        host: this.remote,
        connection: this.connection,
        ...knownBundle(renderServerBase(args.fleet, s)),
        // It installs the apply program the server's other bundles run.
        selfContained: true,
      },
      { parent: this },
    );
    if (accessManaged(args.fleet)) {
      // The deploy key's public half, from the fleet's private key (not a secret; its fingerprint is in the keys file).
      const deployKey = pulumi.unsecret(pulumi.output(args.privateKey).apply((k) => publicKeyOfPrivateKey(k)));
      this.sshAccess = new ServerBundleResource(
        `${s.name}/operators`,
        {
          host: this.remote,
          connection: this.connection,
          ...deferredBundle(`SSH access of ${s.name}`, (key: string) => renderServerAccess(args.fleet, s, key), STAND_IN_KEYS, deployKey),
          after: [this.base.apply],
        },
        { parent: this },
      );
    }
  }

  /** The component's outputs: the contract's ServerProps, then the facts an operator reads. */
  protected facts(factCheck: FactCheck | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const s = this.server;
    return {
      ...this.props,
      city: s.site.city,
      country: s.site.country,
      coordinates: { latitude: s.site.latitude, longitude: s.site.longitude },
      sshPort: s.ssh.port,
      hostKey: this.hostKey,
      hostKeyFingerprint: this.hostKeyFingerprint,
      factCheck: factCheck ? { status: factCheck.status, message: factCheck.message, ...(factCheck.reported ? { reported: factCheck.reported } : {}) } : { status: "unchecked" },
      ...extra,
    };
  }
}

/** The files and scripts of a bundle rendered now, every file known. */
function knownBundle(bundle: ReturnType<typeof renderServerBase>): { files: ReturnType<typeof knownFiles>; create: string; delete: string } {
  return { files: knownFiles(bundle), create: bundle.create, delete: bundle.delete };
}

/** Syntactically valid public keys standing in for ones not known yet (never deployed). */
const STAND_IN_KEYS = [
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA stand-in",
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB stand-in",
] as const;
const STAND_IN_KEY = STAND_IN_KEYS[0];

export function accessDeclaration(backupServer: string, access: HostingAccess): AccessDeclaration {
  return { backupServer, user: access.user, keyOptions: [...access.keyOptions] };
}

export interface HostingServerArgs extends FleetServerArgs {
  /** The fleet's backup servers: each gets a restricted user here (grantAccess). */
  backupServers: Server[];
}

/** The contract properties of a server's component (also those of what stays of a lost server). */
export function serverPropsOf(fleet: Fleet, s: Server): ServerProps {
  return {
    name: s.name,
    role: s.role,
    provider: s.provider,
    site: s.site,
    address: addressOf(s.ssh),
    fleetStack: fleet.stack,
    ...(s.binlog ? { binlog: s.binlog } : {}),
    // Who else logs in as the deploy user (the rule pushed.operator-keys compares the pushed keys file).
    // (a lost server gets no push: it declares none)
    ...(accessManaged(fleet) && s.state !== "lost" ? { operators: operatorsOn(fleet, s).map((o) => ({ name: o.name, fingerprint: o.fingerprint })) } : {}),
  };
}

export class HostingServer extends FleetServer {
  /** The access declared for each backup server, by backup server name (known before any key). */
  readonly access: Record<string, AccessDeclaration> = {};
  /** The access bundles, once grantAccess has run. */
  readonly accessBundles: Record<string, ServerBundleResource> = {};
  readonly outputs: Record<string, unknown>;
  private readonly fleet: Fleet;

  constructor(args: HostingServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPES.hostingServer, args, opts);
    this.fleet = args.fleet;
    for (const b of args.backupServers) {
      // The key options do not depend on the key: render with a stand-in.
      this.access[b.name] = accessDeclaration(b.name, renderHostingAccess(args.fleet, args.server, b, STAND_IN_KEY));
    }
    this.outputs = this.facts(args.factCheck, { access: Object.values(this.access) });
    this.registerOutputs(this.outputs);
  }

  /** The user and restricted authorized_keys of one backup server (its public key known later). */
  grantAccess(backup: BackupServer): ServerBundleResource {
    const b = backup.server;
    const bundle = new ServerBundleResource(
      `${this.server.name}/access/${b.name}`,
      {
        host: this.remote,
        connection: this.connection,
        ...deferredBundle(
          `access of ${b.name} on ${this.server.name}`,
          (key: string) => renderHostingAccess(this.fleet, this.server, b, key),
          STAND_IN_KEYS,
          backup.publicKey,
        ),
        after: [this.base.apply],
      },
      { parent: this },
    );
    this.accessBundles[b.name] = bundle;
    return bundle;
  }
}

/** A backup server's known_hosts pins the hosting servers' keys the fleet config declares. */
export type BackupServerArgs = FleetServerArgs;

export class BackupServer extends FleetServer {
  /** "ssh-ed25519 AAAA… dolibarr-backup@<name>": the key this server replicates with. */
  readonly publicKey: pulumi.Output<string>;
  readonly keyCommand: command.remote.Command;
  readonly outputs: Record<string, unknown>;

  constructor(args: BackupServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPES.backupServer, args, opts);
    const create = asRoot(args.server.ssh.user, backupKeyCommand(args.server));
    // Generated on the server when missing and never replaced; no delete: the key outlives the stack.
    this.keyCommand = remoteCommand(
      `${args.server.name}/ssh-key`,
      this.remote,
      { connection: this.connection, create },
      { parent: this },
    );
    this.publicKey = this.keyCommand.stdout.apply((out) => publicKeyFrom(out, `public key of ${args.server.name}`));
    this.outputs = this.facts(args.factCheck, { publicKey: this.publicKey });
    this.registerOutputs(this.outputs);
  }
}

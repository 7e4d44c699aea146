// Everything the components run on a server goes through here: one SSH connection description per
// server for @pulumi/command's remote.Command, commands run as root (sudo -n when the fleet's SSH
// user is not root), data through stdin (never on a command line), and a cap on the sessions one
// `pulumi up` opens at once on one server.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { shq } from "../render/files";
import type { SshEndpoint } from "../model/types";
import { SESSIONS_PER_HOST, sessionLanesFromEnv } from "./sessions";

export { shq };

/** How the program reaches one server over SSH. */
export interface RemoteHost {
  /** Server name (fleet config). */
  name: string;
  ssh: SshEndpoint;
  /** The fleet's SSH private key (a secret). */
  privateKey: pulumi.Input<string>;
  /** The server's session lanes (one object per server and program run). */
  sessions: SessionLanes;
}

export type Connection = command.types.input.remote.ConnectionArgs;

/** Dial attempts (refused or dropped connections are retried) and seconds per attempt. */
export const DIAL_ERROR_LIMIT = 10;
export const PER_DIAL_TIMEOUT_SECONDS = 20;

/**
 * The connection of a remote.Command: host/port/user from the fleet config, the key as a secret,
 * the host key pinned: `hostKey` when given (read once on first use), else the declared one, if any.
 */
export function connectionOf(host: Pick<RemoteHost, "ssh" | "privateKey">, hostKey?: pulumi.Input<string>): pulumi.Output<Connection> {
  return pulumi.secret(
    pulumi.all([host.privateKey, hostKey ?? host.ssh.hostKey]).apply(([privateKey, key]): Connection => ({
      host: host.ssh.host,
      port: host.ssh.port,
      user: host.ssh.user,
      privateKey,
      ...(key ? { hostKey: key.trim() } : {}),
      dialErrorLimit: DIAL_ERROR_LIMIT,
      perDialTimeout: PER_DIAL_TIMEOUT_SECONDS,
    })),
  );
}

export { SESSIONS_PER_HOST } from "./sessions";

/**
 * Lanes of remote commands on one server: each new command waits for the previous command of its
 * lane (dependsOn), so at most `width` run at once on the server. The engine would otherwise start
 * every ready command at once (a client with 50 instances = 100 sessions on its hosting server).
 * The width is this run's share of the per-server cap (sessions.ts: the deploy runner gives each of
 * the stacks it runs at once floor(cap / stacks)).
 */
export class SessionLanes {
  private readonly last: Array<pulumi.Resource | undefined>;
  private next = 0;

  constructor(readonly width: number = SESSIONS_PER_HOST) {
    this.last = new Array<pulumi.Resource | undefined>(width).fill(undefined);
  }

  /**
   * What a new command must wait for, and the call that records it once created. A command that
   * already waits for the newest command of a lane joins that lane (its wait costs nothing more);
   * the others take the lanes in turn. Round-robin alone put a bundle and the account it waits for
   * on two lanes, each lane then waiting on its neighbours: measured on 50 instances, 2.4 of the
   * hosting server's 5 lanes busy on average.
   */
  slot(waitsFor: readonly unknown[] = []): { after: pulumi.Resource[]; taken(resource: pulumi.Resource): void } {
    const joined = this.last.findIndex((r) => r !== undefined && waitsFor.includes(r));
    const lane = joined >= 0 ? joined : this.next;
    if (joined < 0) this.next = (this.next + 1) % this.width;
    const previous = this.last[lane];
    return { after: previous ? [previous] : [], taken: (resource) => void (this.last[lane] = resource) };
  }
}

export function remoteHost(name: string, ssh: SshEndpoint, privateKey: pulumi.Input<string>): RemoteHost {
  return { name, ssh, privateKey, sessions: new SessionLanes(sessionLanesFromEnv()) };
}



/**
 * The command line that runs `script` with sh as root on a server reached as `user`:
 * directly for root, through `sudo -n` otherwise (the user needs passwordless sudo).
 * The script travels as one quoted argument; stdin stays free for the data.
 */
export function asRoot(user: string, script: string): string {
  const body = `set -eu\n${script.trim()}\n`;
  const run = `sh -c ${shq(body)}`;
  return user === "root" ? run : `sudo -n ${run}`;
}

/**
 * A remote.Command on `host`, in one of its session lanes. The previous stdout/stderr are not sent
 * as environment variables (sshd refuses them without AcceptEnv, and they may be large).
 */
export function remoteCommand(
  name: string,
  host: RemoteHost,
  args: command.remote.CommandArgs,
  opts: pulumi.CustomResourceOptions & { dependsOn?: pulumi.Input<pulumi.Resource>[] } = {},
): command.remote.Command {
  const slot = host.sessions.slot(opts.dependsOn ?? []);
  const created = new command.remote.Command(
    name,
    { addPreviousOutputInEnv: false, ...args },
    { ...opts, dependsOn: [...(opts.dependsOn ?? []), ...slot.after] },
  );
  slot.taken(created);
  return created;
}

// Everything the components run on a server goes through here: one SSH connection description per
// server, commands run as root (sudo -n when the fleet's SSH user is not root), files pushed through
// stdin (never on a command line). The commands are SshCommand resources (infra/providers/ssh-command).
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { SshEndpoint } from "../model/types";
import type { SshConnection } from "../providers/ssh-command";

/** How the program reaches one server over SSH. */
export interface RemoteHost {
  /** Server name (fleet config). */
  name: string;
  ssh: SshEndpoint;
  /** The fleet's SSH private key (a secret). */
  privateKey: pulumi.Input<string>;
}

export type Connection = SshConnection;

/**
 * The connection of an SshCommand: host/port/user from the fleet config, the key as a secret, the
 * host key pinned: `hostKey` when given (one read on first use), else the declared one, if any.
 */
export function connectionOf(host: RemoteHost, hostKey?: pulumi.Input<string>): pulumi.Output<Connection> {
  return pulumi.secret(
    pulumi.all([host.privateKey, hostKey ?? host.ssh.hostKey]).apply(([privateKey, key]): Connection => ({
      host: host.ssh.host,
      port: host.ssh.port,
      user: host.ssh.user,
      privateKey,
      ...(key ? { hostKey: key } : {}),
      connectTimeout: 20,
      connectionAttempts: 5,
    })),
  );
}

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Single-quotes a word for sh. */
export function shq(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
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

export interface FileSpec {
  path: string;
  /** Octal mode, e.g. "0644". */
  mode: string;
  owner?: string;
  group?: string;
}

/** Writes stdin to `file.path` atomically (temp file in the same directory, then rename). */
export function writeFileScript(file: FileSpec): string {
  const path = shq(file.path);
  const owner = `${file.owner ?? "root"}:${file.group ?? file.owner ?? "root"}`;
  return [
    `f=${path}`,
    `d=$(dirname -- "$f")`,
    `mkdir -p -- "$d"`,
    `t=$(mktemp "$d/.dbk-push.XXXXXX")`,
    `trap 'rm -f -- "$t"' EXIT`,
    // mode before content: a secret never sits in a world-readable file, even for an instant
    `chmod ${shq(file.mode)} "$t"`,
    `chown ${shq(owner)} "$t"`,
    `cat >"$t"`,
    `mv -f -- "$t" "$f"`,
    `trap - EXIT`,
  ].join("\n");
}

export function removeFileScript(path: string): string {
  return `rm -f -- ${shq(path)}`;
}

// SshCommand: a command run on a server over SSH, as a Pulumi dynamic resource (our replacement for
// @pulumi/command's remote.Command, whose provider plugin cannot be built here: see
// scripts/engine/README.md). It runs the system OpenSSH client (`ssh`): the private key goes to a
// 0600 temp file removed after the run, the host key is checked against the pinned one
// (StrictHostKeyChecking=yes with a temp known_hosts) or accepted on first use when none is given.
//
// Life cycle:
//  - create runs `create`;
//  - a change of create, update, stdin or environment runs `update` (default: `create`) IN PLACE:
//    no replacement, no delete;
//  - a change of `delete` or `logging` alone is stored, nothing runs;
//  - a change of the connection alone runs nothing either; it is stored (an update that runs no
//    command) so that later updates and the delete reach the server the way the config says now;
//  - delete runs `delete` (kept in the outputs with the connection: a delete only sees outputs);
//  - a change of the provider's own code (`__provider`) alone is no change at all.
//
// The provider is serialized into the state by Pulumi's closure serialization: its methods are
// self-contained (node modules required inside them, nothing of this project captured).
import * as pulumi from "@pulumi/pulumi";

/** The dynamic resource type: pulumi-nodejs:dynamic/<module>:<type>. */
export const SSH_COMMAND_MODULE = "dolibarr-backup";
export const SSH_COMMAND_TYPE_NAME = "SshCommand";
export const SSH_COMMAND_TYPE = `pulumi-nodejs:dynamic/${SSH_COMMAND_MODULE}:${SSH_COMMAND_TYPE_NAME}`;

/** How to reach a server. The whole connection is kept secret in the state. */
export interface SshConnection {
  host: string;
  port: number;
  user: string;
  /** OpenSSH private key (PEM / "OPENSSH PRIVATE KEY"), a secret. */
  privateKey: string;
  /** "ssh-ed25519 AAAA… [comment]": the server's host key; when absent, the key shown is trusted (first use). */
  hostKey?: string;
  /** Seconds per TCP connection attempt (ssh ConnectTimeout, default 20). */
  connectTimeout?: number;
  /** TCP connection attempts, one second apart (ssh ConnectionAttempts, default 3). */
  connectionAttempts?: number;
}

/** What the error of a failed command may show: its stderr tail (default) or nothing (it may quote secrets). */
export type SshCommandLogging = "stderr" | "none";

export interface SshCommandArgs {
  connection: pulumi.Input<SshConnection>;
  /** sh command line run (by the remote user's shell) on create. */
  create: pulumi.Input<string>;
  /** Run when create, update, stdin or environment change (default: create). */
  update?: pulumi.Input<string>;
  /** Run on delete. */
  delete?: pulumi.Input<string>;
  /** Sent to the command's standard input (kept secret in the state). */
  stdin?: pulumi.Input<string>;
  /** Variables exported before the command (names: [A-Za-z_][A-Za-z0-9_]*). */
  environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** "none": a failure's message does not quote the command's stderr. */
  logging?: pulumi.Input<SshCommandLogging>;
}

/** The inputs and outputs as the provider sees them (plain values). */
export interface SshCommandState {
  connection: SshConnection;
  create: string;
  update?: string;
  delete?: string;
  stdin?: string;
  environment?: Record<string, string>;
  logging?: SshCommandLogging;
  stdout?: string;
  stderr?: string;
}

/** What a run returns. */
export interface SshRunResult {
  stdout: string;
  stderr: string;
}

/**
 * The provider. Plain object, self-contained methods (see the file's header). `run` is the one
 * helper; the engine calls the methods on this object, so `this.run` is the helper.
 */
export const sshCommandProvider = {
  /** Runs `command` on the server of `connection`, `stdin` piped; throws on a non-zero exit. */
  async run(connection: SshConnection, command: string, stdin?: string, environment?: Record<string, string>, logging?: string): Promise<SshRunResult> {
    const cp: typeof import("node:child_process") = require("node:child_process");
    const fs: typeof import("node:fs") = require("node:fs");
    const os: typeof import("node:os") = require("node:os");
    const path: typeof import("node:path") = require("node:path");
    const c = connection ?? ({} as SshConnection);
    const where = `${c.user}@${c.host}:${c.port}`;
    if (!c.host || !c.user || !c.port || !c.privateKey) throw new Error(`ssh ${where}: incomplete connection (host, port, user and privateKey are required)`);
    let script = command;
    const env = environment ?? {};
    const names = Object.keys(env).sort();
    if (names.length > 0) {
      const q = (v: string) => `'${String(v).replace(/'/g, `'\\''`)}'`;
      for (const n of names) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw new Error(`ssh ${where}: invalid environment variable name ${JSON.stringify(n)}`);
      script = `${names.map((n) => `export ${n}=${q(env[n]!)}`).join("\n")}\n${command}`;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-ssh-"));
    try {
      fs.chmodSync(dir, 0o700);
      const keyFile = path.join(dir, "id");
      const key = c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`;
      fs.writeFileSync(keyFile, key, { mode: 0o600 });
      fs.chmodSync(keyFile, 0o600);
      const knownHosts = path.join(dir, "known_hosts");
      const alias = "dolibarr-backup-target";
      let strict = "accept-new";
      if (c.hostKey && c.hostKey.trim()) {
        const [type, blob] = c.hostKey.trim().split(/\s+/);
        if (!type || !blob) throw new Error(`ssh ${where}: the pinned host key is not an OpenSSH public key line`);
        fs.writeFileSync(knownHosts, `${alias} ${type} ${blob}\n`, { mode: 0o600 });
        strict = "yes";
      } else {
        fs.writeFileSync(knownHosts, "", { mode: 0o600 });
      }
      const args = [
        "-F", "/dev/null",
        "-T",
        "-i", keyFile,
        "-p", String(c.port),
        "-l", c.user,
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
        "-o", "BatchMode=yes",
        "-o", "PasswordAuthentication=no",
        "-o", "KbdInteractiveAuthentication=no",
        "-o", `StrictHostKeyChecking=${strict}`,
        "-o", `UserKnownHostsFile=${knownHosts}`,
        "-o", "GlobalKnownHostsFile=/dev/null",
        // The pinned key is recorded under one alias: the port and an IPv6 address need no known_hosts syntax.
        "-o", `HostKeyAlias=${alias}`,
        "-o", "CheckHostIP=no",
        "-o", "UpdateHostKeys=no",
        "-o", `ConnectTimeout=${c.connectTimeout ?? 20}`,
        "-o", `ConnectionAttempts=${c.connectionAttempts ?? 3}`,
        "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=4",
        "-o", "LogLevel=ERROR",
        "--",
        c.host,
        script,
      ];
      const result = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = cp.spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, SSH_AUTH_SOCK: "" } });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        child.on("error", (err) => reject(new Error(`ssh ${where}: cannot start the OpenSSH client (ssh): ${err.message}`)));
        child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
        child.stdin.on("error", () => undefined);
        child.stdin.end(stdin ?? "");
      });
      if (result.code !== 0) {
        const tail = result.stderr.trim().split("\n").slice(-15).join("\n").slice(-2000);
        const what =
          result.code === 255
            ? "ssh failed to connect or to authenticate (exit 255)"
            : result.code === null
              ? `the command was killed (${result.signal})`
              : `the command exited with status ${result.code}`;
        const shown = logging === "none" ? "(stderr not shown: logging none)" : tail ? `stderr:\n${tail}` : "(no stderr)";
        throw new Error(`ssh ${where}: ${what}; ${shown}`);
      }
      return { stdout: result.stdout, stderr: result.stderr };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },

  async create(inputs: SshCommandState & { __provider?: string }): Promise<{ id: string; outs: SshCommandState }> {
    const crypto: typeof import("node:crypto") = require("node:crypto");
    const { __provider: _p, ...outs } = inputs;
    const r = await this.run(inputs.connection, inputs.create, inputs.stdin, inputs.environment, inputs.logging);
    return { id: crypto.randomUUID(), outs: { ...outs, stdout: r.stdout, stderr: r.stderr } };
  },

  async diff(_id: string, olds: SshCommandState, news: SshCommandState): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }> {
    // Stable JSON (sorted keys): the same environment in another order is no change.
    const canon = (v: unknown): string =>
      JSON.stringify(v, (_k, x) =>
        x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, (x as Record<string, unknown>)[k]])) : x,
      ) ?? "undefined";
    const keys = ["create", "update", "stdin", "environment", "delete", "logging", "connection"] as const;
    const changed = keys.filter((k) => canon(olds[k]) !== canon(news[k]));
    // `__provider` is not compared: new provider code alone reruns nothing.
    return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
  },

  async update(_id: string, olds: SshCommandState, news: SshCommandState & { __provider?: string }): Promise<{ outs: SshCommandState }> {
    const canon = (v: unknown): string =>
      JSON.stringify(v, (_k, x) =>
        x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, (x as Record<string, unknown>)[k]])) : x,
      ) ?? "undefined";
    const { __provider: _p, ...outs } = news;
    const rerun = !(["create", "update", "stdin", "environment"] as const).every((k) => canon(olds[k]) === canon(news[k]));
    if (!rerun) {
      // delete, logging or the connection changed: stored, nothing runs.
      return { outs: { ...outs, stdout: olds.stdout ?? "", stderr: olds.stderr ?? "" } };
    }
    const r = await this.run(news.connection, news.update ?? news.create, news.stdin, news.environment, news.logging);
    return { outs: { ...outs, stdout: r.stdout, stderr: r.stderr } };
  },

  async delete(_id: string, props: SshCommandState): Promise<void> {
    if (props.delete === undefined || props.delete === "") return;
    await this.run(props.connection, props.delete, undefined, props.environment, props.logging);
  },
};

/** Outputs that hold secrets: the connection (private key) and stdin (file contents, SQL). */
export const SSH_COMMAND_SECRET_OUTPUTS = ["connection", "stdin"] as const;

/** A command run over SSH (see the file's header for when it runs). */
export class SshCommand extends pulumi.dynamic.Resource {
  declare readonly connection: pulumi.Output<SshConnection>;
  declare readonly create: pulumi.Output<string>;
  declare readonly update: pulumi.Output<string | undefined>;
  declare readonly delete: pulumi.Output<string | undefined>;
  declare readonly stdin: pulumi.Output<string | undefined>;
  declare readonly environment: pulumi.Output<Record<string, string> | undefined>;
  declare readonly logging: pulumi.Output<SshCommandLogging | undefined>;
  declare readonly stdout: pulumi.Output<string>;
  declare readonly stderr: pulumi.Output<string>;

  constructor(name: string, args: SshCommandArgs, opts: pulumi.CustomResourceOptions = {}) {
    const secretOutputs = [...new Set([...(opts.additionalSecretOutputs ?? []), ...SSH_COMMAND_SECRET_OUTPUTS])];
    super(
      sshCommandProvider as unknown as pulumi.dynamic.ResourceProvider,
      name,
      { ...args, stdout: undefined, stderr: undefined },
      { ...opts, additionalSecretOutputs: secretOutputs },
      SSH_COMMAND_MODULE,
      SSH_COMMAND_TYPE_NAME,
    );
  }
}

// A renderer's ServerBundle (files + create + delete) as resources on one server: one
// remote.Command per file (content through stdin, sha256 as trigger) and one "apply" command that
// runs `create` once the files are in place and again whenever one of them (or `create`) changes,
// and `delete` on destroy. Unchanged inputs = no remote command at all on the next `pulumi up`.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { ServerBundle, ServerFile } from "../render/files";
import { asRoot, removeFileScript, sha256, writeFileScript, type Connection, type RemoteHost } from "./remote";

export const BUNDLE_TYPE = "dolibarr-backup:server:Bundle";

/** A file whose content may not be known yet (a public key, the client's minute offset). */
export interface DeferredFile extends Omit<ServerFile, "content"> {
  content: pulumi.Input<string>;
  /** Keep the content (and its hash) encrypted in the state: credentials. */
  secret?: boolean;
}

export interface BundleArgs {
  host: RemoteHost;
  connection: pulumi.Input<Connection>;
  files: DeferredFile[];
  /** sh script run as root after the files are pushed, and again when they change. */
  create: string;
  /** sh script run as root on destroy (before the files' own removal). */
  delete: string;
  /** Resources the apply command waits for, besides the bundle's own files. */
  after?: pulumi.Input<pulumi.Resource>[];
  /** Remove each file when its resource goes (default true). Off for what must survive a destroy. */
  removeFiles?: boolean;
}

/** A resource-name-safe slug of a path: "/etc/systemd/system/x@.timer" -> "etc-systemd-system-x@.timer". */
export function pathSlug(path: string): string {
  return path.replace(/^\/+/, "").replace(/[^A-Za-z0-9@._-]+/g, "-");
}

export class ServerBundleResource extends pulumi.ComponentResource {
  /** Push command of each file, by path. */
  readonly files: Record<string, command.remote.Command> = {};
  /** sha256 of each file's content, by path. */
  readonly hashes: Record<string, pulumi.Output<string>> = {};
  readonly apply: command.remote.Command;

  constructor(name: string, args: BundleArgs, opts?: pulumi.ComponentResourceOptions) {
    super(BUNDLE_TYPE, name, { server: args.host.name, paths: args.files.map((f) => f.path) }, opts);
    const user = args.host.ssh.user;
    const seen = new Set<string>();
    for (const file of args.files) {
      if (seen.has(file.path)) throw new Error(`${name}: ${file.path} is listed twice`);
      seen.add(file.path);
      const content = pulumi.output(file.content);
      const hash = content.apply(sha256);
      this.hashes[file.path] = file.secret ? pulumi.secret(hash) : hash;
      const write = asRoot(user, writeFileScript(file));
      this.files[file.path] = new command.remote.Command(
        `${name}/file/${pathSlug(file.path)}`,
        {
          connection: args.connection,
          create: write,
          // An update, not a replacement: a replacement would run the old delete after the new create.
          update: write,
          ...(args.removeFiles === false ? {} : { delete: asRoot(user, removeFileScript(file.path)) }),
          stdin: file.secret ? pulumi.secret(content) : content,
          triggers: [this.hashes[file.path]],
          addPreviousOutputInEnv: false,
          logging: file.secret ? "none" : "stderr",
        },
        { parent: this, ...(file.secret ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}) },
      );
    }
    const create = asRoot(user, args.create);
    this.apply = new command.remote.Command(
      `${name}/apply`,
      {
        connection: args.connection,
        create,
        update: create,
        delete: asRoot(user, args.delete),
        triggers: [sha256(args.create), ...args.files.map((f) => this.hashes[f.path]!)],
        addPreviousOutputInEnv: false,
      },
      { parent: this, dependsOn: [...Object.values(this.files), ...(args.after ?? [])] },
    );
    this.registerOutputs({ hashes: this.hashes });
  }
}

/** A bundle rendered now, every file known. */
export function knownFiles(bundle: ServerBundle): DeferredFile[] {
  return bundle.files.map((f) => ({ ...f }));
}

/**
 * A bundle whose file contents depend on values known later (a public key, the minute offset),
 * while its shape does not: `shape` is rendered now with stand-in values and gives the paths,
 * modes and commands; `real` renders the same bundle with the real values. Throws (at apply time)
 * if the real bundle differs in anything but file contents.
 */
export function deferredBundle(
  what: string,
  shape: ServerBundle,
  real: pulumi.Output<ServerBundle>,
): Pick<BundleArgs, "files" | "create" | "delete"> {
  const checked = real.apply((b) => {
    const describe = (x: ServerBundle) =>
      JSON.stringify({ files: x.files.map(({ content: _c, ...rest }) => rest), create: x.create, delete: x.delete });
    if (describe(b) !== describe(shape)) {
      throw new Error(`${what}: the rendered files or commands depend on a value known only at deployment (renderer changed?)`);
    }
    return b;
  });
  return {
    files: shape.files.map(({ content: _c, ...file }) => ({
      ...file,
      content: checked.apply((b) => b.files.find((f) => f.path === file.path)!.content),
    })),
    create: shape.create,
    delete: shape.delete,
  };
}

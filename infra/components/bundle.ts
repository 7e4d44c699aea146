// A renderer's ServerBundle (files + create + delete) as resources on one server: one
// SshCommand per file (content through stdin) and one "apply" command that runs `create` once
// the files are in place and again whenever one of them (its sha256 is in the command) or `create`
// changes, and `delete` on destroy. Unchanged inputs = no remote command at all on the next `pulumi up`.
import * as pulumi from "@pulumi/pulumi";
import { SshCommand } from "../providers/ssh-command";
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

/**
 * The first line of an apply command: the sha256 of each file it applies. A changed file changes
 * the command, and a changed command is an update (the command runs again), never a replacement.
 * Why not a replacement (as @pulumi/command's `triggers` did): a replacement runs the new create
 * BEFORE the old delete, which would disable the timers and remove the files just pushed.
 */
export function hashesComment(hashes: ReadonlyArray<readonly [path: string, sha256: string]>): string {
  return `# dolibarr-backup: runs again when one of these changes:${hashes.map(([p, h]) => ` ${p}=sha256:${h}`).join("")}`;
}

export class ServerBundleResource extends pulumi.ComponentResource {
  /** Push command of each file, by path. */
  readonly files: Record<string, SshCommand> = {};
  /** sha256 of each file's content, by path. */
  readonly hashes: Record<string, pulumi.Output<string>> = {};
  readonly apply: SshCommand;

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
      // The content travels as stdin: a changed content is an update that rewrites the file; an
      // unchanged one runs nothing. Never a replacement (see hashesComment).
      this.files[file.path] = new SshCommand(
        `${name}/file/${pathSlug(file.path)}`,
        {
          connection: args.connection,
          create: write,
          update: write,
          ...(args.removeFiles === false ? {} : { delete: asRoot(user, removeFileScript(file.path)) }),
          stdin: file.secret ? pulumi.secret(content) : content,
          logging: file.secret ? "none" : "stderr",
        },
        { parent: this, ...(file.secret ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}) },
      );
    }
    // Credentials (secret files) are read by the jobs at each run: their change needs no apply.
    const applied = args.files.filter((f) => !f.secret);
    const create = pulumi
      .all(applied.map((f) => this.hashes[f.path]!))
      .apply((hashes) => asRoot(user, `${hashesComment(applied.map((f, i) => [f.path, hashes[i]!] as const))}\n${args.create}`));
    this.apply = new SshCommand(
      `${name}/apply`,
      {
        connection: args.connection,
        create,
        update: create,
        delete: asRoot(user, args.delete),
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

/** The parts of a bundle that must not depend on deferred values: paths, modes, owners, commands. */
function shapeOf(bundle: ServerBundle): string {
  return JSON.stringify({
    files: bundle.files.map((f) => ({ path: f.path, mode: f.mode, owner: f.owner, group: f.group })),
    create: bundle.create,
    delete: bundle.delete,
  });
}

/**
 * A bundle whose file contents depend on a value known later (a public key, host keys, the
 * minute offset), while its shape does not. It is rendered now with two different stand-ins:
 * the files that come out the same do not depend on the value and are known at once (even in a
 * first preview); the others take their content from the rendering with the real value, which
 * must have the same shape (checked at apply time: a renderer that starts making paths or
 * commands depend on the value fails the deployment instead of pushing something unplanned).
 */
export function deferredBundle<T>(
  what: string,
  render: (value: T) => ServerBundle,
  standIns: readonly [T, T],
  real: pulumi.Output<T>,
): Pick<BundleArgs, "files" | "create" | "delete"> {
  const a = render(standIns[0]);
  const b = render(standIns[1]);
  if (shapeOf(a) !== shapeOf(b)) throw new Error(`${what}: the rendered paths or commands depend on a value known only at deployment`);
  const varying = new Set(a.files.filter((f, i) => f.content !== b.files[i]!.content).map((f) => f.path));
  const checked = real.apply((value) => {
    const r = render(value as T);
    if (shapeOf(r) !== shapeOf(a)) {
      throw new Error(`${what}: the rendered paths or commands depend on a value known only at deployment (renderer changed?)`);
    }
    return r;
  });
  return {
    files: a.files.map((f): DeferredFile =>
      varying.has(f.path) ? { ...f, content: checked.apply((r) => r.files.find((x) => x.path === f.path)!.content) } : { ...f },
    ),
    create: a.create,
    delete: a.delete,
  };
}

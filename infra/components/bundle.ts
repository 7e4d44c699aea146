// A renderer's ServerBundle (files + create + delete) as ONE remote.Command on one server: the
// files travel framed on stdin (infra/render/push.ts), the command writes them and runs `create`,
// and runs `delete` on destroy. A changed file or script changes the command's inputs: the engine
// runs an update, which runs `create` again in place (no `update` command: one copy of the script in
// the state; only `triggers` would replace), never a replacement (a replacement would run the new
// create BEFORE the old delete, which would disable the timers and remove the files just pushed).
// Unchanged inputs: no remote command at all on the next `pulumi up`.
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ServerBundle, ServerFile } from "../render/files";
import { framePush, pushApplyCall, pushApplyScript, pushDeleteScript } from "../render/push";
import { asRoot, remoteCommand, type Connection, type RemoteHost } from "./remote";

/** The type of the component a bundle's command had as parent before (kept for the alias only). */
export const BUNDLE_TYPE = "dolibarr-backup:server:Bundle";

/** A file whose content may not be known yet (a public key, the client's minute offset). */
export interface DeferredFile extends Omit<ServerFile, "content"> {
  content: pulumi.Input<string>;
}

export interface BundleArgs {
  host: RemoteHost;
  connection: pulumi.Input<Connection>;
  files: DeferredFile[];
  /** sh script run as root after the files are written, and again when the bundle changes. */
  create: string;
  /** sh script run as root on destroy (before the files' own removal). */
  delete: string;
  /** Resources the command waits for. */
  after?: pulumi.Input<pulumi.Resource>[];
  /** Remove the files on destroy and when they leave the bundle (default true). Off for what must survive a destroy. */
  removeFiles?: boolean;
  /**
   * Carry the whole apply program in the command (the server's base installation, which installs
   * it). Every other bundle runs the copy the base put on the server (pushApplyCall): the program
   * is then once per server, not in every command's inputs and outputs in the state.
   */
  selfContained?: boolean;
}

/**
 * A bundle on a server: its one remote.Command `<name>/apply`, a child of `parent` (the server's or
 * the instance's component). No component of its own: a component is one more resource per
 * bundle in the state, and one more step (and full state write) of every `pulumi up`. The command
 * keeps the URN it had under the former `dolibarr-backup:server:Bundle` component through an alias,
 * so that a stack deployed before is updated in place, never replaced (a replacement would run
 * the old delete after the new create).
 */
export class ServerBundleResource {
  /** The one remote command that pushes the files and applies them. */
  readonly apply: command.remote.Command;

  constructor(name: string, args: BundleArgs, opts: { parent: pulumi.Resource }) {
    const user = args.host.ssh.user;
    const contents = args.files.map((f) => pulumi.output(f.content));
    // A file holding credentials (ServerFile.secret: the notifiers' URLs) keeps the frame encrypted in the state.
    const framed = pulumi.all(contents).apply((texts) => framePush(args.files.map((f, i) => ({ ...f, content: texts[i]! }))));
    const stdin = args.files.some((f) => f.secret) ? pulumi.secret(framed) : framed;
    const push = { name, ...(args.removeFiles === undefined ? {} : { removeFiles: args.removeFiles }) };
    const apply = asRoot(user, args.selfContained ? pushApplyScript(args, push) : pushApplyCall(args, push));
    this.apply = remoteCommand(
      `${name}/apply`,
      args.host,
      {
        connection: args.connection,
        create: apply,
        delete: asRoot(user, pushDeleteScript({ delete: args.delete, files: args.files }, push)),
        stdin,
      },
      {
        parent: opts.parent,
        dependsOn: [...(args.after ?? [])],
        aliases: [{ parent: pulumi.createUrn(name, BUNDLE_TYPE, opts.parent) }],
      },
    );
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

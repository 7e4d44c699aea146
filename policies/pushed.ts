// What the stack really pushes: the push frames (infra/render/push.ts) on the stdin of the stack's
// `command:remote:Command` resources, read back into files for the rules of infra/rules/pushed.ts.
// Pure: no engine, no @pulumi/policy runtime (props may be the engine's unknown-checking proxy).
import { STOCK_TYPES } from "../infra/components/contract";
import type { ServerFile } from "../infra/render/files";
import { PUSH_APPLY_PATH, PUSH_FORMAT, unframePush } from "../infra/render/push";
import type { PushedBundle } from "../infra/rules/pushed";
import { isUnknownValueError, type ResourceLike } from "./topology";

/** The first word of every push frame, whatever its version. */
const PUSH_MAGIC = PUSH_FORMAT.split(" ")[0]!;

/** What one remote command pushes. */
export type PushRead =
  /** A command that applies no frame (no stdin, or a password on stdin): no file is written from it. */
  | { kind: "not-a-push"; mentionsAuthorizedKeys: boolean }
  | { kind: "frame"; files: ServerFile[] }
  /** A push (by its name, script or stdin) whose stdin is not a well-formed frame: nothing can vouch for what it writes. */
  | { kind: "malformed"; message: string };

function text(props: Record<string, unknown>, key: string): string | undefined {
  const v = props[key];
  return typeof v === "string" ? v : undefined;
}

/**
 * Reads one remote command's inputs or outputs. It is a push when it is named `<bundle>/apply` (the
 * program's ServerBundleResource), when one of its scripts applies a push frame, or when its stdin
 * is one; a push's stdin must then be a frame unframePush reads. Throws the engine's
 * UnknownValueError when the stdin (or a script) is not known yet (a first preview).
 */
export function readPush(name: string, props: Record<string, unknown>): PushRead {
  const scripts = ["create", "update", "delete"].map((k) => text(props, k) ?? "");
  // A command with no script runs nothing on its server, so it writes no file, whatever its name or
  // stdin (what stays of a lost server's commands, infra/components/lost.ts).
  if (["create", "update", "delete"].every((k) => props[k] === undefined)) return { kind: "not-a-push", mentionsAuthorizedKeys: false };
  // The base installation carries the apply program (it names the format); other bundles source the installed copy.
  const byScript = scripts.some((s) => s.includes(PUSH_FORMAT) || s.includes(PUSH_APPLY_PATH) || s.includes("push-apply"));
  const byName = name.endsWith("/apply");
  let stdin: unknown;
  try {
    stdin = props.stdin;
  } catch (e) {
    // A command that is no push by name or script does not unpack its stdin into files, known or not.
    if (!isUnknownValueError(e) || byName || byScript) throw e;
    return { kind: "not-a-push", mentionsAuthorizedKeys: scripts.some((s) => s.includes("authorized_keys")) };
  }
  const byStdin = typeof stdin === "string" && stdin.startsWith(PUSH_MAGIC);
  if (!byName && !byScript && !byStdin) return { kind: "not-a-push", mentionsAuthorizedKeys: scripts.some((s) => s.includes("authorized_keys")) };
  if (typeof stdin !== "string") return { kind: "malformed", message: `pushes (${byName ? "named …/apply" : "its script applies a push frame"}) but has no stdin frame` };
  try {
    return { kind: "frame", files: unframePush(stdin) };
  } catch (e) {
    return { kind: "malformed", message: `its stdin is not a well-formed ${PUSH_FORMAT} frame: ${(e as Error).message}` };
  }
}

/** host and port of a remote command's `connection` (port 22 when unset). Throws UnknownValueError when unknown. */
export function endpointOf(props: Record<string, unknown>): { host: string; port: number } | undefined {
  const c = props.connection as Record<string, unknown> | undefined;
  if (c === undefined || c === null || typeof c !== "object") return undefined;
  const host = c.host;
  const port = c.port ?? 22;
  if (typeof host !== "string" || typeof port !== "number") return undefined;
  return { host, port };
}

export interface PushScan {
  /** The frames read, one per push command. */
  bundles: PushedBundle[];
  /** Push commands whose stdin is not a frame. */
  malformed: Array<{ urn: string; name: string; message: string }>;
  /** Push commands not known yet (stdin or connection unknown during a preview), with the engine's error. */
  unknown: Error[];
}

/** Every push of a stack's resources. */
export function scanPushes(resources: readonly ResourceLike[]): PushScan {
  const scan: PushScan = { bundles: [], malformed: [], unknown: [] };
  for (const r of resources) {
    if (r.type !== STOCK_TYPES.remoteCommand) continue;
    try {
      const read = readPush(r.name, r.props);
      if (read.kind === "malformed") scan.malformed.push({ urn: r.urn, name: r.name, message: read.message });
      if (read.kind !== "frame") continue;
      let endpoint: PushedBundle["endpoint"];
      try {
        endpoint = endpointOf(r.props);
      } catch (e) {
        if (!isUnknownValueError(e)) throw e;
        scan.unknown.push(e);
        endpoint = "unknown";
      }
      scan.bundles.push({ id: r.urn, name: r.name, files: read.files, ...(endpoint ? { endpoint } : {}) });
    } catch (e) {
      if (!isUnknownValueError(e)) throw e;
      scan.unknown.push(e);
    }
  }
  return scan;
}

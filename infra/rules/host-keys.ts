// The rule on what every remote command of the program connects with: the server's host key,
// pinned (model/host-key.ts). The program only ever builds connections from the fleet config's
// ssh.hostKey; the policy pack checks each command's connection with this function, so that a
// command added later (or a transformation) that connects unpinned is refused before it runs.
import { hostKeyProblem } from "../model/host-key";

export const HOST_KEY_RULE = "ssh.host-key-pinned";
export const HOST_KEY_RULE_DESCRIPTION =
  "Every remote command connects with the server's host key pinned (connection.hostKey), a valid OpenSSH public key line as the fleet config declares it (ssh.hostKey): nothing trusts a host key on first use.";

/**
 * What is wrong with a remote command's connection as to its host key; undefined when it pins a
 * valid one. `connection` is the command's `connection` input (host, port, hostKey, …).
 */
export function connectionHostKeyProblem(connection: unknown): string | undefined {
  if (connection === undefined || connection === null || typeof connection !== "object") return "has no connection the pack can read";
  const c = connection as Record<string, unknown>;
  const host = typeof c.host === "string" ? c.host : undefined;
  const port = typeof c.port === "number" ? c.port : undefined;
  const where = `${host ?? "?"}${port !== undefined && port !== 22 ? `:${port}` : ""}`;
  if (c.hostKey === undefined || c.hostKey === null || c.hostKey === "") {
    return `connects to ${where} without a pinned host key (it would trust whatever key the server shows)`;
  }
  if (typeof c.hostKey !== "string") return `connects to ${where} with a host key that is not a string`;
  const problem = hostKeyProblem(c.hostKey, host, port);
  return problem ? `connects to ${where} with an invalid host key: ${problem}` : undefined;
}

/**
 * The same for a remote command's inputs: a command with no script (create, update, delete) never
 * connects (what stays of a lost server, infra/components/lost.ts) and is not checked.
 */
export function commandHostKeyProblem(props: Record<string, unknown>): string | undefined {
  const runs = ["create", "update", "delete"].some((k) => props[k] !== undefined && props[k] !== null && props[k] !== "");
  return runs ? connectionHostKeyProblem(props.connection) : undefined;
}

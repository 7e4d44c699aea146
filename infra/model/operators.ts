// Fleet key `operators`: the people who log in to the servers as their ssh.user, each with one
// public key and the servers (by name or role) it opens. Validated here; rendered by
// render/operators.ts into the root-owned keys file sshd reads for the deploy user.
import type { ConfigPath, ConfigSource, IssueCollector } from "./errors";
import type { FleetValues } from "./schema";
import { fingerprintOfBlob, parsePublicKey, publicKeyProblem } from "./ssh-keys";
import type { Fleet, Operator, Server } from "./types";

/**
 * The declared operators, checked: unique names, one valid public key line each (no options, its
 * blob decoding to the type it names), each key declared once, servers that exist in the fleet.
 * Problems go to `issues` with their key path (operators[1].publicKey).
 */
export function operatorsFromValues(
  values: FleetValues["operators"],
  serverNames: ReadonlySet<string>,
  source: Pick<ConfigSource, "file" | "locate">,
  issues: IssueCollector,
): Operator[] | undefined {
  if (values === undefined) return undefined;
  const out: Operator[] = [];
  const names = new Map<string, number>();
  const keys = new Map<string, number>();
  values.forEach((o, i) => {
    const at = (...rest: (string | number)[]): ConfigPath => ["operators", i, ...rest];
    const prev = names.get(o.name);
    if (prev !== undefined) issues.add(source, at("name"), `duplicate operator name "${o.name}" (already operators[${prev}]); expected unique names`);
    else names.set(o.name, i);
    const problem = publicKeyProblem(o.publicKey);
    let key: { type: string; blob: string } | undefined;
    if (problem) issues.add(source, at("publicKey"), `${problem}`);
    else {
      key = parsePublicKey(o.publicKey);
      const dup = keys.get(key.blob);
      if (dup !== undefined) {
        issues.add(source, at("publicKey"), `the same key as operators[${dup}] (${values[dup]!.name}); expected one key per operator (a key shared by two people names neither)`);
      } else keys.set(key.blob, i);
    }
    const seen = new Map<string, number>();
    (o.servers ?? []).forEach((s, j) => {
      if (!serverNames.has(s)) issues.add(source, at("servers", j), `unknown server "${s}"; expected one of the fleet's servers: ${[...serverNames].join(", ")}`);
      const p = seen.get(s);
      if (p !== undefined) issues.add(source, at("servers", j), `"${s}" is listed twice (already servers[${p}])`);
      else seen.set(s, j);
    });
    if (o.roles && new Set(o.roles).size !== o.roles.length) issues.add(source, at("roles"), "a role is listed twice; expected hosting and/or backup once each");
    if (o.servers && o.roles) issues.add(source, at("roles"), "both servers and roles; expected one of them (servers: those servers; roles: every server of those roles; neither: every server)");
    if (!key) return;
    out.push({
      name: o.name,
      publicKey: `${key.type} ${key.blob}`,
      fingerprint: fingerprintOfBlob(key.blob),
      ...(o.servers ? { servers: [...o.servers] } : {}),
      ...(o.roles ? { roles: [...new Set(o.roles)] } : {}),
    });
  });
  return out;
}

/** Is SSH access of the fleet's servers managed (the key `operators` declared, even empty)? */
export function accessManaged(fleet: Pick<Fleet, "operators">): boolean {
  return fleet.operators !== undefined;
}

/** The operators whose key opens `server`. */
export function operatorsOn(fleet: Pick<Fleet, "operators">, server: Pick<Server, "name" | "role">): Operator[] {
  return (fleet.operators ?? []).filter((o) => (o.servers ? o.servers.includes(server.name) : o.roles ? o.roles.includes(server.role) : true));
}

// Rule access.restricted-ssh: every replication link (one backup server pulling one instance) is let
// into the hosting server by an authorized_keys line that can do nothing but read the instance's
// files: `restrict` (no pty, no forwarding), `from="<backup server address>"` (the key is useless
// elsewhere) and `command="rrsync -ro <dir>"` (read-only rsync confined to one directory).
// The typed topology does not carry the access declarations (they are facts of the deployed
// program, see infra/model/contract.ts), so this rule takes them alongside the instance.
import type { AccessDeclaration } from "../model/contract";
import { MIN_SOURCE_PREFIX, sourceAddressProblem } from "../model/address";
import type { Severity, Violation } from "../model/types";

export const RULE_ID = "access.restricted-ssh";

/** One instance with the SSH access declared for its backup servers. */
export interface InstanceAccess {
  client?: string;
  instance: string;
  hostingServer: string;
  /** Backup servers of the instance: each needs exactly one restricted declaration. */
  backupServers: string[];
  access: AccessDeclaration[];
  file?: string;
}

/** authorized_keys options that undo part of `restrict` when listed after it. */
const REENABLING = ["agent-forwarding", "port-forwarding", "pty", "user-rc", "x11-forwarding"];

/** Splits an authorized_keys option into its lower-cased name and unquoted value. */
export function parseKeyOption(option: string): { name: string; value?: string } {
  const text = option.trim();
  const eq = text.indexOf("=");
  if (eq < 0) return { name: text.toLowerCase() };
  let value = text.slice(eq + 1).trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return { name: text.slice(0, eq).trim().toLowerCase(), value };
}

/** True when a forced command runs rrsync in read-only mode (`rrsync -ro`, any path to rrsync). */
export function isReadOnlyRrsync(command: string): boolean {
  return /(^|[\s/])rrsync\s+(-[a-z-]+\s+)*-ro(\s|$)/.test(command.trim());
}

/** What is wrong with one declaration's key options; empty when it is restricted enough. */
export function accessProblems(keyOptions: string[]): string[] {
  const options = keyOptions.map(parseKeyOption);
  const problems: string[] = [];
  if (!options.some((o) => o.name === "restrict" && o.value === undefined)) {
    problems.push("no `restrict` option");
  }
  const from = options.filter((o) => o.name === "from");
  if (from.length === 0 || from.every((o) => !o.value)) {
    problems.push('no `from="<backup server address>"` option');
  } else {
    for (const o of from) for (const p of fromPatternProblems(o.value ?? "")) problems.push(p);
  }
  const command = options.filter((o) => o.name === "command");
  if (command.length === 0) {
    problems.push('no `command="rrsync -ro <dir>"` option');
  } else if (command.length > 1) {
    problems.push("several `command=` options");
  } else if (!isReadOnlyRrsync(command[0]!.value ?? "")) {
    problems.push(`forced command \`${command[0]!.value ?? ""}\` is not \`rrsync -ro <dir>\``);
  }
  const reenabled = options.filter((o) => REENABLING.includes(o.name)).map((o) => o.name);
  if (reenabled.length > 0) {
    problems.push(`re-enables ${reenabled.map((n) => `\`${n}\``).join(", ")} after restrict`);
  }
  return problems;
}

/** A wildcard pattern no wider than a /24: three literal IPv4 octets, wildcards in the last one only. */
const LAST_OCTET_PATTERN = /^(?:\d{1,3}\.){3}[0-9*?]{1,3}$/;

/**
 * What keeps a from= pattern list from binding the key to addresses: an entry that names a host
 * (sshd compares from= with the connecting address only, UseDNS no being its default, so the key
 * would always be refused), that is not a valid address or CIDR block, or that is so wide
 * ("*", 0.0.0.0/0) that it binds the key to nothing.
 */
export function fromPatternProblems(value: string): string[] {
  const problems: string[] = [];
  for (const raw of value.split(",")) {
    const negated = raw.trim().startsWith("!"); // a negation only narrows the list
    const entry = raw.trim().replace(/^!/, "");
    if (entry === "") {
      problems.push("an empty entry in `from=`");
    } else if (/[*?]/.test(entry)) {
      if (!/^[0-9A-Fa-f.:*?]+$/.test(entry)) problems.push(`\`from=\` pattern "${entry}" matches host names, which sshd never sees (UseDNS no); expected addresses`);
      else if (!negated && !LAST_OCTET_PATTERN.test(entry)) {
        problems.push(`\`from=\` pattern "${entry}" matches more than one /${MIN_SOURCE_PREFIX[4]} of addresses: any machine there could use the key; expected addresses, CIDR blocks of at most /${MIN_SOURCE_PREFIX[4]} (IPv4) or /${MIN_SOURCE_PREFIX[6]} (IPv6), or wildcards in an IPv4 address's last octet only`);
      }
    } else {
      const problem = sourceAddressProblem(entry);
      if (problem) problems.push(`\`from=\` entry ${problem}`);
    }
  }
  return problems;
}

/**
 * Checks that each backup server of each instance has one access declaration on the hosting
 * server, restricted as above, and that no server outside the instance's backup servers keeps one.
 */
export function checkRestrictedSsh(instances: InstanceAccess[]): Violation[] {
  const violations: Violation[] = [];
  const violation = (ia: InstanceAccess, servers: string[], message: string): Violation => ({
    ruleId: RULE_ID,
    severity: "mandatory",
    message,
    ...(ia.client !== undefined ? { client: ia.client } : {}),
    instance: ia.instance,
    servers,
    ...(ia.file !== undefined ? { file: ia.file } : {}),
  });
  for (const ia of instances) {
    for (const backup of ia.backupServers) {
      const declared = ia.access.filter((a) => a.backupServer === backup);
      const link = `${backup} → ${ia.hostingServer}`;
      if (declared.length === 0) {
        violations.push(
          violation(
            ia,
            [ia.hostingServer, backup],
            `instance ${ia.instance}: no SSH access declared for backup server ${backup} on hosting server ${ia.hostingServer} (replication link ${link} has no restricted key)`,
          ),
        );
        continue;
      }
      for (const decl of declared) {
        const problems = accessProblems(decl.keyOptions);
        if (problems.length > 0) {
          violations.push(
            violation(
              ia,
              [ia.hostingServer, backup],
              `instance ${ia.instance}: SSH key of backup server ${backup} for user ${decl.user} on ${ia.hostingServer} is not restricted: ${problems.join("; ")} (options: ${decl.keyOptions.join(",") || "none"})`,
            ),
          );
        }
      }
    }
    for (const decl of ia.access) {
      if (!ia.backupServers.includes(decl.backupServer)) {
        violations.push(
          violation(
            ia,
            [ia.hostingServer, decl.backupServer],
            `instance ${ia.instance}: SSH access declared for ${decl.backupServer} (user ${decl.user}) on ${ia.hostingServer}, which is not a backup server of the instance: remove that key`,
          ),
        );
      }
    }
  }
  return violations;
}

/**
 * The rule's descriptor, shaped like the rules of rules.ts (id, defaultSeverity, description,
 * configuredBy) but checking the access declarations, which the Topology does not hold.
 */
export const accessRestrictedSsh: {
  id: typeof RULE_ID;
  defaultSeverity: Severity;
  description: string;
  configuredBy: string[];
  check(instances: InstanceAccess[]): Violation[];
} = Object.freeze({
  id: RULE_ID,
  defaultSeverity: "mandatory" as Severity,
  description:
    'Every backup server of an instance is let into the hosting server by one key restricted to read-only rsync: options `restrict`, `from="<backup address>"` and `command="rrsync -ro <dir>"`, nothing re-enabled after restrict; no key left for a server that is not a backup server of the instance.',
  configuredBy: [] as string[],
  check: checkRestrictedSsh,
});

// `npm run access [-- --stack FLEET] [--stacks-dir DIR] [--ssh-key FILE] [--json]`: who can reach
// which server and how, for an audit, from the stack configs alone (offline: no SSH, no engine):
// the deploy key (its fingerprint when --ssh-key or $DOLIBARR_BACKUP_SSH_KEY names the fleet's key
// file), each declared operator, each backup server's pull user on the hosting servers (from=,
// rrsync -ro of its export dir), the status reader. Exit 2 on a usage or config error.
import * as path from "node:path";
import { parseArgs } from "node:util";
import { isLost } from "../infra/model/defaults";
import { accessManaged, operatorsOn } from "../infra/model/operators";
import { fingerprintOfBlob } from "../infra/model/ssh-keys";
import type { Fleet, Server } from "../infra/model/types";
import { ACCESS_KEYS_PATTERN, renderHostingAccess } from "../infra/render";
import { UsageError, runCommand, withUsage } from "./command";
import { deployPublicKeyOf, loadFleets, repoRoot } from "./fleet-access";

const USAGE = `usage: npm run access -- [--json] [--stack FLEET] [--stacks-dir DIR] [--ssh-key FILE]
  Prints, from the stack configs (no SSH), who can log in to each server of the fleet and how: the
  deploy key, the declared operators, the backup servers' read-only pull users, the status reader.
  --ssh-key FILE (or $DOLIBARR_BACKUP_SSH_KEY): the fleet's private key file, to print the deploy key's fingerprint.`;

/** One way into one server. */
export interface AccessEntry {
  kind: "deploy" | "operator" | "backup-pull" | "status" | "unmanaged";
  /** The Unix user it logs in as. */
  user: string;
  /** Operator name, backup server name. */
  who?: string;
  /** "SHA256:…" when known offline. */
  fingerprint?: string;
  /** What it can do there. */
  how: string;
}

export interface ServerAccess {
  server: string;
  role: Server["role"];
  address: string;
  state: "active" | "lost";
  /** The fleet declares operators: sshd reads only the rendered keys file for the deploy user. */
  managed: boolean;
  entries: AccessEntry[];
}

/** A stand-in key for renderHostingAccess: the key options do not depend on the key. */
const STAND_IN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA stand-in";

/** Who can reach each server of `fleet` and how (pure). `deployPublicKey`: the fleet key's public half, when known. */
export function accessListing(fleet: Fleet, deployPublicKey?: string): ServerAccess[] {
  const managed = accessManaged(fleet);
  const deployFp = deployPublicKey ? fingerprintOfBlob(deployPublicKey.trim().split(/\s+/)[1] ?? "") : undefined;
  const backups = fleet.servers.filter((s) => s.role === "backup" && !isLost(s));
  return fleet.servers.map((s) => {
    const base = { server: s.name, role: s.role, address: s.ssh.port === 22 ? s.ssh.host : `${s.ssh.host}:${s.ssh.port}`, state: isLost(s) ? ("lost" as const) : ("active" as const), managed };
    if (isLost(s)) return { ...base, entries: [] };
    const user = s.ssh.user;
    const root = user === "root" ? "a root shell" : `a shell as ${user} (the deploy runs every command through sudo -n)`;
    const entries: AccessEntry[] = [
      {
        kind: "deploy",
        user,
        who: `fleet ${fleet.stack}'s sshPrivateKey`,
        ...(deployFp ? { fingerprint: deployFp } : {}),
        how: `${root}: the deploy (pulumi up), npm run status and drills, failovers`,
      },
    ];
    if (managed) {
      for (const o of operatorsOn(fleet, s)) entries.push({ kind: "operator", user, who: o.name, fingerprint: o.fingerprint, how: `${root}, key in ${ACCESS_KEYS_PATTERN.replace("%u", user)}` });
    } else {
      entries.push({ kind: "unmanaged", user, how: `not managed (the fleet declares no operators): any key in ~${user}/.ssh/authorized_keys{,2} also logs in as ${user}` });
    }
    if (s.role === "hosting") {
      for (const b of backups) {
        const a = renderHostingAccess(fleet, s, b, STAND_IN);
        entries.push({ kind: "backup-pull", user: a.user, who: b.name, how: `read-only rsync of ${a.exportDir} only (${a.keyOptions.join(",")}); key generated on ${b.name}` });
      }
    }
    entries.push({ kind: "status", user, how: "npm run status reads with the deploy key (no separate status reader key)" });
    return { ...base, entries };
  });
}

/** The listing as text, one block per server. */
export function renderAccessText(fleetStack: string, listing: readonly ServerAccess[]): string {
  const out = [`fleet ${fleetStack}: who can reach which server`];
  for (const s of listing) {
    out.push("", `${s.server} (${s.role}, ${s.address})${s.state === "lost" ? ": lost, nothing deployed, not reached" : s.managed ? "" : ": SSH access not managed"}`);
    for (const e of s.entries) {
      const who = e.kind === "operator" ? `operator ${e.who}` : e.kind === "backup-pull" ? `backup server ${e.who}` : e.kind === "deploy" ? "deploy key" : e.kind === "status" ? "status" : "others";
      out.push(`  ${who.padEnd(24)} as ${e.user.padEnd(22)} ${e.fingerprint ?? (e.kind === "deploy" ? "(fingerprint: give --ssh-key)" : "")}`.trimEnd());
      out.push(`  ${"".padEnd(24)} ${e.how}`);
    }
  }
  return out.join("\n") + "\n";
}

export async function main(argv: readonly string[]): Promise<number> {
  return withUsage("access", USAGE, async () => {
    let values;
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: {
          json: { type: "boolean" },
          stack: { type: "string" },
          "stacks-dir": { type: "string" },
          "ssh-key": { type: "string" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
        allowPositionals: false,
      }));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (values.help) {
      process.stdout.write(USAGE + "\n");
      return 0;
    }
    const stacksDir = values["stacks-dir"] ?? path.join(repoRoot(), "stacks");
    const keyFile = values["ssh-key"] ?? process.env.DOLIBARR_BACKUP_SSH_KEY;
    const topologies = loadFleets(stacksDir, values.stack);
    if (!topologies) return 2;
    const deploy = keyFile ? deployPublicKeyOf(keyFile) : undefined;
    const all = topologies.map((t) => ({ fleet: t.fleet.stack, servers: accessListing(t.fleet, deploy) }));
    if (values.json) process.stdout.write(JSON.stringify(all.length === 1 ? all[0] : all, null, 2) + "\n");
    else process.stdout.write(all.map((a) => renderAccessText(a.fleet, a.servers)).join("\n"));
    return 0;
  });
}

if (require.main === module) runCommand("access", main);

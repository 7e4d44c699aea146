// What the scripts that read the servers share (`npm run status`, `npm run drills`): the stack
// configs, loaded with their errors printed, and the fleet's SSH key: --ssh-key, else
// $DOLIBARR_BACKUP_SSH_KEY, else the fleet stack's secret (`pulumi config get
// dolibarr-backup:sshPrivateKey`, needs the engine env), written to a 0600 file for the time of the use.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isConfigError } from "../infra/model/errors";
import { publicKeyOfPrivateKey } from "../infra/model/ssh-keys";
import { loadStacksDir } from "../infra/model/load";
import type { Topology } from "../infra/model/types";
import { formatConfigError } from "../infra/report/text";
import { UsageError } from "./command";

/** The repository (the stacks dir and .status/ are found from it). */
export function repoRoot(): string {
  return process.env.DOLIBARR_BACKUP_PROJECT || path.resolve(__dirname, "../..");
}

/** The options every such script takes: where the stacks are, which fleet, how to log in. */
export interface FleetOptions {
  stacksDir: string;
  stack?: string;
  sshKey?: string;
}

export const FLEET_OPTIONS_USAGE = "[--stack FLEET] [--stacks-dir DIR] [--ssh-key FILE]";

/** The answer to the former --known-hosts option: the fleet config is the one source of host keys. */
export const KNOWN_HOSTS_GONE =
  "--known-hosts is no longer accepted: every server's host key is pinned in the fleet config (ssh.hostKey, mandatory), and only that key is trusted; put a changed key there (docs/config.md#host-keys)";

/**
 * The shared options, and the script's own: `own` maps each of its option names to whether it
 * takes a value ("--out": true) or is a flag ("--json": false). Throws UsageError on anything else.
 */
export function parseFleetArgs(argv: readonly string[], own: Readonly<Record<string, boolean>>): { fleet: FleetOptions; own: Map<string, string | true>; help: boolean } {
  const fleet: FleetOptions = { stacksDir: path.join(repoRoot(), "stacks"), ...(process.env.DOLIBARR_BACKUP_SSH_KEY ? { sshKey: process.env.DOLIBARR_BACKUP_SSH_KEY } : {}) };
  const mine = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === "-h" || a === "--help") return { fleet, own: mine, help: true };
    else if (a === "--stack") fleet.stack = value();
    else if (a === "--stacks-dir") fleet.stacksDir = value();
    else if (a === "--ssh-key") fleet.sshKey = value();
    else if (a === "--known-hosts") throw new UsageError(KNOWN_HOSTS_GONE);
    else if (Object.prototype.hasOwnProperty.call(own, a)) mine.set(a, own[a] ? value() : true);
    else throw new UsageError(`unknown argument ${a}`);
  }
  return { fleet, own: mine, help: false };
}

/** The fleets of `stacksDir` (only `stack` when given); a config error is printed and gives undefined. */
export function loadFleets(stacksDir: string, stack: string | undefined): Topology[] | undefined {
  if (!fs.existsSync(stacksDir)) throw new UsageError(`no stacks directory ${stacksDir}`);
  let loaded;
  try {
    loaded = loadStacksDir(stacksDir);
  } catch (e) {
    if (isConfigError(e)) {
      process.stderr.write(formatConfigError(e) + "\n");
      return undefined;
    }
    throw e;
  }
  const topologies = loaded.topologies.filter((t) => stack === undefined || t.fleet.stack === stack);
  if (topologies.length === 0) throw new UsageError(stack ? `no fleet stack ${stack} in ${stacksDir}` : `no fleet stack in ${stacksDir}`);
  return topologies;
}

/** Runs `use` with a file holding the fleet's SSH private key (`sshKey`, or the stack's secret, removed after). */
export async function withFleetKey<T>(repo: string, topology: Topology, sshKey: string | undefined, use: (keyFile: string) => Promise<T>): Promise<T> {
  if (sshKey) return use(sshKey);
  const r = spawnSync("pulumi", ["config", "get", "dolibarr-backup:sshPrivateKey", "--stack", topology.fleet.stack], { cwd: repo, encoding: "utf8" });
  if (r.status !== 0) {
    throw new UsageError(`no SSH key: give --ssh-key FILE (or DOLIBARR_BACKUP_SSH_KEY), or run in the engine env where pulumi can read the fleet's secret (${(r.stderr || r.error?.message || "").trim().split("\n").pop()})`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-fleet-key-"));
  try {
    const keyFile = path.join(tmp, "id");
    fs.writeFileSync(keyFile, r.stdout.endsWith("\n") ? r.stdout : `${r.stdout}\n`, { mode: 0o600 });
    return await use(keyFile);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** "<type> <base64>" of the private key in `keyFile` (parsed here; else `ssh-keygen -y`, which also reads a key it alone knows). */
export function deployPublicKeyOf(keyFile: string): string {
  try {
    return publicKeyOfPrivateKey(fs.readFileSync(keyFile, "utf8"));
  } catch (e) {
    const r = spawnSync("ssh-keygen", ["-y", "-P", "", "-f", keyFile], { encoding: "utf8" });
    const line = r.status === 0 ? r.stdout.trim().split("\n").pop() : undefined;
    if (!line) throw new UsageError(`cannot read the public key of the fleet's SSH key ${keyFile}: ${(e as Error).message}`);
    return line.split(/\s+/).slice(0, 2).join(" ");
  }
}

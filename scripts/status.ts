// `npm run status [-- --stack FLEET] [--json] [--html FILE] [--ssh-key FILE]
// [--stacks-dir DIR]`: the fleet's backups as they are on the servers, read over SSH, against each
// instance's computed worst-case RPO. Prints a table (or JSON), writes one self-contained HTML page,
// exits 1 when any instance is stale, failing or unknown (2 on a usage or config error).
// The fleet's SSH key: --ssh-key, else $DOLIBARR_BACKUP_SSH_KEY, else the fleet stack's secret
// (`pulumi config get dolibarr-backup:sshPrivateKey`, needs the engine env). Host keys: the pinned
// ssh.hostKey of each server, and no other (no known_hosts file, no key learned on first use).
import * as fs from "node:fs";
import * as path from "node:path";
import { fleetTimeZone } from "../infra/model/defaults";
import { collect } from "../infra/status/collect";
import { renderHtml, renderJson, renderTable } from "../infra/status/render";
import { assess, snapshotSkeleton } from "../infra/status/snapshot";
import { runCommand, withUsage } from "./command";
import { accessManaged } from "../infra/model/operators";
import { deployPublicKeyOf } from "./fleet-access";
import { FLEET_OPTIONS_USAGE, loadFleets, parseFleetArgs, repoRoot, withFleetKey } from "./fleet-access";

const USAGE = `usage: npm run status -- [--json] [--html FILE] ${FLEET_OPTIONS_USAGE}
  Reads, over SSH, the last dump of every instance, its last complete mirror and snapshot and its last
  restore drill on each backup server; compares their ages with the instance's worst-case RPO and the
  fleet's drills.staleDays. Exit 1 when any instance is stale, failing or unknown. The page goes to FILE (default .status/<fleet>.html).`;

export async function main(argv: readonly string[]): Promise<number> {
  const repo = repoRoot();
  return withUsage("status", USAGE, async () => {
    const args = parseFleetArgs(argv, { "--json": false, "--html": true });
    if (args.help) {
      process.stdout.write(USAGE + "\n");
      return 0;
    }
    const { stacksDir, stack, sshKey } = args.fleet;
    const json = args.own.has("--json");
    const html = args.own.get("--html") as string | undefined;
    const topologies = loadFleets(stacksDir, stack);
    if (!topologies) return 2;
    let exit = 0;
    for (const topology of topologies) {
      await withFleetKey(repo, topology, sshKey, async (keyFile) => {
        // The deploy key's public half: declared on every server of a fleet declaring operators.
        const deployPublicKey = accessManaged(topology.fleet) ? deployPublicKeyOf(keyFile) : undefined;
        const skeleton = snapshotSkeleton(topology, new Date(), fleetTimeZone(topology.fleet), deployPublicKey ? { deployPublicKey } : {});
        const snapshot = await collect(topology, skeleton, { privateKeyFile: keyFile });
        const report = assess(snapshot);
        const page = html && topologies.length === 1 ? html : path.join(repo, ".status", `${topology.fleet.stack}.html`);
        fs.mkdirSync(path.dirname(path.resolve(page)), { recursive: true });
        fs.writeFileSync(page, await renderHtml(report));
        if (json) process.stdout.write(renderJson(report) + "\n");
        else process.stdout.write(renderTable(report) + `\npage: ${path.resolve(page)}\n`);
        if (report.exitCode !== 0) exit = 1;
      });
    }
    return exit;
  });
}

if (require.main === module) runCommand("status", main);

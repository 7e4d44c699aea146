// `npm run drills -- [--client NAME] [--out DIR] [--no-pdf] [--stack FLEET] [--stacks-dir DIR]
// [--ssh-key FILE]`: one restore-drill report per client, to hand to it: reads,
// over SSH, the drill history of each of the client's instances on each of its backup servers
// (the status's collection path), writes DIR/<client>-drills.html (self-contained) and, where
// Chromium is installed, DIR/<client>-drills.pdf. Exit 0 when every report is written from every
// backup server, 1 when a backup server could not be read (its copies are marked so), 2 on a usage
// or config error. The drills' verdicts do not change the exit code: `npm run status` alarms.
import * as fs from "node:fs";
import * as path from "node:path";
import { collectDrillHistories } from "../infra/drills/collect";
import { buildClientReport } from "../infra/drills/report";
import { renderClientReport } from "../infra/drills/report-html";
import type { Topology } from "../infra/model/types";
import { findChromium, printToPdf } from "./chromium";
import { runCommand, UsageError, withUsage } from "./command";
import { FLEET_OPTIONS_USAGE, loadFleets, parseFleetArgs, repoRoot, withFleetKey } from "./fleet-access";

const USAGE = `usage: npm run drills -- [--client NAME] [--out DIR] [--no-pdf] ${FLEET_OPTIONS_USAGE}
  Reads, over SSH, the restore drills of the client's instances on each of their backup servers and
  writes DIR/<client>-drills.html (default DIR .drills/), and its PDF where chromium is installed.
  Without --client: a report for every client of the fleet.`;

/** The clients to report on, each with its fleet; a client named but found nowhere (or in two fleets) is a usage error. */
function clientsToReport(topologies: readonly Topology[], client: string | undefined): Array<{ topology: Topology; client: string }> {
  const all = topologies.flatMap((topology) => [...new Set(topology.clients.map((c) => c.client))].map((c) => ({ topology, client: c })));
  if (client === undefined) return all;
  const found = all.filter((x) => x.client === client);
  if (found.length === 0) throw new UsageError(`no client ${client}; the clients are: ${all.map((x) => x.client).join(", ") || "none"}`);
  if (found.length > 1) throw new UsageError(`client ${client} is in fleets ${found.map((x) => x.topology.fleet.stack).join(", ")}: give --stack`);
  return found;
}

export async function main(argv: readonly string[]): Promise<number> {
  const repo = repoRoot();
  return withUsage("drills", USAGE, async () => {
    const args = parseFleetArgs(argv, { "--client": true, "--out": true, "--no-pdf": false });
    if (args.help) {
      process.stdout.write(USAGE + "\n");
      return 0;
    }
    const { stacksDir, stack, sshKey } = args.fleet;
    const out = path.resolve((args.own.get("--out") as string | undefined) ?? path.join(repo, ".drills"));
    const topologies = loadFleets(stacksDir, stack);
    if (!topologies) return 2;
    const wanted = clientsToReport(topologies, args.own.get("--client") as string | undefined);
    const chromium = args.own.has("--no-pdf") ? undefined : findChromium();
    if (!args.own.has("--no-pdf") && !chromium) process.stdout.write("no PDF: chromium is not installed (apt-get install chromium); the HTML reports print as well from a browser\n");
    fs.mkdirSync(out, { recursive: true });
    let exit = 0;
    for (const topology of new Set(wanted.map((w) => w.topology))) {
      const clients = wanted.filter((w) => w.topology === topology).map((w) => w.client);
      const instances = topology.clients.filter((c) => clients.includes(c.client)).flatMap((c) => c.instances);
      const facts = await withFleetKey(repo, topology, sshKey, (keyFile) => collectDrillHistories(topology, instances, { privateKeyFile: keyFile }));
      for (const server of new Set(facts.filter((f) => f.error).map((f) => `${f.server}: ${f.error}`))) {
        process.stderr.write(`drills: could not read ${server}\n`);
        exit = 1;
      }
      const now = new Date();
      for (const client of clients) {
        const report = buildClientReport(topology, client, facts, now);
        const html = path.join(out, `${client}-drills.html`);
        fs.writeFileSync(html, renderClientReport(report));
        const copies = report.instances.flatMap((i) => i.copies);
        const proven = copies.filter((c) => c.state?.status === "ok").length;
        process.stdout.write(`${client}: ${report.instances.length} instance(s), ${proven} of ${copies.length} copies proven: ${html}\n`);
        if (chromium) {
          const pdf = html.replace(/\.html$/, ".pdf");
          printToPdf(chromium, html, pdf);
          process.stdout.write(`${client}: ${pdf}\n`);
        }
      }
    }
    return exit;
  });
}

if (require.main === module) runCommand("drills", main);

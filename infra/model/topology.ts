// One fleet and its clients → one Topology, after checking every reference between them.
import { pullFamilyProblem, sourceAddressesOf } from "./address";
import { findCollisions, INSTANCE_DIR_KEYS } from "./collisions";
import { IssueCollector, locatorOf, type ConfigSource } from "./errors";
import { CLIENT_PLACEHOLDER, DEFAULT_PATH_ROOTS, PROJECT_DIRS, pathProblem, rootProblem, rootsForClient } from "./paths";
import type { ClientStack, Fleet, Server, Topology } from "./types";

/**
 * Checks the references of the clients to the fleet (fleet stack name, hosting and backup servers
 * and their roles, instance names unique across the fleet) and returns the Topology.
 * Throws ConfigError naming the client file and key of every problem.
 */
export function buildTopology(fleet: Fleet, clients: readonly ClientStack[]): Topology {
  const issues = new IssueCollector();
  const topology = topologyFrom(fleet, clients, issues);
  issues.throwIfAny();
  return topology;
}

/** As buildTopology, adding problems to `issues` instead of throwing. */
export function topologyFrom(fleet: Fleet, clients: readonly ClientStack[], issues: IssueCollector): Topology {
  const servers = new Map<string, Server>(fleet.servers.map((s) => [s.name, s]));
  const names = (role: Server["role"]) =>
    fleet.servers.filter((s) => s.role === role).map((s) => s.name).join(", ") || "(none)";
  const instanceOwner = new Map<string, string>();
  const fleetRoots = fleet.pathRoots ?? DEFAULT_PATH_ROOTS;
  const ownDirs = [...PROJECT_DIRS, fleet.mirrorRoot];
  const clientOwner = new Map<string, string>();

  for (const client of clients) {
    const src: Pick<ConfigSource, "file" | "locate"> = { file: client.file, locate: locatorOf(client) };
    if (client.fleetStack !== fleet.stack) {
      issues.add(src, ["fleetStack"], `client belongs to fleet stack "${client.fleetStack}", not "${fleet.stack}" (${fleet.file})`);
      continue;
    }
    const otherClient = clientOwner.get(client.client);
    if (otherClient !== undefined) {
      issues.add(src, ["client"], `client "${client.client}" is already declared in ${otherClient}; expected one stack per client`);
    } else clientOwner.set(client.client, client.file);
    // The fleet's roots as this client's name makes them (<client>): one that becomes a system
    // directory for this name (/var/<client> for client "lib") is refused here, on the client's name.
    const roots: string[] = [];
    fleetRoots.forEach((template, r) => {
      const [root] = rootsForClient([template], client.client);
      const problem = template.includes(CLIENT_PLACEHOLDER) ? rootProblem(root!) : undefined;
      if (problem) issues.add(src, ["client"], `the fleet's pathRoots[${r}] ${template} (${fleet.file}) is ${root} for client "${client.client}": ${problem} for this client's name`);
      else roots.push(root!);
    });

    client.instances.forEach((inst, i) => {
      const owner = instanceOwner.get(inst.name);
      if (owner !== undefined) {
        issues.add(src, ["instances", i, "name"], `instance name "${inst.name}" is already used in ${owner}; expected instance names unique across fleet "${fleet.stack}"`);
      } else instanceOwner.set(inst.name, client.file);

      for (const key of INSTANCE_DIR_KEYS) {
        const problem = pathProblem(inst[key], roots, ownDirs);
        if (problem) issues.add(src, ["instances", i, key], problem);
      }
      const hosting = servers.get(inst.hostingServer);
      if (!hosting) {
        issues.add(src, ["instances", i, "hostingServer"], `unknown server "${inst.hostingServer}" in fleet "${fleet.stack}" (${fleet.file}); expected one of its hosting servers: ${names("hosting")}`);
      } else if (hosting.role !== "hosting") {
        issues.add(src, ["instances", i, "hostingServer"], `"${inst.hostingServer}" is a backup server; expected one of the hosting servers: ${names("hosting")}`);
      }
      inst.backupServers.forEach((b, j) => {
        const at = ["instances", i, "backupServers", j];
        const s = servers.get(b);
        if (b === inst.hostingServer) {
          issues.add(src, at, `"${b}" is the instance's hosting server; expected a backup server (one of: ${names("backup")})`);
        } else if (!s) {
          issues.add(src, at, `unknown server "${b}" in fleet "${fleet.stack}" (${fleet.file}); expected one of its backup servers: ${names("backup")}`);
        } else if (s.role !== "backup") {
          issues.add(src, at, `"${b}" is a hosting server (role: hosting); expected one of the backup servers: ${names("backup")}`);
        } else if (hosting) {
          const problem = pullFamilyProblem(sourceAddressesOf(s), hosting.ssh.host);
          if (problem) issues.add(src, at, `backup server ${b} pulls this instance from hosting server ${hosting.name}: ${problem}; declare servers[${fleet.servers.indexOf(s)}].sourceAddresses in ${fleet.file} with its addresses of both families`);
        }
      });
    });
  }
  const mine = clients.filter((c) => c.fleetStack === fleet.stack);
  for (const c of findCollisions(mine)) {
    const client = mine.find((x) => x.stack === c.at.stack && x.file === c.at.file);
    issues.add({ file: c.at.file, locate: client && locatorOf(client) }, c.at.key === "database" ? ["instances", c.at.index, "database", "name"] : ["instances", c.at.index, c.at.key], c.message);
  }
  return { fleet, clients: mine };
}

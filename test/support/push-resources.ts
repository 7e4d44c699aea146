// What a stack really pushes, as the policy pack sees it: `command:remote:Command` resources named
// `<bundle>/apply` whose stdin is the push frame of the renderers' own bundles (infra/render), built
// from the same hand-made InstanceProps as the components (policy-resources.ts). Tests tamper with
// the files before framing (or with the stdin itself) to make every kind of bad push.
import type { PolicyResource } from "@pulumi/policy";
import { STOCK_TYPES, type InstanceProps, type ServerFacts } from "../../infra/components/contract";
import { planInstance, shiftPlans } from "../../infra/model/schedule";
import type { Fleet, Server, Topology } from "../../infra/model/types";
import type { ServerBundle, ServerFile } from "../../infra/render/files";
import { framePush, pushApplyScript } from "../../infra/render/push";
import { renderBackupInstance, renderHostingAccess, renderHostingInstance, renderServerBase } from "../../infra/render/server";
import { endpointOfAddress } from "../../policies/topology";
import { FLEET_STACK, instanceResource, otherResources, resource, serverResource } from "./policy-resources";
import { testHostKey } from "./host-keys";

/** One remote command that pushes files to one server (before it becomes a resource). */
export interface Push {
  /** The command's resource name: "<bundle name>/apply". */
  name: string;
  server: ServerFacts;
  files: ServerFile[];
  create: string;
}

export function serverOf(f: ServerFacts): Server {
  return { name: f.name, role: f.role, provider: f.provider, site: f.site, ssh: { ...endpointOfAddress(f.address), user: "root", hostKey: testHostKey(f.name) } };
}

/** The topology the program renders a client stack's bundles from (its instances and their servers). */
export function topologyOf(props: readonly InstanceProps[], fleetStack = FLEET_STACK): Topology {
  const servers = new Map<string, Server>();
  for (const p of props) for (const f of [p.hostingServer, ...p.backupServers]) if (!servers.has(f.name)) servers.set(f.name, serverOf(f));
  const fleet: Fleet = {
    stack: fleetStack,
    file: `stacks/Pulumi.${fleetStack}.yaml`,
    servers: [...servers.values()],
    policy: props[0]!.policy,
    mirrorRoot: props[0]!.mirrorRoot,
  };
  const clients = [...new Set(props.map((p) => p.client))].map((client) => ({
    stack: `client-${client}`,
    file: `stacks/Pulumi.client-${client}.yaml`,
    client,
    fleetStack,
    instances: props.filter((p) => p.client === client).map((p) => p.instance),
  }));
  return { fleet, clients };
}

function push(name: string, server: ServerFacts, bundle: ServerBundle): Push {
  return { name: `${name}/apply`, server, files: bundle.files.map((f) => ({ ...f })), create: pushApplyScript(bundle, { name }) };
}

/** The pushes of one instance (its hosting bundle, one replication bundle per backup server), as the program makes them. */
export function instancePushes(props: InstanceProps, minuteOffset: number, topology = topologyOf([props])): Push[] {
  const inst = props.instance;
  const plans = shiftPlans(planInstance(topology.fleet, inst), minuteOffset);
  return [
    push(`${inst.name}/${props.hostingServer.name}`, props.hostingServer, renderHostingInstance(topology, inst)),
    ...props.backupServers.map((b) =>
      push(`${inst.name}/${b.name}`, b, renderBackupInstance(topology, inst, plans.find((p) => p.backupServer === b.name)!)),
    ),
  ];
}

/** A syntactically valid public key standing for a backup server's own (never deployed). */
export function backupKey(n: number): string {
  return `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${String.fromCharCode(65 + (n % 26)).repeat(43)} dolibarr-backup@bk-${n}`;
}

/** A fleet stack's access pushes: one restricted user per (hosting server, backup server). */
export function accessPushes(servers: readonly ServerFacts[]): Push[] {
  const fleet: Fleet = { stack: FLEET_STACK, file: "stacks/Pulumi.fleet.yaml", servers: servers.map(serverOf), policy: undefined as never, mirrorRoot: "/srv/dolibarr-backup/mirrors" };
  const out: Push[] = [];
  servers.forEach((h) => {
    if (h.role !== "hosting") return;
    servers.forEach((b, j) => {
      if (b.role !== "backup") return;
      out.push(push(`${h.name}/access/${b.name}`, h, renderHostingAccess(fleet, serverOf(h), serverOf(b), backupKey(j))));
    });
  });
  return out;
}

/** The base installation pushes of a fleet's servers (scripts, template units, known_hosts). */
export function basePushes(servers: readonly ServerFacts[]): Push[] {
  const fleet: Fleet = { stack: FLEET_STACK, file: "stacks/Pulumi.fleet.yaml", servers: servers.map(serverOf), policy: undefined as never, mirrorRoot: "/srv/dolibarr-backup/mirrors" };
  return servers.map((s) => push(`${s.name}/base`, s, renderServerBase(fleet, serverOf(s))));
}

/** The `connection` of a remote.Command to that server (a secret in the engine; the policy SDK unwraps it). */
export function connectionTo(f: ServerFacts): Record<string, unknown> {
  const { host, port } = endpointOfAddress(f.address);
  return { host, port, user: "root", hostKey: testHostKey(f.name), privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\n(test)\n", dialErrorLimit: 20, perDialTimeout: 20 };
}

/** The props of a push's remote.Command; `stdin` replaces the frame (e.g. an UNKNOWN sentinel or garbage). */
export function commandProps(p: Push, stdin?: unknown): Record<string, unknown> {
  return {
    connection: connectionTo(p.server),
    create: p.create,
    update: p.create,
    delete: "rm -f …",
    stdin: stdin === undefined ? framePush(p.files) : stdin,
    addPreviousOutputInEnv: false,
  };
}

export function commandResource(p: Push, stack: string, stdin?: unknown): PolicyResource {
  return resource(STOCK_TYPES.remoteCommand, p.name, commandProps(p, stdin), stack);
}

/** A remote.Command that pushes no frame: the dump account's, its password on stdin. */
export function passwordCommand(props: InstanceProps, stack: string, stdin: unknown = "Abcdef0123456789Abcdef0123456789\n"): PolicyResource {
  return resource(
    STOCK_TYPES.remoteCommand,
    `${props.instance.name}/${props.hostingServer.name}/db-account`,
    { connection: connectionTo(props.hostingServer), create: "sh -c 'read -r pw; mariadb …'", stdin, logging: "none" },
    stack,
  );
}

/** Edits one pushed file (by path pattern) of the pushes. */
export function editFile(pushes: readonly Push[], path: RegExp, edit: (content: string) => string, server?: string): Push[] {
  let hit = 0;
  const out = pushes.map((p) => ({
    ...p,
    files: p.files.map((f) => {
      if (!path.test(f.path) || (server !== undefined && p.server.name !== server)) return f;
      hit++;
      return { ...f, content: edit(f.content) };
    }),
  }));
  if (hit === 0) throw new Error(`test fixture: no pushed file matches ${path}${server ? ` on ${server}` : ""}`);
  return out;
}

/** A client stack with its Instance components, the dump account commands and every push, at a client minute offset. */
export function pushedClientStack(minuteOffset: number, props: readonly InstanceProps[], pushes?: readonly Push[]): PolicyResource[] {
  const stack = `client-${props[0]!.client}`;
  const topology = topologyOf(props);
  const all = pushes ?? props.flatMap((p) => instancePushes(p, minuteOffset, topology));
  return [
    ...otherResources(stack),
    ...props.map((p) => instanceResource(p, stack)),
    ...props.map((p) => passwordCommand(p, stack)),
    ...all.map((p) => commandResource(p, stack)),
  ];
}

/** A fleet stack: server components, base installation and access pushes. */
export function pushedFleetStack(servers: readonly ServerFacts[], pushes?: readonly Push[]): PolicyResource[] {
  const all = pushes ?? [...basePushes(servers), ...accessPushes(servers)];
  return [...otherResources(FLEET_STACK), ...servers.map((f) => serverResource(f)), ...all.map((p) => commandResource(p, FLEET_STACK))];
}



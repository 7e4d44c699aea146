// What stays, in a stack, of the resources of a server the fleet marks `state: lost`: the same
// resources (same names, same parents, so the same URNs as in the state), each an inert
// remote.Command: no script and no stdin (creating or updating it runs nothing: @pulumi/command
// runs `update`, else `create`, and there is neither), and `retainOnDelete` (the engine never calls
// the provider to delete it: a later `pulumi up` without it, or `pulumi destroy`, only drops it from
// the state). So whatever runs the program, plain `pulumi up`/`preview`, the CI or scripts/deploy,
// nothing connects to the lost server, and no state is edited by hand.
//
// A resource the program stopped declaring would otherwise be deleted by the engine, which runs its
// `delete` script over SSH to the dead server (dial retries, then the whole `up` fails, every time).
//
// The names below mirror those of the components (servers.ts, instance.ts, bundle.ts: "<bundle>/apply");
// test/unit/program-lost.test.ts checks that every command the real components declare on a server
// has its inert twin here, so a renamed resource fails that test instead of an `up` on the bad day.
import { accessManaged } from "../model/operators";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { Fleet, Server } from "../model/types";
import { BUNDLE_TYPE } from "./bundle";
import { TYPES } from "./contract";
import { serverPropsOf } from "./servers";

/** A component that stays of a lost server (same type and name as the real one), its outputs registered at once. */
class Remains extends pulumi.ComponentResource {
  constructor(type: string, name: string, props: Record<string, unknown>, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, props, opts);
    this.registerOutputs(props);
  }
}

/** The options of every resource that stays of a lost server. */
export const LOST_RESOURCE_OPTIONS = { retainOnDelete: true } as const;

/**
 * An inert command on a lost server: its connection names the server (where it used to run), no
 * key, no script, no stdin. An existing command becomes it by an update that runs nothing; a missing
 * one is created running nothing.
 */
export function lostCommand(name: string, server: Server, parent: pulumi.Resource, aliases: pulumi.Input<pulumi.Alias>[] = []): command.remote.Command {
  return new command.remote.Command(
    name,
    { connection: { host: server.ssh.host, port: server.ssh.port, user: server.ssh.user } },
    { parent, ...LOST_RESOURCE_OPTIONS, ...(aliases.length > 0 ? { aliases } : {}) },
  );
}

/**
 * A bundle's one command "<bundle>/apply", inert: a child of `parent` like the live one
 * (ServerBundleResource), with the same alias to the URN it had under its former bundle component.
 */
export function lostBundle(name: string, server: Server, parent: pulumi.Resource): command.remote.Command {
  return lostCommand(`${name}/apply`, server, parent, [{ parent: pulumi.createUrn(name, BUNDLE_TYPE, parent) }]);
}

/**
 * Fleet stack: what stays of a lost server's component (HostingServer/BackupServer, with its
 * contract properties): its host-key read (declared by programs that trusted a key on first use:
 * kept for the fleets they deployed), its base bundle, a backup server's SSH key, a hosting
 * server's access bundle for each backup server of the fleet. Returns the inert commands.
 */
export function lostFleetServer(fleet: Fleet, server: Server, opts: pulumi.ComponentResourceOptions = {}): command.remote.Command[] {
  const props = serverPropsOf(fleet, server);
  const component = new Remains(server.role === "hosting" ? TYPES.hostingServer : TYPES.backupServer, server.name, { ...props }, opts);
  const commands = [lostCommand(`${server.name}/host-key`, server, component), lostBundle(`${server.name}/base`, server, component)];
  // the deploy user's keys push (fleets that declare operators, servers.ts): declared inert too,
  // or the engine would run its delete (restore sshd's own keys files) over SSH to the dead server
  if (accessManaged(fleet)) commands.push(lostBundle(`${server.name}/operators`, server, component));
  if (server.role === "backup") commands.push(lostCommand(`${server.name}/ssh-key`, server, component));
  else for (const b of fleet.servers.filter((s) => s.role === "backup")) commands.push(lostBundle(`${server.name}/access/${b.name}`, server, component));
  return commands;
}

/**
 * Client stack: what stays on a lost server of one instance (a child of its Instance component):
 * its bundle there, and on a hosting server its dump account. Declared for every instance of the
 * stack (the program cannot know which of them used the server before): for an instance that never
 * did, they are created running nothing.
 */
export function lostInstanceRemains(instance: string, server: Server, parent: pulumi.Resource): command.remote.Command[] {
  const commands = [lostBundle(`${instance}/${server.name}`, server, parent)];
  if (server.role === "hosting") commands.push(lostCommand(`${instance}/${server.name}/db-account`, server, parent));
  return commands;
}

// Collisions between instances on one hosting server, across every client stack of a fleet: two
// instances sharing a database, or a directory of one equal to or nesting with a directory of
// another (a dump of one would land in the export of the other, a restore would overwrite it, the
// export's ACLs and bind mounts would hand one client's files to the other's mirror).
// Pure; used by the offline check (model/topology.ts) and the Pulumi program (model/load.ts), which
// sees every client stack of the fleet in the repository.
import { ancestorsOf, isAtOrBelow } from "./paths";
import type { ClientStack, Instance } from "./types";

export type InstanceDirKey = "codeRoot" | "documentsDir" | "dumpDir";
export const INSTANCE_DIR_KEYS: readonly InstanceDirKey[] = ["codeRoot", "documentsDir", "dumpDir"];

/** One side of a collision: which client file, instance and key. */
export interface CollisionSide {
  client: string;
  stack: string;
  file: string;
  instance: string;
  /** Index of the instance in its client's instances. */
  index: number;
  /** "database" or the directory key. */
  key: "database" | InstanceDirKey;
  value: string;
}

export interface Collision {
  fleetStack: string;
  hostingServer: string;
  kind: "database" | "directory";
  /** The instance reported (the later one in client then instance order). */
  at: CollisionSide;
  /** The instance it collides with (the earlier one). */
  with: CollisionSide;
  message: string;
}

function side(client: ClientStack, instance: Instance, index: number, key: CollisionSide["key"], value: string): CollisionSide {
  return { client: client.client, stack: client.stack, file: client.file, instance: instance.name, index, key, value };
}

const where = (s: CollisionSide): string => `instance ${s.instance} (client ${s.client}, ${s.file})`;

/**
 * Every collision between instances of different names on the same hosting server of the same
 * fleet. Linear in the number of instances (each path's ancestors are looked up, not every pair).
 */
export function findCollisions(clients: readonly ClientStack[]): Collision[] {
  const out: Collision[] = [];
  // Per host (fleet and hosting server): its databases, and its directories by path.
  interface Host {
    databases: Map<string, CollisionSide>;
    dirs: Map<string, CollisionSide[]>;
  }
  const hosts = new Map<string, Host>();
  const hostOf = (c: ClientStack, i: Instance): Host => {
    const k = `${c.fleetStack}\u0000${i.hostingServer}`;
    let h = hosts.get(k);
    if (!h) hosts.set(k, (h = { databases: new Map(), dirs: new Map() }));
    return h;
  };
  // First pass: every directory, by host and path.
  for (const client of clients) {
    client.instances.forEach((inst, index) => {
      const { dirs } = hostOf(client, inst);
      for (const key of INSTANCE_DIR_KEYS) {
        const list = dirs.get(inst[key]);
        const s = side(client, inst, index, key, inst[key]);
        if (list) list.push(s);
        else dirs.set(inst[key], [s]);
      }
    });
  }
  let order: Map<string, number> | undefined; // built on the first collision only
  const rank = (s: CollisionSide): number => {
    if (!order) {
      order = new Map();
      let n = 0;
      for (const client of clients) for (const inst of client.instances) order.set(`${client.stack}\u0000${inst.name}`, n++);
    }
    return order.get(`${s.stack}\u0000${s.instance}`) ?? 0;
  };
  const reported = new Set<string>();
  const report = (c: ClientStack, inst: Instance, kind: Collision["kind"], a: CollisionSide, b: CollisionSide): void => {
    const [later, earlier] = rank(a) >= rank(b) ? [a, b] : [b, a];
    const id = `${later.stack}\u0000${later.instance}\u0000${later.key}\u0000${earlier.stack}\u0000${earlier.instance}\u0000${earlier.key}`;
    if (reported.has(id)) return;
    reported.add(id);
    const host = inst.hostingServer;
    let message: string;
    if (kind === "database") {
      message = `database ${later.value} on hosting server ${host} is also used by ${where(earlier)}; expected one database per instance`;
    } else {
      const rel = later.value === earlier.value ? "is also" : isAtOrBelow(later.value, earlier.value) ? "is inside" : "contains";
      message = `${later.key} ${later.value} on hosting server ${host} ${rel} ${earlier.key} ${earlier.value} of ${where(earlier)}; expected directories of their own, none inside another instance's`;
    }
    out.push({ fleetStack: c.fleetStack, hostingServer: host, kind, at: later, with: earlier, message });
  };
  for (const client of clients) {
    client.instances.forEach((inst, index) => {
      const { databases, dirs } = hostOf(client, inst);
      const first = databases.get(inst.database.name);
      if (first === undefined) databases.set(inst.database.name, side(client, inst, index, "database", inst.database.name));
      else if (first.instance !== inst.name || first.stack !== client.stack) {
        report(client, inst, "database", side(client, inst, index, "database", inst.database.name), first);
      }
      for (const key of INSTANCE_DIR_KEYS) {
        const dir = inst[key];
        // The directory itself and each of its ancestors: equal paths and the ones it is inside.
        const check = (p: string): void => {
          const list = dirs.get(p);
          if (list === undefined || (list.length === 1 && list[0]!.instance === inst.name && list[0]!.stack === client.stack)) return;
          for (const other of list) {
            if (other.instance === inst.name && other.stack === client.stack) continue;
            report(client, inst, "directory", side(client, inst, index, key, dir), other);
          }
        };
        check(dir);
        for (const a of ancestorsOf(dir)) check(a);
      }
    });
  }
  return out;
}

/** The collisions that involve one client stack (the program of that stack refuses them). */
export function collisionsOf(clientStack: string, collisions: readonly Collision[]): Collision[] {
  return collisions.filter((c) => c.at.stack === clientStack || c.with.stack === clientStack);
}

// Rule servers.lost: a server the fleet config marks `state: lost` (gone with its datacenter, or
// cancelled) runs nothing any more. Every instance that depended on it is named, with what the
// other rules now require of its config and the fleet's servers that would satisfy them:
//  - hosting server lost: restore the instance onto another hosting server from one of its backup
//    servers (scripts/failover.sh) and make that server its hostingServer; candidates are the
//    active hosting servers far enough from every remaining backup site;
//  - backup server lost: replace it in backupServers by an active backup server at least
//    minDistanceKm from the hosting site and from the other backup sites.
// The program declares nothing on a lost server (see docs/config.md, "A lost server").
import { isLost } from "../model/defaults";
import { distanceKm, sameCity } from "../model/geo";
import type { Server, Site } from "../model/types";
import { describeServer, instancesOf, km, violation, type RuleContext } from "./context";

export const LOST_RULE_ID = "servers.lost";

/** Is `site` far enough (and not in the same city) from every one of `others`? */
function farFrom(site: Site, others: readonly Site[], min: number): boolean {
  return others.every((o) => o.id !== site.id && !sameCity(site, o) && distanceKm(site, o) >= min);
}

/** Active backup servers that could replace a lost one of the instance, nearest first to nothing: by name. */
export function replacementBackups(ctx: RuleContext, hosting: Server | undefined, keep: readonly Server[], exclude: ReadonlySet<string>): Server[] {
  const min = ctx.topology.fleet.policy.minDistanceKm;
  const sites = [...(hosting ? [hosting.site] : []), ...keep.map((s) => s.site)];
  return ctx.topology.fleet.servers
    .filter((s) => s.role === "backup" && !isLost(s) && !exclude.has(s.name) && farFrom(s.site, sites, min))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Active hosting servers an instance could be restored onto, given its remaining backups. */
export function replacementHosting(ctx: RuleContext, backups: readonly Server[], exclude: string): Server[] {
  const min = ctx.topology.fleet.policy.minDistanceKm;
  return ctx.topology.fleet.servers
    .filter((s) => s.role === "hosting" && !isLost(s) && s.name !== exclude && farFrom(s.site, backups.map((b) => b.site), min))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const names = (ss: readonly Server[], at?: Site): string =>
  ss.length === 0 ? "none in the fleet: add one to the fleet stack" : ss.map((s) => (at ? `${describeServer(s)} ${km(distanceKm(at, s.site))} away` : describeServer(s))).join("; ");

export function checkLost(ctx: RuleContext, out: ReturnType<typeof violation>[]): void {
  const min = ctx.topology.fleet.policy.minDistanceKm;
  for (const ref of instancesOf(ctx.topology)) {
    const { instance: inst } = ref;
    const hosting = ctx.servers.get(inst.hostingServer);
    const backups = [...new Set(inst.backupServers)].map((b) => ctx.servers.get(b)).filter((s): s is Server => s !== undefined);
    const active = backups.filter((s) => !isLost(s));
    if (hosting && isLost(hosting)) {
      const sources = active.map((s) => s.name);
      const targets = replacementHosting(ctx, active, hosting.name);
      out.push(
        violation(LOST_RULE_ID, "mandatory", ref, [hosting.name, ...sources], `instance ${inst.name}: its hosting server ${describeServer(hosting)} is lost (state: lost); ` +
          (sources.length
            ? `required: restore it from the newest complete mirror on ${sources.join(" or ")} (scripts/failover.sh) onto another hosting server at least ${min} km from its backup sites, then set hostingServer to it; candidates: ${names(targets)}`
            : `and so is every backup server; nothing is left to restore it from`),
        ),
      );
    }
    for (const b of backups.filter(isLost)) {
      const candidates = replacementBackups(ctx, hosting && !isLost(hosting) ? hosting : undefined, active, new Set(inst.backupServers));
      out.push(
        violation(LOST_RULE_ID, "mandatory", ref, [b.name], `instance ${inst.name}: its backup server ${describeServer(b)} is lost (state: lost); ` +
          `${active.length} backup server(s) left (${active.map((s) => s.name).join(", ") || "none"}); required: replace it in backupServers by an active backup server at least ${min} km from the hosting site${hosting ? ` (${hosting.site.city})` : ""} and from the other backup sites; candidates: ${names(candidates, hosting?.site)}`,
        ),
      );
    }
  }
}

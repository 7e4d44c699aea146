// Encryption at rest of the backup servers (issue 22 point 7): the fleet key `encryptionAtRest`,
// and what the servers report about their data directories, judged. Pure.
//
// The mirrors, their snapshots, the binlogs and the drills' restored copies hold every client's
// database and documents, conf.php's passwords included. On a rented disk they are readable at its
// disposal, or by whoever boots the server in rescue mode, unless they sit on an encrypted volume.
import type { Fleet } from "./types";

export const AT_REST_MODES = ["required", "advisory", "off"] as const;
export type AtRestMode = (typeof AT_REST_MODES)[number];

/**
 * advisory: reported by `npm run status` and logged by the jobs, nothing refused. Servers already
 * rented without an encrypted volume keep running; a fleet that has moved them all says required.
 */
export const DEFAULT_AT_REST: AtRestMode = "advisory";

export function atRestOf(fleet: Pick<Fleet, "encryptionAtRest">): AtRestMode {
  return fleet.encryptionAtRest ?? DEFAULT_AT_REST;
}

/** One data directory of a backup server, as dbk_at_rest (dolibarr-backup-common.sh) reports it. */
export interface AtRestFact {
  dir: string;
  state: "encrypted" | "plain" | "unknown";
  /** encrypted: how ("dm-crypt luks-…", "fscrypt (ext4 /dev/…)"); plain: "FSTYPE SOURCE"; unknown: why. */
  how: string;
}

/** Parses dbk_at_rest's lines (DIR<TAB>STATE<TAB>HOW); a line of another shape is skipped. */
export function parseAtRest(text: string): AtRestFact[] {
  const facts: AtRestFact[] = [];
  for (const line of text.split("\n")) {
    const [dir, state, ...how] = line.split("\t");
    if (!dir?.startsWith("/") || (state !== "encrypted" && state !== "plain" && state !== "unknown")) continue;
    facts.push({ dir, state, how: how.join("\t").trim() });
  }
  return facts;
}

/**
 * A backup server's data directories judged by the fleet's mode: `failing` (required: a directory
 * not encrypted, or none reported) and `warnings` (advisory: the same, said without a worse status).
 * `facts` undefined: the server's report has no such part (its scripts older than this check).
 */
export function assessAtRest(mode: AtRestMode, server: string, facts: readonly AtRestFact[] | undefined): { failing: string[]; warnings: string[] } {
  if (mode === "off") return { failing: [], warnings: [] };
  const problems: string[] = [];
  if (facts === undefined || facts.length === 0) {
    problems.push(`${server}: encryption at rest not reported (its scripts predate the check: deploy the fleet)`);
  } else {
    for (const f of facts) {
      if (f.state === "plain") problems.push(`${server}: ${f.dir} is not on an encrypted volume (${f.how}): its copies sit in plain text on the server's disks`);
      else if (f.state === "unknown") problems.push(`${server}: whether ${f.dir} is encrypted cannot be told (${f.how})`);
    }
  }
  const suffix = ` (encryptionAtRest: ${mode})`;
  return mode === "required" ? { failing: problems.map((p) => p + suffix), warnings: [] } : { failing: [], warnings: problems.map((p) => p + suffix) };
}

// The cap on SSH sessions at once on one server, shared by every stack that deploys at the same time.
// Pure (no Pulumi import): the program reads its share of the cap here, and the deploy runner
// (scripts/deploy) and the users' CI split the cap between the stacks they run at once.
//
// sshd drops new unauthenticated connections beyond MaxStartups (default 10:30:100). One program
// run keeps at most `lanes` remote commands in flight per server (SessionLanes, remote.ts); stacks
// that run at once add up, so whoever runs P stacks at once gives each floor(cap / P) lanes:
// P × lanes ≤ cap on every server, whichever servers the stacks share.

/** Sessions at once on one server, over all the stacks that deploy at once. */
export const SESSIONS_PER_HOST = 5;

/** The environment variable that gives one program run its lanes per server (default SESSIONS_PER_HOST). */
export const SESSIONS_ENV = "DOLIBARR_BACKUP_SESSIONS_PER_HOST";

/** The lanes per server of this program run, from `env` (a clear error naming the variable when malformed). */
export function sessionLanesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[SESSIONS_ENV];
  if (raw === undefined || raw === "") return SESSIONS_PER_HOST;
  if (!/^[1-9][0-9]*$/.test(raw.trim()) || Number(raw) > SESSIONS_PER_HOST) {
    throw new Error(`environment variable ${SESSIONS_ENV}=${JSON.stringify(raw)}: expected a whole number of SSH sessions per server from 1 to ${SESSIONS_PER_HOST} (the cap per server)`);
  }
  return Number(raw);
}

export interface SessionPlan {
  /** Stacks deployed at once. */
  parallelism: number;
  /** Lanes per server given to each of them (SESSIONS_ENV). */
  lanes: number;
}

/**
 * How `wanted` stacks at once share the cap: never more stacks at once than the cap (each needs a
 * lane), each floor(cap / stacks) lanes, so that stacks × lanes ≤ cap on any server.
 */
export function sessionPlan(wanted: number, cap: number = SESSIONS_PER_HOST): SessionPlan {
  if (!Number.isInteger(wanted) || wanted < 1) throw new Error(`stacks at once: expected a whole number ≥ 1, got ${wanted}`);
  const parallelism = Math.min(wanted, cap);
  return { parallelism, lanes: Math.floor(cap / parallelism) };
}

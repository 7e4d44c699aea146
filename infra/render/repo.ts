// Locates the repository's files that the renderers read at render time (the shell scripts
// of scripts/server/): the text pushed to servers is the file in the repo, never a copy.
import * as fs from "node:fs";
import * as path from "node:path";

let cachedRoot: string | undefined;

function findUp(start: string): string | undefined {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, "scripts", "server", "dolibarr-backup-common.sh"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The repository root: $DOLIBARR_BACKUP_REPO when set, else the nearest ancestor of this
 * module (src or dist/) holding scripts/server/, else of the working directory.
 */
export function repoRoot(): string {
  if (cachedRoot) return cachedRoot;
  const found = process.env.DOLIBARR_BACKUP_REPO || findUp(__dirname) || findUp(process.cwd());
  if (!found) throw new Error(`cannot find the repository root (scripts/server/) above ${__dirname} or ${process.cwd()}`);
  cachedRoot = found;
  return found;
}

export const SERVER_SCRIPTS = [
  "dolibarr-backup-common.sh",
  "dolibarr-dump",
  "dolibarr-export",
  "dolibarr-replicate",
  "dolibarr-restore",
  "dolibarr-drill",
  "dolibarr-notify",
  "dolibarr-binlog-setup",
  "dolibarr-binlog-replay",
  "dolibarr-binlog-pull",
] as const;
export type ServerScript = (typeof SERVER_SCRIPTS)[number];

/** Absolute path of a script of scripts/server/ in this checkout. */
export function serverScriptPath(name: ServerScript): string {
  return path.join(repoRoot(), "scripts", "server", name);
}

const scriptCache = new Map<string, string>();

/** Text of a script of scripts/server/ (read once per process). */
export function readServerScript(name: ServerScript): string {
  let text = scriptCache.get(name);
  if (text === undefined) {
    text = fs.readFileSync(serverScriptPath(name), "utf8");
    scriptCache.set(name, text);
  }
  return text;
}

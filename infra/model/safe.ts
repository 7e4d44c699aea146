// Guards on config values before anything reads them: keys that reach object prototypes, and the
// size of the value once YAML aliases are expanded. Pure.
import type { ConfigPath } from "./errors";
import { pathLengthProblem } from "./paths";

/**
 * An absolute Unix path of letters, digits and ._@+-, without "." or ".." segments nor a trailing
 * slash: safe unquoted in a shell command, in a systemd unit (no % specifier, no space, no quote, no
 * backslash) and in an env file (no newline, no NUL). The one rule for every directory a config
 * names (schema.ts) and every path a renderer writes onto a server (infra/render).
 */
export const SAFE_PATH_RE = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._@+-]+)+$/;
export const SAFE_PATH_HINT = "expected an absolute Unix path of letters, digits and ._@+- without '..' or a trailing '/' (e.g. /var/www/acme/htdocs)";

/** What makes `p` unsafe as a path on a server (SAFE_PATH_RE, Linux length limits); undefined when safe. */
export function unsafePathProblem(p: unknown): string | undefined {
  if (typeof p !== "string") return `${SAFE_PATH_HINT}, got ${p === undefined ? "nothing" : typeof p}`;
  if (!SAFE_PATH_RE.test(p)) return SAFE_PATH_HINT;
  return pathLengthProblem(p);
}

/** MariaDB database names this project accepts: an unquoted identifier of letters, digits and '_'. */
export const SAFE_DATABASE_RE = /^[A-Za-z0-9_]{1,64}$/;

/**
 * MariaDB's own databases: never an instance's. The dump account of `mysql` would read every
 * account's password hash, a restore with --force would overwrite the server's accounts, and these
 * names are the same database whatever their case on some servers (information_schema always).
 */
export const SYSTEM_DATABASES: readonly string[] = Object.freeze(["mysql", "sys", "information_schema", "performance_schema"]);
/** The project's own database on every hosting server with binlogs on (dolibarr-binlog-setup's heartbeat). */
export const PROJECT_DATABASES: readonly string[] = Object.freeze(["dolibarr_backup_heartbeat"]);

/** What makes `name` wrong as an instance's database beyond its shape (a system or project database, any case); undefined when fine. */
export function databaseNameProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (SYSTEM_DATABASES.includes(lower)) {
    return `${name} is a MariaDB system database (${SYSTEM_DATABASES.join(", ")}, in any case); expected the instance's own database (e.g. dolibarr_acme)`;
  }
  if (PROJECT_DATABASES.includes(lower)) return `${name} is the project's own database (the binlog heartbeat); expected the instance's own database (e.g. dolibarr_acme)`;
  return undefined;
}

/** Keys that reach or replace an object's prototype when a program assigns or reads them. */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Paths of every prototype-reaching key at any depth (own keys, and objects whose prototype was
 * replaced, which a `values[key] = …` with key "__proto__" does). Shared sub-values (YAML aliases)
 * are walked once.
 */
export function unsafeKeyPaths(value: unknown): ConfigPath[] {
  const out: ConfigPath[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown, path: (string | number)[]): void => {
    if (typeof v !== "object" || v === null || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...path, i]));
      return;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) out.push([...path, "__proto__"]);
    for (const k of Object.keys(v)) {
      if (UNSAFE_KEYS.has(k)) out.push([...path, k]);
      else walk((v as Record<string, unknown>)[k], [...path, k]);
    }
  };
  walk(value, []);
  return out;
}

/**
 * The number of nodes of `value` once every shared sub-value (YAML alias) is expanded, counted
 * without expanding (memoized by identity); stops counting above `limit`.
 */
export function expandedSize(value: unknown, limit: number): number {
  const memo = new Map<object, number>();
  const size = (v: unknown): number => {
    if (typeof v !== "object" || v === null) return 1;
    const known = memo.get(v);
    if (known !== undefined) return known;
    memo.set(v, limit + 1); // a cycle counts as too big
    let n = 1;
    for (const x of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) {
      n += size(x);
      if (n > limit) break;
    }
    memo.set(v, n);
    return n;
  };
  return size(value);
}

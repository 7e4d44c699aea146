// Which directories a config may hand to the jobs. An instance's code root, documents and dump
// directories and a backup server's mirror root are changed by what is pushed (`install -d -m …`,
// a recursive read ACL for the backup user, a read-only bind mount exported over rrsync, a mirror
// written as root): a system directory there would have its mode changed or be copied off the server.
// So every such path must lie strictly below one of the allowed roots (configurable per fleet), must
// not be, contain or sit inside a system directory's protected tree, and must stay clear of the
// project's own directories. Pure: no I/O.

/**
 * Default allowed roots for Debian web hosting: where Dolibarr instances, their documents and dumps
 * live in practice (the Debian `dolibarr` package puts its code in /usr/share/dolibarr and its
 * documents in /var/lib/dolibarr; the project's default dump directories are under /var/backups/dolibarr).
 * Not /home nor /opt: below them are users' homes (their SSH keys, their mail) and other software,
 * which a config must not be able to hand to the jobs (a read ACL for the backup users, a mirror on
 * every backup server) by default; a fleet that keeps instances there says so (fleet key pathRoots).
 * The server jobs hold the same list (DBK_DEFAULT_PATH_ROOTS in dolibarr-backup-common.sh) for an
 * instance config rendered without PATH_ROOTS.
 */
export const DEFAULT_PATH_ROOTS: readonly string[] = Object.freeze([
  "/var/www",
  "/srv",
  "/var/lib/dolibarr",
  "/usr/share/dolibarr",
  "/var/backups/dolibarr",
]);

/** In an allowed root, what stands for the client's name: "/var/www/<client>" is /var/www/acme for client acme's instances. */
export const CLIENT_PLACEHOLDER = "<client>";

/** The allowed roots of one client's instances: the fleet's roots with <client> replaced by its name, each once. */
export function rootsForClient(roots: readonly string[], client: string): string[] {
  return [...new Set(roots.map((r) => r.split(CLIENT_PLACEHOLDER).join(client)))];
}

/**
 * System directories (FHS and Debian): none of them, and none of their ancestors ("/", "/var"), may be
 * an instance or mirror directory, nor an allowed root.
 */
export const SYSTEM_DIRS: readonly string[] = Object.freeze([
  "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found",
  "/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/tmp", "/usr",
  "/usr/bin", "/usr/games", "/usr/include", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec",
  "/usr/local", "/usr/local/bin", "/usr/local/etc", "/usr/local/lib", "/usr/local/sbin", "/usr/local/share",
  "/usr/sbin", "/usr/share", "/usr/src", "/var", "/var/backups", "/var/cache", "/var/lib", "/var/local",
  "/var/lock", "/var/log", "/var/mail", "/var/opt", "/var/run", "/var/spool", "/var/tmp", "/var/www",
  "/var/lib/mysql", "/var/lib/dpkg", "/var/lib/apt", "/var/lib/systemd",
]);

/** Trees whose every path belongs to the system: nothing below them is ever ours to change. */
export const SYSTEM_TREES: readonly string[] = Object.freeze([
  "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run", "/sbin",
  "/sys", "/tmp", "/var/tmp", "/var/run", "/var/lock", "/var/log", "/var/cache", "/var/spool", "/var/mail",
  "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec", "/usr/include",
  "/var/lib/mysql", "/var/lib/dpkg", "/var/lib/apt", "/var/lib/systemd",
]);

/**
 * The project's own directories on the servers (infra/render/paths.ts PATHS, and the default
 * mirror root): an instance directory inside one would be exported, mirrored or overwritten by the jobs.
 * A unit test holds this list in step with the renderers' paths.
 */
export const PROJECT_DIRS: readonly string[] = Object.freeze([
  "/etc/dolibarr-backup",
  "/var/lib/dolibarr-backup",
  "/usr/local/lib/dolibarr-backup",
  "/srv/dolibarr-backup",
]);

/** Linux limits: one path component (NAME_MAX) and a whole path (PATH_MAX, with its final NUL). */
export const NAME_MAX_BYTES = 255;
export const PATH_MAX_BYTES = 4095;

/** Is `inner` equal to `outer` or below it (both normalized absolute paths)? */
export function isAtOrBelow(inner: string, outer: string): boolean {
  if (outer === "/") return true;
  return inner === outer || (inner.length > outer.length && inner.charCodeAt(outer.length) === 47 && inner.startsWith(outer));
}

/** The strict ancestors of a normalized absolute path, nearest first ("/a/b/c" → "/a/b", "/a", "/"). */
export function* ancestorsOf(p: string): Generator<string> {
  for (let i = p.lastIndexOf("/"); p !== "/"; i = p.lastIndexOf("/", i - 1)) {
    yield i <= 0 ? "/" : p.slice(0, i);
    if (i <= 0) return;
  }
}

const SYSTEM_DIR_SET = new Set(SYSTEM_DIRS);
const SYSTEM_TREE_SET = new Set(SYSTEM_TREES);
/** Each strict ancestor of a system directory → the first system directory below it. */
const SYSTEM_ANCESTORS = new Map<string, string>();
for (const d of SYSTEM_DIRS) for (const a of ancestorsOf(d)) if (!SYSTEM_ANCESTORS.has(a)) SYSTEM_ANCESTORS.set(a, d);

/** Strictly below. */
export function isBelow(inner: string, outer: string): boolean {
  return inner !== outer && isAtOrBelow(inner, outer);
}

/** Do two paths nest (equal, or one inside the other)? */
export function nests(a: string, b: string): boolean {
  return isAtOrBelow(a, b) || isAtOrBelow(b, a);
}

/**
 * What makes a directory harmful whatever the allowed roots: being a system directory or an
 * ancestor of one, lying inside a system tree, or overlapping one of `ownDirs` (the project's own).
 */
export function systemPathProblem(p: string, ownDirs: readonly string[] = PROJECT_DIRS): string | undefined {
  if (SYSTEM_DIR_SET.has(p)) return `${p} is a system directory; expected a directory of its own below it`;
  const system = SYSTEM_ANCESTORS.get(p);
  if (system !== undefined) return `${p} contains the system directory ${system}; expected a directory of its own`;
  for (const a of ancestorsOf(p)) {
    if (SYSTEM_TREE_SET.has(a)) return `${p} is inside the system directory ${a}; expected a directory outside the system's`;
  }
  const own = ownDirs.find((d) => nests(p, d));
  if (own !== undefined) return `${p} overlaps the project's own directory ${own}; expected a directory outside it`;
  return undefined;
}

/** What is wrong with a directory the jobs will change; undefined when it may be used. */
export function pathProblem(p: string, roots: readonly string[], ownDirs: readonly string[] = PROJECT_DIRS): string | undefined {
  const problem = systemPathProblem(p, ownDirs);
  if (problem !== undefined) return problem;
  if (!roots.some((r) => isBelow(p, r))) {
    return `${p} is not below an allowed root; expected a directory below one of ${roots.join(", ")} (fleet key pathRoots, <client> standing for the client's name)`;
  }
  return undefined;
}

/**
 * What is wrong with an allowed root itself: "/", a system tree, an ancestor of a system directory.
 * A root holding <client> is checked as a client's name would make it (rootsForClient): the fleet
 * checks it with a neutral name, the topology once per client.
 */
export function rootProblem(root: string): string | undefined {
  if (root === "/") return "/ cannot be an allowed root; expected directories such as /var/www or /srv";
  const ancestor = SYSTEM_DIRS.find((s) => s !== root && isBelow(s, root));
  if (ancestor !== undefined) return `${root} contains the system directory ${ancestor}; expected a narrower root`;
  const tree = SYSTEM_TREES.find((t) => isAtOrBelow(root, t));
  if (tree !== undefined) return `${root} is in the system directory ${tree}; expected a root outside it`;
  const own = PROJECT_DIRS.find((d) => isAtOrBelow(root, d));
  if (own !== undefined) return `${root} is inside the project's own directory ${own}; expected a root outside it`;
  return undefined;
}

/** Byte-length problems of a path (a component over NAME_MAX, the whole over PATH_MAX). */
export function pathLengthProblem(p: string): string | undefined {
  if (Buffer.byteLength(p) > PATH_MAX_BYTES) return `path is ${Buffer.byteLength(p)} bytes; expected at most ${PATH_MAX_BYTES}`;
  const long = p.split("/").find((c) => Buffer.byteLength(c) > NAME_MAX_BYTES);
  if (long !== undefined) return `path component "${long.slice(0, 20)}…" is ${Buffer.byteLength(long)} bytes; expected at most ${NAME_MAX_BYTES}`;
  return undefined;
}

// The minimum rsync of the backup servers (issue 22 point 6): the fleet key `rsync`, and the rsync a
// server reports, judged. Pure.
//
// A pull runs rsync as root on the backup server against a hosting server that may be compromised:
// a malicious sender. rsync 3.4.0 (January 2025) fixed CVE-2024-12084..12088 and CVE-2024-12747 (a
// heap overflow, an information leak, a path traversal and a --safe-links bypass a malicious
// server can use against its client). A distribution backports such fixes without changing the
// upstream version: Debian 12's 3.2.7-1+deb12u1 carries them all, yet says "3.2.7". So a bare
// upstream comparison is wrong both ways (it refuses a fixed Debian package, and cannot tell an
// unfixed 3.2.7 from it): an rsync passes when its upstream version is at least `minVersion`, or
// when its distribution package is at least one of `minPackages` of the same package line (same
// upstream version and revision up to the trailing update number: "3.2.7-1+deb12u" for
// 3.2.7-1+deb12u1), compared as dpkg compares versions.
import type { Fleet } from "./types";

/** The upstream release that fixed CVE-2024-12084..12088 and CVE-2024-12747: no fleet may ask for less. */
export const RSYNC_CVE_FLOOR = "3.4.0";

export interface RsyncSettings {
  /** Upstream version ("3.4.0"): an rsync at or above it passes. */
  minVersion: string;
  /** Distribution package versions ("3.2.7-1+deb12u1") whose line carries the same fixes: at or above one of them passes. */
  minPackages: string[];
}

export const DEFAULT_RSYNC: RsyncSettings = Object.freeze({
  minVersion: RSYNC_CVE_FLOOR,
  // Debian 12's security update of December 2024 (DSA-5843: the 3.4.0 fixes, protocol raised to 32).
  minPackages: Object.freeze(["3.2.7-1+deb12u1"]) as unknown as string[],
});

export function rsyncSettingsOf(fleet: Pick<Fleet, "rsync">): RsyncSettings {
  return { minVersion: fleet.rsync?.minVersion ?? DEFAULT_RSYNC.minVersion, minPackages: [...(fleet.rsync?.minPackages ?? DEFAULT_RSYNC.minPackages)] };
}

export const UPSTREAM_VERSION_RE = /^\d{1,4}\.\d{1,4}\.\d{1,4}$/;
/** A Debian version with a revision (the package line is read from it): [epoch:]upstream-revision. */
export const PACKAGE_VERSION_RE = /^(\d+:)?[0-9][A-Za-z0-9.+~]*-[A-Za-z0-9.+~]+$/;

/**
 * Compares two upstream versions as rsync prints them ("3.2.7", "3.4.0pre1", "3.10.1dev"): the
 * numbers first, then a release (no suffix) after any pre-release suffix. -1, 0 or 1.
 */
export function compareUpstream(a: string, b: string): number {
  const parse = (v: string): [number[], string] => {
    const m = /^(\d+(?:\.\d+)*)(.*)$/.exec(v.trim());
    return m ? [m[1]!.split(".").map(Number), m[2]!] : [[], v];
  };
  const [na, sa] = parse(a);
  const [nb, sb] = parse(b);
  for (let i = 0; i < Math.max(na.length, nb.length); i++) {
    const d = (na[i] ?? 0) - (nb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  if (sa === sb) return 0;
  if (sa === "") return 1;
  if (sb === "") return -1;
  return sa < sb ? -1 : 1;
}

/** dpkg's order of two version parts' non-digit runs: ~ first, then the end, letters, the rest. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === "~") return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}
function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let first = 0;
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ac = i < a.length && !/\d/.test(a[i]!) ? order(a[i]) : 0;
      const bc = j < b.length && !/\d/.test(b[j]!) ? order(b[j]) : 0;
      if (ac !== bc) return ac < bc ? -1 : 1;
      if (i < a.length && !/\d/.test(a[i]!)) i++;
      if (j < b.length && !/\d/.test(b[j]!)) j++;
    }
    while (a[i] === "0") i++;
    while (b[j] === "0") j++;
    while (i < a.length && /\d/.test(a[i]!) && j < b.length && /\d/.test(b[j]!)) {
      if (first === 0) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /\d/.test(a[i]!)) return 1;
    if (j < b.length && /\d/.test(b[j]!)) return -1;
    if (first !== 0) return first < 0 ? -1 : 1;
  }
  return 0;
}
/** Compares two Debian package versions as `dpkg --compare-versions` does. -1, 0 or 1. */
export function compareDebian(a: string, b: string): number {
  const split = (v: string): [number, string, string] => {
    const c = v.indexOf(":");
    const epoch = c >= 0 ? Number(v.slice(0, c)) : 0;
    const rest = c >= 0 ? v.slice(c + 1) : v;
    const h = rest.lastIndexOf("-");
    return h >= 0 ? [epoch, rest.slice(0, h), rest.slice(h + 1)] : [epoch, rest, ""];
  };
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  if (ea !== eb) return ea < eb ? -1 : 1;
  return compareFragment(ua, ub) || compareFragment(ra, rb);
}

/** The package line of a version: the version without its trailing update number ("3.2.7-1+deb12u1" → "3.2.7-1+deb12u"). */
export function packageLine(v: string): string {
  return v.replace(/[0-9.]+$/, "");
}

/** What a server reports of its rsync (dbk_rsync_fact): its upstream version, its package version when dpkg knows one. */
export interface RsyncFact {
  version?: string;
  protocol?: number;
  package?: string;
}

/** Parses dbk_rsync_fact's line ("version\t3.2.7\tprotocol\t31\tpackage\t3.2.7-1+deb12u1"). */
export function parseRsyncFact(text: string): RsyncFact {
  const f = text.trim().split("\t");
  const out: RsyncFact = {};
  for (let i = 0; i + 1 < f.length; i += 2) {
    const k = f[i];
    const v = f[i + 1]!;
    if (k === "version" && /^\d+\.\d+(\.\d+)?[A-Za-z0-9]*$/.test(v)) out.version = v;
    else if (k === "protocol" && /^\d+$/.test(v)) out.protocol = Number(v);
    else if (k === "package" && /^[A-Za-z0-9.+~:-]+$/.test(v)) out.package = v;
  }
  return out;
}

/** Why a server's rsync is below the fleet's minimum, or undefined when it passes. */
export function rsyncProblem(settings: RsyncSettings, server: string, fact: RsyncFact | undefined): string | undefined {
  if (!fact?.version) return `${server}: rsync's version not reported (no rsync, or its scripts predate the check: deploy the fleet)`;
  if (compareUpstream(fact.version, settings.minVersion) >= 0) return undefined;
  const pkg = fact.package;
  if (pkg && settings.minPackages.some((m) => pkg.startsWith(packageLine(m)) && compareDebian(pkg, m) >= 0)) return undefined;
  const accepted = [`${settings.minVersion} upstream`, ...settings.minPackages.map((m) => `package ${m} or a later update of its line`)].join(", ");
  return `${server}: rsync ${fact.version}${pkg ? ` (package ${pkg})` : ""} is older than the fleet's minimum (${accepted}): a compromised hosting server can attack its pulls (CVE-2024-12084..12088 and later); upgrade rsync`;
}

/** The rule's check of the settings themselves: a minimum below the CVE floor, a package version that names no line. */
export function rsyncSettingsProblems(settings: RsyncSettings): string[] {
  const out: string[] = [];
  if (!UPSTREAM_VERSION_RE.test(settings.minVersion)) out.push(`rsync.minVersion "${settings.minVersion}" is not an upstream version like 3.4.0`);
  else if (compareUpstream(settings.minVersion, RSYNC_CVE_FLOOR) < 0)
    out.push(`rsync.minVersion ${settings.minVersion} is below ${RSYNC_CVE_FLOOR}, the release that fixed CVE-2024-12084..12088: a backup server with a vulnerable rsync would pass (a distribution's backport goes in rsync.minPackages)`);
  for (const p of settings.minPackages) {
    if (!PACKAGE_VERSION_RE.test(p)) out.push(`rsync.minPackages "${p}" is not a package version with a revision like 3.2.7-1+deb12u1`);
    else if (!/[0-9]$/.test(p) || packageLine(p) === p) out.push(`rsync.minPackages "${p}" ends in no update number: its line cannot be told (expected e.g. 3.2.7-1+deb12u1)`);
  }
  return out;
}

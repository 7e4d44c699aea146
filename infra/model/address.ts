// Host names, IP addresses and CIDR blocks as the configs write them, and how they are written
// where they are used: rsync/scp sources need IPv6 in brackets (user@[2001:db8::1]:path), known_hosts
// needs [host]:port for a port other than 22, and sshd's from= matches addresses only (UseDNS no is
// sshd's default, so a host name in from= never matches). Pure.
import { isIPv4, isIPv6 } from "node:net";
import type { Server } from "./types";

const LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** An IPv4 address in dotted-quad form without leading zeros. */
export function isIpv4Address(s: string): boolean {
  return isIPv4(s) && s.split(".").every((o) => o === "0" || !o.startsWith("0"));
}

/** An IPv6 address (no zone id: "%eth0" is meaningless on another machine). */
export function isIpv6Address(s: string): boolean {
  return !s.includes("%") && isIPv6(s);
}

export function isIpAddress(s: string): boolean {
  return isIpv4Address(s) || isIpv6Address(s);
}

/** A DNS host name (RFC 1123): labels of letters, digits and '-', at most 253 characters, a last label that is not all digits. */
export function isHostName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = (s.endsWith(".") ? s.slice(0, -1) : s).split(".");
  if (!labels.every((l) => LABEL_RE.test(l))) return false;
  return !/^\d+$/.test(labels[labels.length - 1]!);
}

/** What an SSH host may be: an IPv4 or IPv6 address, or a host name. */
export function isSshHost(s: string): boolean {
  return isIpAddress(s) || isHostName(s);
}

/** The 16 bytes of an IPv6 address (undefined when it is not one). */
export function ipv6Bytes(s: string): number[] | undefined {
  if (!isIpv6Address(s)) return undefined;
  let text = s;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    tail.push(...v4[1]!.split(".").map(Number));
    text = text.slice(0, -v4[1]!.length) + "0:0";
  }
  const [head, rest] = text.includes("::") ? text.split("::") : [text, undefined];
  const groups = (x: string | undefined): number[] => (x ? x.split(":").filter((g) => g !== "").map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const r = groups(rest);
  const zeros = rest === undefined ? [] : new Array<number>(8 - h.length - r.length).fill(0);
  const all = [...h, ...zeros, ...r];
  const bytes = all.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes.length === 16 ? bytes : undefined;
}

function ipBytes(s: string): number[] | undefined {
  if (isIpv4Address(s)) return s.split(".").map(Number);
  return ipv6Bytes(s);
}

/**
 * The widest block a source address may be, by family: from= binds a backup server's key to that
 * server's own addresses, and a wider block (0.0.0.0/0 at the extreme) lets any machine in it use
 * a stolen key. An IPv4 /24; an IPv6 /48, one end site's allocation (RFC 6177).
 */
export const MIN_SOURCE_PREFIX: Readonly<Record<4 | 6, number>> = Object.freeze({ 4: 24, 6: 48 });

/**
 * A source address as sshd's from= takes it: an IP address, or a CIDR block "address/prefix" whose
 * host bits are zero (sshd refuses the whole from= list otherwise) and that is no wider than
 * MIN_SOURCE_PREFIX. Undefined when valid, else why not.
 */
export function sourceAddressProblem(s: string): string | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) {
    if (isIpAddress(s)) return undefined;
    return isHostName(s)
      ? `"${s}" is a host name; sshd matches from= against the connecting address only (UseDNS no is its default), expected an IP address or a CIDR block`
      : `"${s}" is not an IP address nor a CIDR block (e.g. 198.51.100.20 or 2001:db8:5::/48)`;
  }
  const addr = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  const bytes = ipBytes(addr);
  if (!bytes) return `"${s}": "${addr}" is not an IP address; expected a CIDR block such as 198.51.100.0/24`;
  const max = bytes.length * 8;
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) return `"${s}": prefix length must be 0..${max}`;
  const len = Number(lenText);
  for (let bit = len; bit < max; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) return `"${s}" has host bits set (sshd refuses it); expected the network address of the block`;
  }
  const family = bytes.length === 4 ? 4 : 6;
  if (len < MIN_SOURCE_PREFIX[family]) {
    return `"${s}" is a block of 2^${max - len} addresses: any machine in it could use the backup server's key; expected the backup server's own addresses, or a block of at most /${MIN_SOURCE_PREFIX[family]} (IPv${family})`;
  }
  return undefined;
}

/** The host as an rsync/scp source writes it: IPv6 in brackets ("user@[::1]:path"). */
export function hostForRemotePath(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

/**
 * The addresses a backup server's pulls come from, for the from= of its key: its declared
 * sourceAddresses, else its SSH host when that is an address (empty for a host name: sshd matches
 * from= against the connecting address only, UseDNS no being its default).
 */
export function sourceAddressesOf(backupServer: Pick<Server, "ssh" | "sourceAddresses">): string[] {
  return backupServer.sourceAddresses ?? (isIpAddress(backupServer.ssh.host) ? [backupServer.ssh.host] : []);
}

/** The family of an address or CIDR block (4 or 6); undefined for a host name. */
export function addressFamily(entry: string): 4 | 6 | undefined {
  const address = entry.replace(/\/\d+$/, "");
  if (isIpv4Address(address)) return 4;
  if (isIpv6Address(address)) return 6;
  return undefined;
}

/**
 * Why a backup server's key would be refused when it pulls from a hosting server reached at
 * `hostingHost`: its connections then come from one of its own addresses of the hosting address's
 * family, and from= (its source addresses) lists none of that family. Undefined when it can work,
 * or when the hosting server is a host name (the family is DNS's to decide).
 */
export function pullFamilyProblem(sourceAddresses: readonly string[], hostingHost: string): string | undefined {
  const family = addressFamily(hostingHost);
  if (family === undefined || sourceAddresses.some((a) => addressFamily(a) === family)) return undefined;
  return `its pulls from ${hostingHost} come from one of its own IPv${family} addresses, but its source addresses (${sourceAddresses.join(", ") || "none"}) hold no IPv${family} address or block: sshd would refuse its key (from=)`;
}

/** The host of an rsync/scp source as hostForRemotePath wrote it: an IPv6 address out of its brackets. */
export function hostFromRemotePath(text: string): string {
  const inner = /^\[(.*)\]$/.exec(text)?.[1];
  return inner !== undefined && isIpv6Address(inner) ? inner : text;
}

/**
 * Whether two SSH hosts are the same: IPv6 addresses by their bytes (fd00:77::12 is
 * FD00:77:0:0::12), anything else without regard to case.
 */
export function sameSshHost(a: string, b: string): boolean {
  const x = ipv6Bytes(a);
  const y = ipv6Bytes(b);
  if (x && y) return x.every((byte, i) => byte === y[i]);
  return a.toLowerCase() === b.toLowerCase();
}

/** The host as known_hosts writes it: bare on port 22, "[host]:port" on another port. */
export function knownHostsHost(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

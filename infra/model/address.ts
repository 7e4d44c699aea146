// Host names, IP addresses and CIDR blocks as the configs write them, and how they are written
// where they are used: rsync/scp sources need IPv6 in brackets (user@[2001:db8::1]:path), known_hosts
// needs [host]:port for a port other than 22, and sshd's from= matches addresses only (UseDNS no is
// sshd's default, so a host name in from= never matches). Pure.
import { isIPv4, isIPv6 } from "node:net";

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
 * A source address as sshd's from= takes it: an IP address, or a CIDR block "address/prefix" whose
 * host bits are zero (sshd refuses the whole from= list otherwise). Undefined when valid, else why not.
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
  return undefined;
}

/** The host as an rsync/scp source writes it: IPv6 in brackets ("user@[::1]:path"). */
export function hostForRemotePath(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

/** The host as known_hosts writes it: bare on port 22, "[host]:port" on another port. */
export function knownHostsHost(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

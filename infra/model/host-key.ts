// The one rule on a server's SSH host key (`ssh.hostKey`, mandatory): what a valid pinned key is
// and how to obtain one. Used by the config schema (so by the offline check and the Pulumi
// program, which both parse the configs through it), by the renderers (known_hosts), by the
// policy pack (every remote command pins a valid key), by `npm run status`, `npm run drills` and
// the failover. Nothing in the project ever reads a host key over the network it then trusts.
//
// Accepted form: an OpenSSH public key line, "<type> <base64> [comment]", on one line, as
// /etc/ssh/ssh_host_ed25519_key.pub holds it. The known_hosts form that ssh-keyscan prints
// ("<host> <type> <base64>") is refused with a message saying to drop the host field: the host is
// the fleet config's ssh.host, written once, and a pasted line with another host, a hashed host
// (|1|…) or a marker (@cert-authority, @revoked) must not be silently turned into something else.
import { blobStrings } from "./ssh-keys";

/** Host key types accepted (OpenSSH's host key algorithms; DSA is gone from OpenSSH). */
export const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"] as const;
export type HostKeyType = (typeof HOST_KEY_TYPES)[number];

/** RSA host keys shorter than this are refused (OpenSSH's own floor is 1024; 2048 is today's minimum). */
export const MIN_RSA_BITS = 2048;

/** Length of the EC point (uncompressed: 0x04 || X || Y) of each ECDSA curve. */
const EC_POINT_BYTES: Record<string, number> = { nistp256: 65, nistp384: 97, nistp521: 133 };

const isHostKeyType = (t: string): t is HostKeyType => (HOST_KEY_TYPES as readonly string[]).includes(t);

/**
 * How to obtain a server's host key out of band, for an error message: from the provider's
 * console, or ssh-keyscan from a trusted network with the fingerprint compared.
 */
export function hostKeyHowTo(host = "HOST", port = 22): string {
  const p = port !== 22 ? `-p ${port} ` : "";
  return (
    "obtain it out of band, not over the network the deploy goes through: in the provider's console " +
    "(OVH: KVM/IPMI or rescue mode; IONOS: the remote console) run `cat /etc/ssh/ssh_host_ed25519_key.pub`; " +
    `or run \`ssh-keyscan -t ed25519 ${p}${host}\` from a trusted network, keep only "ssh-ed25519 AAAA…" (not the host field) ` +
    "and compare its `ssh-keygen -lf` fingerprint with the one the console shows (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`)"
  );
}

/** The message for a server whose config pins no host key. */
export function missingHostKeyMessage(host?: string, port?: number): string {
  return (
    'missing; expected the server\'s SSH host key, "ssh-ed25519 AAAA…" (one line, as in /etc/ssh/ssh_host_ed25519_key.pub): ' +
    "every connection to a server (deploy, pulls, status, failover) pins it and nothing ever trusts a key on first use; " +
    hostKeyHowTo(host, port)
  );
}


/** Bits of an SSH mpint (big-endian, a leading zero byte when the top bit is set). */
function mpintBits(b: Buffer): number {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return 0;
  return (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]!));
}

/** What is wrong with the key blob of a declared type; undefined when it is a key of that type. */
function blobProblem(type: HostKeyType, blob: Buffer): string | undefined {
  const parts = blobStrings(blob);
  if (!parts || parts.length === 0) return "its base64 does not decode to an OpenSSH public key (truncated or not a key)";
  const inner = parts[0]!.toString("latin1");
  if (inner !== type) {
    return /^[\x21-\x7e]{1,64}$/.test(inner)
      ? `its base64 holds a ${inner} key, not the ${type} the line starts with; expected the type and the key of the same line`
      : "its base64 does not decode to an OpenSSH public key (truncated or not a key)";
  }
  if (type === "ssh-ed25519") {
    return parts.length === 2 && parts[1]!.length === 32 ? undefined : "its base64 is not a whole ed25519 key (expected 32 bytes of key, nothing more)";
  }
  if (type === "ssh-rsa") {
    if (parts.length !== 3) return "its base64 is not a whole RSA key (expected an exponent and a modulus, nothing more)";
    const bits = mpintBits(parts[2]!);
    return bits >= MIN_RSA_BITS ? undefined : `it is a ${bits}-bit RSA key; expected at least ${MIN_RSA_BITS} bits (or the server's ed25519 key)`;
  }
  const curve = type.slice("ecdsa-sha2-".length);
  const point = parts[2];
  return parts.length === 3 && parts[1]!.toString("latin1") === curve && point !== undefined && point.length === EC_POINT_BYTES[curve] && point[0] === 4
    ? undefined
    : `its base64 is not a whole ${type} key (expected the curve ${curve} and its point, nothing more)`;
}

/**
 * What is wrong with a declared host key, phrased as what is expected; undefined when it is a valid
 * OpenSSH public key line ("<type> <base64> [comment]"). `host`/`port` name the server in the hint.
 */
export function hostKeyProblem(value: string, host?: string, port?: number): string | undefined {
  const how = () => hostKeyHowTo(host, port);
  if (/[\r\n]/.test(value.trim())) return `expected the host key on one line, got ${value.trim().split(/\r?\n|\r/).length} lines; ${how()}`;
  const line = value.trim();
  if (line === "") return `expected the server's SSH host key "ssh-ed25519 AAAA…", got an empty string; ${how()}`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(line)) return `expected printable characters only (a control character is in the line); ${how()}`;
  const fields = line.split(/[ \t]+/);
  const [type, b64] = fields as [string, string | undefined];
  if (!isHostKeyType(type)) {
    if (type.startsWith("@")) return `starts with the known_hosts marker ${type}; expected the server's own host key "<type> <base64>", no marker, no host field; ${how()}`;
    if (b64 !== undefined && isHostKeyType(b64)) {
      return `starts with a host field ("${type.length > 40 ? type.slice(0, 37) + "…" : type}"), as known_hosts and ssh-keyscan write it; expected only "${b64} <base64>": drop the host (the config's ssh.host says it); ${how()}`;
    }
    return `key type "${type.length > 40 ? type.slice(0, 37) + "…" : type}" is not a host key type; expected one of ${HOST_KEY_TYPES.join(", ")} followed by the key in base64; ${how()}`;
  }
  if (b64 === undefined) return `expected the key in base64 after "${type}", got nothing; ${how()}`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0 || Buffer.from(b64, "base64").toString("base64") !== b64) {
    return `the key after "${type}" is not base64 (letters, digits, + and /, = padding, a multiple of 4 characters); expected the line exactly as the server's .pub file holds it; ${how()}`;
  }
  const problem = blobProblem(type, Buffer.from(b64, "base64"));
  return problem ? `${problem}; ${how()}` : undefined;
}

/** "<type> <base64>": a valid host key line without its comment (throws on an invalid one). */
export function hostKeyWithoutComment(value: string, what = "host key", host?: string, port?: number): string {
  const problem = hostKeyProblem(value, host, port);
  if (problem) throw new Error(`${what}: ${problem}`);
  return value.trim().split(/[ \t]+/).slice(0, 2).join(" ");
}

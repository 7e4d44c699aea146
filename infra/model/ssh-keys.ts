// OpenSSH public keys as the fleet declares them (operators) and as the servers hold them
// (authorized_keys files): strict parsing, SHA256 fingerprints as `ssh-keygen -l` prints them, and
// the public key of the fleet's private key (the deploy key). Pure: no I/O.
import { createHash, createPublicKey } from "node:crypto";

/** Key types an operator may declare (no certificates, no DSA). */
export const OPERATOR_KEY_TYPES = [
  "ssh-ed25519",
  "sk-ssh-ed25519@openssh.com",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "ssh-rsa",
] as const;

export interface PublicKey {
  type: string;
  /** The base64 key blob, canonical (as ssh-keygen writes it). */
  blob: string;
  comment: string;
}

const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

/** The SSH wire-format strings of a key blob (type, then the key's own fields); undefined when malformed. */
export function blobStrings(bytes: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) return undefined;
    const len = bytes.readUInt32BE(at);
    at += 4;
    if (len > bytes.length - at) return undefined;
    out.push(bytes.subarray(at, at + len));
    at += len;
  }
  return out;
}

/**
 * Why `line` is not one OpenSSH public key line "<type> <base64> [comment]" of an accepted type
 * whose blob decodes and names the same type (undefined when it is). No options, one line.
 */
export function publicKeyProblem(line: string, types: readonly string[] = OPERATOR_KEY_TYPES): string | undefined {
  if (/[\r\n]/.test(line)) return "expected one line (the key holds a line break)";
  if (/[\0-\x08\x0b-\x1f\x7f]/.test(line)) return "expected printable text (the key holds a control character)";
  const text = line.trim();
  if (text === "") return 'expected an OpenSSH public key line "ssh-ed25519 AAAA… comment" (the .pub file)';
  const words = text.split(/[ \t]+/);
  const [type = "", blob = ""] = words;
  if (!types.includes(type)) {
    if (words.slice(1).some((w) => (OPERATOR_KEY_TYPES as readonly string[]).includes(w) || types.includes(w))) {
      return `expected the key type first, no authorized_keys options (found ${JSON.stringify(type.slice(0, 40))} before the key); the program writes the options itself`;
    }
    if (/[=,"]/.test(type) || !/^[a-z0-9@.-]+$/.test(type)) {
      return `expected the key type first, no authorized_keys options (found ${JSON.stringify(type.slice(0, 40))}); the program writes the options itself`;
    }
    return `key type ${JSON.stringify(type.slice(0, 40))} is not accepted; expected one of ${types.join(", ")}`;
  }
  if (blob === "") return `expected the base64 key after ${type}`;
  if (!BASE64_RE.test(blob) || blob.length % 4 !== 0) return "the key part is not base64";
  const bytes = Buffer.from(blob, "base64");
  if (bytes.toString("base64") !== blob) return "the key part is not canonical base64 (altered or truncated)";
  const fields = blobStrings(bytes);
  if (!fields || fields.length < 2) return "the key part does not decode to an SSH public key (truncated or altered)";
  const embedded = fields[0]!.toString("latin1");
  if (embedded !== type) return `the key part is a ${JSON.stringify(embedded.slice(0, 40))} key, not ${type} as the line says`;
  if (type === "ssh-ed25519" && fields[1]!.length !== 32) return "the ed25519 key part is not 32 bytes (truncated or altered)";
  return undefined;
}

/** Parses a valid public key line (publicKeyProblem first); throws on an invalid one. */
export function parsePublicKey(line: string, types: readonly string[] = OPERATOR_KEY_TYPES): PublicKey {
  const problem = publicKeyProblem(line, types);
  if (problem) throw new Error(`not an OpenSSH public key: ${problem}`);
  const [type, blob, ...comment] = line.trim().split(/[ \t]+/);
  return { type: type!, blob: blob!, comment: comment.join(" ") };
}

/** "SHA256:…" of a key blob (base64), as `ssh-keygen -l` prints it. */
export function fingerprintOfBlob(blob: string): string {
  return `SHA256:${createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "")}`;
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** An unsigned big-endian integer as an SSH mpint (a leading zero when the top bit is set). */
function mpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return sshString(v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

/**
 * "<type> <base64>" of the public half of an SSH private key: the OpenSSH format (its public key
 * is stored in clear, even when the private part is encrypted) or PEM/PKCS#8 ed25519 and RSA keys.
 * Throws when it is neither.
 */
export function publicKeyOfPrivateKey(privateKey: string): string {
  const text = privateKey.trim();
  const m = /^-----BEGIN OPENSSH PRIVATE KEY-----\s+([A-Za-z0-9+/=\s]+?)\s*-----END OPENSSH PRIVATE KEY-----$/.exec(text);
  if (m) {
    const bytes = Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
    const magic = Buffer.from("openssh-key-v1\0", "latin1");
    if (!bytes.subarray(0, magic.length).equals(magic)) throw new Error("the fleet's SSH private key is not an openssh-key-v1 key");
    let at = magic.length;
    const str = (): Buffer => {
      if (at + 4 > bytes.length) throw new Error("the fleet's SSH private key is truncated");
      const len = bytes.readUInt32BE(at);
      at += 4;
      if (len > bytes.length - at) throw new Error("the fleet's SSH private key is truncated");
      const v = bytes.subarray(at, at + len);
      at += len;
      return v;
    };
    str(); // cipher
    str(); // kdf
    str(); // kdf options
    if (at + 4 > bytes.length) throw new Error("the fleet's SSH private key is truncated");
    const n = bytes.readUInt32BE(at);
    at += 4;
    if (n !== 1) throw new Error(`the fleet's SSH private key file holds ${n} keys; expected one`);
    const blob = str();
    const fields = blobStrings(blob);
    if (!fields || fields.length < 2) throw new Error("the fleet's SSH private key holds no readable public key");
    return `${fields[0]!.toString("latin1")} ${blob.toString("base64")}`;
  }
  let key;
  try {
    key = createPublicKey(text);
  } catch (e) {
    throw new Error(`the fleet's SSH private key is neither an OpenSSH nor a PEM key (${(e as Error).message})`);
  }
  const jwk = key.export({ format: "jwk" }) as { kty?: string; crv?: string; x?: string; n?: string; e?: string };
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519" && jwk.x) {
    const blob = Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(Buffer.from(jwk.x, "base64url"))]);
    return `ssh-ed25519 ${blob.toString("base64")}`;
  }
  if (jwk.kty === "RSA" && jwk.n && jwk.e) {
    const blob = Buffer.concat([sshString(Buffer.from("ssh-rsa")), mpint(Buffer.from(jwk.e, "base64url")), mpint(Buffer.from(jwk.n, "base64url"))]);
    return `ssh-rsa ${blob.toString("base64")}`;
  }
  throw new Error(`the fleet's SSH private key is a ${jwk.kty ?? "unknown"} PEM key; convert it to the OpenSSH format (ssh-keygen -p -f KEY)`);
}

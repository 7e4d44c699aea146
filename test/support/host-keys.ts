// Host keys for test fixtures: every server's ssh.hostKey is mandatory (infra/model/host-key.ts).
// Syntactically valid ed25519 public key lines (the blob holds "ssh-ed25519" and 32 bytes), derived
// from a name so that each fixture server has its own; no private key exists for them.
import { createHash } from "node:crypto";

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI…": a valid-format host key of its own for `name`. */
export function testHostKey(name: string): string {
  const key = createHash("sha256").update(`test host key of ${name}`).digest();
  return `ssh-ed25519 ${Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(key)]).toString("base64")}`;
}

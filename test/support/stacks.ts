// Stack config files for tests: a valid fleet and clients as YAML text, and temporary stacks dirs.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { testHostKey } from "./host-keys";

/** A ciphertext-looking secure value (never decrypted by the offline check). */
export const FAKE_SECURE = "v1:AAECAwQFBgcICQoL:3q2+7wAAAAAAAAAAAAAAAAAAAAAAAA==";

/** A valid fleet stack file: hosting rbx (ovh), de/fra (ionos); backups sbg, waw (ovh), de/txl (ionos). */
export function fleetYaml(extraConfig = ""): string {
  return `config:
  dolibarr-backup:stackKind: fleet
  dolibarr-backup:servers:
    - name: web-rbx
      role: hosting
      provider: ovh
      site: rbx
      ssh:
        hostKey: "${testHostKey("web-rbx")}"
        host: 203.0.113.10
    - name: web-fra
      role: hosting
      provider: ionos
      site: de/fra
      ssh:
        hostKey: "${testHostKey("web-fra")}"
        host: 198.51.100.10
    - name: bk-sbg
      role: backup
      provider: ovh
      site: sbg
      ssh:
        hostKey: "${testHostKey("bk-sbg")}"
        host: 203.0.113.20
    - name: bk-waw
      role: backup
      provider: ovh
      site: waw
      ssh:
        hostKey: "${testHostKey("bk-waw")}"
        host: 203.0.113.21
    - name: bk-txl
      role: backup
      provider: ionos
      site: de/txl
      ssh:
        hostKey: "${testHostKey("bk-txl")}"
        host: 198.51.100.20
  dolibarr-backup:sshPrivateKey:
    secure: ${FAKE_SECURE}
${extraConfig}`;
}

/** A valid client stack file with one instance per (name, hosting, backups). */
export function clientYaml(
  client: string,
  instances: Array<{ name: string; hosting: string; backups: string[]; extra?: string }>,
  fleetStack = "fleet",
): string {
  const inst = instances
    .map(
      (i) => `    - name: ${i.name}
      hostingServer: ${i.hosting}
      database:
        name: db_${i.name.replace(/-/g, "_")}
      codeRoot: /var/www/${i.name}/htdocs
      documentsDir: /var/lib/dolibarr/${i.name}/documents
      backupServers: [${i.backups.join(", ")}]
${i.extra ?? ""}`,
    )
    .join("");
  return `config:
  dolibarr-backup:stackKind: client
  dolibarr-backup:fleetStack: ${fleetStack}
  dolibarr-backup:client: ${client}
  dolibarr-backup:instances:
${inst}`;
}

/** A fresh temporary directory holding the given files (name → content). */
export function writeStacksDir(files: Record<string, string>, prefix = "dolibarr-backup-stacks-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

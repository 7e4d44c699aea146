// Reads the stack's config from the engine: the "dolibarr-backup:" keys as plain values for the
// foundation's parsers, and the secrets (SSH private key, API credentials) as Pulumi secrets.
import * as pulumi from "@pulumi/pulumi";
import { parseConfigValue } from "../model/config-value";
import { CONFIG_NAMESPACE } from "../model/defaults";
import { formatKeyPath, type ConfigSource } from "../model/errors";
import { unsafeKeyPaths } from "../model/safe";
import type { ConfigValues } from "../model/parse";
import type { IonosCredentials } from "../providers/ionos";
import type { OvhCredentials } from "../providers/ovh";

export type StackKind = "fleet" | "client";

export interface RawStackConfig {
  kind: StackKind;
  /** Every key of the namespace, without it, JSON values parsed (secrets decrypted: keep them out of resources). */
  values: ConfigValues;
  source: ConfigSource;
  /** Keys the engine marks secret (when it says; undefined when this SDK cannot tell). */
  secretKeys?: ReadonlySet<string>;
}

export { parseConfigValue };

/** The namespace's keys from a flat engine config map ({"dolibarr-backup:servers": "[...]"}). */
export function namespacedValues(all: Record<string, string>, namespace = CONFIG_NAMESPACE): ConfigValues {
  // Own keys only, whatever their name: `values["__proto__"] = …` on a plain object would set its
  // prototype (or be dropped silently); the key is kept so that it can be named and refused.
  const values: ConfigValues = Object.create(null) as ConfigValues;
  const prefix = `${namespace}:`;
  for (const [key, text] of Object.entries(all)) {
    if (key.startsWith(prefix)) values[key.slice(prefix.length)] = parseConfigValue(text);
  }
  return { ...values };
}

/**
 * The engine's config values' prototype-reaching keys (at any depth, in values parsed from JSON
 * too), as an error naming the stack file, each key and why; undefined when there is none.
 * Checked before any key is read, stackKind included.
 */
export function unsafeConfigKeysError(values: ConfigValues, stack: string): Error | undefined {
  const paths = unsafeKeyPaths(values);
  if (paths.length === 0) return undefined;
  return new Error(
    `stack ${stack} (stacks/Pulumi.${stack}.yaml): ` +
      paths.map((p) => `${formatKeyPath(p)}: key "${String(p[p.length - 1])}" reaches the object prototype and is never a config key; remove it`).join("; "),
  );
}

/** The current stack's config as the engine passes it to the program. */
export function readStackConfig(): RawStackConfig {
  const values = namespacedValues(pulumi.runtime.allConfig());
  const stack = pulumi.getStack();
  const unsafe = unsafeConfigKeysError(values, stack);
  if (unsafe) throw unsafe;
  const kind = values.stackKind;
  if (kind !== "fleet" && kind !== "client") {
    throw new Error(
      `stack ${stack}: ${CONFIG_NAMESPACE}:stackKind is ${kind === undefined ? "not set" : JSON.stringify(kind)}; ` +
        `expected "fleet" or "client" (stacks/Pulumi.${stack}.yaml)`,
    );
  }
  // The engine lists the secret keys; an old language host may list none. No key of the namespace
  // listed secret is taken as "cannot tell" (the offline check still refuses clear-text secrets in files).
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  const listed = isSecret ? new Set(Object.keys(values).filter((k) => isSecret(`${CONFIG_NAMESPACE}:${k}`))) : undefined;
  const secretKeys = listed && listed.size > 0 ? listed : undefined;
  return {
    kind,
    values,
    source: { stack, file: `stacks/Pulumi.${stack}.yaml`, origin: "engine" },
    ...(secretKeys ? { secretKeys } : {}),
  };
}

/** The fleet's credentials, each a Pulumi secret; what is missing is left out. */
export interface FleetSecrets {
  sshPrivateKey: pulumi.Output<string>;
  /** Plain copies for the fact checks that run before any resource (never put into a resource). */
  ovh?: OvhCredentials;
  ionos?: IonosCredentials;
}

/** Refuses a credential set in clear text: it would land unencrypted in the stack file and the state. */
export function requireSecretKeys(raw: RawStackConfig, keys: readonly string[]): void {
  if (!raw.secretKeys) return;
  const clear = keys.filter((k) => raw.values[k] !== undefined && !raw.secretKeys!.has(k));
  if (clear.length > 0) {
    throw new Error(
      `stack ${raw.source.stack}: ${clear.map((k) => `${CONFIG_NAMESPACE}:${k}`).join(", ")} must be set as secret(s): ` +
        `pulumi config set --secret ${CONFIG_NAMESPACE}:<key> (with --path for ovh.applicationSecret, ovh.consumerKey, ionos.token, notifications.healthchecks.pingUrl, notifications.webhook.url)`,
    );
  }
}

/** Whether the fleet's notifiers hold a URL: a ping or webhook URL lets anyone who reads it post to it. */
function notificationsHoldUrl(value: unknown): boolean {
  const n = value as { healthchecks?: { pingUrl?: unknown }; webhook?: { url?: unknown } } | undefined;
  return n?.healthchecks?.pingUrl !== undefined || n?.webhook?.url !== undefined;
}

export function fleetSecrets(raw: RawStackConfig): FleetSecrets {
  requireSecretKeys(raw, ["sshPrivateKey", "ovh", "ionos", ...(notificationsHoldUrl(raw.values.notifications) ? ["notifications"] : [])]);
  const key = raw.values.sshPrivateKey;
  if (typeof key !== "string" || key.trim() === "") {
    throw new Error(
      `stack ${raw.source.stack}: ${CONFIG_NAMESPACE}:sshPrivateKey is not set; expected the fleet's SSH private key ` +
        `(cat key | pulumi config set --secret ${CONFIG_NAMESPACE}:sshPrivateKey)`,
    );
  }
  const secrets: FleetSecrets = { sshPrivateKey: pulumi.secret(normalizeKey(key)) };
  const ovh = raw.values.ovh as Partial<OvhCredentials> | undefined;
  if (ovh?.applicationKey && ovh.applicationSecret && ovh.consumerKey) {
    secrets.ovh = {
      applicationKey: ovh.applicationKey,
      applicationSecret: ovh.applicationSecret,
      consumerKey: ovh.consumerKey,
      ...(ovh.endpoint ? { endpoint: ovh.endpoint } : {}),
    };
  }
  const ionos = raw.values.ionos as Partial<IonosCredentials> | undefined;
  if (ionos?.token) secrets.ionos = { token: ionos.token, ...(ionos.endpoint ? { endpoint: ionos.endpoint } : {}) };
  return secrets;
}

/** OpenSSH refuses a private key without its final newline. */
export function normalizeKey(key: string): string {
  return key.endsWith("\n") ? key : `${key}\n`;
}

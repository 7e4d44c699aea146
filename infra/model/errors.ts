// Config errors: each names the stack config file, the line when known, the key path and what is expected.
import { CONFIG_NAMESPACE } from "./defaults";

/** A path inside one config value, without the namespace: ["instances", 1, "backupServers", 0]. */
export type ConfigPath = ReadonlyArray<string | number>;

export interface SourcePosition {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/** Maps a config path to where it is written; undefined when unknown (e.g. config from the engine). */
export type Locator = (path: ConfigPath) => SourcePosition | undefined;

/** Where a set of config values comes from. */
export interface ConfigSource {
  /** Pulumi stack name ("fleet", "client-acme"). */
  stack: string;
  /** Stack config file ("stacks/Pulumi.client-acme.yaml"). */
  file: string;
  /** Line lookup, when the values were read from that file. */
  locate?: Locator;
  /**
   * "file": values read from the YAML file, where secrets must be `{secure: v1:…}` ciphertext and the
   * stack kind must be declared. "engine" (default): values from `pulumi.Config`, secrets already
   * decrypted to strings (or left out: the program reads them with requireSecret).
   */
  origin?: "file" | "engine";
}

export interface ConfigIssue {
  file: string;
  line?: number;
  column?: number;
  /** Full key path, namespaced: "dolibarr-backup:instances[1].backupServers[0]". */
  keyPath: string;
  /** What is wrong and what is expected. */
  message: string;
}

/** One or more problems in stack configs; nothing may be deployed or written when one is thrown. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.length > 0 ? issues.map(formatIssue).join("\n") : "invalid configuration");
    this.name = "ConfigError";
    this.issues = issues;
  }

  /** Files the issues are in, in first-seen order. */
  get files(): string[] {
    return [...new Set(this.issues.map((i) => i.file))];
  }
}

export function isConfigError(e: unknown): e is ConfigError {
  return e instanceof ConfigError;
}

/** "stacks/Pulumi.client-acme.yaml:14:9: dolibarr-backup:instances[1].backupServers[0]: …" */
export function formatIssue(issue: ConfigIssue): string {
  let where = issue.file;
  if (issue.line !== undefined) {
    where += `:${issue.line}`;
    if (issue.column !== undefined) where += `:${issue.column}`;
  }
  return `${where}: ${issue.keyPath}: ${issue.message}`;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** ["instances", 1, "backupServers", 0] → "dolibarr-backup:instances[1].backupServers[0]". */
export function formatKeyPath(path: ConfigPath, namespace: string = CONFIG_NAMESPACE): string {
  let out = "";
  path.forEach((seg, i) => {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (i === 0) out += seg;
    else if (PLAIN_KEY.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  });
  return namespace ? `${namespace}:${out}` : out;
}

/** Collects issues against one source, then throws them all at once. */
export class IssueCollector {
  readonly issues: ConfigIssue[] = [];

  add(source: Pick<ConfigSource, "file" | "locate">, path: ConfigPath, message: string): void {
    const pos = source.locate?.(path);
    this.issues.push({
      file: source.file,
      ...(pos ? { line: pos.line, column: pos.column } : {}),
      keyPath: formatKeyPath(path),
      message,
    });
  }

  addAll(issues: readonly ConfigIssue[]): void {
    this.issues.push(...issues);
  }

  get empty(): boolean {
    return this.issues.length === 0;
  }

  throwIfAny(): void {
    if (this.issues.length > 0) throw new ConfigError(this.issues);
  }
}

// Locators of parsed objects, so that cross-reference checks done later (buildTopology) can still
// point at a line. Weak: nothing is kept alive by it.
const locators = new WeakMap<object, Locator>();

export function attachLocator(target: object, locate: Locator | undefined): void {
  if (locate) locators.set(target, locate);
}

export function locatorOf(target: object): Locator | undefined {
  return locators.get(target);
}

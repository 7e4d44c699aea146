// Reading stack config files (stacks/Pulumi.<stack>.yaml) without the Pulumi engine: YAML with
// node positions (the `yaml` package), namespaced keys, then the same parse functions the Pulumi
// program uses. Nothing here writes anything.
import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import { CONFIG_NAMESPACE } from "./defaults";
import { ConfigError, IssueCollector, locatorOf, type ConfigIssue, type ConfigPath, type Locator, type SourcePosition } from "./errors";
import { clientFromValues, fleetFromValues, type ConfigValues } from "./parse";
import { STACK_RE } from "./schema";
import { topologyFrom } from "./topology";
import type { ClientStack, Fleet, Topology } from "./types";

export type StackFile =
  | { kind: "fleet"; stack: string; file: string; fleet: Fleet }
  | { kind: "client"; stack: string; file: string; client: ClientStack };

export interface LoadedStacks {
  fleets: Fleet[];
  clients: ClientStack[];
  /** One per fleet, with the clients whose fleetStack names it (fleets in file-name order). */
  topologies: Topology[];
}

/** Top-level keys Pulumi itself writes in a stack file. */
const PULUMI_TOP_KEYS = new Set(["config", "encryptionsalt", "secretsprovider", "encryptedkey", "environment"]);
/** Namespaces of other config users that may appear in our stack files (engine and providers). */
const OTHER_NAMESPACES = new Set(["pulumi", "ovh", "ionoscloud", "command", "random", "policy"]);

const STACK_FILE_RE = /^Pulumi\.(.+)\.ya?ml$/;

/** "stacks/Pulumi.client-acme.yaml" → "client-acme"; undefined for other file names. */
export function stackNameOf(file: string): string | undefined {
  const m = STACK_FILE_RE.exec(path.basename(file));
  return m && STACK_RE.test(m[1]!) ? m[1] : undefined;
}

/** The stack config files of a directory (Pulumi.<stack>.yaml), sorted by name. */
export function listStackFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => stackNameOf(f) !== undefined)
    .sort()
    .map((f) => path.join(dir, f));
}

/** Reads and validates one stack config file. Throws ConfigError. */
export function readStackFile(file: string): StackFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError([{ file, keyPath: "(file)", message: `cannot read: ${(e as Error).message}` }]);
  }
  return parseStackFileText(text, file);
}

/** Validates the text of a stack config file (named `file`, which gives the stack name). Throws ConfigError. */
export function parseStackFileText(text: string, file: string, stack: string | undefined = stackNameOf(file)): StackFile {
  const issues = new IssueCollector();
  const result = stackFileFrom(text, file, stack, issues);
  issues.throwIfAny();
  return result!;
}

interface RawStack {
  values: ConfigValues;
  locate: Locator;
}

function stackFileFrom(text: string, file: string, stack: string | undefined, issues: IssueCollector): StackFile | undefined {
  if (stack === undefined) {
    issues.addAll([{ file, keyPath: "(file name)", message: "expected a stack config file named Pulumi.<stack>.yaml" }]);
    return undefined;
  }
  const raw = readRaw(text, file, issues);
  if (!raw) return undefined;
  const source = { stack, file, locate: raw.locate, origin: "file" as const };
  const kind = raw.values.stackKind;
  if (kind === "fleet") {
    const fleet = fleetFromValues(raw.values, source, issues);
    return fleet && { kind: "fleet", stack, file, fleet };
  }
  if (kind === "client") {
    const client = clientFromValues(raw.values, source, issues);
    return client && { kind: "client", stack, file, client };
  }
  issues.add(
    source,
    ["stackKind"],
    kind === undefined ? 'missing; expected "fleet" or "client"' : `expected "fleet" or "client", got ${JSON.stringify(kind)}`,
  );
  return undefined;
}

/** YAML → our namespace's values (keys without namespace) and a locator for them. */
function readRaw(text: string, file: string, issues: IssueCollector): RawStack | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const at = (node: YamlNode | null | undefined): SourcePosition | undefined => {
    const start = node?.range?.[0];
    if (start === undefined) return undefined;
    const p = lineCounter.linePos(start);
    return { line: p.line, column: p.col };
  };
  const top = (keyPath: string, message: string, node?: YamlNode | null): void => {
    const pos = at(node);
    issues.addAll([{ file, ...(pos ? { line: pos.line, column: pos.column } : {}), keyPath, message }]);
  };

  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      const issue: ConfigIssue = {
        file,
        ...(pos ? { line: pos.line, column: pos.col } : {}),
        keyPath: "(yaml)",
        message: `invalid YAML: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`,
      };
      issues.addAll([issue]);
    }
    return undefined;
  }
  const root = doc.contents;
  if (!isMap(root)) {
    top("(file)", "expected a mapping with a config: key", root);
    return undefined;
  }
  let config: YamlNode | null = null;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if (!PULUMI_TOP_KEYS.has(key)) {
      top(key || "(key)", `unknown top-level key; expected only ${[...PULUMI_TOP_KEYS].join(", ")}`, pair.key as YamlNode);
    } else if (key === "config") config = pair.value as YamlNode | null;
  }
  if (!isMap(config)) {
    top("config", config ? "expected a mapping of namespaced keys (dolibarr-backup:…)" : "missing; expected a mapping of namespaced keys (dolibarr-backup:…)", config ?? root);
    return undefined;
  }

  const js = ((doc.toJS({ maxAliasCount: 1000 }) as Record<string, unknown>).config ?? {}) as Record<string, unknown>;
  const values: ConfigValues = {};
  const nodes = new Map<string, { key: YamlNode; value: YamlNode | null }>();
  let bad = false;
  for (const pair of config.items) {
    const full = isScalar(pair.key) ? String(pair.key.value) : "";
    const colon = full.indexOf(":");
    const ns = colon > 0 ? full.slice(0, colon) : "";
    const key = colon > 0 ? full.slice(colon + 1) : full;
    if (ns === CONFIG_NAMESPACE) {
      nodes.set(key, { key: pair.key as YamlNode, value: pair.value as YamlNode | null });
      values[key] = js[full] ?? null;
    } else if (!ns) {
      top(full || "(key)", `config key without namespace; expected ${CONFIG_NAMESPACE}:${full || "<key>"}`, pair.key as YamlNode);
      bad = true;
    } else if (!OTHER_NAMESPACES.has(ns)) {
      top(full, `unknown config namespace "${ns}"; expected ${CONFIG_NAMESPACE}:<key> (or a provider's namespace: ${[...OTHER_NAMESPACES].join(", ")})`, pair.key as YamlNode);
      bad = true;
    }
  }
  if (bad) return undefined;

  const locate: Locator = (p: ConfigPath) => {
    if (p.length === 0) return at(config as YamlNode);
    const entry = nodes.get(String(p[0]));
    if (!entry) return at(config as YamlNode);
    if (p.length === 1) return at(entry.key);
    let node: unknown = entry.value;
    let last: YamlNode = entry.key;
    for (let i = 1; i < p.length; i++) {
      const seg = p[i]!;
      if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
        if (!pair) return at((node as YamlNode) ?? last);
        if (i === p.length - 1) return at(pair.key as YamlNode);
        last = pair.key as YamlNode;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === "number") {
        const item = node.items[seg];
        if (item === undefined) return at(node as YamlNode);
        last = node as YamlNode;
        node = item;
        if (i === p.length - 1) return at(item as YamlNode) ?? at(last);
      } else {
        return at((node as YamlNode | null) ?? last) ?? at(last);
      }
    }
    return at(node as YamlNode) ?? at(last);
  };
  return { values, locate };
}

/**
 * Reads the given stack files. A client whose fleet file is not among them gets it from
 * `options.stacksDir`, else from the client file's own directory (Pulumi.<fleetStack>.yaml).
 * Validates everything, collects every problem of every file, and throws one ConfigError.
 */
export function loadStackFiles(files: readonly string[], options: { stacksDir?: string } = {}): LoadedStacks {
  const issues = new IssueCollector();
  const fleets = new Map<string, Fleet>();
  const clients: ClientStack[] = [];
  const read = (file: string): StackFile | undefined => {
    try {
      return readStackFile(file);
    } catch (e) {
      if (e instanceof ConfigError) issues.addAll(e.issues);
      else throw e;
      return undefined;
    }
  };
  const seenFiles = new Set<string>();
  const failedFleets = new Set<string>();
  for (const file of files) {
    const abs = path.resolve(file);
    if (seenFiles.has(abs)) continue;
    seenFiles.add(abs);
    const sf = read(file);
    if (!sf) {
      const name = stackNameOf(file);
      if (name) failedFleets.add(name);
      continue;
    }
    if (sf.kind === "fleet") fleets.set(sf.stack, sf.fleet);
    else clients.push(sf.client);
  }
  for (const client of clients) {
    if (fleets.has(client.fleetStack) || failedFleets.has(client.fleetStack)) continue;
    const dir = options.stacksDir ?? path.dirname(client.file);
    const fleetFile = path.join(dir, `Pulumi.${client.fleetStack}.yaml`);
    const abs = path.resolve(fleetFile);
    if (!fs.existsSync(fleetFile)) {
      issues.add({ file: client.file, locate: locatorOf(client) }, ["fleetStack"], `no fleet stack file ${fleetFile}; expected the name of a fleet stack in ${dir}`);
      failedFleets.add(client.fleetStack);
      continue;
    }
    if (seenFiles.has(abs)) continue;
    seenFiles.add(abs);
    const sf = read(fleetFile);
    if (!sf) failedFleets.add(client.fleetStack);
    else if (sf.kind !== "fleet") {
      issues.add({ file: client.file, locate: locatorOf(client) }, ["fleetStack"], `${fleetFile} is a client stack; expected the name of a fleet stack`);
      failedFleets.add(client.fleetStack);
    } else fleets.set(sf.stack, sf.fleet);
  }
  const sortedFleets = [...fleets.values()].sort((a, b) => a.file.localeCompare(b.file));
  const topologies = sortedFleets.map((fleet) =>
    topologyFrom(
      fleet,
      clients.filter((c) => c.fleetStack === fleet.stack),
      issues,
    ),
  );
  issues.throwIfAny();
  return { fleets: sortedFleets, clients, topologies };
}

/** Reads every stack config file of a directory (e.g. stacks/), all fleets and their clients. */
export function loadStacksDir(dir: string): LoadedStacks {
  return loadStackFiles(listStackFiles(dir), { stacksDir: dir });
}

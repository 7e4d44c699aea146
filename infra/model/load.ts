// Reading stack config files (stacks/Pulumi.<stack>.yaml) without the Pulumi engine: YAML, namespaced
// keys, then the same parse functions the Pulumi program uses. Nothing here writes anything.
//
// YAML: `js-yaml` (the design's library) parses every file, fast. It keeps no positions, so when a
// problem must be reported the file is parsed a second time, lazily, with the `yaml` package, whose
// document nodes carry the line and column of each key: that is the one thing js-yaml cannot do.
// Bounded: a file over MAX_STACK_FILE_BYTES, or whose aliases expand beyond MAX_EXPANDED_NODES, is a
// config error naming the file (a "billion laughs" file is refused, never expanded).
import { parseConfigValue } from "./config-value";
import * as fs from "node:fs";
import * as path from "node:path";
import { CORE_SCHEMA, load as loadYaml, YAMLException } from "js-yaml";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import { findCollisions } from "./collisions";
import { CONFIG_NAMESPACE } from "./defaults";
import { ConfigError, formatKeyPath, IssueCollector, locatorOf, type ConfigPath, type Locator, type SourcePosition } from "./errors";
import { clientFromValues, fleetFromValues, refuseUnsafeKeys, type ConfigValues } from "./parse";
import { expandedSize, unsafeKeyPaths } from "./safe";
import { STACK_RE } from "./schema";
import { dumpCounts } from "./schedule";
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

/** A stack file larger than this is refused (a fleet of a few hundred servers is under 100 KiB). */
export const MAX_STACK_FILE_BYTES = 1024 * 1024;
/** Nodes of a stack file once its aliases are expanded; beyond, the file is refused. */
export const MAX_EXPANDED_NODES = 200_000;

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
    const size = fs.statSync(file).size;
    if (size > MAX_STACK_FILE_BYTES) {
      throw new ConfigError([{ file, keyPath: "(file)", message: `file is ${size} bytes; expected at most ${MAX_STACK_FILE_BYTES} (a stack config file)` }]);
    }
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof ConfigError) throw e;
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
  // Before anything reads a key (stackKind first): a prototype-reaching key is named, never dropped.
  if (refuseUnsafeKeys(raw.values, source, issues)) return undefined;
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

/**
 * A locator over the whole document (paths from its root), parsing the text with `yaml` on first
 * use only: files without problems are never parsed twice.
 */
export function lazyDocumentLocator(text: string): Locator {
  let locate: Locator | undefined;
  return (p) => (locate ??= documentLocator(text))(p);
}

function documentLocator(text: string): Locator {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  const at = (node: unknown): SourcePosition | undefined => {
    const start = (node as YamlNode | null | undefined)?.range?.[0];
    if (start === undefined) return undefined;
    const pos = lineCounter.linePos(start);
    return { line: pos.line, column: pos.col };
  };
  return (p: ConfigPath) => {
    let node: unknown = doc.contents;
    let last: unknown = node;
    for (let i = 0; i < p.length; i++) {
      const seg = p[i]!;
      if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
        if (!pair) return at(node) ?? at(last);
        if (i === p.length - 1) return at(pair.key);
        last = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === "number") {
        const item = node.items[seg];
        if (item === undefined) return at(node);
        last = node;
        node = item;
      } else {
        return at(node) ?? at(last);
      }
    }
    return at(node) ?? at(last);
  };
}

const isPlainMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** YAML → our namespace's values (keys without namespace) and a locator for them. */
function readRaw(text: string, file: string, issues: IssueCollector): RawStack | undefined {
  const docLocate = lazyDocumentLocator(text);
  const top = (docPath: ConfigPath, keyPath: string, message: string): void => {
    const pos = docLocate(docPath);
    issues.addAll([{ file, ...(pos ? { line: pos.line, column: pos.column } : {}), keyPath, message }]);
  };
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_STACK_FILE_BYTES) {
    issues.addAll([{ file, keyPath: "(file)", message: `file is ${bytes} bytes; expected at most ${MAX_STACK_FILE_BYTES} (a stack config file)` }]);
    return undefined;
  }
  let doc: unknown;
  try {
    doc = loadYaml(text, { schema: CORE_SCHEMA, filename: file });
  } catch (e) {
    if (!(e instanceof YAMLException)) throw e;
    const mark = (e as YAMLException & { mark?: { line: number; column: number } }).mark;
    issues.addAll([
      {
        file,
        ...(mark ? { line: mark.line + 1, column: mark.column + 1 } : {}),
        keyPath: "(yaml)",
        message: `invalid YAML: ${e.reason}`,
      },
    ]);
    return undefined;
  }
  const size = expandedSize(doc, MAX_EXPANDED_NODES);
  if (size > MAX_EXPANDED_NODES) {
    issues.addAll([
      {
        file,
        keyPath: "(yaml)",
        message: `the document expands to more than ${MAX_EXPANDED_NODES} values (aliases *name repeat what anchors &name hold, possibly many times over); expected a stack config without such expansion`,
      },
    ]);
    return undefined;
  }
  const unsafe = unsafeKeyPaths(doc);
  if (unsafe.length > 0) {
    for (const p of unsafe) {
      const ns = p[0] === "config" && typeof p[1] === "string" && p[1].startsWith(`${CONFIG_NAMESPACE}:`);
      const keyPath = ns ? formatKeyPath([String(p[1]).slice(CONFIG_NAMESPACE.length + 1), ...p.slice(2)]) : formatKeyPath(p, "");
      top(p, keyPath, `key "${String(p[p.length - 1])}" reaches the object prototype and is never a config key; remove it`);
    }
    return undefined;
  }
  if (!isPlainMap(doc)) {
    top([], "(file)", "expected a mapping with a config: key");
    return undefined;
  }
  for (const key of Object.keys(doc)) {
    if (!PULUMI_TOP_KEYS.has(key)) top([key], key || "(key)", `unknown top-level key; expected only ${[...PULUMI_TOP_KEYS].join(", ")}`);
  }
  const config = doc.config;
  if (!isPlainMap(config)) {
    top(config === undefined ? [] : ["config"], "config", config ? "expected a mapping of namespaced keys (dolibarr-backup:…)" : "missing; expected a mapping of namespaced keys (dolibarr-backup:…)");
    return undefined;
  }

  const values: ConfigValues = Object.create(null) as ConfigValues;
  const fullKeys = new Map<string, string>();
  let bad = false;
  for (const full of Object.keys(config)) {
    const colon = full.indexOf(":");
    const ns = colon > 0 ? full.slice(0, colon) : "";
    const key = colon > 0 ? full.slice(colon + 1) : full;
    if (ns === CONFIG_NAMESPACE) {
      fullKeys.set(key, full);
      // as the engine passes it to the program: Pulumi writes `config set` values as strings
      const value = config[full] ?? null;
      values[key] = typeof value === "string" ? parseConfigValue(value) : value;
    } else if (!ns) {
      top(["config", full], full || "(key)", `config key without namespace; expected ${CONFIG_NAMESPACE}:${full || "<key>"}`);
      bad = true;
    } else if (!OTHER_NAMESPACES.has(ns)) {
      top(["config", full], full, `unknown config namespace "${ns}"; expected ${CONFIG_NAMESPACE}:<key> (or a provider's namespace: ${[...OTHER_NAMESPACES].join(", ")})`);
      bad = true;
    }
  }
  if (bad) return undefined;
  // Plain prototype again for the parsers (the keys were checked above).
  const plain: ConfigValues = { ...values };

  const locate: Locator = (p: ConfigPath) => {
    if (p.length === 0) return docLocate(["config"]);
    const full = fullKeys.get(String(p[0]));
    if (full === undefined) return docLocate(["config"]);
    return docLocate(["config", full, ...p.slice(1)]);
  };
  return { values: plain, locate };
}

/**
 * Reads the given stack files. A client whose fleet file is not among them gets it from
 * `options.stacksDir`, else from the client file's own directory (Pulumi.<fleetStack>.yaml).
 * Validates everything, collects every problem of every file, and throws one ConfigError.
 * Unless `options.allClients` (the files are the whole directory), each topology also counts the
 * dumps of its fleet's other client stacks found in that directory (Topology.otherDumps), as the
 * program of one client stack does: they queue on the same hosting servers.
 */
export function loadStackFiles(files: readonly string[], options: { stacksDir?: string; allClients?: boolean } = {}): LoadedStacks {
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
  const loadedStacks = new Set(clients.map((c) => c.stack));
  const topologies = sortedFleets.map((fleet) => {
    const topology = topologyFrom(
      fleet,
      clients.filter((c) => c.fleetStack === fleet.stack),
      issues,
    );
    // Some client stacks only (npm run check -- FILE…): the dumps of the fleet's other client
    // stacks, in the directory, queue on the same hosting servers, as the program counts them.
    const dir = options.stacksDir ?? path.dirname(fleet.file);
    const others = options.allClients ? [] : otherClientStacks({ stack: fleet.stack, fleetStack: fleet.stack }, dir, loadedStacks);
    return others.length > 0 ? { ...topology, otherDumps: dumpCounts(others) } : topology;
  });
  issues.throwIfAny();
  return { fleets: sortedFleets, clients, topologies };
}

/** Reads every stack config file of a directory (e.g. stacks/), all fleets and their clients. */
export function loadStacksDir(dir: string): LoadedStacks {
  return loadStackFiles(listStackFiles(dir), { stacksDir: dir, allClients: true });
}

/**
 * The other client stacks of `client`'s fleet in `stacksDir` (every Pulumi.<stack>.yaml but the
 * client's own whose fleetStack names the same fleet). Files that cannot be read or validated are
 * skipped: the offline check reports them.
 */
export function otherClientStacks(client: Pick<ClientStack, "stack" | "fleetStack">, stacksDir = "stacks", skip: ReadonlySet<string> = new Set()): ClientStack[] {
  if (!fs.existsSync(stacksDir)) return [];
  const others: ClientStack[] = [];
  for (const file of listStackFiles(stacksDir)) {
    const name = stackNameOf(file);
    if (name === client.stack || (name !== undefined && skip.has(name))) continue;
    try {
      const sf = readStackFile(file);
      if (sf.kind === "client" && sf.client.fleetStack === client.fleetStack) others.push(sf.client);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
    }
  }
  return others;
}

/**
 * The Pulumi program of one client stack sees only its own config from the engine; the other client
 * stacks of its fleet are in the repository (`stacksDir`, stacks/ of the project). Reads them and
 * throws a ConfigError naming every collision of `client` with them (shared database or directories
 * on one hosting server). Files that cannot be read or validated are skipped here: the offline check
 * reports them. The client's own file is replaced by `client` (the values the engine passed).
 */
export function refuseFleetCollisions(client: ClientStack, stacksDir = "stacks", others: readonly ClientStack[] = otherClientStacks(client, stacksDir)): void {
  const issues = new IssueCollector();
  for (const c of findCollisions([...others, client])) {
    if (c.at.stack !== client.stack && c.with.stack !== client.stack) continue;
    const mine = c.at.stack === client.stack ? c.at : c.with;
    const other = mine === c.at ? c.with : c.at;
    const keyPath: ConfigPath = mine.key === "database" ? ["instances", mine.index, "database", "name"] : ["instances", mine.index, mine.key];
    const message =
      mine.key === "database"
        ? `database ${mine.value} on hosting server ${c.hostingServer} is also used by instance ${other.instance} (client ${other.client}, ${other.file}); expected one database per instance`
        : `${mine.key} ${mine.value} on hosting server ${c.hostingServer} collides with ${other.key} ${other.value} of instance ${other.instance} (client ${other.client}, ${other.file}); expected directories of their own, none inside another instance's`;
    issues.add({ file: client.file, locate: locatorOf(client) }, keyPath, message);
  }
  issues.throwIfAny();
}

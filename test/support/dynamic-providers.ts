// The program's dynamic providers as the engine runs them: serialized by Pulumi's closure
// serialization (what goes into `__provider`), then loaded back from that text alone, the way the
// engine's dynamic provider host does (require-from-string, then `.handler()`).
import Module from "node:module";
import * as path from "node:path";

type SerializeFunction = (f: () => unknown, args: { allowSecrets: boolean }) => Promise<{ text: string; containsSecrets: boolean }>;

/** The text Pulumi stores in `__provider` for this provider object. */
export async function serializedProvider(provider: object): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sc = require("@pulumi/pulumi/runtime/closure/serializeClosure") as { serializeFunction: SerializeFunction };
  const sf = await sc.serializeFunction(() => provider, { allowSecrets: true });
  if (sf.containsSecrets) throw new Error("the serialized provider contains secrets");
  return sf.text;
}

/** Loads a serialized provider in a fresh module (nothing of the project's modules reachable). */
export function loadProvider<T>(text: string): T {
  const file = path.join(__dirname, `__provider-${Math.random().toString(36).slice(2)}.js`);
  const m = new Module(file) as Module & { _compile(code: string, filename: string): void };
  m.filename = file;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
  m._compile(text, file);
  return (m.exports as { handler(): T }).handler();
}

/** Serialized, then loaded back: the provider exactly as the engine would run it. */
export async function asTheEngineRunsIt<T extends object>(provider: T): Promise<T> {
  return loadProvider<T>(await serializedProvider(provider));
}

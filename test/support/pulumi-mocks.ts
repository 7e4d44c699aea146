// Pulumi mocks for the program's unit tests: records every resource registered (components
// included) with its inputs as the engine would receive them (secrets still wrapped), answers
// the few outputs the program reads (random values, command stdout, stack references) and lets a
// test wait until every registration has been made.
import * as pulumi from "@pulumi/pulumi";
import { STOCK_TYPES } from "../../infra/components/contract";

/** The signature Pulumi's serialization puts on secret values. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface MockResource {
  type: string;
  name: string;
  /** Inputs as serialized for the engine: secrets appear as { [sig]: SECRET_SIG, value }. */
  inputs: Record<string, unknown>;
  custom: boolean;
  /** The resource option additionalSecretOutputs, as the engine receives it. */
  additionalSecretOutputs: string[];
  /** The URN the engine gives it (its parents' types and its name). */
  urn: string;
  /** The resource option retainOnDelete, as the engine receives it. */
  retainOnDelete: boolean;
}

export interface MockOptions {
  project?: string;
  stack?: string;
  /** Run as a preview: outputs a mock leaves out are unknown, as on a first preview. */
  preview?: boolean;
  /** Stack outputs served to StackReferences, by full reference name; names listed in `secret` are secret outputs. */
  stackOutputs?: Record<string, { outputs: Record<string, unknown>; secret?: string[] }>;
  /** stdout of a remote.Command (default ""); undefined leaves it out (unknown in a preview). */
  commandStdout?: (resource: MockResource) => string | undefined;
  /** RandomInteger result (default 7); undefined leaves it unknown. */
  randomInteger?: (resource: MockResource) => number | undefined;
  /** RandomPassword result (default "pw-<name>"). */
  randomPassword?: (resource: MockResource) => string | undefined;
}

export class MockRecorder {
  readonly resources: MockResource[] = [];

  ofType(type: string): MockResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  named(name: string): MockResource {
    const found = this.resources.filter((r) => r.name === name);
    if (found.length !== 1) {
      throw new Error(`expected one resource named ${name}, found ${found.length}: ${this.resources.map((r) => r.name).join(", ")}`);
    }
    return found[0]!;
  }

  has(name: string): boolean {
    return this.resources.some((r) => r.name === name);
  }

  commands(): MockResource[] {
    return this.ofType(STOCK_TYPES.remoteCommand);
  }
}

export function isSecretValue(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Paths (a.b[2].c) where `needle` appears in a string outside any secret. */
export function plainOccurrences(value: unknown, needle: string, path = ""): string[] {
  if (isSecretValue(value)) return [];
  if (typeof value === "string") return value.includes(needle) ? [path || "(root)"] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => plainOccurrences(v, needle, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => plainOccurrences(v, needle, path ? `${path}.${k}` : k));
  }
  return [];
}

/** The value with every secret wrapper removed. */
export function reveal<T = unknown>(value: unknown): T {
  if (isSecretValue(value)) return reveal((value as { value: unknown }).value);
  if (Array.isArray(value)) return value.map((v) => reveal(v)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)])) as T;
  }
  return value as T;
}

export function setupMocks(options: MockOptions = {}): MockRecorder {
  const recorder = new MockRecorder();
  // additionalSecretOutputs, URN and retainOnDelete of each registration (the mocks' newResource does not see the options).
  const secretOutputs = new Map<string, string[]>();
  const registered = new Map<string, { urn: string; retainOnDelete: boolean }>();
  void pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
        const resource: MockResource = {
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          custom: args.custom ?? true,
          additionalSecretOutputs: secretOutputs.get(`${args.type}::${args.name}`) ?? [],
          urn: registered.get(`${args.type}::${args.name}`)?.urn ?? "",
          retainOnDelete: registered.get(`${args.type}::${args.name}`)?.retainOnDelete ?? false,
        };
        recorder.resources.push(resource);
        const state: Record<string, unknown> = { ...reveal<Record<string, unknown>>(args.inputs) };
        switch (args.type) {
          case "pulumi:pulumi:StackReference": {
            const served = options.stackOutputs?.[args.name];
            if (!served) throw new Error(`no mock outputs for stack reference ${args.name}`);
            state.outputs = served.outputs;
            state.secretOutputNames = served.secret ?? [];
            break;
          }
          case STOCK_TYPES.remoteCommand: {
            const stdout = options.commandStdout ? options.commandStdout(resource) : "";
            if (stdout !== undefined) state.stdout = stdout;
            state.stderr = "";
            break;
          }
          case STOCK_TYPES.randomInteger: {
            const value = options.randomInteger ? options.randomInteger(resource) : 7;
            if (value !== undefined) state.result = value;
            break;
          }
          case STOCK_TYPES.randomPassword: {
            const value = options.randomPassword ? options.randomPassword(resource) : `pw-${args.name}`;
            if (value !== undefined) state.result = value;
            break;
          }
        }
        return { id: args.custom === false ? undefined : `${args.name}-id`, state };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        return args.inputs as Record<string, unknown>;
      },
    },
    options.project ?? "dolibarr-backup",
    options.stack ?? "test",
    options.preview ?? false,
    "organization",
  );
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): unknown };
  const monitor = settings.getMonitor() as {
    registerResource(
      req: { getType(): string; getName(): string; getParent(): string; getRetainondelete(): boolean; getAdditionalsecretoutputsList(): string[] },
      cb: unknown,
    ): Promise<void>;
    newUrn(parent: string, type: string, name: string): string;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    secretOutputs.set(`${req.getType()}::${req.getName()}`, [...req.getAdditionalsecretoutputsList()]);
    registered.set(`${req.getType()}::${req.getName()}`, { urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()), retainOnDelete: req.getRetainondelete() });
    return register(req, cb);
  };
  return recorder;
}

/** Waits until every pending registration and output of the program has been handled. */
export async function settle(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  for (let i = 0; i < 3; i++) {
    await settings.waitForRPCs();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The value of an output, and whether it is secret / known. */
export async function peek<T>(output: pulumi.Input<T>): Promise<{ value: T | undefined; secret: boolean; known: boolean }> {
  const o = pulumi.output(output) as pulumi.Output<T> & {
    promise(): Promise<T>;
    isKnown: Promise<boolean>;
    isSecret: Promise<boolean>;
  };
  const [value, known, secret] = await Promise.all([o.promise(), o.isKnown, o.isSecret]);
  return { value: known ? value : undefined, secret, known };
}

/** The outputs a component registered (registerOutputs), as the engine received them. */
export function registeredOutputs(name: string): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): unknown };
  const monitor = settings.getMonitor() as { resources: Map<string, { urn: string; state: unknown }> };
  const found = [...monitor.resources.values()].filter((r) => r.urn.endsWith(`::${name}`));
  if (found.length !== 1) throw new Error(`expected one registered resource named ${name}, found ${found.length}`);
  const state = found[0]!.state as { toJavaScript?: () => Record<string, unknown> } | Record<string, unknown>;
  const plain = typeof (state as { toJavaScript?: unknown }).toJavaScript === "function" ? (state as { toJavaScript(): Record<string, unknown> }).toJavaScript() : (state as Record<string, unknown>);
  return plain;
}

/** The sh script inside a command made by asRoot ("sh -c '…'" or "sudo -n sh -c '…'"). */
export function rootScript(commandLine: string): string {
  const m = /^(?:sudo -n )?sh -c (.*)$/s.exec(commandLine);
  if (!m) throw new Error(`not an asRoot command: ${commandLine.slice(0, 60)}`);
  const word = m[1]!;
  let out = "";
  for (let i = 0; i < word.length; i++) {
    const c = word[i]!;
    if (c === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) throw new Error("unterminated quote");
      out += word.slice(i + 1, end);
      i = end;
    } else if (c === "\\") {
      out += word[++i] ?? "";
    } else {
      out += c;
    }
  }
  return out;
}

/** Whether a recorded input is the engine's "unknown" (a preview value not known yet). */
export function isUnknown(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as { __pulumiUnknown?: boolean }).__pulumiUnknown === true;
}

// Stable random values as Pulumi dynamic resources (our replacement for @pulumi/random, whose
// provider plugin cannot be built here: see scripts/engine/README.md). Drawn with node's crypto
// on create, kept in the state, never drawn again by an update:
//  - RandomInteger {min, max} -> result: a changed range keeps the value when it is still inside
//    (the new bounds are stored), else the resource is replaced (a new value is drawn);
//  - RandomPassword {length} -> result (secret): letters and digits only (safe unquoted in a
//    MariaDB option file and in SQL), at least one lower case letter, one upper case letter and
//    one digit; a changed length replaces it (a new password).
// Like SshCommand, the providers are serialized into the state: self-contained methods.
import * as pulumi from "@pulumi/pulumi";

export const RANDOM_MODULE = "dolibarr-backup";
export const RANDOM_INTEGER_TYPE = `pulumi-nodejs:dynamic/${RANDOM_MODULE}:RandomInteger`;
export const RANDOM_PASSWORD_TYPE = `pulumi-nodejs:dynamic/${RANDOM_MODULE}:RandomPassword`;

export interface RandomIntegerState {
  min: number;
  max: number;
  result?: number;
}

export const randomIntegerProvider = {
  async check(_olds: unknown, news: RandomIntegerState): Promise<{ inputs: RandomIntegerState; failures: Array<{ property: string; reason: string }> }> {
    const failures: Array<{ property: string; reason: string }> = [];
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // a preview's unknown value
    for (const k of ["min", "max"] as const) {
      if ((news[k] as unknown) !== unknown && !Number.isSafeInteger(news[k])) failures.push({ property: k, reason: `${k} must be an integer` });
    }
    if (failures.length === 0 && typeof news.min === "number" && typeof news.max === "number" && news.min > news.max) failures.push({ property: "max", reason: `max (${news.max}) is below min (${news.min})` });
    return { inputs: news, failures };
  },

  async create(inputs: RandomIntegerState & { __provider?: string }): Promise<{ id: string; outs: RandomIntegerState }> {
    const crypto: typeof import("node:crypto") = require("node:crypto");
    const result = crypto.randomInt(inputs.min, inputs.max + 1);
    return { id: crypto.randomUUID(), outs: { min: inputs.min, max: inputs.max, result } };
  },

  async diff(_id: string, olds: RandomIntegerState, news: RandomIntegerState): Promise<{ changes: boolean; replaces: string[] }> {
    if (olds.min === news.min && olds.max === news.max) return { changes: false, replaces: [] };
    const r = olds.result;
    // Outside the new range (or unknown): draw again. A replacement, never an update.
    const inside = typeof r === "number" && typeof news.min === "number" && typeof news.max === "number" && r >= news.min && r <= news.max;
    return { changes: true, replaces: inside ? [] : ["min", "max"].filter((k) => olds[k as "min"] !== news[k as "min"]) };
  },

  async update(_id: string, olds: RandomIntegerState, news: RandomIntegerState): Promise<{ outs: RandomIntegerState }> {
    // Never drawn again: only the bounds are stored.
    return { outs: { min: news.min, max: news.max, result: olds.result! } };
  },
};

export interface RandomPasswordState {
  length: number;
  result?: string;
}

export const randomPasswordProvider = {
  async check(_olds: unknown, news: RandomPasswordState): Promise<{ inputs: RandomPasswordState; failures: Array<{ property: string; reason: string }> }> {
    const ok = (news.length as unknown) === "04da6b54-80e4-46f7-96ec-b56ff0331ba9" || Number.isSafeInteger(news.length) && news.length >= 8 && news.length <= 256;
    return { inputs: news, failures: ok ? [] : [{ property: "length", reason: "length must be an integer from 8 to 256" }] };
  },

  async create(inputs: RandomPasswordState & { __provider?: string }): Promise<{ id: string; outs: RandomPasswordState }> {
    const crypto: typeof import("node:crypto") = require("node:crypto");
    const lower = "abcdefghijklmnopqrstuvwxyz";
    const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const digits = "0123456789";
    const all = lower + upper + digits;
    const n = inputs.length;
    if (!Number.isSafeInteger(n) || n < 8) throw new Error(`RandomPassword: length must be an integer of at least 8, got ${n}`);
    // One of each class, the rest from the whole set, then a Fisher-Yates shuffle (all uniform, crypto).
    const chars = [lower, upper, digits].map((set) => set[crypto.randomInt(set.length)]!);
    while (chars.length < n) chars.push(all[crypto.randomInt(all.length)]!);
    for (let i = chars.length - 1; i > 0; i--) {
      const j = crypto.randomInt(i + 1);
      [chars[i], chars[j]] = [chars[j]!, chars[i]!];
    }
    return { id: crypto.randomUUID(), outs: { length: n, result: chars.join("") } };
  },

  async diff(_id: string, olds: RandomPasswordState, news: RandomPasswordState): Promise<{ changes: boolean; replaces: string[] }> {
    if (olds.length === news.length) return { changes: false, replaces: [] };
    return { changes: true, replaces: ["length"] };
  },

  async update(_id: string, olds: RandomPasswordState, news: RandomPasswordState): Promise<{ outs: RandomPasswordState }> {
    // Never drawn again (a changed length is a replacement, see diff).
    return { outs: { length: news.length, result: olds.result! } };
  },
};

export interface RandomIntegerArgs {
  min: pulumi.Input<number>;
  max: pulumi.Input<number>;
}

/** A stable random integer in [min, max], drawn once. */
export class RandomInteger extends pulumi.dynamic.Resource {
  declare readonly min: pulumi.Output<number>;
  declare readonly max: pulumi.Output<number>;
  declare readonly result: pulumi.Output<number>;

  constructor(name: string, args: RandomIntegerArgs, opts?: pulumi.CustomResourceOptions) {
    super(randomIntegerProvider as unknown as pulumi.dynamic.ResourceProvider, name, { ...args, result: undefined }, opts, RANDOM_MODULE, "RandomInteger");
  }
}

export interface RandomPasswordArgs {
  /** Number of characters (8..256). */
  length: pulumi.Input<number>;
}

/** A stable random password (letters and digits, secret), drawn once. */
export class RandomPassword extends pulumi.dynamic.Resource {
  declare readonly length: pulumi.Output<number>;
  declare readonly result: pulumi.Output<string>;

  constructor(name: string, args: RandomPasswordArgs, opts: pulumi.CustomResourceOptions = {}) {
    const secretOutputs = [...new Set([...(opts.additionalSecretOutputs ?? []), "result"])];
    super(
      randomPasswordProvider as unknown as pulumi.dynamic.ResourceProvider,
      name,
      { ...args, result: undefined },
      { ...opts, additionalSecretOutputs: secretOutputs },
      RANDOM_MODULE,
      "RandomPassword",
    );
  }
}

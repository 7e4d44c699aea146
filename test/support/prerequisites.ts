// Tests that need a tool, root, or a package may skip where it is missing, but never in CI: with
// CI=true a missing prerequisite is a failing test that says what is missing, so that a CI run
// cannot pass by skipping what it was meant to prove.
import { test } from "node:test";

/** True in CI (CI=true, as GitHub Actions and most CI systems set it). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes)$/i.test(env.CI ?? "");
}

/**
 * The `skip` option of a suite or test whose prerequisites may be missing (`missing`: why it cannot
 * run, or undefined when it can). Outside CI: that reason (node:test prints it as a skip). In CI:
 * registers a failing test "<what>: prerequisites" naming what is missing, and skips the rest
 * (it could only fail less clearly).
 */
export function skipUnlessCi(missing: string | undefined, what: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (missing === undefined) return undefined;
  if (inCi(env)) {
    test(`${what}: prerequisites`, () => {
      throw new Error(`CI=true and ${what} cannot run: ${missing} (install scripts/ci/apt-packages.txt, run as root)`);
    });
  }
  return missing;
}

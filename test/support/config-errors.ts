// Config errors in tests: the ConfigError a parse throws, and a table of bad values each refused
// with its message.
import assert from "node:assert/strict";
import { ConfigError } from "../../infra/model/errors";

/** The ConfigError `f` throws (any other error is rethrown; none fails the test). */
export function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail("expected a ConfigError");
}

/** Each value of `cases`, parsed by `parse`, is refused with a message matching its pattern and naming `file`. */
export function assertRefused<T>(cases: ReadonlyArray<readonly [T, RegExp]>, parse: (value: T) => unknown, file: RegExp): void {
  for (const [value, re] of cases) {
    const e = configError(() => parse(value));
    assert.match(e.message, re);
    assert.match(e.message, file);
  }
}

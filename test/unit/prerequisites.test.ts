// skipUnlessCi: a missing prerequisite skips locally but fails in CI (CI=true), naming what is missing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { inCi } from "../support/prerequisites";

const helper = path.resolve(__dirname, "..", "support", "prerequisites.js");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-prereq-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function runSuite(missing: string | undefined, ci: string | undefined): { status: number | null; out: string } {
  const file = path.join(dir, `suite-${Math.random().toString(36).slice(2)}.test.js`);
  fs.writeFileSync(
    file,
    `const { describe, it } = require("node:test");
const { skipUnlessCi } = require(${JSON.stringify(helper)});
describe("needs a tool", { skip: skipUnlessCi(${JSON.stringify(missing)}, "the tool suite") }, () => {
  it("runs", () => {});
});
`,
  );
  const env = { ...process.env };
  delete env.CI;
  delete env.NODE_TEST_CONTEXT;
  if (ci !== undefined) env.CI = ci;
  const r = spawnSync(process.execPath, ["--test", "--test-reporter=tap", file], { encoding: "utf8", env, timeout: 60_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe("tests that cannot hide behind a skip in CI", () => {
  it("skips with the reason outside CI", () => {
    const r = runSuite("shellcheck missing", undefined);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /# SKIP shellcheck missing/);
  });

  it("fails in CI, naming what is missing", () => {
    for (const ci of ["true", "1"]) {
      const r = runSuite("shellcheck missing", ci);
      assert.notEqual(r.status, 0, r.out);
      assert.match(r.out, /not ok \d+ - the tool suite: prerequisites/);
      assert.match(r.out, /CI=true and the tool suite cannot run: shellcheck missing/);
    }
  });

  it("runs normally when nothing is missing, in CI or not", () => {
    for (const ci of [undefined, "true"]) {
      const r = runSuite(undefined, ci);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /ok \d+ - runs/);
      assert.doesNotMatch(r.out, /SKIP/);
    }
  });

  it("reads CI the way CI systems set it", () => {
    assert.equal(inCi({ CI: "true" }), true);
    assert.equal(inCi({ CI: "1" }), true);
    assert.equal(inCi({ CI: "false" }), false);
    assert.equal(inCi({}), false);
  });
});

// The engine the tests run: one Pulumi release end to end. `pulumi about` in the project lists the
// CLI, the Node.js language host and the command and random plugins at the versions pinned in
// scripts/engine/versions.env, which are also the npm packages' versions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO } from "../../scripts/lab/driver";

function pinned(): Record<string, string> {
  const text = fs.readFileSync(path.join(REPO, "scripts/engine/versions.env"), "utf8");
  return Object.fromEntries([...text.matchAll(/^([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

test("pulumi about: CLI and language host nodejs at the pinned version; the command and random plugins the engine provides; the npm packages agree", () => {
  const v = pinned();
  const r = spawnSync("pulumi", ["about", "--json"], { cwd: REPO, encoding: "utf8", env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: "unused" } });
  assert.equal(r.status, 0, r.stderr);
  const about = JSON.parse(r.stdout) as { plugins?: Array<{ name: string; version: string }> };
  const language = (about.plugins ?? []).find((p) => p.name === "nodejs");
  assert.equal(language?.version.replace(/^v/, ""), v.PULUMI_VERSION, JSON.stringify(about.plugins));
  // Built here they are installed in the engine's PULUMI_HOME; with an official CLI Pulumi acquires
  // them on first use (then `plugin ls` lists them after the first deployment).
  const ls = spawnSync("pulumi", ["plugin", "ls", "--json"], { encoding: "utf8" });
  assert.equal(ls.status, 0, ls.stderr);
  const plugins = Object.fromEntries((JSON.parse(ls.stdout || "[]") as Array<{ name: string; version: string; kind: string }>).filter((p) => p.kind === "resource").map((p) => [p.name, p.version.replace(/^v/, "")]));
  assert.equal(plugins.command, v.PULUMI_COMMAND_VERSION, JSON.stringify(plugins));
  assert.equal(plugins.random, v.PULUMI_RANDOM_VERSION);
  const cli = spawnSync("pulumi", ["version"], { encoding: "utf8" }).stdout.trim();
  assert.equal(cli, `v${v.PULUMI_VERSION}`);
  const npm = (name: string) => (JSON.parse(fs.readFileSync(path.join(REPO, "node_modules", name, "package.json"), "utf8")) as { version: string }).version.replace(/^v/, "");
  assert.equal(npm("@pulumi/pulumi"), v.PULUMI_NODEJS_SDK_VERSION);
  assert.equal(v.PULUMI_NODEJS_SDK_VERSION, v.PULUMI_VERSION, "one release: the Node SDK at the CLI's version");
  assert.equal(npm("@pulumi/command"), v.PULUMI_COMMAND_VERSION);
  assert.equal(npm("@pulumi/random"), v.PULUMI_RANDOM_VERSION);
  assert.equal(npm("@pulumi/policy"), v.PULUMI_POLICY_VERSION);
});

test("no dynamic provider is left in the program", () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".ts") && /pulumi\.dynamic\b/.test(fs.readFileSync(p, "utf8"))) offenders.push(path.relative(REPO, p));
    }
  };
  walk(path.join(REPO, "infra"));
  assert.deepEqual(offenders, []);
});

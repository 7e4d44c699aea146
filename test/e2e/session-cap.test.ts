// The per-server cap of SSH sessions holds across the client stacks that deploy at once: three client
// stacks deployed together through scripts/deploy (DEPLOY_PARALLELISM=3, as the users' CI and the lab
// deploy) on the same hosting and backup hosts, and sshd's journal on each lab host says how many
// sessions ran a command at the same instant (sampled on the host every 50 ms: sshd's journal does not
// say when a session's command ends): never more than SESSIONS_PER_HOST (without the runner's split
// of the cap, each stack ran up to the whole cap at once: up to 3 × 5 on one host).
// Runs in a project copy of its own (own stacks/ and state); the clients are destroyed after.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { labEnv, labHosts, projectCopy, pulumi, sshOk, labHost } from "../../scripts/lab/driver";
import { deploy, prepareInstances, prepareLabStacks } from "../../scripts/lab/flow";
import { labClientConfig, labScaleClient, writeStackFile } from "../../scripts/lab/stacks";
import { SESSIONS_PER_HOST } from "../../infra/components/sessions";
import { startSessionSampler, stopSessionSampler } from "../support/ssh-sessions";

describe("the session cap per server holds across client stacks deployed at once", { concurrency: false }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-e2e-cap-"));
  const env = labEnv({ repo: projectCopy(fs.mkdtempSync(path.join(work, "project-"))), stateDir: fs.mkdtempSync(path.join(work, "state-")) });
  const clients = [1, 2, 3].map((k) => labScaleClient(8, `cap${k}`));
  let files: string[] = [];
  const parallelism = process.env.DEPLOY_PARALLELISM;

  before(() => {
    files = prepareLabStacks(env, []);
    for (const c of clients) {
      prepareInstances(env, c);
      files.push(writeStackFile(env.stacksDir, c.stack, labClientConfig(c)));
    }
    process.env.DEPLOY_PARALLELISM = "3";
  });

  after(() => {
    if (parallelism === undefined) delete process.env.DEPLOY_PARALLELISM;
    else process.env.DEPLOY_PARALLELISM = parallelism;
    for (const c of clients) pulumi(env, ["destroy", "--yes", "--skip-preview", "--stack", c.stack]);
    fs.rmSync(work, { recursive: true, force: true });
  });

  test("three client stacks of 8 instances at once: at most 5 sessions at once on every host, every stack deployed", () => {
    // the fleet first, alone (its own run), then the three clients at once
    assert.equal(deploy(env, "up", files.slice(0, 1)).status, 0, "fleet up");
    for (const h of labHosts(env)) startSessionSampler(env, h);
    const result = deploy(env, "up", files.slice(1));
    const most = new Map(labHosts(env).map((h) => [h.name, stopSessionSampler(env, h)]));
    assert.equal(result.status, 0, `deploy failed:\n${result.stdout.slice(-6000)}\n${result.stderr.slice(-2000)}`);
    assert.match(result.stdout, /client stacks 3 at a time with 1 session\(s\) per server each/);
    const fra = labHost(env, "lab-host-ionos-fra");
    for (const [host, n] of most) assert.ok(n <= SESSIONS_PER_HOST, `${host}: ${n} SSH sessions ran a command at once (cap ${SESSIONS_PER_HOST})`);
    // the sampler saw the stacks' commands on the hosting host (it can count)
    assert.ok(most.get(fra.name)! >= 1, `${fra.name}: no session seen running`);
    for (const c of clients) {
      assert.equal(sshOk(env, fra, `systemctl is-enabled dolibarr-dump@${c.instances[7]!.name}.timer`).trim(), "enabled", c.stack);
    }
  });
});

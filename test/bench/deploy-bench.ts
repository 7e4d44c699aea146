// Deployment cost with the real engine on the lab (needs `bash scripts/lab/lab.sh up` and the
// engine, as `npm run lab` leaves them; run it under the lab lock, `flock /tmp/dbk-lab-e2e.lock`):
//  - for the lab fleet and for client stacks of 10, 50 and 100 small instances on one hosting host:
//    the resources, the SSH sessions the hosts accepted, the wall time of the first `up` and of a
//    no-op `up`, the state file's size, and each per instance (the cost should be flat);
//  - 20 client stacks deployed at once through scripts/deploy (as the users' CI deploys a fleet's
//    clients): the wall time, and the most SSH sessions running a command at once on each host.
// Prints numbers; asserts nothing. Runs in a project copy with its own stacks and state; the scale
// clients are destroyed after.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { SSHD_JOURNAL_MATCH, engineEnv, labEnv, labHosts, LabEnv, pulumiOk, projectCopy, sshOk, ensureStack } from "../../scripts/lab/driver";
import { deploy, prepareInstances, prepareLabStacks } from "../../scripts/lab/flow";
import { labClientConfig, labScaleClient, LAB_FLEET_STACK, writeStackFile, type LabClient } from "../../scripts/lab/stacks";
import { startSessionSampler, stopSessionSampler } from "../support/ssh-sessions";

interface DeployFigures {
  stack: string;
  instances: number;
  resources: number;
  sessions: number;
  firstUpSeconds: number;
  noopUpSeconds: number;
  noopSessions: number;
  stateBytes: number;
}

/** The deploy's (root's) sessions each host's sshd accepted so far (the count's own session included; not the binlog pulls' dbk-* logins). */
function acceptedSessions(env: LabEnv): number {
  return labHosts(env).reduce((n, h) => n + Number(sshOk(env, h, `journalctl ${SSHD_JOURNAL_MATCH.join(" ")} --no-pager -o cat | grep -c 'Accepted publickey for root ' || true`).trim()), 0);
}

function stateFile(env: LabEnv, stack: string): string {
  return path.join(env.stateDir, ".pulumi", "stacks", "dolibarr-backup", `${stack}.json`);
}

function measure(env: LabEnv, stack: string, instances: number, firstUp: () => void): DeployFigures {
  const hosts = labHosts(env).length;
  const before = acceptedSessions(env);
  let t = process.hrtime.bigint();
  firstUp();
  const firstUpSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  const afterUp = acceptedSessions(env);
  t = process.hrtime.bigint();
  pulumiOk(env, ["up", "--yes", "--skip-preview", "--expect-no-changes", "--stack", stack]);
  const noopUpSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  const afterNoop = acceptedSessions(env);
  const state = JSON.parse(pulumiOk(env, ["stack", "export", "--stack", stack])) as { deployment?: { resources?: unknown[] } };
  return {
    stack,
    instances,
    resources: state.deployment?.resources?.length ?? 0,
    sessions: afterUp - before - hosts,
    firstUpSeconds,
    noopUpSeconds,
    noopSessions: afterNoop - afterUp - hosts,
    stateBytes: fs.statSync(stateFile(env, stack)).size,
  };
}

function print(rows: DeployFigures[]): void {
  console.log(
    "  stack                   instances  resources  sessions  first up (s)  s/instance  no-op up (s)  no-op sessions  state (KB)  KB/instance",
  );
  for (const r of rows) {
    const per = (x: number, digits: number) => (r.instances > 0 ? (x / r.instances).toFixed(digits) : "-");
    console.log(
      `  ${r.stack.padEnd(23)} ${String(r.instances).padStart(9)}  ${String(r.resources).padStart(9)}  ${String(r.sessions).padStart(8)}  ${r.firstUpSeconds.toFixed(1).padStart(12)}  ${per(r.firstUpSeconds, 2).padStart(10)}  ${r.noopUpSeconds.toFixed(1).padStart(12)}  ${String(r.noopSessions).padStart(14)}  ${(r.stateBytes / 1024).toFixed(0).padStart(10)}  ${per(r.stateBytes / 1024, 1).padStart(11)}`,
    );
  }
}

/**
 * A bench client of `count` instances on one hosting host. The lab fleet dumps 4 at once in a
 * 30-min window: every 25 instances dump an hour later than the 25 before (rpo.max holds at 100).
 */
export function benchClient(count: number, client: string, hostingServer = "lab-host-ionos-fra"): LabClient {
  const c = labScaleClient(count, client, hostingServer);
  c.instances.forEach((i, k) => {
    const hour = Math.floor(k / 25);
    if (hour > 0) (i as Record<string, unknown>).schedule = { dumpTimes: [`0${hour}:00`.slice(-5), `${12 + hour}:00`] };
  });
  return c;
}

/** `pulumi destroy` of many stacks, `parallel` at a time, each with its share of the session cap. */
async function destroyAll(env: LabEnv, stacks: string[], parallel = 3): Promise<void> {
  let next = 0;
  const one = (stack: string) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn("bash", ["-c", 'source scripts/engine/env.sh && exec pulumi destroy --yes --skip-preview --non-interactive --color never --stack "$1"', "destroy", stack], {
        cwd: env.repo,
        env: { ...engineEnv(env), DOLIBARR_BACKUP_SESSIONS_PER_HOST: "1" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let err = "";
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`pulumi destroy ${stack}: exit ${code}: ${err}`))));
    });
  const worker = async () => {
    while (next < stacks.length) await one(stacks[next++]!);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/**
 * `stacks` client stacks of `perStack` instances (alternately on each hosting host) deployed at once
 * through scripts/deploy (the policy pack included, as the users' CI runs it).
 */
async function parallelClients(env: LabEnv, stacks: number, perStack: number): Promise<void> {
  const hosting = labHosts(env).filter((h) => h.role === "hosting").map((h) => h.name);
  const clients = Array.from({ length: stacks }, (_, k) => labScaleClient(perStack, `par${String(k + 1).padStart(2, "0")}`, hosting[k % hosting.length]));
  const files = clients.map((c) => {
    prepareInstances(env, c);
    return writeStackFile(env.stacksDir, c.stack, labClientConfig(c));
  });
  const parallelism = process.env.DEPLOY_PARALLELISM ?? "3";
  for (const h of labHosts(env)) startSessionSampler(env, h);
  const t = process.hrtime.bigint();
  const up = deploy(env, "up", files);
  const upSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (up.status !== 0) throw new Error(`parallel deploy failed:\n${up.stdout.slice(-4000)}\n${up.stderr.slice(-2000)}`);
  const most = labHosts(env).map((h) => ({ host: h.name, most: stopSessionSampler(env, h) }));
  console.log(
    `  ${stacks} client stacks of ${perStack} instances through scripts/deploy (fleet included, policy pack on, DEPLOY_PARALLELISM=${parallelism}): ` +
      `wall time ${upSeconds.toFixed(1)} s (${(upSeconds / stacks).toFixed(1)} s/stack); ` +
      `most SSH sessions running a command at once per host: ${most.map((m) => `${m.host} ${m.most}`).join(", ")}`,
  );
  await destroyAll(env, clients.map((c) => c.stack));
}

export async function runDeployBench(sizes: number[] = [10, 50, 100], parallel = { stacks: 20, perStack: 2 }): Promise<void> {
  if (!fs.existsSync(path.join(labEnv().labDir, "hosts.json"))) {
    console.log("  skipped: no lab (run `bash scripts/lab/lab.sh up`, or `npm run lab`, first)");
    return;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-deploy-bench-"));
  // dist/ copied, as in a user's checkout: the program's source positions (kept in the state) are the project's own
  const env = labEnv({ repo: projectCopy(fs.mkdtempSync(path.join(work, "project-")), { copyDist: true }), stateDir: fs.mkdtempSync(path.join(work, "state-")) });
  const rows: DeployFigures[] = [];
  try {
    // The lab hosts already carry the fleet's files when `npm run lab` ran: its first up then
    // finds them applied (sessions and engine time, no writes).
    prepareLabStacks(env, []);
    rows.push(measure(env, LAB_FLEET_STACK, 0, () => pulumiOk(env, ["up", "--yes", "--skip-preview", "--stack", LAB_FLEET_STACK])));
    for (const size of sizes) {
      const client = benchClient(size, `bench${size}`);
      prepareInstances(env, client);
      writeStackFile(env.stacksDir, client.stack, labClientConfig(client));
      ensureStack(env, client.stack);
      rows.push(measure(env, client.stack, size, () => pulumiOk(env, ["up", "--yes", "--skip-preview", "--stack", client.stack])));
      pulumiOk(env, ["destroy", "--yes", "--skip-preview", "--stack", client.stack]);
    }
    print(rows);
    console.log("  sessions: SSH logins the lab hosts' sshd accepted during the up (the bench's own counting logins taken off)");
    if (parallel.stacks > 0) await parallelClients(env, parallel.stacks, parallel.perStack);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  // node dist/test/bench/deploy-bench.js [SIZE...] [--parallel STACKS]
  const args = process.argv.slice(2);
  const at = args.indexOf("--parallel");
  const stacks = at >= 0 ? Number(args.splice(at, 2)[1]) : 20;
  const sizes = args.map(Number);
  runDeployBench(sizes.length ? sizes : undefined, { stacks, perStack: 2 }).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

// Deployment cost with the real engine on the lab (needs `bash scripts/lab/lab.sh up` and the
// engine, as `npm run lab` leaves them): for the lab fleet and for client stacks of 20 and 50 small
// instances, the resources, the SSH sessions the hosts accepted, the wall time of the first `up`
// and of a no-op `up`, and the state file's size. Prints numbers; asserts nothing.
// Runs in a project copy with its own stacks and state; the scale clients are destroyed after.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { labEnv, labHosts, LabEnv, pulumiOk, projectCopy, sshOk, ensureStack } from "../../scripts/lab/driver";
import { prepareInstances, prepareLabStacks } from "../../scripts/lab/flow";
import { labClientConfig, labScaleClient, LAB_FLEET_STACK, writeStackFile } from "../../scripts/lab/stacks";

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

/** Sessions each host's sshd accepted so far (the count's own session included). */
function acceptedSessions(env: LabEnv): number {
  return labHosts(env).reduce((n, h) => n + Number(sshOk(env, h, "journalctl -u ssh --no-pager -o cat | grep -c 'Accepted publickey' || true").trim()), 0);
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
  console.log("  stack                 instances  resources  sessions  first up (s)  s/instance  no-op up (s)  no-op sessions  state (KB)");
  for (const r of rows) {
    const perInstance = r.instances > 0 ? (r.firstUpSeconds / r.instances).toFixed(2) : "-";
    console.log(
      `  ${r.stack.padEnd(21)} ${String(r.instances).padStart(9)}  ${String(r.resources).padStart(9)}  ${String(r.sessions).padStart(8)}  ${r.firstUpSeconds.toFixed(1).padStart(12)}  ${perInstance.padStart(10)}  ${r.noopUpSeconds.toFixed(1).padStart(12)}  ${String(r.noopSessions).padStart(14)}  ${(r.stateBytes / 1024).toFixed(0).padStart(10)}`,
    );
  }
}

export function runDeployBench(sizes: number[] = [20, 50]): void {
  if (!fs.existsSync(path.join(labEnv().labDir, "hosts.json"))) {
    console.log("  skipped: no lab (run `bash scripts/lab/lab.sh up`, or `npm run lab`, first)");
    return;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-deploy-bench-"));
  const env = labEnv({ repo: projectCopy(fs.mkdtempSync(path.join(work, "project-"))), stateDir: fs.mkdtempSync(path.join(work, "state-")) });
  const rows: DeployFigures[] = [];
  try {
    // The lab hosts already carry the fleet's files when `npm run lab` ran: its first up then
    // finds them applied (sessions and engine time, no writes).
    prepareLabStacks(env, []);
    rows.push(measure(env, LAB_FLEET_STACK, 0, () => pulumiOk(env, ["up", "--yes", "--skip-preview", "--stack", LAB_FLEET_STACK])));
    for (const size of sizes) {
      const client = labScaleClient(size, `bench${size}`);
      prepareInstances(env, client);
      writeStackFile(env.stacksDir, client.stack, labClientConfig(client));
      ensureStack(env, client.stack);
      rows.push(measure(env, client.stack, size, () => pulumiOk(env, ["up", "--yes", "--skip-preview", "--stack", client.stack])));
      pulumiOk(env, ["destroy", "--yes", "--skip-preview", "--stack", client.stack]);
    }
    print(rows);
    console.log("  sessions: SSH logins the lab hosts' sshd accepted during the up (the bench's own counting logins taken off)");
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) runDeployBench();

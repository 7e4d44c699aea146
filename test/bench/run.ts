// `npm run bench`: every benchmark of the project, in order. Each prints its own numbers; none asserts.
// To add one: export a function from test/bench/<name>.ts and append it to BENCHES.
import { runCheckBench } from "./check-bench";
import { runDeployBench } from "./deploy-bench";
import { runDumpBench } from "./dump-bench";
import { runPackBench } from "./pack-bench";
import { runReplicateBench } from "./replicate-bench";
import { runRestoreBench } from "./restore-bench";

interface Bench {
  name: string;
  run: () => unknown | Promise<unknown>;
}

export const BENCHES: Bench[] = [
  { name: "offline check (stack files → report), generated fleets", run: () => runCheckBench() },
  { name: "policy pack (every policy, pushes included) on client stacks of 20, 50 and 200 instances", run: () => runPackBench() },
  { name: "dump wrapper vs bare mariadb-dump | zstd (DB >= 200 MB, needs root)", run: () => runDumpBench() },
  { name: "replication wrapper vs bare rsync -aHAX (1% of files changed, needs root)", run: () => runReplicateBench() },
  { name: "restore time per GB (dolibarr-restore from a complete mirror: the RTO figure, needs root)", run: () => runRestoreBench() },
  { name: "deployment with the real engine on the lab: fleet, clients of 20 and 50 instances (needs the lab)", run: () => runDeployBench() },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  for (const b of BENCHES) {
    if (only.length > 0 && !only.some((o) => b.name.includes(o))) continue;
    console.log(`== ${b.name}`);
    await b.run();
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

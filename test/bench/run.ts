// `npm run bench`: every benchmark of the project, in order. Each prints its own numbers; none asserts.
// The wrapper-vs-bare-tool benches share one method: test/bench/method.ts.
// To add one: export a function from test/bench/<name>.ts and append it to BENCHES.
import { runCheckBench } from "./check-bench";
import { runDeployBench } from "./deploy-bench";
import { runDrillBench } from "./drill-bench";
import { runDumpBench } from "./dump-bench";
import { runManifestBench } from "./manifest-bench";
import { closeBenchSession } from "./method";
import { runPackBench } from "./pack-bench";
import { runReplayBench } from "./replay-bench";
import { runReplicateBench } from "./replicate-bench";
import { runRestoreBench } from "./restore-bench";
import { runShipBench } from "./ship-bench";

interface Bench {
  name: string;
  run: () => unknown | Promise<unknown>;
}

export const BENCHES: Bench[] = [
  { name: "offline check (stack files → report), generated fleets", run: () => runCheckBench() },
  { name: "policy pack (every policy, pushes included) on client stacks of 20, 50 and 200 instances", run: () => runPackBench() },
  { name: "dump wrapper vs bare mariadb-dump | zstd (DB >= 250 MB, needs root); --rsyncable's cost and bytes saved", run: () => runDumpBench() },
  { name: "replication wrapper vs bare rsync -aHAX mirror + hard-link snapshot (> 20,000 files, 1% changed, needs root)", run: () => runReplicateBench() },
  { name: "received-hash manifest: its update after a replication (first run, steady run with 1% changed) and the drill's check, ~20,000 files and + 1 GiB (needs root)", run: () => runManifestBench() },
  { name: "restore time per GB (dolibarr-restore from a complete mirror: the RTO figure, needs root)", run: () => runRestoreBench() },
  { name: "restore drill RTO vs bare zstd -dc | mariadb and cp -a (1 GB of documents, 200 MB of database, ratio ≤ 1.2, needs the lab)", run: () => runDrillBench() },
  { name: "point-in-time replay vs bare mariadb-binlog | mariadb (s per MB of binlog, ratio ≤ 1.10, needs root)", run: () => runReplayBench() },
  { name: "binlog shipping vs bare rsync -a over the same SSH path (CPU of both ends and bytes per MB of binlog, full and incremental, ratios ≤ 1.10, needs root)", run: () => runShipBench() },
  { name: "deployment with the real engine on the lab: fleet, clients of 10, 50 and 100 instances, 20 client stacks at once (needs the lab)", run: () => runDeployBench() },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const t0 = Date.now();
  try {
    for (const b of BENCHES) {
      if (only.length > 0 && !only.some((o) => b.name.includes(o))) continue;
      console.log(`== ${b.name}`);
      await b.run();
    }
  } finally {
    closeBenchSession();
  }
  console.log(`== benches done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

// Bench: the replication wrapper (scripts/server/dolibarr-replicate with the settings a user
// gets: deletion guard, marker, rsync -aHAX --delete-delay --delay-updates --partial-dir, undo
// trash, hard-link snapshot, status) against the bare tools doing the same work: an
// `rsync -aHAX --numeric-ids --delete` mirror of the same export over the same SSH plus a
// hard-link snapshot of it (`cp -al`; none removed, as the wrapper's retention by age keeps 48 h), on a Dolibarr-like tree of > 20,000
// files with 1% of its documents changed before each pair. Method: test/bench/method.ts.
// Prints wall times, CPU times and bytes on the wire (counted by a TCP relay in front of sshd);
// asserts nothing.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { touchDocuments } from "../support/dolibarr-fixture";
import { mustRun } from "../support/jobs-exec";
import { DEFAULT_SNAPSHOTS_KEEP } from "../../infra/model/defaults";
import { JobsLab, labUnavailable } from "../support/jobs-lab";
import { benchSession, closeBenchSession, type Comparison, compareAB } from "./method";

interface Relay {
  port: number;
  bytes(): number;
  reset(): void;
  close(): Promise<void>;
}

/** A TCP relay 127.0.0.1:<port> → 127.0.0.1:<target> counting the bytes both ways. */
function startRelay(target: number): Promise<Relay> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    const u = net.connect(target, "127.0.0.1");
    sockets.add(c).add(u);
    c.on("data", (d: Buffer) => (count += d.length));
    u.on("data", (d: Buffer) => (count += d.length));
    c.pipe(u);
    u.pipe(c);
    const end = (): void => {
      c.destroy();
      u.destroy();
      sockets.delete(c);
      sockets.delete(u);
    };
    c.on("error", end).on("close", end);
    u.on("error", end).on("close", end);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      resolve({
        port: typeof a === "object" && a ? a.port : 0,
        bytes: () => count,
        reset: () => (count = 0),
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    }),
  );
}

export interface ReplicateBenchResult {
  files: number;
  snapshotsKeep: number;
  comparison: Comparison;
}

export async function runReplicateBench(opts: { documents?: number; rounds?: number; maxRounds?: number } = {}): Promise<ReplicateBenchResult | undefined> {
  const why = labUnavailable();
  if (why) {
    console.log(`replicate bench skipped: ${why}`);
    return undefined;
  }
  benchSession();
  const documents = opts.documents ?? 20000;
  const keep = DEFAULT_SNAPSHOTS_KEEP;
  const lab = await JobsLab.create();
  const relay = await startRelay(lab.sshd.port);
  try {
    const li = await lab.addInstance("bench", {
      tree: { documents, codeFiles: 2000 },
      database: { societes: 200, invoices: 500, blobs: 20 },
      snapshotsKeep: keep,
    });
    // Both sides go through the relay.
    const envFile = path.join(lab.backup.etc, "instances", "bench.env");
    fs.writeFileSync(envFile, fs.readFileSync(envFile, "utf8").replace(/^SOURCE_PORT='\d+'$/m, `SOURCE_PORT='${relay.port}'`));
    fs.appendFileSync(path.join(lab.backup.etc, "ssh", "known_hosts"), `[127.0.0.1]:${relay.port} ${lab.sshd.hostKey}\n`);
    const ssh = lab.sshCommand().replace(`-p ${lab.sshd.port}`, `-p ${relay.port}`);
    const bareRoot = path.join(lab.root, "backup", "bare");
    const bareDest = path.join(bareRoot, "bench");
    const bareSnaps = path.join(bareRoot, "snapshots");
    fs.mkdirSync(bareDest, { recursive: true });
    fs.mkdirSync(bareSnaps, { recursive: true });
    // The bare tools doing the same work: an rsync -aHAX mirror, then a hard-link snapshot of
    // it. The wrapper's default retention is by age (every snapshot of the last 48 hours kept,
    // DEFAULT_SNAPSHOT_RETENTION): within the bench neither side removes one.
    const bareScript = `set -euo pipefail
rsync -aHAX --numeric-ids --delete -e "$SSH" "$SRC" "$DEST/"
cp -al -- "$DEST" "$SNAPS/$(date -u +%Y%m%dT%H%M%S.%NZ)"`;
    const bareEnv = { ...process.env, SSH: ssh, SRC: `${lab.user}@127.0.0.1:bench/`, DEST: bareDest, SNAPS: bareSnaps };
    const bytes = (): Record<string, number> => ({ "bytes on the wire": relay.bytes() });
    await mustRun(lab.script("dolibarr-dump"), ["bench"], { env: lab.hosting.env });
    const comparison = await compareAB({
      title: `replication of a Dolibarr tree, ${documents} documents, 1% of them changed before each pair`,
      a: {
        name: "dolibarr-replicate (default settings: a snapshot per run, retention by age)",
        run: async () => {
          relay.reset();
          const r = await lab.replicate("bench");
          if (r.code !== 0) throw new Error(`replication failed: ${r.stderr}`);
          return bytes();
        },
      },
      b: {
        name: "rsync -aHAX --delete mirror + cp -al snapshot",
        run: async () => {
          relay.reset();
          await mustRun("bash", ["-c", bareScript], { env: bareEnv });
          return bytes();
        },
      },
      // Round 0 is the warm-up: the first full copy of both mirrors. The pause keeps the
      // wrapper's snapshot stamps (per second) distinct when it runs last and first.
      before: async (round) => {
        if (round > 0) touchDocuments(li.tree.documentsDir, 0.01, 1000 + round);
        await new Promise((r) => setTimeout(r, 1000));
      },
      rounds: opts.rounds ?? 7,
      maxRounds: opts.maxRounds ?? 15,
      budgetMs: 100_000,
      target: 1.1,
      counterTargets: { "bytes on the wire": 1.05 },
    });
    const files = Number((await mustRun("bash", ["-c", `find '${li.mirror}' -path '*/.snapshots' -prune -o -type f -print | wc -l`])).stdout.trim());
    console.log(`tree: ${files} files in the mirror (code, documents, dumps), a snapshot per run on both sides`);
    return { files, snapshotsKeep: keep, comparison };
  } finally {
    await relay.close();
    await lab.close();
  }
}

if (require.main === module) {
  runReplicateBench()
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    })
    .finally(closeBenchSession);
}

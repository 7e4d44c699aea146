// Bench: the replication wrapper (scripts/server/dolibarr-replicate: source checks, dry-run
// deletion guard, marker, rsync -aHAX --delete-delay --delay-updates --partial-dir, status)
// against a bare `rsync -aHAX --numeric-ids --delete` of the same export over the same SSH,
// on a Dolibarr-like tree with 1% of its documents changed before each round.
// Prints wall times and bytes on the wire (counted by a TCP relay in front of sshd); asserts nothing.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { touchDocuments } from "../support/dolibarr-fixture";
import { mustRun } from "../support/jobs-exec";
import { JobsLab, labUnavailable } from "../support/jobs-lab";

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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface ReplicateBenchResult {
  files: number;
  rounds: number;
  wrapperMs: number[];
  bareMs: number[];
  wrapperBytes: number[];
  bareBytes: number[];
  timeRatio: number;
  bytesRatio: number;
}

export async function runReplicateBench(opts: { documents?: number; rounds?: number } = {}): Promise<ReplicateBenchResult | undefined> {
  const why = labUnavailable();
  if (why) {
    console.log(`replicate bench skipped: ${why}`);
    return undefined;
  }
  const documents = opts.documents ?? 20000;
  const rounds = opts.rounds ?? 3;
  const lab = await JobsLab.create();
  const relay = await startRelay(lab.sshd.port);
  try {
    const li = await lab.addInstance("bench", { tree: { documents, codeFiles: 2000 }, database: { societes: 200, invoices: 500, blobs: 20 } });
    // Both sides go through the relay.
    const envFile = path.join(lab.backup.etc, "instances", "bench.env");
    fs.writeFileSync(envFile, fs.readFileSync(envFile, "utf8").replace(/^SOURCE_PORT='\d+'$/m, `SOURCE_PORT='${relay.port}'`));
    fs.appendFileSync(path.join(lab.backup.etc, "ssh", "known_hosts"), `[127.0.0.1]:${relay.port} ${lab.sshd.hostKey}\n`);
    const ssh = lab.sshCommand().replace(`-p ${lab.sshd.port}`, `-p ${relay.port}`);
    const bareDest = path.join(lab.root, "backup", "bare", "bench");
    fs.mkdirSync(bareDest, { recursive: true });
    const bare = (): Promise<unknown> =>
      mustRun("rsync", ["-aHAX", "--numeric-ids", "--delete", "-e", ssh, `${lab.user}@127.0.0.1:bench/`, `${bareDest}/`]);
    const wrapper = async (): Promise<void> => {
      const r = await lab.replicate("bench");
      if (r.code !== 0) throw new Error(`replication failed: ${r.stderr}`);
    };
    await mustRun(lab.script("dolibarr-dump"), ["bench"], { env: lab.hosting.env });
    await wrapper();
    await bare();
    const files = (await mustRun("bash", ["-c", `find '${li.mirror}' -type f | wc -l`])).stdout.trim();
    const res: ReplicateBenchResult = { files: Number(files), rounds, wrapperMs: [], bareMs: [], wrapperBytes: [], bareBytes: [], timeRatio: 0, bytesRatio: 0 };
    for (let round = 0; round < rounds; round++) {
      touchDocuments(li.tree.documentsDir, 0.01, 1000 + round);
      const order: Array<["wrapper" | "bare", () => Promise<unknown>]> = round % 2 ? [["bare", bare], ["wrapper", wrapper]] : [["wrapper", wrapper], ["bare", bare]];
      for (const [name, fn] of order) {
        relay.reset();
        const t0 = process.hrtime.bigint();
        await fn();
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        (name === "wrapper" ? res.wrapperMs : res.bareMs).push(ms);
        (name === "wrapper" ? res.wrapperBytes : res.bareBytes).push(relay.bytes());
      }
    }
    res.timeRatio = median(res.wrapperMs) / median(res.bareMs);
    res.bytesRatio = median(res.wrapperBytes) / median(res.bareBytes);
    const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(", ");
    console.log(`tree: ${res.files} files in the mirror (code, documents, dumps); 1% of the documents changed before each of ${rounds} rounds`);
    console.log(`wall time ms   wrapper [${fmt(res.wrapperMs)}]  bare rsync [${fmt(res.bareMs)}]  median ratio ${res.timeRatio.toFixed(3)} (target <= 1.10)`);
    console.log(`bytes on wire  wrapper [${fmt(res.wrapperBytes)}]  bare rsync [${fmt(res.bareBytes)}]  median ratio ${res.bytesRatio.toFixed(3)} (target <= 1.05)`);
    return res;
  } finally {
    await relay.close();
    await lab.close();
  }
}

if (require.main === module) {
  runReplicateBench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

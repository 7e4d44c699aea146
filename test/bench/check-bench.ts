// Benchmark of the offline check on generated fleets: N clients of one instance each, every instance
// on 3 servers (1 hosting + 2 backups). Measures the whole path an ops engineer's `npm run check`
// takes, from stack file text to the printed report, phase by phase. Prints numbers; asserts nothing.
// Each size runs ROUNDS times and the fastest round is printed (the machine is shared: the others
// measure its load), with the process's CPU time and the load average, and the growth per client.
import * as os from "node:os";
import { parseStackFileText } from "../../infra/model/load";
import { buildTopology } from "../../infra/model/topology";
import type { ClientStack, Fleet, Topology } from "../../infra/model/types";
import { buildCheckReport } from "../../infra/report/check";
import { formatCheckReport } from "../../infra/report/text";
import { generatedTopology } from "../support/topology";

export interface CheckBenchResult {
  clients: number;
  ms: { parse: number; topology: number; checkAndReport: number; format: number; total: number; cpu: number };
  usPerClient: number;
  violations: number;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** The stack files of a generated topology, as text (what ops engineers would have written). */
export function stackTexts(t: Topology): Array<{ file: string; text: string }> {
  const { fleet } = t;
  const servers = fleet.servers
    .map(
      (s) =>
        `    - name: ${s.name}\n      role: ${s.role}\n      provider: ${s.provider}\n      site: ${s.site.code}\n` +
        `      ssh:\n        host: ${s.ssh.host}\n        port: ${s.ssh.port}\n`,
    )
    .join("");
  const files = [
    {
      file: `stacks/Pulumi.${fleet.stack}.yaml`,
      text:
        `config:\n  dolibarr-backup:stackKind: fleet\n  dolibarr-backup:servers:\n${servers}` +
        `  dolibarr-backup:sshPrivateKey:\n    secure: v1:AAECAwQFBgcICQoL:3q2+7wAAAAAAAAAAAAAAAAAAAAAAAA==\n`,
    },
  ];
  for (const c of t.clients) {
    const inst = c.instances
      .map(
        (i) =>
          `    - name: ${i.name}\n      hostingServer: ${i.hostingServer}\n      database:\n        name: ${i.database.name}\n` +
          `      codeRoot: ${i.codeRoot}\n      documentsDir: ${i.documentsDir}\n      backupServers: [${i.backupServers.join(", ")}]\n`,
      )
      .join("");
    files.push({
      file: c.file,
      text: `config:\n  dolibarr-backup:stackKind: client\n  dolibarr-backup:fleetStack: ${fleet.stack}\n  dolibarr-backup:client: ${c.client}\n  dolibarr-backup:instances:\n${inst}`,
    });
  }
  return files;
}

/** Runs the check on a generated fleet of `clients` clients and returns the timings. */
export function benchCheck(clients: number): CheckBenchResult {
  const texts = stackTexts(generatedTopology(clients));
  const cpu0 = process.cpuUsage();
  const t0 = now();
  let fleet: Fleet | undefined;
  const clientStacks: ClientStack[] = [];
  for (const { file, text } of texts) {
    const sf = parseStackFileText(text, file);
    if (sf.kind === "fleet") fleet = sf.fleet;
    else clientStacks.push(sf.client);
  }
  const t1 = now();
  const topology = buildTopology(fleet!, clientStacks);
  const t2 = now();
  const report = buildCheckReport([topology]);
  const t3 = now();
  const text = formatCheckReport(report);
  const t4 = now();
  const cpu = process.cpuUsage(cpu0);
  if (text.length === 0) throw new Error("empty report");
  return {
    clients,
    ms: { parse: t1 - t0, topology: t2 - t1, checkAndReport: t3 - t2, format: t4 - t3, total: t4 - t0, cpu: (cpu.user + cpu.system) / 1000 },
    usPerClient: ((t4 - t0) * 1000) / clients,
    violations: report.violations.length,
  };
}

/** The bench entry: 100, 1,000 and 10,000 clients × 3 servers; prints one line per size. */
export function runCheckBench(
  sizes: readonly number[] = [100, 1_000, 10_000, 20_000],
  log: (line: string) => void = console.log,
  rounds = 3,
): CheckBenchResult[] {
  benchCheck(500); // warm-up (JIT, zod schema compilation)
  const results: CheckBenchResult[] = [];
  for (const n of sizes) {
    let best: CheckBenchResult | undefined;
    const totals: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = benchCheck(n);
      totals.push(r.ms.total);
      if (!best || r.ms.total < best.ms.total) best = r;
    }
    const r = best!;
    results.push(r);
    const f = (x: number) => x.toFixed(0).padStart(6);
    log(
      `check  ${String(n).padStart(6)} clients × 3 servers: total ${f(r.ms.total)} ms, cpu ${f(r.ms.cpu)} ms ` +
        `(parse ${f(r.ms.parse)}, topology ${f(r.ms.topology)}, rules+report ${f(r.ms.checkAndReport)}, format ${f(r.ms.format)}) ` +
        `= ${r.usPerClient.toFixed(0)} µs/client, ${r.violations} violations; best of ${rounds} (${totals.map((t) => t.toFixed(0)).join(", ")} ms), ` +
        `load ${os.loadavg()[0]!.toFixed(1)}`,
    );
  }
  if (results.length >= 2) {
    const a = results[results.length - 2]!;
    const b = results[results.length - 1]!;
    log(`check  growth ${a.clients} → ${b.clients} clients: × ${(b.ms.total / a.ms.total).toFixed(2)} time for × ${(b.clients / a.clients).toFixed(0)} clients (linear: × ${(b.clients / a.clients).toFixed(0)})`);
  }
  return results;
}

// The one comparison method of the benches (dump, replication, anything "wrapper vs bare tool"):
// built to give the same answer twice on a shared, noisy 2-core machine.
//
//  - warm-up: each side runs `warmup` times unmeasured (buffer pool, page cache, first-run work);
//  - then pairs, alternating the sides (A,B then B,A: ABBA…, so that neither side always goes
//    first), `before(round)` run ahead of each pair so both sides of a pair do the same work from
//    the same cache state (e.g. 1% of the files changed);
//  - the statistic is the per-pair ratio A/B: noise that lasts longer than one pair (another job
//    compiling for a minute) hits both sides of a pair and cancels out in the ratio;
//  - at least `rounds` pairs; while the ~95% confidence interval of the median ratio (distribution
//    free, from order statistics) is wider than `maxSpread`, more pairs, up to `maxRounds` or
//    `budgetMs`; the result is flagged UNRELIABLE when it is still wider at the end;
//  - every pair is printed with the machine's load (1-min load average, share of CPU busy over the
//    pair, all processes, and the share stolen by the hypervisor), then median, minimum, confidence
//    interval and ratio of the fastest runs, of the wall time and of the CPU time (every process of
//    the bench, accounted in a cgroup: far less sensitive to other jobs than the wall time).
import * as fs from "node:fs";
import * as os from "node:os";

/**
 * The bench process and everything it starts (the lab's mariadbd and sshd, the jobs, the bare
 * tools): run at a raised priority (nice -20, as root) so that the other jobs of a shared machine
 * weigh little, and accounted in a cpuacct cgroup so that each run's CPU time (of every process
 * of the bench, the database server included) is measured besides its wall time.
 */
export interface BenchSession {
  nice: number | undefined;
  /** CPU time used so far by the bench's processes, ms; undefined without a cpuacct cgroup. */
  cpuMs(): number | undefined;
  close(): void;
}

let session: BenchSession | undefined;

export function benchSession(): BenchSession {
  if (session) return session;
  let nice: number | undefined;
  try {
    os.setPriority(0, -20);
    nice = os.getPriority(0);
  } catch {
    nice = undefined; // not root: ordinary priority
  }
  let dir: string | undefined;
  const root = "/sys/fs/cgroup/cpuacct";
  try {
    if (fs.existsSync(`${root}/cpuacct.usage`)) {
      dir = `${root}/dbk-bench-${process.pid}`;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(`${dir}/cgroup.procs`, String(process.pid));
    }
  } catch {
    dir = undefined;
  }
  const d = dir;
  session = {
    nice,
    cpuMs: () => (d ? Number(fs.readFileSync(`${d}/cpuacct.usage`, "utf8").trim()) / 1e6 : undefined),
    close: () => {
      if (!d) return;
      try {
        fs.writeFileSync(`${root}/cgroup.procs`, String(process.pid));
      } catch {
        /* best effort */
      }
      removeCgroup(d);
      session = undefined;
    },
  };
  console.log(
    `bench session: nice ${nice ?? "unchanged (not root)"}, CPU time ${d ? `accounted in cgroup ${d}` : "not accounted (no cpuacct cgroup)"}`,
  );
  return session;
}

/** Removes a cgroup directory once its processes are gone (the lab's daemons may take a moment to exit after their SIGTERM). */
export function removeCgroup(dir: string): void {
  for (let i = 0; i < 50; i++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}

/** Ends the session, if one was started. */
export function closeBenchSession(): void {
  session?.close();
}

/** One side of a comparison. `run` may return extra counters (e.g. bytes on the wire). */
export interface BenchSide {
  name: string;
  run: () => Promise<Record<string, number> | void>;
}

export interface CompareOptions {
  title: string;
  a: BenchSide;
  b: BenchSide;
  /** Run ahead of each pair (and each warm-up pair), outside the timings. */
  before?: (round: number) => Promise<void> | void;
  /** Run after every single run, outside the timings (e.g. a pause for distinct file stamps). */
  after?: () => Promise<void> | void;
  warmup?: number;
  rounds?: number;
  maxRounds?: number;
  /** Stop adding pairs past this much time spent in the measured pairs. */
  budgetMs?: number;
  /** Widest acceptable confidence interval of the median ratio. */
  maxSpread?: number;
  /** The target of the wall-time ratio, printed with the verdict. */
  target?: number;
  /** Targets of the extra counters' ratios (e.g. { bytes: 1.05 }). */
  counterTargets?: Record<string, number>;
  log?: (line: string) => void;
}

export interface PairRound {
  aMs: number;
  bMs: number;
  ratio: number;
  /** CPU time of every bench process during each run, when accounted. */
  aCpuMs: number | undefined;
  bCpuMs: number | undefined;
  load1: number;
  cpuBusy: number;
  /** Share of the CPU taken by the hypervisor from this machine during the pair. */
  cpuSteal: number;
  /** Share of the machine's CPU used by processes outside the bench during the pair, if known. */
  cpuOthers: number | undefined;
  aCounters: Record<string, number>;
  bCounters: Record<string, number>;
}

export interface RatioSummary {
  median: number;
  min: number;
  max: number;
  /** ~95% distribution-free confidence interval of the median. */
  ciLow: number;
  ciHigh: number;
  /** min(A) / min(B): the fastest runs of each side. */
  ofMinima: number;
}

export interface Comparison {
  title: string;
  pairs: PairRound[];
  wall: RatioSummary;
  /** CPU time ratio (all the bench's processes), when accounted. */
  cpu: RatioSummary | undefined;
  counters: Record<string, RatioSummary>;
  load: { min: number; max: number; mean: number; cpuBusyMean: number; cpuStealMean: number; cpuOthersMean: number | undefined; cores: number };
  reliable: boolean;
  meetsTarget: boolean | undefined;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Distribution-free confidence interval of the median (>= 95%): order statistics x(k)..x(n+1-k)
 * with k the largest rank such that P(Binomial(n, 1/2) < k) <= 2.5%. For 7 pairs: 1st..7th
 * (98%); 11: 2nd..10th (98%); 15: 4th..12th (96%).
 */
export function medianInterval(xs: readonly number[]): [number, number] {
  const s = [...xs].sort((x, y) => x - y);
  const n = s.length;
  if (n === 0) return [NaN, NaN];
  let k = 1;
  let below = 0; // P(X < k)
  let term = Math.pow(0.5, n); // P(X = i), i = k - 1
  for (let i = 0; i < n; i++) {
    below += term;
    if (below > 0.025) break;
    k = i + 1;
    term = (term * (n - i)) / (i + 1);
  }
  k = Math.min(k, Math.ceil(n / 2));
  return [s[k - 1]!, s[n - k]!];
}

export function summarize(ratios: readonly number[], a: readonly number[], b: readonly number[]): RatioSummary {
  const [ciLow, ciHigh] = medianInterval(ratios);
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), ciLow, ciHigh, ofMinima: Math.min(...a) / Math.min(...b) };
}

interface CpuSample {
  busy: number;
  steal: number;
  total: number;
}

function cpuSample(): CpuSample {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((s, x) => s + x, 0);
  return { busy: total - idle, steal: v[7] ?? 0, total };
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

async function timed(side: BenchSide): Promise<{ ms: number; cpuMs: number | undefined; counters: Record<string, number> }> {
  const c0 = session?.cpuMs();
  const t0 = nowMs();
  const counters = (await side.run()) ?? {};
  const ms = nowMs() - t0;
  const c1 = session?.cpuMs();
  return { ms, cpuMs: c0 === undefined || c1 === undefined ? undefined : c1 - c0, counters };
}

const f3 = (x: number): string => x.toFixed(3);
const fms = (x: number): string => `${x.toFixed(0)} ms`;

/** Runs the comparison, printing every pair and the summary. */
export async function compareAB(o: CompareOptions): Promise<Comparison> {
  const log = o.log ?? ((l: string) => console.log(l));
  const warmup = o.warmup ?? 1;
  const minRounds = o.rounds ?? 7;
  const maxRounds = Math.max(minRounds, o.maxRounds ?? 15);
  const budgetMs = o.budgetMs ?? Infinity;
  const maxSpread = o.maxSpread ?? 0.1;
  let round = 0;
  for (let w = 0; w < warmup; w++) {
    await o.before?.(round++);
    await o.a.run();
    await o.after?.();
    await o.b.run();
    await o.after?.();
  }
  log(`-- ${o.title}: A = ${o.a.name}, B = ${o.b.name}; ${warmup} warm-up pair(s), then pairs A,B / B,A alternately (>= ${minRounds}, <= ${maxRounds})`);
  const pairs: PairRound[] = [];
  const spent0 = nowMs();
  const ratiosOf = (): number[] => pairs.map((p) => p.ratio);
  for (;;) {
    const n = pairs.length;
    if (n >= minRounds) {
      const [lo, hi] = medianInterval(ratiosOf());
      if (hi - lo <= maxSpread || n >= maxRounds || nowMs() - spent0 >= budgetMs) break;
    }
    await o.before?.(round++);
    // Counterbalanced: A,B then B,A (ABBA…), so that going first or second in a pair (a cache
    // the other side just warmed, writeback of its output) favours neither side.
    const aFirst = pairs.length % 2 === 0;
    const own0 = session?.cpuMs();
    const c0 = cpuSample();
    const first = await timed(aFirst ? o.a : o.b);
    await o.after?.();
    const second = await timed(aFirst ? o.b : o.a);
    const c1 = cpuSample();
    const own1 = session?.cpuMs();
    await o.after?.();
    const [a, b] = aFirst ? [first, second] : [second, first];
    const p: PairRound = {
      aMs: a.ms,
      bMs: b.ms,
      ratio: a.ms / b.ms,
      aCpuMs: a.cpuMs,
      bCpuMs: b.cpuMs,
      load1: os.loadavg()[0]!,
      cpuBusy: c1.total > c0.total ? (c1.busy - c0.busy) / (c1.total - c0.total) : 0,
      cpuSteal: c1.total > c0.total ? (c1.steal - c0.steal) / (c1.total - c0.total) : 0,
      // /proc/stat counts in USER_HZ (100 per second) ticks.
      cpuOthers:
        own0 === undefined || own1 === undefined || c1.total <= c0.total
          ? undefined
          : Math.max(0, (c1.busy - c0.busy) * 10 - (own1 - own0)) / ((c1.total - c0.total) * 10),
      aCounters: a.counters,
      bCounters: b.counters,
    };
    pairs.push(p);
    const extra = Object.keys(p.aCounters)
      .map((k) => `  ${k} ${p.aCounters[k]} / ${p.bCounters[k]} = ${f3(p.aCounters[k]! / p.bCounters[k]!)}`)
      .join("");
    const cpu = p.aCpuMs !== undefined && p.bCpuMs !== undefined ? `  cpu A ${fms(p.aCpuMs)} B ${fms(p.bCpuMs)} A/B ${f3(p.aCpuMs / p.bCpuMs)}` : "";
    log(`pair ${String(pairs.length).padStart(2)}: A ${fms(p.aMs).padStart(9)}  B ${fms(p.bMs).padStart(9)}  A/B ${f3(p.ratio)}${cpu}  load ${p.load1.toFixed(2)}  cpu busy ${(p.cpuBusy * 100).toFixed(0)}%${p.cpuOthers === undefined ? "" : `, other jobs ${(p.cpuOthers * 100).toFixed(0)}%`}, steal ${(p.cpuSteal * 100).toFixed(0)}%${extra}`);
  }
  const wall = summarize(
    ratiosOf(),
    pairs.map((p) => p.aMs),
    pairs.map((p) => p.bMs),
  );
  const cpuA = pairs.map((p) => p.aCpuMs);
  const cpuB = pairs.map((p) => p.bCpuMs);
  const cpu = cpuA.every((x) => x !== undefined) && cpuB.every((x) => x !== undefined)
    ? summarize(
        cpuA.map((x, i) => x! / cpuB[i]!),
        cpuA as number[],
        cpuB as number[],
      )
    : undefined;
  const counters: Record<string, RatioSummary> = {};
  for (const k of Object.keys(pairs[0]?.aCounters ?? {})) {
    const av = pairs.map((p) => p.aCounters[k]!);
    const bv = pairs.map((p) => p.bCounters[k]!);
    counters[k] = summarize(
      av.map((x, i) => x / bv[i]!),
      av,
      bv,
    );
  }
  const loads = pairs.map((p) => p.load1);
  const load = {
    min: Math.min(...loads),
    max: Math.max(...loads),
    mean: loads.reduce((s, x) => s + x, 0) / loads.length,
    cpuBusyMean: pairs.reduce((s, p) => s + p.cpuBusy, 0) / pairs.length,
    cpuStealMean: pairs.reduce((s, p) => s + p.cpuSteal, 0) / pairs.length,
    cpuOthersMean: pairs.every((p) => p.cpuOthers !== undefined) ? pairs.reduce((s, p) => s + p.cpuOthers!, 0) / pairs.length : undefined,
    cores: os.cpus().length,
  };
  const reliable = wall.ciHigh - wall.ciLow <= maxSpread;
  const verdict = (s: RatioSummary, target: number | undefined): string =>
    target === undefined ? "" : s.median <= target ? `  meets target <= ${target.toFixed(2)}` : `  MISSES target <= ${target.toFixed(2)}`;
  const line = (what: string, s: RatioSummary, target: number | undefined): string =>
    `${what}: median A/B ${f3(s.median)} (95% CI ${f3(s.ciLow)}..${f3(s.ciHigh)}), min ${f3(s.min)}, max ${f3(s.max)}, fastest A / fastest B ${f3(s.ofMinima)}${verdict(s, target)}`;
  log(line(`wall time over ${pairs.length} pairs`, wall, o.target));
  if (cpu) log(line("CPU time (all bench processes)", cpu, undefined));
  for (const [k, s] of Object.entries(counters)) log(line(k, s, o.counterTargets?.[k]));
  log(
    `machine load during the pairs: 1-min load average ${load.min.toFixed(2)}..${load.max.toFixed(2)} (mean ${load.mean.toFixed(2)}) on ${load.cores} cores, CPU busy ${(load.cpuBusyMean * 100).toFixed(0)}% (all processes${load.cpuOthersMean === undefined ? "" : `; other jobs than the bench ${(load.cpuOthersMean * 100).toFixed(0)}%`}; stolen by the hypervisor ${(load.cpuStealMean * 100).toFixed(0)}%)`,
  );
  log(
    reliable
      ? `result reliable: confidence interval of the median ${f3(wall.ciHigh - wall.ciLow)} wide (<= ${maxSpread})`
      : `RESULT UNRELIABLE: confidence interval of the median ${f3(wall.ciHigh - wall.ciLow)} wide (> ${maxSpread}) after ${pairs.length} pairs: the machine is too noisy`,
  );
  const meetsTarget =
    o.target === undefined && !o.counterTargets
      ? undefined
      : (o.target === undefined || wall.median <= o.target) && Object.entries(o.counterTargets ?? {}).every(([k, t]) => (counters[k]?.median ?? Infinity) <= t);
  return { title: o.title, pairs, wall, cpu, counters, load, reliable, meetsTarget };
}

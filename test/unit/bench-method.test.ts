// The bench comparison method (test/bench/method.ts): its statistics and its run order.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { compareAB, median, medianInterval, summarize } from "../bench/method";
import { prng } from "../support/dolibarr-fixture";

describe("bench method: statistics", () => {
  it("median of odd and even samples, whatever the order", () => {
    const rand = prng(3);
    for (let n = 1; n <= 30; n++) {
      const xs = Array.from({ length: n }, () => Math.round(rand() * 1000));
      const s = [...xs].sort((a, b) => a - b);
      const expected = n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
      assert.equal(median(xs), expected, `n=${n}`);
      assert.equal(median([...xs].reverse()), expected);
    }
  });

  it("the median's interval: binomial order statistics, always holding the median", () => {
    const xs = [1, 2, 3, 4, 5, 6, 7];
    assert.deepEqual(medianInterval(xs), [1, 7]);
    assert.deepEqual(medianInterval([11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]), [2, 10]);
    assert.deepEqual(medianInterval(Array.from({ length: 15 }, (_, i) => i + 1)), [4, 12]);
    assert.deepEqual(medianInterval([5, 1, 3]), [1, 5], "tiny samples: the whole range");
    assert.deepEqual(medianInterval([2]), [2, 2]);
    const rand = prng(9);
    for (let n = 1; n <= 60; n++) {
      const ys = Array.from({ length: n }, () => rand());
      const [lo, hi] = medianInterval(ys);
      assert.ok(lo <= median(ys) && median(ys) <= hi, `n=${n}`);
      assert.ok(ys.includes(lo) && ys.includes(hi));
    }
  });

  it("the interval's coverage of the true median is about 95% or more (simulated)", () => {
    const rand = prng(17);
    for (const n of [7, 11, 15]) {
      let covered = 0;
      const trials = 2000;
      for (let t = 0; t < trials; t++) {
        // Symmetric noise around a true median of 1.0.
        const xs = Array.from({ length: n }, () => 1 + (rand() - 0.5) * 0.4);
        const [lo, hi] = medianInterval(xs);
        if (lo <= 1 && 1 <= hi) covered++;
      }
      assert.ok(covered / trials >= 0.93, `n=${n}: ${covered / trials}`);
    }
  });

  it("summarize: median, min, max of the ratios and the ratio of the fastest runs", () => {
    const s = summarize([1.2, 0.9, 1.0], [12, 9, 10], [10, 10, 10]);
    assert.equal(s.median, 1.0);
    assert.equal(s.min, 0.9);
    assert.equal(s.max, 1.2);
    assert.equal(s.ofMinima, 0.9);
  });
});

describe("bench method: compareAB", () => {
  it("warm-up, then counterbalanced pairs (A,B then B,A), before() ahead of every pair, counters ratioed", async () => {
    const calls: string[] = [];
    let n = 0;
    const lines: string[] = [];
    const r = await compareAB({
      title: "t",
      a: {
        name: "a",
        run: async () => {
          calls.push("A");
          return { bytes: 110 + (n++ % 2) };
        },
      },
      b: {
        name: "b",
        run: async () => {
          calls.push("B");
          return { bytes: 100 };
        },
      },
      before: (round) => void calls.push(`before${round}`),
      warmup: 1,
      rounds: 4,
      maxRounds: 4,
      counterTargets: { bytes: 1.05 },
      log: (l) => lines.push(l),
    });
    assert.deepEqual(calls, ["before0", "A", "B", "before1", "A", "B", "before2", "B", "A", "before3", "A", "B", "before4", "B", "A"]);
    assert.equal(r.pairs.length, 4);
    assert.ok(r.counters.bytes!.median >= 1.1 && r.counters.bytes!.median <= 1.11);
    assert.equal(r.meetsTarget, false, "bytes ratio 1.1 misses 1.05");
    assert.equal(lines.filter((l) => l.startsWith("pair")).length, 4, "every pair printed");
    assert.ok(lines.some((l) => l.startsWith("machine load")));
    assert.ok(lines.some((l) => /RESULT UNRELIABLE|result reliable/.test(l)));
  });

  it("adds pairs while the median's interval is too wide, up to maxRounds, and flags the result", async () => {
    const rand = prng(5);
    const wait = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
    const r = await compareAB({
      title: "noisy",
      a: { name: "a", run: () => wait(1 + Math.floor(rand() * 20)) },
      b: { name: "b", run: () => wait(1 + Math.floor(rand() * 20)) },
      warmup: 0,
      rounds: 3,
      maxRounds: 9,
      maxSpread: 0.0001,
      log: () => undefined,
    });
    assert.equal(r.pairs.length, 9);
    assert.equal(r.reliable, false);
  });
});

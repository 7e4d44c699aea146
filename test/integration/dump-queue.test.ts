// The dump queue of a hosting server for real: the flock semaphore of dolibarr-backup-common.sh
// with concurrent bash processes, then dolibarr-dump waiting for (and giving up on) a dump slot
// against a private MariaDB (root: see test/support/jobs-lab.ts).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { serverScriptPath } from "../../infra/render/repo";
import { run, start, waitFor } from "../support/jobs-exec";
import { JobsLab, labUnavailable } from "../support/jobs-lab";

const common = serverScriptPath("dolibarr-backup-common.sh");

/** A bash process that takes a slot, records when it held it, holds it `holdMs`. */
function slotUser(lockDir: string, log: string, id: number, slots: number, wait: number, holdMs: number) {
  const script = `
    set -euo pipefail
    source ${JSON.stringify(common)}
    if dbk_acquire_slot dump-slots ${slots} ${wait}; then
      echo "start ${id} $(date +%s%N) $DBK_SLOT" >> ${JSON.stringify(log)}
      sleep ${holdMs / 1000}
      echo "end ${id} $(date +%s%N)" >> ${JSON.stringify(log)}
    else
      echo "timeout ${id}" >> ${JSON.stringify(log)}
    fi`;
  return start("bash", ["-c", script], { env: { ...process.env, DOLIBARR_BACKUP_LOCK_DIR: lockDir } });
}

describe("the dump slots semaphore (flock, real processes)", () => {
  it("property: N slots, M waiting jobs: never more than N hold one, every job gets one, in any mix", async () => {
    for (const [slots, jobs] of [
      [1, 3],
      [2, 6],
      [3, 5],
    ] as const) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-slots-"));
      const log = path.join(dir, "log");
      try {
        const running = Array.from({ length: jobs }, (_, i) => slotUser(dir, log, i, slots, 60, 400));
        const results = await Promise.all(running.map((r) => r.done));
        for (const r of results) assert.equal(r.code, 0, r.stderr);
        const lines = fs.readFileSync(log, "utf8").trim().split("\n");
        const events = lines.map((l) => l.split(" ")).filter((f) => f[0] !== "timeout");
        assert.equal(lines.filter((l) => l.startsWith("timeout")).length, 0, lines.join("\n"));
        assert.equal(events.filter((e) => e[0] === "start").length, jobs);
        // the largest number of jobs holding a slot at one instant
        const points = events.map((e) => ({ t: BigInt(e[2]!), d: e[0] === "start" ? 1 : -1 })).sort((a, b) => (a.t === b.t ? a.d - b.d : a.t < b.t ? -1 : 1));
        let now = 0;
        let peak = 0;
        for (const p of points) peak = Math.max(peak, (now += p.d));
        assert.equal(peak, Math.min(slots, jobs), `${slots} slots, ${jobs} jobs: peak ${peak}\n${lines.join("\n")}`);
        // the slot numbers held are within 0..N-1
        for (const e of events.filter((x) => x[0] === "start")) assert.ok(Number(e[3]) < slots, e.join(" "));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it("gives up after the wait when every slot stays held, and a killed holder frees its slot", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-slots-"));
    const log = path.join(dir, "log");
    try {
      const holder = slotUser(dir, log, 0, 1, 5, 60_000);
      await waitFor(() => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("start 0"), 10_000, "the holder to take the slot");
      const waiter = await slotUser(dir, log, 1, 1, 1, 0).done;
      assert.equal(waiter.code, 0);
      assert.match(fs.readFileSync(log, "utf8"), /timeout 1/);
      holder.kill("SIGKILL");
      await holder.exited;
      const next = await slotUser(dir, log, 2, 1, 5, 0).done;
      assert.equal(next.code, 0);
      assert.match(fs.readFileSync(log, "utf8"), /start 2 \d+ 0/);
      assert.equal((await run("bash", ["-c", `source ${JSON.stringify(common)}; dbk_acquire_slot x 0 1`])).code, 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const skip = labUnavailable();
describe("dolibarr-dump in the queue (real MariaDB)", { skip: process.env.CI === "true" ? false : skip }, () => {
  let lab: JobsLab;
  before(async () => {
    lab = await JobsLab.create();
    await lab.addInstance("queue-a");
  });
  after(async () => {
    await lab?.close();
  });

  it("waits while the server's dump slots are taken, fails (old dumps kept) when none frees in time, dumps once one frees", async () => {
    const li = lab.instances.get("queue-a")!;
    const first = await lab.dump("queue-a");
    assert.equal(first.code, 0, first.stderr);
    const before = lab.dumps("queue-a");
    // Every slot of the rendered MAX_CONCURRENT_DUMPS (2) held by other "dumps".
    const env = fs.readFileSync(path.join(lab.hosting.etc, "instances", "queue-a.env"), "utf8");
    assert.match(env, /^MAX_CONCURRENT_DUMPS='?2'?$/m);
    const log = path.join(lab.root, "slots.log");
    const holders = [0, 1].map((i) => slotUser(lab.hosting.lock, log, i, 2, 5, 60_000));
    await waitFor(() => fs.existsSync(log) && (fs.readFileSync(log, "utf8").match(/^start/gm)?.length ?? 0) === 2, 10_000, "two holders");
    const refused = await lab.dump("queue-a", [], { DUMP_QUEUE_WAIT_SECONDS: "2" });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /no dump slot came free in 2s \(2 dump\(s\) at once on this server/);
    const status = lab.dumpStatus("queue-a");
    assert.equal(status.result, "failed");
    assert.deepEqual(lab.dumps("queue-a"), before, "the last good dumps stay");

    // A queued dump runs as soon as a slot frees.
    const queued = lab.startDump("queue-a", [], { DUMP_QUEUE_WAIT_SECONDS: "60" });
    await new Promise((r) => setTimeout(r, 1500));
    // the holders race for the slots: the one freed is the slot holder 0 logged it took
    const freed = /^start 0 \d+ (\d+)$/m.exec(fs.readFileSync(log, "utf8"))?.[1];
    assert.ok(freed !== undefined, "holder 0 logged its slot");
    holders[0]!.kill("SIGKILL");
    const done = await queued.done;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, new RegExp(`waited \\d+s in the dump queue \\(2 at once\\), slot ${freed}$`, "m"));
    assert.equal(lab.dumpStatus("queue-a").result, "ok");
    assert.ok(lab.dumps("queue-a").length > before.length);
    holders[1]!.kill("SIGKILL");
    await Promise.all(holders.map((h) => h.exited));
    void li;
  });
});

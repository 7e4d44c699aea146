// The program's dynamic providers without a server: SshCommand's diff (what reruns a command),
// RandomInteger and RandomPassword (drawn once, stable across diff and update). Each is used as
// the engine runs it: serialized by Pulumi's closure serialization and loaded back from the text.
// The SSH runs themselves, against a real sshd: test/integration/ssh-command.test.ts.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { randomIntegerProvider, randomPasswordProvider } from "../../infra/providers/random";
import { sshCommandProvider, type SshCommandState } from "../../infra/providers/ssh-command";
import { asTheEngineRunsIt, serializedProvider } from "../support/dynamic-providers";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

describe("dynamic providers: serialized as the engine stores them", () => {
  it("are self-contained: no module of the project is captured, node modules are required inside", async () => {
    for (const p of [sshCommandProvider, randomIntegerProvider, randomPasswordProvider]) {
      const text = await serializedProvider(p);
      assert.ok(!/infra\/|dist\/|\.\.\/model|@pulumi\/pulumi/.test(text), text.slice(0, 400));
      assert.ok(text.length < 20_000, `serialized provider is ${text.length} characters`);
    }
  });
});

describe("SshCommand diff", () => {
  let p: typeof sshCommandProvider;
  const connection = { host: "203.0.113.10", port: 22, user: "root", privateKey: "KEY", hostKey: "ssh-ed25519 AAAA" };
  const base: SshCommandState = {
    connection,
    create: "sh -c 'cat >/etc/x'",
    update: "sh -c 'cat >/etc/x'",
    delete: "rm -f /etc/x",
    stdin: "content\n",
    environment: { A: "1", B: "2" },
    logging: "stderr",
    stdout: "",
    stderr: "",
  };
  before(async () => {
    p = await asTheEngineRunsIt(sshCommandProvider);
  });

  it("sees no change when only the provider's code (__provider) differs: a second up runs nothing", async () => {
    const olds = { ...base, __provider: "exports.handler = old" };
    const news = { ...base, __provider: "exports.handler = new" };
    assert.deepEqual(await p.diff("id", olds, news), { changes: false, replaces: [], deleteBeforeReplace: false });
    const { stdout: _o, stderr: _e, ...inputs } = base;
    assert.equal((await p.diff("id", base, inputs as SshCommandState)).changes, false, "outputs stdout/stderr are not inputs");
    assert.equal((await p.diff("id", base, { ...base, environment: { B: "2", A: "1" } })).changes, false, "same environment in another order");
  });

  it("updates in place (never replaces) on a new create, update, stdin or environment, or an unknown one in a preview", async () => {
    for (const change of [
      { create: "other" },
      { update: "other" },
      { stdin: "new content\n" },
      { environment: { A: "1", B: "3" } },
      { stdin: UNKNOWN },
      { update: undefined },
    ] as Array<Partial<SshCommandState>>) {
      assert.deepEqual(await p.diff("id", base, { ...base, ...change }), { changes: true, replaces: [], deleteBeforeReplace: false }, JSON.stringify(change));
    }
  });

  it("stores a new connection, delete command or logging without running anything (no replacement)", async () => {
    for (const change of [
      { connection: { ...connection, privateKey: "NEW KEY" } },
      { connection: { ...connection, host: "203.0.113.99" } },
      { delete: "rm -f /etc/y" },
      { logging: "none" },
    ] as Array<Partial<SshCommandState>>) {
      const d = await p.diff("id", base, { ...base, ...change });
      assert.equal(d.changes, true, JSON.stringify(change));
      assert.deepEqual(d.replaces, []);
      // the update stores it and runs no command (the host is unreachable: a run would fail)
      const news = { ...base, ...change, connection: { ...connection, ...(change.connection ?? {}), host: "192.0.2.1", connectTimeout: 1, connectionAttempts: 1 } };
      const olds = { ...base, connection: news.connection, stdout: "previous out", stderr: "previous err" };
      const r = await p.update("id", olds, news);
      assert.equal(r.outs.stdout, "previous out");
      assert.equal(r.outs.stderr, "previous err");
      assert.deepEqual(r.outs.connection, news.connection);
      if (change.delete) assert.equal(r.outs.delete, change.delete);
      assert.equal((r.outs as unknown as Record<string, unknown>).__provider, undefined, "the engine adds __provider itself");
    }
  });

  it("deletes nothing when there is no delete command", async () => {
    await p.delete("id", { ...base, delete: undefined, connection: { ...connection, host: "192.0.2.1", connectTimeout: 1, connectionAttempts: 1 } });
  });
});

describe("RandomInteger", () => {
  let p: typeof randomIntegerProvider;
  before(async () => {
    p = await asTheEngineRunsIt(randomIntegerProvider);
  });

  it("draws once in [min, max] and keeps the value across diff and update", async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const { id, outs } = await p.create({ min: 0, max: 14, __provider: "x" });
      assert.ok(id.length > 0);
      assert.ok(Number.isInteger(outs.result) && outs.result! >= 0 && outs.result! <= 14, String(outs.result));
      assert.deepEqual(Object.keys(outs).sort(), ["max", "min", "result"]);
      seen.add(outs.result!);
    }
    assert.equal(seen.size, 15, "every value of 0..14 is drawn");
    const { outs } = await p.create({ min: 0, max: 14 });
    assert.deepEqual(await p.diff("id", outs, { min: 0, max: 14 }), { changes: false, replaces: [] });
    assert.deepEqual(await p.diff("id", { ...outs, __provider: "old" } as never, { min: 0, max: 14, __provider: "new" } as never), { changes: false, replaces: [] });
    // a wider range keeps the value (an update, not a new draw)
    assert.deepEqual(await p.diff("id", outs, { min: 0, max: 29 }), { changes: true, replaces: [] });
    assert.deepEqual((await p.update("id", outs, { min: 0, max: 29 })).outs, { min: 0, max: 29, result: outs.result });
    // a range that excludes it draws again (a replacement)
    const out = { min: 0, max: 14, result: 10 };
    assert.deepEqual(await p.diff("id", out, { min: 0, max: 5 }), { changes: true, replaces: ["max"] });
  });

  it("checks its bounds (unknowns pass a preview)", async () => {
    assert.deepEqual((await p.check({}, { min: 0, max: 14 })).failures, []);
    assert.match((await p.check({}, { min: 5, max: 1 })).failures[0]!.reason, /max \(1\) is below min \(5\)/);
    assert.match((await p.check({}, { min: 1.5, max: 3 })).failures[0]!.reason, /min must be an integer/);
    assert.deepEqual((await p.check({}, { min: 0, max: UNKNOWN as unknown as number })).failures, []);
  });
});

describe("RandomPassword", () => {
  let p: typeof randomPasswordProvider;
  before(async () => {
    p = await asTheEngineRunsIt(randomPasswordProvider);
  });

  it("draws letters and digits (at least one of each kind) of the asked length, all different", async () => {
    const all = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { outs } = await p.create({ length: 32 });
      const pw = outs.result!;
      assert.match(pw, /^[A-Za-z0-9]{32}$/);
      assert.match(pw, /[a-z]/);
      assert.match(pw, /[A-Z]/);
      assert.match(pw, /[0-9]/);
      all.add(pw);
    }
    assert.equal(all.size, 200);
    assert.match((await p.create({ length: 8 })).outs.result!, /^[A-Za-z0-9]{8}$/);
    await assert.rejects(p.create({ length: 4 }), /length must be an integer of at least 8/);
  });

  it("is stable: no change without a new length, and an update never draws again", async () => {
    const { outs } = await p.create({ length: 32 });
    assert.deepEqual(await p.diff("id", { ...outs, __provider: "old" } as never, { length: 32, __provider: "new" } as never), { changes: false, replaces: [] });
    assert.equal((await p.update("id", outs, { length: 32 })).outs.result, outs.result);
    assert.deepEqual(await p.diff("id", outs, { length: 40 }), { changes: true, replaces: ["length"] }, "a new length is a new password");
    assert.deepEqual((await p.check({}, { length: 3 })).failures.map((f) => f.property), ["length"]);
  });
});

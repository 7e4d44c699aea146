// SshCommand's provider against a real sshd on 127.0.0.1 (test/support/jobs-sshd.ts), used as the
// engine runs it (serialized, then loaded back from the text): create runs, update runs in place,
// a connection change alone runs nothing, delete runs, stdin and environment reach the command,
// failures name user@host:port, and no key file is left behind.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { sshCommandProvider, type SshCommandState, type SshConnection } from "../../infra/providers/ssh-command";
import { asTheEngineRunsIt } from "../support/dynamic-providers";
import { freePort, generateKey, startSshd, type Sshd } from "../support/jobs-sshd";
import { skipUnlessCi } from "../support/prerequisites";

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (sshd on 127.0.0.1 logs in as root)";
  if (!fs.existsSync("/usr/sbin/sshd")) return "needs /usr/sbin/sshd (openssh-server)";
  return undefined;
}

const skip = skipUnlessCi(unavailable(), "SshCommand against a real sshd");

describe("SshCommand against a real sshd", { skip }, () => {
  let root: string;
  let sshd: Sshd;
  let conn: SshConnection;
  let p: typeof sshCommandProvider;
  let work: string;

  const sshTemps = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("dbk-ssh-")).sort();
  let tempsBefore: string[];

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-sshcmd-"));
    sshd = await startSshd(path.join(root, "sshd"));
    const keyFile = path.join(root, "client", "id_ed25519");
    fs.writeFileSync(sshd.extraKeysFile("root"), `${await generateKey(keyFile, "sshcmd-test")}\n`);
    conn = { host: "127.0.0.1", port: sshd.port, user: "root", privateKey: fs.readFileSync(keyFile, "utf8"), hostKey: `${sshd.hostKey} test-host` };
    work = path.join(root, "work");
    fs.mkdirSync(work);
    p = await asTheEngineRunsIt(sshCommandProvider);
    tempsBefore = sshTemps();
  });

  after(async () => {
    await sshd?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const log = () => fs.readFileSync(path.join(work, "log"), "utf8").trim().split("\n");

  it("create runs the command with stdin and environment; update runs in place; delete runs", async () => {
    const file = path.join(work, "file");
    const inputs: SshCommandState & { __provider: string } = {
      connection: conn,
      create: `cat >${file}; echo "create $GREETING" >>${work}/log; echo created; echo to-stderr >&2`,
      update: `cat >${file}; echo "update $GREETING" >>${work}/log; echo updated`,
      delete: `rm -f ${file}; echo delete >>${work}/log`,
      stdin: "line 1\nline 'two' $HOME `x`\n",
      environment: { GREETING: "hello 'world'" },
      __provider: "serialized",
    };
    const created = await p.create(inputs);
    assert.ok(created.id);
    assert.equal(fs.readFileSync(file, "utf8"), inputs.stdin, "stdin byte for byte");
    assert.deepEqual(log(), ["create hello 'world'"]);
    assert.equal(created.outs.stdout, "created\n");
    assert.equal(created.outs.stderr, "to-stderr\n");
    assert.deepEqual(created.outs.connection, conn, "kept for the delete");
    assert.equal(created.outs.delete, inputs.delete);
    assert.equal((created.outs as unknown as Record<string, unknown>).__provider, undefined);

    // no change: the engine does not call update
    assert.equal((await p.diff(created.id, { ...created.outs, __provider: "old code" } as never, { ...inputs, __provider: "new code" } as never)).changes, false);

    // new stdin: an update in place, running `update`, not `create`, and no delete
    const news = { ...inputs, stdin: "new content\n" };
    const d = await p.diff(created.id, created.outs, news);
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    const updated = await p.update(created.id, created.outs, news);
    assert.equal(fs.readFileSync(file, "utf8"), "new content\n");
    assert.deepEqual(log(), ["create hello 'world'", "update hello 'world'"]);
    assert.equal(updated.outs.stdout, "updated\n");

    // without `update`, an update runs `create`
    const { update: _u, ...noUpdate } = { ...news, stdin: "third\n" };
    await p.update(created.id, updated.outs, noUpdate);
    assert.deepEqual(log().slice(-1), ["create hello 'world'"]);

    // a connection change alone: stored, nothing runs
    const moved = { ...noUpdate, connection: { ...conn, connectTimeout: 7 } };
    assert.equal((await p.diff(created.id, { ...noUpdate, stdout: "", stderr: "" }, moved)).changes, true);
    const stored = await p.update(created.id, { ...noUpdate, stdout: "", stderr: "" }, moved);
    assert.equal(log().length, 3, "no command ran");
    assert.deepEqual(stored.outs.connection, moved.connection);

    await p.delete(created.id, stored.outs);
    assert.ok(!fs.existsSync(file));
    assert.deepEqual(log().slice(-1), ["delete"]);
  });

  it("trusts the host key on first use when none is pinned (the host-key read)", async () => {
    const { hostKey: _k, ...tofu } = conn;
    const r = await p.create({ connection: tofu, create: "cat /etc/hostname >/dev/null; echo ok" });
    assert.equal(r.outs.stdout, "ok\n");
  });

  it("refuses a server that shows another host key, naming user@host:port", async () => {
    const other = (await generateKey(path.join(root, "other-host"), "other")).split(/\s+/).slice(0, 2).join(" ");
    await assert.rejects(p.create({ connection: { ...conn, hostKey: other }, create: `echo ran >>${work}/wrong-key` }), (err: Error) => {
      assert.match(err.message, new RegExp(`^ssh root@127\\.0\\.0\\.1:${sshd.port}: ssh failed to connect or to authenticate \\(exit 255\\)`));
      assert.match(err.message, /Host key verification failed/);
      return true;
    });
    assert.ok(!fs.existsSync(path.join(work, "wrong-key")), "nothing ran");
  });

  it("fails clearly on an unreachable port, and on a refused key", async () => {
    const port = await freePort();
    await assert.rejects(p.create({ connection: { ...conn, port, connectionAttempts: 1, connectTimeout: 5 }, create: "true" }), (err: Error) => {
      assert.match(err.message, new RegExp(`^ssh root@127\\.0\\.0\\.1:${port}: ssh failed to connect or to authenticate \\(exit 255\\)`));
      assert.match(err.message, /Connection refused/);
      return true;
    });
    const stranger = path.join(root, "stranger");
    await generateKey(stranger, "stranger");
    await assert.rejects(p.create({ connection: { ...conn, privateKey: fs.readFileSync(stranger, "utf8") }, create: "true" }), /ssh root@127\.0\.0\.1:\d+: ssh failed .*\n?.*Permission denied/s);
  });

  it("reports a failed command with its exit status and the end of its stderr, unless logging is none", async () => {
    const failing = `for i in $(seq 1 40); do echo "noise $i" >&2; done; echo "the real reason" >&2; exit 3`;
    await assert.rejects(p.create({ connection: conn, create: failing }), (err: Error) => {
      assert.match(err.message, new RegExp(`^ssh root@127\\.0\\.0\\.1:${sshd.port}: the command exited with status 3; stderr:\\n`));
      assert.match(err.message, /the real reason$/);
      assert.ok(!err.message.includes("noise 10\n"), "only the tail");
      return true;
    });
    await assert.rejects(p.create({ connection: conn, create: "echo 'IDENTIFIED BY secret' >&2; exit 1", logging: "none" }), (err: Error) => {
      assert.match(err.message, /exited with status 1; \(stderr not shown: logging none\)/);
      assert.ok(!err.message.includes("secret"));
      return true;
    });
    // a failing delete fails the destroy (the resource stays in the state)
    await assert.rejects(p.delete("id", { connection: conn, create: "true", delete: "exit 4" }), /exited with status 4/);
  });

  it("leaves no private key behind", () => {
    assert.deepEqual(sshTemps(), tempsBefore);
  });
});

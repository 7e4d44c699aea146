// A bundle's push through a real sshd on 127.0.0.1 (test/support/jobs-sshd.ts), the way
// remote.Command runs it: the asRoot command line as the session's command, the frame on stdin.
// Files written with their modes, the same frame again writes nothing, a changed frame updates in
// place, delete removes the files and the records. (The e2e tests run it through the real plugin.)
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { asRoot } from "../../infra/components/remote";
import type { ServerFile } from "../../infra/render/files";
import { framePush, pushApplyScript, pushDeleteScript } from "../../infra/render/push";
import { generateKey, startSshd, type Sshd } from "../support/jobs-sshd";
import { skipUnlessCi } from "../support/prerequisites";

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (sshd on 127.0.0.1 logs in as root)";
  if (!fs.existsSync("/usr/sbin/sshd")) return "needs /usr/sbin/sshd (openssh-server)";
  return undefined;
}

// In CI a missing tool or privilege is a failure, not a skip.
const skip = skipUnlessCi(unavailable(), "bundle push over a real sshd");

describe("bundle push over a real sshd", { skip }, () => {
  let root: string;
  let sshd: Sshd;
  let keyFile: string;
  let knownHosts: string;
  let state: string;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-push-ssh-"));
    sshd = await startSshd(path.join(root, "sshd"));
    keyFile = path.join(root, "client", "id_ed25519");
    fs.writeFileSync(sshd.extraKeysFile("root"), `${await generateKey(keyFile, "push-test")}\n`);
    knownHosts = path.join(root, "known_hosts");
    fs.writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
    state = path.join(root, "state");
  });

  after(async () => {
    await sshd?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  // Asynchronous: the test's sshd logs to this process's pipes, which must keep being read.
  function remote(commandLine: string, stdin: string): Promise<{ status: number; stdout: string; stderr: string }> {
    const child = spawn(
      "ssh",
      ["-F", "/dev/null", "-i", keyFile, "-p", String(sshd.port), "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=yes", "root@127.0.0.1",
        // the records' directory moved under the test root (remote.Command sends no environment)
        `DOLIBARR_BACKUP_PUSH_STATE=${state}; export DOLIBARR_BACKUP_PUSH_STATE; ${commandLine}`],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdin.end(stdin);
    return new Promise((resolve) => child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr })));
  }

  it("writes a bundle, skips the same frame, updates a changed one in place, and deletes it", async () => {
    const dir = path.join(root, "fs");
    const files: ServerFile[] = [
      { path: path.join(dir, "etc/unit@.service"), content: "[Service]\nExecStart=/bin/true\n", mode: "0644" },
      { path: path.join(dir, "etc/secret.env"), content: "KEY='v a l'\n", mode: "0600" },
      { path: path.join(dir, "big/blob"), content: "x".repeat(300_000) + "🦆\n", mode: "0640" },
    ];
    const marker = path.join(root, "created");
    const bundle = { files, create: `echo run >>'${marker}'`, delete: `echo bye >'${path.join(root, "deleted")}'` };
    const apply = asRoot("root", pushApplyScript(bundle, { name: "itest/bundle" }));

    const first = await remote(apply, framePush(files));
    assert.equal(first.status, 0, first.stderr);
    for (const f of files) {
      assert.equal(fs.readFileSync(f.path, "utf8"), f.content);
      assert.equal((fs.statSync(f.path).mode & 0o777).toString(8).padStart(4, "0"), f.mode);
    }
    const again = await remote(apply, framePush(files));
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /itest\/bundle is applied already/);
    assert.equal(fs.readFileSync(marker, "utf8"), "run\n");

    const changed = files.map((f, i) => (i === 1 ? { ...f, content: "KEY='new'\n" } : f));
    const inode = fs.statSync(files[0]!.path).ino;
    const update = await remote(apply, framePush(changed));
    assert.equal(update.status, 0, update.stderr);
    assert.equal(fs.readFileSync(files[1]!.path, "utf8"), "KEY='new'\n");
    assert.equal(fs.readFileSync(marker, "utf8"), "run\nrun\n");
    assert.notEqual(fs.statSync(files[0]!.path).ino, inode, "rewritten by rename");

    const del = await remote(asRoot("root", pushDeleteScript(bundle, { name: "itest/bundle" })), "");
    assert.equal(del.status, 0, del.stderr);
    assert.ok(files.every((f) => !fs.existsSync(f.path)));
    assert.equal(fs.readFileSync(path.join(root, "deleted"), "utf8"), "bye\n");
    assert.deepEqual(fs.readdirSync(state).filter((n) => !n.startsWith(".")), []);
  });
});

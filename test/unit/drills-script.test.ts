// `npm run drills` as a command, on a copy of the example stacks whose servers sit on closed
// loopback ports (every host key is pinned, so a connection is tried and refused at once): usage
// errors, and a report still written, every copy marked as not readable, when no backup server can
// be read (exit 1, the servers named on stderr only).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";

const repo = path.resolve(__dirname, "../../..");
const script = path.join(repo, "dist/scripts/drills.js");

/** The example stacks (fleet and its clients only: the checkout's stacks/ may also hold the lab's), each server on 127.0.0.1 at a closed port. */
function closedStacks(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-drills-stacks-"));
  for (const f of fs.readdirSync(path.join(repo, "stacks")).filter((n) => /^Pulumi\.(fleet|client-(acme|globex|initech))\.yaml$/.test(n))) {
    let text = fs.readFileSync(path.join(repo, "stacks", f), "utf8");
    if (f === "Pulumi.fleet.yaml") {
      let port = 0;
      text = text.replace(/^ +port: \d+\n/gm, "").replace(/^( +)host: \S+$/gm, (_m, indent: string) => `${indent}host: 127.0.0.1\n${indent}port: ${++port}`);
    }
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}
const stacksDir = closedStacks();
const drills = (args: string[]) => spawnSync(process.execPath, [script, "--stacks-dir", stacksDir, "--stack", "fleet", ...args], { encoding: "utf8", env: { ...process.env, DOLIBARR_BACKUP_SSH_KEY: "" } });

describe("npm run drills", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-drills-out-"));
  after(() => {
    fs.rmSync(out, { recursive: true, force: true });
    fs.rmSync(stacksDir, { recursive: true, force: true });
  });

  it("refuses an unknown client, naming the known ones; an option without its value; an unknown option", () => {
    let r = drills(["--client", "nobody", "--ssh-key", "/dev/null"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /drills: no client nobody; the clients are: acme, globex, initech/);
    r = drills(["--client"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /drills: --client needs a value/);
    r = drills(["--pdf"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /drills: unknown argument --pdf\nusage: npm run drills/);
  });

  it("writes the client's report even when no backup server can be read: exit 1, each server named on stderr, nothing of it in the report", () => {
    const r = drills(["--client", "acme", "--out", out, "--ssh-key", "/dev/null", "--no-pdf"]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /drills: could not read bk-[a-z0-9-]+: ssh root@127\.0\.0\.1:\d+ exited 255/);
    const html = fs.readFileSync(path.join(out, "acme-drills.html"), "utf8");
    assert.match(r.stdout, new RegExp(`acme: \\d+ instance\\(s\\), 0 of \\d+ copies proven: ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/acme-drills\\.html`));
    assert.match(html, /its drill records could not be read for this report/);
    assert.doesNotMatch(html, /host key|127\.0\.0\.1|exited 255/);
    assert.deepEqual(fs.readdirSync(out), ["acme-drills.html"], "--no-pdf: no PDF");
  });

  it("says clearly that there is no PDF when chromium is not installed", () => {
    // a PATH with bash only: no chromium on it
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-no-chromium-"));
    try {
      fs.symlinkSync(spawnSync("bash", ["-c", "command -v bash"], { encoding: "utf8" }).stdout.trim(), path.join(bin, "bash"));
      const r = spawnSync(process.execPath, [script, "--stacks-dir", stacksDir, "--stack", "fleet", "--client", "globex", "--out", out, "--ssh-key", "/dev/null"], { encoding: "utf8", env: { PATH: bin } });
      assert.match(r.stdout, /^no PDF: chromium is not installed \(apt-get install chromium\); the HTML reports print as well from a browser$/m);
      assert.ok(fs.existsSync(path.join(out, "globex-drills.html")));
      assert.ok(!fs.existsSync(path.join(out, "globex-drills.pdf")));
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});

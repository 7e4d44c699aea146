// `npm run drills` as a command, on the example stacks (no host key is pinned there, so no
// connection is even tried): usage errors, and a report still written, every copy marked as not
// readable, when no backup server can be read (exit 1, the servers named on stderr only).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";

const repo = path.resolve(__dirname, "../../..");
const script = path.join(repo, "dist/scripts/drills.js");
// --stack: the checkout's stacks/ may also hold the lab's (npm run lab writes them there).
const drills = (args: string[]) => spawnSync(process.execPath, [script, "--stacks-dir", path.join(repo, "stacks"), "--stack", "fleet", ...args], { encoding: "utf8", env: { ...process.env, DOLIBARR_BACKUP_SSH_KEY: "" } });

describe("npm run drills", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-drills-out-"));
  after(() => fs.rmSync(out, { recursive: true, force: true }));

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
    assert.match(r.stderr, /drills: could not read bk-[a-z0-9-]+: no pinned host key for bk-/);
    const html = fs.readFileSync(path.join(out, "acme-drills.html"), "utf8");
    assert.match(r.stdout, new RegExp(`acme: \\d+ instance\\(s\\), 0 of \\d+ copies proven: ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/acme-drills\\.html`));
    assert.match(html, /its drill records could not be read for this report/);
    assert.doesNotMatch(html, /pinned host key|203\.0\.113\.|198\.51\.100\./);
    assert.deepEqual(fs.readdirSync(out), ["acme-drills.html"], "--no-pdf: no PDF");
  });

  it("says clearly that there is no PDF when chromium is not installed", () => {
    // a PATH with bash only: no chromium on it
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-no-chromium-"));
    try {
      fs.symlinkSync(spawnSync("bash", ["-c", "command -v bash"], { encoding: "utf8" }).stdout.trim(), path.join(bin, "bash"));
      const r = spawnSync(process.execPath, [script, "--stacks-dir", path.join(repo, "stacks"), "--stack", "fleet", "--client", "globex", "--out", out, "--ssh-key", "/dev/null"], { encoding: "utf8", env: { PATH: bin } });
      assert.match(r.stdout, /^no PDF: chromium is not installed \(apt-get install chromium\); the HTML reports print as well from a browser$/m);
      assert.ok(fs.existsSync(path.join(out, "globex-drills.html")));
      assert.ok(!fs.existsSync(path.join(out, "globex-drills.pdf")));
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});

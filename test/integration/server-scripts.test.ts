// Static checks of what is pushed to the servers: every shell script passes shellcheck and
// fails loudly (set -euo pipefail), the rendered units pass `systemd-analyze verify` (in a
// temp root with the rendered scripts at their paths), every rendered OnCalendar= is a
// valid calendar that fires exactly at the planned times.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  calendarExpressions,
  renderBackupInstance,
  renderHostingInstance,
  renderServerBase,
  repoRoot,
  SERVER_SCRIPTS,
  serverScriptPath,
  type ServerFile,
} from "../../infra/render";
import { samplePlan, sampleTopology } from "../support/jobs-topology";
import { skipUnlessCi } from "../support/prerequisites";

function has(cmd: string): boolean {
  return spawnSync("bash", ["-c", `command -v ${cmd}`]).status === 0;
}

/** scripts/**\/*.sh plus every file of scripts/server/. */
function shellScripts(): string[] {
  const root = path.join(repoRoot(), "scripts");
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (p.endsWith(".sh") || path.dirname(p) === path.join(root, "server"))) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

describe("shell scripts", () => {
  it("pass shellcheck (scripts/**/*.sh and scripts/server/*)", { skip: skipUnlessCi(has("shellcheck") ? undefined : "shellcheck missing", "shellcheck of the scripts") }, () => {
    const files = shellScripts();
    assert.ok(files.length >= SERVER_SCRIPTS.length);
    const r = spawnSync("shellcheck", ["-x", ...files.map((f) => path.relative(repoRoot(), f))], { cwd: repoRoot(), encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  for (const name of SERVER_SCRIPTS) {
    it(`${name}: bash, set -euo pipefail, parses${name.endsWith(".sh") ? "" : ", documents itself in --help"}`, () => {
      const file = serverScriptPath(name);
      const text = fs.readFileSync(file, "utf8");
      assert.equal(spawnSync("bash", ["-n", file]).status, 0);
      if (name.endsWith(".sh")) {
        assert.match(text, /^# shellcheck shell=bash/m);
        return;
      }
      assert.match(text, /^#!\/usr\/bin\/env bash\n/);
      assert.match(text, /^set -euo pipefail$/m);
      assert.ok(fs.statSync(file).mode & 0o111, "executable");
      const help = spawnSync(file, ["--help"], { encoding: "utf8" });
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /^Usage: /);
      const bad = spawnSync(file, ["--no-such-option"], { encoding: "utf8" });
      assert.notEqual(bad.status, 0, "an unknown option fails");
    });
  }

  it("dolibarr-restore --help documents local and pushed restores", () => {
    const help = spawnSync(serverScriptPath("dolibarr-restore"), ["--help"], { encoding: "utf8" }).stdout;
    for (const opt of ["--target-host", "--snapshot", "--dump", "--code-dir", "--documents-dir", "--database", "--only", "--force"]) {
      assert.ok(help.includes(opt), opt);
    }
  });
});

const canVerify = has("systemd-analyze") && fs.existsSync("/usr/lib/systemd/system/sysinit.target");

describe("systemd units", { skip: skipUnlessCi(canVerify ? undefined : "systemd-analyze or the system units are missing", "systemd units") }, () => {
  let root: string;
  const topo = sampleTopology();
  const inst = topo.clients[0]!.instances[0]!;
  const hosting = topo.fleet.servers.find((s) => s.name === inst.hostingServer)!;
  const backup = topo.fleet.servers.find((s) => s.name === "bk-fra")!;

  const install = (dir: string, files: ServerFile[]): void => {
    for (const f of files) {
      const p = path.join(dir, f.path);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, f.content, { mode: parseInt(f.mode, 8) });
    }
  };
  const verify = (dir: string, units: string[]) =>
    spawnSync("systemd-analyze", ["verify", `--root=${dir}`, ...units], { encoding: "utf8", env: { ...process.env, SYSTEMD_LOG_COLOR: "0" } });

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "units-"));
    for (const side of ["hosting", "backup"]) {
      fs.mkdirSync(path.join(root, side, "usr/lib/systemd"), { recursive: true });
      fs.cpSync("/usr/lib/systemd/system", path.join(root, side, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
    }
    install(path.join(root, "hosting"), [...renderServerBase(topo.fleet, hosting).files, ...renderHostingInstance(topo, inst).files]);
    install(path.join(root, "backup"), [...renderServerBase(topo.fleet, backup).files, ...renderBackupInstance(topo, inst, samplePlan(inst.name, "bk-fra")).files]);
  });

  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("hosting units (dump service and timer with its drop-in, export service) verify cleanly", () => {
    const r = verify(path.join(root, "hosting"), [`dolibarr-dump@${inst.name}.service`, `dolibarr-dump@${inst.name}.timer`, `dolibarr-export@${inst.name}.service`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), "", r.stderr);
  });

  it("backup units (replicate service and timer with its drop-in) verify cleanly", () => {
    const r = verify(path.join(root, "backup"), [`dolibarr-replicate@${inst.name}.service`, `dolibarr-replicate@${inst.name}.timer`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), "", r.stderr);
  });

  it("notifier units verify cleanly on both roles, as each job unit's OnFailure= names them (%n expanded)", () => {
    const jobs: Record<string, string[]> = {
      hosting: [`dolibarr-dump@${inst.name}.service`, `dolibarr-export@${inst.name}.service`],
      backup: [`dolibarr-replicate@${inst.name}.service`],
    };
    for (const [side, units] of Object.entries(jobs)) {
      const dir = path.join(root, side);
      const notifiers = units.map((unit) => {
        const template = fs.readFileSync(path.join(dir, "etc/systemd/system", unit.replace(/@[^.]+\./, "@.")), "utf8");
        const onFailure = /^OnFailure=(.+)$/m.exec(template);
        assert.ok(onFailure, `${unit} has an OnFailure=`);
        return onFailure[1]!.replace("%n", unit);
      });
      assert.deepEqual(notifiers, units.map((u) => `dolibarr-notify@${u}.service`));
      // (verify does not follow OnFailure=: the named units are verified themselves; a typo is "not found")
      const r = verify(dir, [...notifiers, "dolibarr-notify.service", "dolibarr-notify.path", "dolibarr-notify-sweep.service", "dolibarr-notify-sweep.timer"]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), "", r.stderr);
    }
    assert.match(verify(path.join(root, "hosting"), [`dolibarr-notfy@dolibarr-dump@${inst.name}.service.service`]).stderr, /not found/);
  });

  it("the verification does catch a broken unit and a missing executable", () => {
    const dir = path.join(root, "hosting");
    const unit = path.join(dir, "etc/systemd/system/dolibarr-dump@.service");
    const good = fs.readFileSync(unit, "utf8");
    try {
      fs.writeFileSync(unit, good.replace("[Service]", "[Service]\nNoSuchSetting=1"));
      assert.match(verify(dir, [`dolibarr-dump@${inst.name}.service`]).stderr, /NoSuchSetting/);
      fs.writeFileSync(unit, good);
      fs.renameSync(path.join(dir, "usr/local/sbin/dolibarr-dump"), path.join(dir, "usr/local/sbin/x"));
      const r = verify(dir, [`dolibarr-dump@${inst.name}.service`]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /dolibarr-dump/);
    } finally {
      fs.writeFileSync(unit, good);
      if (fs.existsSync(path.join(dir, "usr/local/sbin/x"))) fs.renameSync(path.join(dir, "usr/local/sbin/x"), path.join(dir, "usr/local/sbin/dolibarr-dump"));
    }
  });

  it("every rendered OnCalendar= is valid and fires exactly at the planned times", () => {
    const cases: number[][] = [
      [0, 720],
      [90, 810],
      [195, 555, 915, 1275],
      [0, 45, 390, 1439],
      [5, 65, 125, 185, 245, 305],
    ];
    const rand = (() => {
      let a = 9;
      return () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648);
    })();
    for (let i = 0; i < 10; i++) {
      const set = new Set<number>();
      const n = 1 + Math.floor(rand() * 8);
      while (set.size < n) set.add(Math.floor(rand() * 1440));
      cases.push([...set]);
    }
    for (const times of cases) {
      const fired = new Set<string>();
      for (const expr of calendarExpressions(times)) {
        const hours = expr.split(" ")[1]!.split(":")[0]!.split(",").length;
        const r = spawnSync("systemd-analyze", ["calendar", `--iterations=${hours}`, expr], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } });
        assert.equal(r.status, 0, `${expr}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`Normalized form: ${expr.replace(/\*/g, "\\*")}`));
        for (const m of r.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ \S+ (\d\d:\d\d):00/g)) fired.add(m[1]!);
      }
      const want = times.map((t) => `${String(Math.floor(t / 60)).padStart(2, "0")}:${String(t % 60).padStart(2, "0")}`);
      assert.deepEqual([...fired].sort(), [...want].sort(), `times ${times.join(",")}`);
    }
  });

  it("a calendar with the fleet's time zone fires at those times in that zone, whatever the server's own zone", () => {
    // The servers' clocks in three zones; the timers say Europe/Paris (or another fleet zone).
    const paris = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Paris", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    const tokyo = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Tokyo", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    const cases: Array<[number[], string, Intl.DateTimeFormat]> = [
      [[0, 720], "Europe/Paris", paris],
      [[195, 555, 915, 1275], "Europe/Paris", paris],
      [[0, 45, 390, 1439], "Asia/Tokyo", tokyo],
    ];
    for (const serverZone of ["UTC", "America/New_York", "Asia/Kolkata"]) {
      for (const [times, zone, fmt] of cases) {
        const fired = new Set<string>();
        for (const expr of calendarExpressions(times, zone)) {
          assert.ok(expr.endsWith(` ${zone}`), expr);
          const hours = expr.split(" ")[1]!.split(":")[0]!.split(",").length;
          const r = spawnSync("systemd-analyze", ["calendar", `--iterations=${hours}`, expr], { encoding: "utf8", env: { ...process.env, TZ: serverZone } });
          assert.equal(r.status, 0, `${expr}: ${r.stderr}`);
          assert.match(r.stdout, new RegExp(`Normalized form: ${expr.replace(/\*/g, "\\*")}`));
          // Each elapse: "Next elapse:"/"Iter. #n:" in the server's zone, then "(in UTC):" unless that zone is UTC.
          let pending: string | undefined;
          const flush = () => {
            if (pending) fired.add(fmt.format(new Date(`${pending.replace(" ", "T")}Z`)));
            pending = undefined;
          };
          for (const line of r.stdout.split("\n")) {
            const main = /(?:Next elapse|Iter\. #\d+): \w+ (\S+ \d\d:\d\d:\d\d) (\S+)/.exec(line);
            const utc = /\(in UTC\): \w+ (\S+ \d\d:\d\d:\d\d) UTC/.exec(line);
            if (main) {
              flush();
              pending = main[2] === "UTC" ? main[1] : undefined;
              if (main[2] !== "UTC") pending = "";
            } else if (utc) pending = utc[1];
          }
          flush();
        }
        const want = times.map((t) => `${String(Math.floor(t / 60)).padStart(2, "0")}:${String(t % 60).padStart(2, "0")}`);
        assert.deepEqual([...fired].sort(), [...want].sort(), `times ${times.join(",")} in ${zone} on a server in ${serverZone}`);
      }
    }
  });
});

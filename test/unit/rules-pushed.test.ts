// The readers the pushed.* rules rely on, each against the renderer it inverts, on generated
// inputs: calendar expressions (calendarExpressions ↔ parseCalendarTimes), env files
// (renderEnvFile ↔ parseEnvFile), authorized_keys lines (renderHostingAccess ↔ parseAuthorizedKeysLine).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { remote } from "@pulumi/command";
import { STOCK_TYPES } from "../../infra/components/contract";
import { calendarExpressions, onCalendar, parseCalendarTimes } from "../../infra/render/calendar";
import { parseEnvFile, renderEnvFile } from "../../infra/render/files";
import { accessProblems } from "../../infra/rules/access";
import { isAuthorizedKeysPath, parseAuthorizedKeysLine, timeSpanSeconds, timerFileOf, timerSettings } from "../../infra/rules/pushed";

/** Deterministic pseudo-random generator (the cases are the same on every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("parseCalendarTimes inverts calendarExpressions", () => {
  test("500 generated lists of 1..48 times of day", () => {
    const r = rng(9);
    for (let n = 0; n < 500; n++) {
      const count = 1 + Math.floor(r() * 48);
      const times = [...new Set(Array.from({ length: count }, () => Math.floor(r() * 1440)))].sort((a, b) => a - b);
      const back = calendarExpressions(times).flatMap((e) => parseCalendarTimes(e)).sort((a, b) => a - b);
      assert.deepEqual(back, times, calendarExpressions(times).join(" | "));
    }
  });

  test("with the fleet's time zone: the zone rendered is required, another or none is refused", () => {
    const r = rng(5);
    for (const zone of ["Europe/Paris", "UTC", "America/Toronto", "Asia/Kolkata"]) {
      for (let n = 0; n < 50; n++) {
        const times = [...new Set(Array.from({ length: 1 + Math.floor(r() * 24) }, () => Math.floor(r() * 1440)))].sort((a, b) => a - b);
        assert.deepEqual(calendarExpressions(times, zone).flatMap((e) => parseCalendarTimes(e, zone)).sort((a, b) => a - b), times);
        assert.throws(() => calendarExpressions(times, zone).flatMap((e) => parseCalendarTimes(e, zone === "UTC" ? "Europe/Paris" : "UTC")), /is in time zone/);
        assert.throws(() => calendarExpressions(times).flatMap((e) => parseCalendarTimes(e, zone)), /has no time zone/);
      }
    }
  });

  test("other spellings of daily times", () => {
    const cases: Array<[string, number[]]> = [
      ["06:30", [390]],
      ["*-*-* 6:30:00", [390]],
      ["*-*-* 00..02:15", [15, 75, 135]],
      ["*-*-* 0/6:00:00", [0, 360, 720, 1080]],
      ["*-*-* 12:00/30", [720, 750]],
      ["daily", [0]],
      ["hourly", Array.from({ length: 24 }, (_, h) => h * 60)],
      ["*-*-* 23:59:00", [1439]],
    ];
    for (const [expr, times] of cases) assert.deepEqual(parseCalendarTimes(expr), times, expr);
    assert.equal(parseCalendarTimes("minutely").length, 1440);
  });

  test("what is not a daily list of whole minutes is refused", () => {
    for (const expr of ["Mon *-*-* 00:00", "*-*-01 00:00", "2026-01-01 00:00", "00:00 UTC", "*-*-* 00:00:30", "*-*-* 00:00:*", "weekly", "monthly", "24:00", "00:60", "12", "*-*-* 1..0:00", "", "*-*-* a:00"]) {
      assert.throws(() => parseCalendarTimes(expr), /./, expr);
    }
  });

  test("the OnCalendar= lines of a rendered drop-in, read back, start at the times", () => {
    const r = rng(3);
    for (let n = 0; n < 100; n++) {
      const times = [...new Set(Array.from({ length: 1 + Math.floor(r() * 12) }, () => Math.floor(r() * 1440)))].sort((a, b) => a - b);
      const { onCalendar: lines, other } = timerSettings(`[Timer]\n${onCalendar(times)}`);
      assert.deepEqual(other, []);
      assert.equal(lines[0], "");
      assert.deepEqual(lines.slice(1).flatMap((e) => parseCalendarTimes(e)).sort((a, b) => a - b), times);
    }
  });
});

describe("parseEnvFile inverts renderEnvFile", () => {
  test("200 generated files with quotes, spaces, $ and backslashes in values", () => {
    const r = rng(5);
    const alphabet = "abcXYZ019 '\"$`\\;&|()<>*?#=-_./:@";
    for (let n = 0; n < 200; n++) {
      const vars: Record<string, string> = {};
      for (let k = 0; k < 1 + Math.floor(r() * 8); k++) {
        vars[`K${k}_${Math.floor(r() * 100)}`] = Array.from({ length: Math.floor(r() * 20) }, () => alphabet[Math.floor(r() * alphabet.length)]).join("");
      }
      assert.deepEqual(parseEnvFile(renderEnvFile("header\nsecond line", vars)), vars);
    }
  });

  test("a line bash would run is refused", () => {
    for (const line of ["A=$(id)", "A='x'; id", "export A='x'", "A='x", "a='x'", "A=\"x\"", " A='x'", "A='x' # c", "A='it'\\''s'x"]) {
      assert.throws(() => parseEnvFile(`# h\n${line}\n`), /line 2/, line);
    }
    assert.throws(() => parseEnvFile("A='1'\nA='2'\n"), /set twice/);
  });
});

describe("authorized_keys lines", () => {
  test("the renderer's line is read back with its options, and passes the access checker", () => {
    const line = 'restrict,from="192.0.2.5",command="/usr/bin/rrsync -ro /var/lib/dolibarr-backup/export/bk-1" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA dolibarr-backup@bk-1';
    const parsed = parseAuthorizedKeysLine(line);
    assert.deepEqual(parsed.options, ["restrict", 'from="192.0.2.5"', 'command="/usr/bin/rrsync -ro /var/lib/dolibarr-backup/export/bk-1"']);
    assert.equal(parsed.keyType, "ssh-ed25519");
    assert.equal(parsed.comment, "dolibarr-backup@bk-1");
    assert.deepEqual(accessProblems(parsed.options), []);
  });

  test("quoted commas, spaces and escaped quotes stay inside their option", () => {
    const p = parseAuthorizedKeysLine('from="a,b",command="echo \\"x, y\\"",restrict ecdsa-sha2-nistp256 AAAAE2VjZHNh== c d');
    assert.deepEqual(p.options, ['from="a,b"', 'command="echo \\"x, y\\""', "restrict"]);
    assert.equal(p.comment, "c d");
    assert.deepEqual(parseAuthorizedKeysLine("ssh-rsa AAAAB3NzaC1yc2E=").options, []);
  });

  test("lines sshd would not read as keys are refused", () => {
    for (const l of ['restrict,from="x', "restrict notakey AAAA", "restrict ssh-ed25519 not*base64", "just words here"]) {
      assert.throws(() => parseAuthorizedKeysLine(l), /./, l);
    }
  });

  test("which paths are authorized_keys and timer files", () => {
    assert.ok(isAuthorizedKeysPath("/var/lib/dolibarr-backup/users/dbk-bk/.ssh/authorized_keys"));
    assert.ok(isAuthorizedKeysPath("/root/.ssh/authorized_keys2"));
    assert.ok(!isAuthorizedKeysPath("/etc/ssh/authorized_keys.bak"));
    assert.deepEqual(timerFileOf("/etc/systemd/system/dolibarr-dump@acme.timer.d/schedule.conf"), { template: "dolibarr-dump", instance: "acme", dropIn: "schedule.conf", unitDir: "/etc/systemd/system" });
    assert.deepEqual(timerFileOf("/etc/systemd/system/dolibarr-replicate@.timer"), { template: "dolibarr-replicate", instance: "", unitDir: "/etc/systemd/system" });
    assert.equal(timerFileOf("/run/systemd/system/dolibarr-dump@a.timer.d/x.conf")?.unitDir, "/run/systemd/system");
    assert.equal(timerFileOf("/etc/systemd/system/dolibarr-dump@.service"), undefined);
    assert.equal(timerFileOf("/etc/dolibarr-backup/instances/a.env"), undefined);
  });
});

test("systemd time spans", () => {
  const cases: Array<[string, number | undefined]> = [["1min", 60], ["60s", 60], ["1h 30min", 5400], ["90", 90], ["1m30s", 90], ["0.5min", 30], ["2d", 172800], ["x", undefined], ["", undefined], ["5min garbage", undefined], ["1 fortnight", undefined]];
  for (const [text, seconds] of cases) assert.equal(timeSpanSeconds(text), seconds, text);
});

test("the type token the pack filters on is @pulumi/command's remote.Command", () => {
  assert.equal((remote.Command as unknown as { __pulumiType: string }).__pulumiType, STOCK_TYPES.remoteCommand);
});

// dolibarr-restore's dump comparison (dump_sections) on real mariadb-dump 10.11 output: a dump
// taken with binlogs on (--master-data=2 --gtid, as dolibarr-dump does then) and the dump of the
// restored database (no binlog position) must compare equal, section by section; a changed row
// must not. Found on the lab: every restore of a dump with a binlog position reported
// "1 object(s) not identical" (the GTID comment at the end fell into the routines' section).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const repo = path.resolve(__dirname, "../../..");
const script = path.join(repo, "scripts/server/dolibarr-restore");
const fixtures = path.join(repo, "test/fixtures/dumps");

/** Runs the script's own dump_sections function (extracted, not copied) on a dump text. */
function sections(dump: string): string {
  const fn = `eval "$(sed -n '/^dump_sections() {/,/^}/p' "$1")"; dump_sections d`;
  return execFileSync("bash", ["-c", fn, "bash", script], { input: dump, encoding: "utf8" });
}

describe("dolibarr-restore: dump sections", () => {
  const withPosition = fs.readFileSync(path.join(fixtures, "master-data-gtid.sql"), "utf8");
  const plain = fs.readFileSync(path.join(fixtures, "plain.sql"), "utf8");

  it("a dump with its binlog position (--master-data=2 --gtid) equals the same database dumped without", () => {
    assert.match(withPosition, /^-- SET GLOBAL gtid_slave_pos=/m);
    assert.doesNotMatch(plain, /gtid_slave_pos/);
    assert.equal(sections(withPosition), sections(plain));
  });

  it("a changed row, a changed routine or an extra blank line in a routine still differs", () => {
    const base = sections(plain);
    assert.notEqual(sections(plain.replace("(1,1.5);", "(1,2.5);")), base, "row");
    assert.notEqual(sections(plain.replace("select 1", "select 2")), base, "routine");
    assert.notEqual(sections(plain.replace("select 1", "\nselect 1")), base, "blank line in a routine");
  });
});

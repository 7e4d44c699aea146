// The pull's newest complete transaction from the binlog event headers alone (dolibarr-binlog-pull
// --last-txn, section 7 of the pull), against MariaDB's own decoder: real binlogs of a MariaDB with
// the fleet's drop-in (ROW, GTIDs, CRC32), written with autocommit rows, multi-statement
// transactions, DDL, account statements (standalone GTIDs without DDL), a MyISAM table (a group that
// ends with a COMMIT query, not an Xid), a 2 MB statement (one event larger than the walker's 1 MiB
// read) and rotations. Each file is cut at generated offsets (event boundaries, inside headers,
// inside events) and walked from the start and from an earlier result (the pull's saved offset);
// the reference is `mariadb-binlog --base64-output=decode-rows` of the whole file, its events with
// end_log_pos within the cut: the last Xid, or the Query after a GTID without START TRANSACTION.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { serverScriptPath } from "../../infra/render/repo";
import { type ConfMariaDb, startBinlogSource } from "../support/binlog-mariadb";
import { mustRun, run } from "../support/jobs-exec";
import { skipUnlessCi } from "../support/prerequisites";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-binlog-walk-"));
const binlogDir = path.join(root, "binlogs");

interface Ev {
  start: number;
  end: number;
  epoch: number;
  kind: "gtid" | "xid" | "query" | "other";
  standalone: boolean;
}

/** The events of a whole binlog file as mariadb-binlog prints them (header lines, UTC). */
async function decode(file: string): Promise<Ev[]> {
  const out = (await mustRun("mariadb-binlog", ["--base64-output=decode-rows", "--", file], { env: { ...process.env, TZ: "UTC0" } })).stdout;
  const evs: Ev[] = [];
  let start = -1;
  for (const line of out.split("\n")) {
    const at = /^# at (\d+)$/.exec(line);
    if (at) {
      start = Number(at[1]);
      continue;
    }
    // a GTID that opens a group ending with a COMMIT (not standalone) is followed by START TRANSACTION
    if (line === "START TRANSACTION" && evs.at(-1)?.kind === "gtid") evs.at(-1)!.standalone = false;
    const h = /^#(\d\d)(\d\d)(\d\d) +(\d{1,2}):(\d\d):(\d\d) server id \d+ +end_log_pos (\d+) (.*)$/.exec(line);
    if (!h || start < 0) continue;
    const [, yy, mo, dd, hh, mi, ss, end, rest] = h;
    const epoch = Date.UTC(2000 + Number(yy), Number(mo) - 1, Number(dd), Number(hh), Number(mi), Number(ss)) / 1000;
    const gtid = /\tGTID \d+-\d+-\d+/.test(rest!);
    const kind = gtid ? "gtid" : /\tXid = /.test(rest!) ? "xid" : /\tQuery\t/.test(rest!) ? "query" : "other";
    evs.push({ start, end: Number(end), epoch, kind, standalone: gtid });
    start = -1;
  }
  return evs;
}

/** The reference: offset after the last complete transaction among the events from `from` that end within `cut`. */
function reference(evs: Ev[], from: number, cut: number): string {
  let standalone = false;
  let last = "";
  for (const e of evs) {
    if (e.start < from) continue;
    if (e.end > cut) break;
    if (e.kind === "gtid") standalone = e.standalone;
    else if (e.kind === "xid" || (e.kind === "query" && standalone)) {
      last = `${e.end}\t${e.epoch}`;
      standalone = false;
    }
  }
  return last;
}

describe("binlog headers walked for the newest complete transaction, against mariadb-binlog (real MariaDB)", { skip: skipUnlessCi(process.getuid?.() === 0 ? undefined : "needs root", "binlog walk") }, () => {
  let src: ConfMariaDb;
  const walk = async (file: string, from?: number): Promise<string> => {
    const r = await run(serverScriptPath("dolibarr-binlog-pull"), ["--last-txn", file, ...(from === undefined ? [] : [String(from)])]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  before(async () => {
    src = await startBinlogSource(path.join(root, "src"), binlogDir);
    const q = (sql: string) => src.query(sql);
    await q("CREATE DATABASE shop; CREATE TABLE shop.f (id INT AUTO_INCREMENT PRIMARY KEY, note MEDIUMTEXT) ENGINE=InnoDB; CREATE TABLE shop.m (id INT AUTO_INCREMENT PRIMARY KEY, note TEXT) ENGINE=MyISAM");
    for (let i = 0; i < 6; i++) {
      await q(`INSERT INTO shop.f (note) VALUES (REPEAT('a', ${50 + i * 300}))`); // autocommit
      await q(`BEGIN; INSERT INTO shop.f (note) SELECT REPEAT('b', 900) FROM shop.seq_1_to_${20 + i * 40}; UPDATE shop.f SET note = CONCAT(note, 'x') WHERE id % 3 = ${i % 3}; DELETE FROM shop.f WHERE id = ${2 + i}; COMMIT`);
      await q(`ALTER TABLE shop.f ADD COLUMN c${i} INT`); // DDL: standalone
      await q(`CREATE USER IF NOT EXISTS u${i}@localhost; GRANT SELECT ON shop.* TO u${i}@localhost`); // standalone, not DDL
      await q(`INSERT INTO shop.m (note) VALUES ('${"m".repeat(100 + i)}')`); // non-transactional: ends with a COMMIT query
      if (i === 2) await q(`INSERT INTO shop.f (note) VALUES (REPEAT('z', 2100000))`); // an event > 1 MiB
      if (i % 2 === 1) await q("FLUSH BINARY LOGS");
    }
    await q("INSERT INTO shop.f (note) VALUES ('last')");
    await q("FLUSH BINARY LOGS"); // the newest file: no transaction yet
  });

  after(async () => {
    if (src) await src.stop();
    if (!process.env.DBK_KEEP_LAB) fs.rmSync(root, { recursive: true, force: true });
  });

  it("gives mariadb-binlog's offset and second at every generated cut, from the start and from a saved offset", async () => {
    const files = fs.readdirSync(binlogDir).filter((f) => /^binlog\.\d{6}$/.test(f)).sort();
    assert.ok(files.length >= 4, `${files.length} files`);
    const cutFile = path.join(root, "cut");
    let compared = 0;
    let seed = 20;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (const f of files) {
      const bytes = fs.readFileSync(path.join(binlogDir, f));
      const evs = await decode(path.join(binlogDir, f));
      assert.ok(evs.length > 3, `${f}: decoded`);
      // the whole file (a closed one ends with its Rotate event)
      assert.equal(await walk(path.join(binlogDir, f)), reference(evs, 4, bytes.length), `${f} whole`);
      compared++;
      const ends = evs.map((e) => e.end);
      const cuts = new Set<number>();
      for (let k = 0; k < 12; k++) {
        const e = ends[rand(ends.length)]!;
        for (const c of [e, e - 1, e + 1, e + 18, e + 19, e + 20]) if (c > 4 && c <= bytes.length) cuts.add(c);
        cuts.add(5 + rand(bytes.length - 5));
      }
      let lastResult = "";
      for (const cut of [...cuts].sort((a, b) => a - b)) {
        fs.writeFileSync(cutFile, bytes.subarray(0, cut));
        const want = reference(evs, 4, cut);
        assert.equal(await walk(cutFile), want, `${f} cut at ${cut}`);
        // from the offset a pull saved at an earlier, shorter cut
        if (lastResult) {
          const from = Number(lastResult.split("\t")[0]);
          assert.equal(await walk(cutFile, from), reference(evs, from, cut), `${f} cut at ${cut} from ${from}`);
          compared++;
        }
        if (want) lastResult = want;
        compared++;
      }
      // a FROM that is not an event's start finds nothing
      const inside = evs.find((e) => e.end - e.start > 40)!;
      assert.equal(await walk(path.join(binlogDir, f), inside.start + 7), "", `${f} from inside an event`);
    }
    // the newest file holds no transaction yet; the one before ends with the last write
    assert.equal(await walk(path.join(binlogDir, files.at(-1)!)), "");
    assert.notEqual(await walk(path.join(binlogDir, files.at(-2)!)), "");
    console.log(`# ${compared} cuts of ${files.length} files compared with mariadb-binlog`);
  });
});

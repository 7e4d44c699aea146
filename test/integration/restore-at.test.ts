// dolibarr-restore --at (issue 20 point 4) on real MariaDB with binlogs on: rows written
// continuously with known seconds, three real dolibarr-dump runs (one with binlogs off in its env:
// no .pos, two with DUMP_BINLOG_POSITION=1), binlog rotations between and after them; then restores
// to generated seconds into other databases of another server: the write of the second is there and
// the next one is not, every table equals (CHECKSUM TABLE) the source's state right after that write,
// the dump taken is the newest one before the second that has its .pos, another database's events
// are never applied. Refusals change nothing on the target: binlogs that do not reach the time (the
// newest reachable second named), a missing middle file, a time before the oldest dump with a
// position (named), malformed times; a newest file cut at generated points restores to its last
// complete transaction. One restore is pushed over SSH to 127.0.0.1.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { renderEnvFile } from "../../infra/render/files";
import { serverScriptPath } from "../../infra/render/repo";
import { type ConfMariaDb, dumpUserSql, jobEnv, startBinlogSource } from "../support/binlog-mariadb";
import { prng } from "../support/dolibarr-fixture";
import { run, sleep, type RunResult } from "../support/jobs-exec";
import { type MariaDb, startMariaDb } from "../support/jobs-mariadb";
import { generateKey, startSshd, type Sshd } from "../support/jobs-sshd";
import { skipUnlessCi } from "../support/prerequisites";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-restore-at-"));
const binlogDir = path.join(root, "binlogs");
const mirror = path.join(root, "mirror", "shop");
const dumpsDir = path.join(mirror, "dumps");
const etc = path.join(root, "etc");
const DB = "dolibarr_shop";
const TABLES = ["llx_facture", "llx_societe", "llx_const"];
const SEED = Number(process.env.DBK_TEST_SEED ?? Date.now() % 100_000);

const nowMs = () => Date.now();
/** "YYYY-MM-DD HH:MM:SS" of an epoch second in a zone ("UTC" too). */
function local(epoch: number, zone: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
      .formatToParts(new Date(epoch * 1000))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}
/** The same second in one of the accepted forms, picked by r. */
function timeArg(epoch: number, r: number): string {
  const forms = [
    () => `${local(epoch, "UTC").replace(" ", "T")}Z`,
    () => `${local(epoch, "Europe/Paris")} Europe/Paris`,
    () => `${local(epoch, "America/New_York")} America/New_York`,
    () => `${local(epoch + 5.5 * 3600, "UTC")} +05:30`,
    () => `${local(epoch - 3 * 3600, "UTC")} -03:00`,
    () => `${local(epoch, "UTC")} UTC`,
  ];
  return forms[Math.floor(r * forms.length)]!();
}
const stampEpoch = (name: string) => {
  const m = /-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\./.exec(name)!;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) / 1000;
};

interface Write {
  i: number;
  /** Seconds (epoch) at the start and the end of the client's call: the binlog stamps lie between. */
  from: number;
  to: number;
  gtid: string;
  /** CHECKSUM TABLE of every table right after the write (the source's state until the next one). */
  sums: Record<string, string>;
}

/**
 * The last transaction whose events are all inside the first `cut` bytes of a binlog file, read
 * from the event headers (v4: 19 bytes, length at byte 9, type at byte 4; GTID event 162 with
 * seq_no and domain id first; Xid 16 ends a transaction): an implementation apart from the script's.
 */
function completeGtids(file: string, cut: number, serverId: string): { gtids: string[]; boundary: boolean } {
  const b = fs.readFileSync(file).subarray(0, cut);
  let off = 4;
  let open: string | undefined;
  const done: string[] = [];
  while (off + 19 <= b.length) {
    const len = b.readUInt32LE(off + 9);
    if (off + len > b.length) break;
    const type = b[off + 4]!;
    if (type === 162) {
      const seq = b.readBigUInt64LE(off + 19);
      const domain = b.readUInt32LE(off + 27);
      open = `${domain}-${serverId}-${seq}`;
    } else if (type === 16 && open) {
      done.push(open);
      open = undefined;
    }
    off += len;
  }
  return { gtids: done, boundary: off === b.length };
}

const unavailable = () => {
  if (process.getuid?.() !== 0) return "needs root";
  if (!fs.existsSync("/usr/sbin/sshd")) return "needs /usr/sbin/sshd (openssh-server)";
  return undefined;
};

describe("dolibarr-restore --at: a database to a chosen second (real MariaDB, binlogs on)", { skip: skipUnlessCi(unavailable(), "restore to a second"), timeout: 900_000 }, () => {
  let src: ConfMariaDb;
  let target: MariaDb;
  let sshd: Sshd;
  let keyFile = "";
  let knownHosts = "";
  const writes: Write[] = [];
  let dumps: string[] = []; // the dumps with a .pos, oldest first
  let noPosDump = "";
  let serverId = "";
  const timings: string[] = [];

  const checksums = async (q: (sql: string) => Promise<string>, db: string) => {
    const out: Record<string, string> = {};
    const rows = (await q(TABLES.map((t) => `CHECKSUM TABLE \`${db}\`.\`${t}\`;`).join("\n"))).trim().split("\n");
    rows.forEach((r, k) => (out[TABLES[k]!] = r.split("\t")[1]!));
    return out;
  };
  const env = (extra: Record<string, string> = {}) => jobEnv(root, extra);
  const writeEnv = (binlogPosition: 0 | 1) =>
    fs.writeFileSync(
      path.join(etc, "instances", "shop.env"),
      renderEnvFile("test", {
        INSTANCE: "shop", DB_NAME: DB, DUMP_DIR: dumpsDir, PATH_ROOTS: path.dirname(dumpsDir), RETENTION_DAYS: 7, DUMPS_PER_DAY: 2, BACKUP_SERVERS: "",
        MYSQL_OPTION_FILE: path.join(etc, "instances", "shop.my.cnf"), DUMP_BINLOG_POSITION: binlogPosition,
        MIRROR_ROOT: path.dirname(mirror), BINLOG_DIR: binlogDir,
      }),
    );
  const dump = async () => {
    const r = await run(serverScriptPath("dolibarr-dump"), ["shop"], { env: env() });
    assert.equal(r.code, 0, r.stderr);
  };
  /** dolibarr-restore --only db of shop into DATABASE on the target, with ARGS. */
  const restore = async (database: string, args: string[], extra: string[] = []): Promise<RunResult> => {
    const r = await run(serverScriptPath("dolibarr-restore"), ["--only", "db", "--mysql-option-file", target.optionFile, "--database", database, ...extra, ...args, "shop"], { env: env({ TZ: "Europe/Paris" }) });
    timings.push(`${database} ${args.join(" ")}: ${(r.ms / 1000).toFixed(2)} s${/replay: .*/.exec(r.stderr)?.[0] ? ` (${/replay: .*/.exec(r.stderr)![0]})` : ""}`);
    return r;
  };
  /** What must not change on the target when a restore is refused. */
  const targetState = async () => ({
    dbs: await target.query("SHOW DATABASES"),
    victim: await target.query("CHECKSUM TABLE victim.keepme; SELECT GROUP_CONCAT(v) FROM victim.keepme; SELECT @@GLOBAL.max_allowed_packet"),
  });
  /** The write whose state is the source's at second s; undefined when a write straddles s's end. */
  const stateAt = (s: number): { k: number; straddles: boolean } => {
    let k = -1;
    for (const w of writes) if (w.from <= s) k = w.i;
    const straddles = writes.some((w) => w.from <= s && w.to > s);
    return { k, straddles };
  };
  const gtidSeq = (g: string) => Number(g.split("-").pop());
  const posOf = (d: string) => {
    const text = fs.readFileSync(d.replace(/\.sql\..*$/, ".pos"), "utf8");
    return { file: /^file\t(.*)$/m.exec(text)![1]!, gtid: /^gtid\t(.*)$/m.exec(text)![1]! };
  };

  before(async () => {
    sshd = await startSshd(path.join(root, "sshd"));
    keyFile = path.join(root, "client", "id_ed25519");
    fs.writeFileSync(sshd.extraKeysFile("root"), `${await generateKey(keyFile, "restore-at-test")}\n`);
    knownHosts = path.join(root, "known_hosts");
    fs.writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
    [src, target] = await Promise.all([startBinlogSource(path.join(root, "src"), binlogDir), startMariaDb(path.join(root, "target"))]);
    serverId = (await src.query("SELECT @@server_id")).trim();

    await src.query(`CREATE DATABASE ${DB}; CREATE DATABASE other_client;
      CREATE TABLE ${DB}.llx_facture (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30), total DECIMAL(10,2), note TEXT) ENGINE=InnoDB;
      CREATE TABLE ${DB}.llx_societe (rowid INT PRIMARY KEY, nom VARCHAR(60), tms TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP) ENGINE=InnoDB;
      CREATE TABLE ${DB}.llx_const (name VARCHAR(60) PRIMARY KEY, value TEXT) ENGINE=InnoDB;
      CREATE TABLE other_client.llx_facture (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30)) ENGINE=InnoDB;
      INSERT INTO ${DB}.llx_const VALUES ('MAIN_VERSION', '18.0.4');
      ${dumpUserSql(DB)}`);
    for (let i = 1; i <= 40; i++) await src.query(`INSERT INTO ${DB}.llx_societe (rowid, nom) VALUES (${i}, 'Société ${i}'); INSERT INTO ${DB}.llx_facture (ref, total) VALUES ('INIT${i}', ${i})`);
    // the target: a database of another client (the same name as the source's other database) and one the refusals must leave alone
    await target.query(`CREATE DATABASE other_client; CREATE TABLE other_client.llx_facture (rowid INT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(30)); INSERT INTO other_client.llx_facture (ref) VALUES ('target-own');
      CREATE DATABASE victim; CREATE TABLE victim.keepme (v VARCHAR(20)); INSERT INTO victim.keepme VALUES ('untouched')`);

    fs.mkdirSync(path.join(etc, "instances"), { recursive: true });
    fs.writeFileSync(path.join(etc, "instances", "shop.my.cnf"), `[client]\nsocket=${src.socket}\nuser=dump\n`, { mode: 0o600 });
    fs.mkdirSync(dumpsDir, { recursive: true });
    fs.writeFileSync(path.join(mirror, ".complete"), "");
    writeEnv(0);
    await dump(); // binlogs "off" for this dump: no .pos
    noPosDump = fs.readdirSync(dumpsDir).find((f) => f.endsWith(".sql.zst"))!;
    await sleep(1100);
    writeEnv(1);

    // The writer: one transaction every ~200 ms touching three tables of the instance and the
    // other database; the source's checksums right after each. Beside it: two dumps, rotations.
    let stop = false;
    const writer = async () => {
      for (let i = 0; !stop; i++) {
        const from = nowMs();
        const del = i % 5 === 4 ? `DELETE FROM ${DB}.llx_facture WHERE ref = 'W${i - 3}';` : "";
        const out = await src.query(`BEGIN; INSERT INTO ${DB}.llx_facture (ref, total, note) VALUES ('W${i}', ${i}.25, REPEAT('é', ${i % 37}));
          UPDATE ${DB}.llx_societe SET nom = CONCAT('S', ${i}) WHERE rowid = ${(i % 40) + 1}; ${del}
          INSERT INTO other_client.llx_facture (ref) VALUES ('O${i}'); COMMIT; SELECT @@gtid_binlog_pos;`);
        const to = nowMs();
        writes.push({ i, from: Math.floor(from / 1000), to: Math.floor(to / 1000), gtid: out.trim().split(",").pop()!, sums: await checksums(src.query, DB) });
        if (i % 7 === 3) await src.query(`INSERT INTO other_client.llx_facture (ref) VALUES ('only-other-${i}')`); // a transaction of the other database alone
        await sleep(150 + (i % 3) * 40);
      }
    };
    const conductor = async () => {
      await sleep(1200);
      await dump();
      for (const wait of [2500, 2500]) {
        await sleep(wait);
        await src.query("FLUSH BINARY LOGS");
      }
      await sleep(1500);
      await dump();
      for (const wait of [2500, 2500, 2500]) {
        await sleep(wait);
        await src.query("FLUSH BINARY LOGS");
      }
      await sleep(3000);
      stop = true;
    };
    await Promise.all([writer(), conductor()]);
    dumps = fs.readdirSync(dumpsDir).filter((f) => /\.sql\.zst$/.test(f) && fs.existsSync(path.join(dumpsDir, f.replace(/\.sql\.zst$/, ".pos")))).sort().map((f) => path.join(dumpsDir, f));
    assert.equal(dumps.length, 2, fs.readdirSync(dumpsDir).join(" "));
    assert.ok(!fs.existsSync(path.join(dumpsDir, noPosDump.replace(/\.sql\.zst$/, ".pos"))));
  });

  after(async () => {
    if (timings.length) console.log(`restore-at timings (seed ${SEED}):\n  ${timings.join("\n  ")}`);
    await Promise.all([src?.stop(), target?.stop(), sshd?.stop()]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("restores to generated seconds across two dumps and several binlog files: the write of that second there, the next not, every table as at that second", async () => {
    const r = prng(SEED);
    const first = stampEpoch(path.basename(dumps[0]!));
    const second = stampEpoch(path.basename(dumps[1]!));
    const lastSec = writes.at(-1)!.from;
    const ok = (s: number) => !stateAt(s).straddles && stateAt(s).k >= 0;
    const before2 = [...Array(second - first).keys()].map((d) => first + d).filter(ok);
    const after2 = [...Array(lastSec - second + 1).keys()].map((d) => second + d).filter(ok);
    assert.ok(before2.length >= 2 && after2.length >= 4, `seconds to pick from: ${before2.length} before the second dump, ${after2.length} after`);
    const pick = (xs: number[]) => xs[Math.floor(r() * xs.length)]!;
    const seconds = [pick(before2), pick(before2), pick(after2), pick(after2), pick(after2), pick(after2), after2.at(-1)!];
    const files = new Set<string>();
    for (const [n, s] of seconds.entries()) {
      const { k } = stateAt(s);
      const at = timeArg(s, r());
      const db = `shop_at_${n}`;
      const res = await restore(db, ["--at", at, "--binlog-dir", binlogDir, "--mirror", mirror]);
      const what = `--at "${at}" (${local(s, "UTC")} UTC, seed ${SEED})`;
      assert.equal(res.code, 0, `${what}\n${res.stderr}`);
      // the newest dump stamped at or before s (an older one only when the replay said that one holds a later transaction)
      const want = [...dumps].reverse().find((d) => stampEpoch(path.basename(d)) <= s)!;
      const chosen = /^dump: (\S+)/m.exec(res.stdout)?.[1];
      if (chosen !== path.basename(want)) assert.match(res.stderr, new RegExp(`${path.basename(want).replace(/\./g, "\\.")} cannot give`), `${what}: took ${chosen}`);
      assert.match(res.stdout, new RegExp(`^point in time: asked ${local(s, "UTC")} UTC`, "m"), what);
      const refs = (await target.query(`SELECT ref FROM ${db}.llx_facture WHERE ref IN ('W${k}', 'W${k + 1}') ORDER BY ref`)).trim();
      assert.equal(refs, `W${k}`, `${what}: write ${k} (${writes[k]!.from}) there, write ${k + 1} not`);
      assert.deepEqual(await checksums(target.query, db), writes[k]!.sums, `${what}: every table as right after write ${k}`);
      const pos = posOf(path.join(dumpsDir, chosen!));
      const seqAtDump = gtidSeq(pos.gtid.split(",").find((g) => g.startsWith(`${serverId}-`)) ?? "0-0-0");
      if (gtidSeq(writes[k]!.gtid) > seqAtDump) {
        assert.match(res.stdout, new RegExp(`^replay: applied \\(\\d+ transaction\\(s\\) of ${DB}, last GTID ${writes[k]!.gtid} at (${local(writes[k]!.from, "UTC")}|${local(writes[k]!.to, "UTC")}) UTC`, "m"), `${what}\n${res.stdout}`);
      }
      const range = /^binlog range: (\S+):\d+ -> (\S+):\d+/m.exec(res.stdout);
      assert.ok(range, res.stdout);
      assert.equal(range[1], pos.file);
      for (let f = Number(range[1]!.split(".")[1]); f <= Number(range[2]!.split(".")[1]); f++) files.add(String(f));
      assert.match(res.stdout, /^database after the replay: not compared with the dump/m);
    }
    assert.ok(files.size >= 4, `the replays crossed ${files.size} binlog files`);
    // the other database's events never applied, the source's name never created on the target
    assert.equal((await target.query("SELECT GROUP_CONCAT(ref ORDER BY rowid) FROM other_client.llx_facture")).trim(), "target-own");
    assert.equal((await target.query(`SHOW DATABASES LIKE '${DB}'`)).trim(), "");
    assert.equal((await target.query("SELECT @@gtid_binlog_pos")).trim(), "", "nothing replayed went to the target's binlog");
  });

  it("--at now takes the newest recoverable second; a plain restore (no --at) still takes the newest dump and replays nothing", async () => {
    const res = await restore("shop_now", ["--at", "now"]); // BINLOG_DIR and MIRROR_ROOT from shop.env
    assert.equal(res.code, 0, res.stderr);
    const last = writes.at(-1)!;
    assert.equal((await target.query(`SELECT ref FROM shop_now.llx_facture WHERE ref = 'W${last.i}'`)).trim(), `W${last.i}`);
    assert.deepEqual(await checksums(target.query, "shop_now"), last.sums);
    assert.match(res.stdout, new RegExp(`^dump: ${path.basename(dumps[1]!).replace(/\./g, "\\.")} `, "m"));
    assert.match(res.stdout, new RegExp(`last GTID ${last.gtid} `, "m"));

    const plain = await restore("shop_plain", []);
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(plain.stdout, /^(replay|point in time|binlog range):/m);
    assert.match(plain.stderr, new RegExp(`from ${path.basename(dumps[1]!).replace(/\./g, "\\.")} `));
  });

  it("refuses, changing nothing on the target: binlogs short of the time (newest named), a missing middle file, a time before the oldest dump with a position (named), malformed times", async () => {
    const state = await targetState();
    const r = prng(SEED + 1);
    const lastWrite = writes.at(-1)!;
    // beyond the binlogs: generated seconds after the newest event
    for (let n = 0; n < 3; n++) {
      const s = Math.floor(nowMs() / 1000) + 2 + Math.floor(r() * 7200);
      const res = await restore("victim", ["--at", timeArg(s, r()), "--force"]);
      assert.notEqual(res.code, 0);
      const m = /refused, nothing changed on the target: .*reach only (\S+ \S+) UTC/.exec(res.stderr);
      assert.ok(m, res.stderr);
      assert.ok(m[1]! >= local(lastWrite.from, "UTC") && m[1]! < local(s, "UTC"), `${m[1]} at or after the last write ${local(lastWrite.from, "UTC")}`);
    }
    // a missing middle file, for a time in a later one
    const names = fs.readdirSync(binlogDir).filter((f) => /^binlog\.\d+$/.test(f)).sort();
    const chain = names.slice(names.indexOf(posOf(dumps[1]!).file));
    assert.ok(chain.length >= 3, chain.join(" "));
    const gapDir = path.join(root, "gap");
    fs.mkdirSync(gapDir);
    for (const f of names) if (f !== chain[1]) fs.copyFileSync(path.join(binlogDir, f), path.join(gapDir, f));
    const gap = await restore("victim", ["--at", timeArg(lastWrite.from, r()), "--force", "--binlog-dir", gapDir]);
    assert.notEqual(gap.code, 0);
    assert.match(gap.stderr, new RegExp(`refused, nothing changed on the target: binlog file ${chain[1]!.replace(".", "\\.")} is missing`));
    // before the oldest dump with a .pos: between the dump without one and the first with one, and long before
    const oldest = stampEpoch(path.basename(dumps[0]!));
    const noPos = stampEpoch(noPosDump);
    assert.ok(oldest > noPos);
    for (const s of [noPos, oldest - 1, oldest - 1 - Math.floor(r() * 86400 * 30)]) {
      const res = await restore("victim", ["--at", timeArg(s, r()), "--force"]);
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, new RegExp(`before the oldest dump with a binlog position, ${path.basename(dumps[0]!).replace(/\./g, "\\.")}: the oldest reachable second is ${local(oldest, "UTC")} UTC`), res.stderr);
    }
    // malformed: no zone, no seconds, impossible dates and zones, words
    const base = local(lastWrite.from, "UTC");
    for (const bad of [base, base.slice(0, 16) + " UTC", `${base.replace(/^(\d{4})-\d{2}/, "$1-13")} UTC`, `${base} Mars/Olympus`, `${base.replace(" ", "  ")} UTC`, "yesterday", "2026-03-29 02:30:00 Europe/Paris", "2026-10-25 02:30:00 Europe/Paris", `${base}+0100x`]) {
      const res = await restore("victim", ["--at", bad, "--force"]);
      assert.notEqual(res.code, 0, bad);
      assert.match(res.stderr, new RegExp(`--at '${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}': `), bad);
    }
    const empty = await restore("victim", ["--at", "", "--force"]);
    assert.notEqual(empty.code, 0);
    assert.match(empty.stderr, /--at needs a time/);
    assert.deepEqual(await targetState(), state);
  });

  it("a newest file cut at generated points (still being written): restores to its last complete transaction; further is refused naming that second", async () => {
    const r = prng(SEED + 2);
    const names = fs.readdirSync(binlogDir).filter((f) => /^binlog\.\d+$/.test(f)).sort();
    // the last file that holds writes (the newest may hold only its header after the last FLUSH)
    const isWrite = (g: string) => writes.some((w) => w.gtid === g);
    const lastName = [...names].reverse().find((f) => completeGtids(path.join(binlogDir, f), fs.statSync(path.join(binlogDir, f)).size, serverId).gtids.some(isWrite))!;
    const full = path.join(binlogDir, lastName);
    const size = fs.statSync(full).size;
    const cutDir = path.join(root, "cut");
    for (let n = 0; n < 4; n++) {
      fs.rmSync(cutDir, { recursive: true, force: true });
      fs.mkdirSync(cutDir);
      for (const f of names) if (f <= lastName) fs.copyFileSync(path.join(binlogDir, f), path.join(cutDir, f));
      const cut = Math.floor(size * (0.35 + 0.6 * r()));
      fs.truncateSync(path.join(cutDir, lastName), cut);
      const complete = completeGtids(full, cut, serverId);
      // the last write complete in the cut file (a transaction of the other database alone changes nothing of the instance)
      const expect = { gtid: complete.gtids.filter(isWrite).at(-1), boundary: complete.boundary };
      assert.ok(expect.gtid, `a complete write before byte ${cut}`);
      const k = writes.findIndex((w) => w.gtid === expect.gtid);
      const db = `shop_cut_${n}`;
      const res = await restore(db, ["--at", "now", "--binlog-dir", cutDir]);
      assert.equal(res.code, 0, `cut at ${cut} of ${size}:\n${res.stderr}`);
      if (!expect.boundary) assert.match(res.stderr, new RegExp(`${lastName.replace(".", "\\.")} ends with an incomplete event \\(complete up to byte \\d+ of ${cut}`));
      assert.match(res.stdout, new RegExp(`last GTID ${expect.gtid} `), res.stdout);
      assert.equal((await target.query(`SELECT ref FROM ${db}.llx_facture WHERE ref IN ('W${k}', 'W${k + 1}')`)).trim(), `W${k}`);
      assert.deepEqual(await checksums(target.query, db), writes[k]!.sums, `cut at ${cut}: as right after write ${k}`);
      // a second after the cut transaction's: refused, naming a second before the cut one began
      if (writes[k + 1]) {
        const state = await targetState();
        const far = await restore("victim", ["--at", timeArg(writes[k + 1]!.to + 1, r()), "--force", "--binlog-dir", cutDir]);
        assert.notEqual(far.code, 0);
        const m = /reach only (\S+ \S+) UTC/.exec(far.stderr);
        assert.ok(m, far.stderr);
        assert.ok(m[1]! >= local(writes[k]!.from - 1, "UTC") && m[1]! < local(writes[k + 1]!.to + 1, "UTC"), `${m[1]}: between write ${k} and the cut write ${k + 1}`);
        assert.deepEqual(await targetState(), state);
      }
    }
  });

  it("pushed over SSH to 127.0.0.1: the replay's SQL goes to the target's MariaDB through the same connection options", async () => {
    const s = writes[Math.floor(writes.length * 0.7)]!.from;
    const { k, straddles } = stateAt(s);
    const at = straddles ? "now" : `${local(s, "Europe/Paris")} Europe/Paris`;
    const res = await restore("shop_ssh", ["--at", at], ["--target-host", "root@127.0.0.1", "--target-port", String(sshd.port), "--ssh-key", keyFile, "--known-hosts", knownHosts]);
    assert.equal(res.code, 0, res.stderr);
    const want = straddles ? writes.at(-1)! : writes[k]!;
    assert.deepEqual(await checksums(target.query, "shop_ssh"), want.sums);
    assert.match(res.stdout, /^replay: applied /m);
  });
});

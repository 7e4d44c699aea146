// The server jobs for real: a private MariaDB and sshd on this machine, real rsync over SSH
// through Debian's rrsync, real bind mounts and ACLs (root needed). See test/support/jobs-lab.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  aclManifest,
  databaseObjects,
  diffManifests,
  growDatabase,
  listFiles,
  prng,
  tableChecksums,
  touchDocuments,
  treeManifest,
  WWW_DATA,
} from "../support/dolibarr-fixture";
import { mustRun, run, sh, sleep, start, waitFor } from "../support/jobs-exec";
import { JobsLab, type LabInstance, labUnavailable } from "../support/jobs-lab";
import { skipUnlessCi } from "../support/prerequisites";

function assertSameTree(a: string, b: string, what: string): void {
  const d = diffManifests(treeManifest(a), treeManifest(b));
  assert.deepEqual(d, [], `${what}: ${a} and ${b} differ:\n${d.join("\n")}`);
}

async function assertSameAcls(a: string, b: string, what: string): Promise<void> {
  assert.deepEqual(await aclManifest(b), await aclManifest(a), `${what}: ACLs differ`);
}

function mirrorPart(li: LabInstance, part: "code" | "documents" | "dumps"): string {
  return path.join(li.mirror, part);
}

function sourcePart(li: LabInstance, part: "code" | "documents" | "dumps"): string {
  return part === "code" ? li.tree.codeRoot : part === "documents" ? li.tree.documentsDir : li.dumpDir;
}

function assertMirrorIdentical(li: LabInstance): void {
  for (const part of ["code", "documents", "dumps"] as const) assertSameTree(sourcePart(li, part), mirrorPart(li, part), `mirror ${part}`);
  assert.ok(fs.existsSync(path.join(li.mirror, ".complete")), "mirror has its .complete marker");
}

function ok(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stderr.slice(-3000)}`);
}

const skip = skipUnlessCi(labUnavailable(), "server jobs on a one-machine lab");

describe("server jobs on a one-machine lab", { skip, timeout: 600_000 }, () => {
  let lab: JobsLab;
  let acme: LabInstance;

  before(async () => {
    lab = await JobsLab.create();
    acme = await lab.addInstance("acme", { tree: { documents: 3000 } });
  });

  after(async () => {
    if (lab) await lab.close();
  });

  it("round trip: dump, replicate, restore give back the source (files, modes, owners, ACLs, tables)", async () => {
    ok(await lab.dump("acme"), "dump");
    const status = lab.dumpStatus("acme");
    assert.equal(status.result, "ok");
    assert.ok((status.sizeBytes as number) > 1000);
    assert.equal(lab.dumps("acme").length, 1);
    const dumpAcl = (await mustRun("getfacl", ["-c", "-p", path.join(acme.dumpDir, lab.dumps("acme")[0]!)])).stdout;
    assert.match(dumpAcl, new RegExp(`user:${lab.user}:r--`));
    assert.match(dumpAcl, /group::---/);
    assert.match(dumpAcl, /other::---/);
    assert.match(lab.dumps("acme")[0]!, /^dolibarr_acme-\d{8}T\d{6}Z\.sql\.zst$/);

    ok(await lab.replicate("acme"), "replicate");
    assertMirrorIdentical(acme);
    await assertSameAcls(acme.tree.documentsDir, mirrorPart(acme, "documents"), "mirror documents");
    const conf = fs.statSync(path.join(mirrorPart(acme, "code"), "conf/conf.php"));
    assert.equal(conf.mode & 0o7777, 0o640);
    assert.equal(conf.uid, WWW_DATA);
    assert.equal(fs.lstatSync(path.join(mirrorPart(acme, "code"), "custom/agefodd/img")).isSymbolicLink(), true, "inner symlinks stay symlinks");
    const rs = lab.replicateStatus("acme");
    assert.equal(rs.result, "ok");
    assert.ok((rs.bytesReceived as number) > 1_000_000);

    const target = path.join(lab.root, "restore", "acme");
    const r = await lab.restore(["--code-dir", `${target}/htdocs`, "--documents-dir", `${target}/documents`, "--database", "acme_restored", "acme"]);
    ok(r, "restore");
    assert.match(r.stderr, /every table and every file tree identical/);
    assert.match(r.stdout, /^table llx_facture: identical/m);
    assert.match(r.stdout, /^tree documents: identical/m);
    assertSameTree(acme.tree.codeRoot, `${target}/htdocs`, "restored code");
    assertSameTree(acme.tree.documentsDir, `${target}/documents`, "restored documents");
    await assertSameAcls(acme.tree.codeRoot, `${target}/htdocs`, "restored code");
    assert.equal(await tableChecksums(lab.db, "acme_restored"), await tableChecksums(lab.db, acme.dbName));
    assert.equal(await databaseObjects(lab.db, "acme_restored"), await databaseObjects(lab.db, acme.dbName));
    assert.match(await databaseObjects(lab.db, "acme_restored"), /trigger llx_facture_after_insert/);
    const accents = await lab.db.query("SELECT nom FROM llx_societe WHERE nom LIKE 'Emoji%' LIMIT 1", "acme_restored");
    assert.match(accents, /😀🎉/);
  });

  it("--db-account gives Dolibarr the account conf.php names (generated hostile passwords and names), proven by its login; refuses or warns on what it cannot do", async () => {
    // A copy of the mirror per case, its conf.php rewritten: the restore reads conf.php from the mirror.
    const base = path.join(lab.root, "account-mirror");
    await mustRun("cp", ["-a", acme.mirror, base]);
    for (const f of listFiles(path.join(base, "documents")).slice(1)) fs.rmSync(f);
    const phpSingle = (v: string) => `'${v.replace(/[\\']/g, (c) => `\\${c}`)}'`;
    const phpDouble = (v: string) => `"${v.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
    const conf = (settings: Record<string, string>, quote = phpSingle) =>
      `<?php\n// File generated by Dolibarr installer\n$dolibarr_main_url_root='https://erp.example.fr';\n${Object.entries(settings).map(([k, v]) => `$dolibarr_main_db_${k}=${quote(v)};`).join("\n")}\n$dolibarr_main_db_type='mysqli';\n`;
    let n = 0;
    const restoreWith = async (text: string) => {
      const db = `acct_${++n}`;
      fs.writeFileSync(path.join(base, "code/conf/conf.php"), text.replace(/DBNAME/g, db));
      const target = path.join(lab.root, "restore-account", db);
      const r = await lab.restore(["--mirror", base, "--db-account", "--code-dir", `${target}/htdocs`, "--documents-dir", `${target}/documents`, "--database", db, "acme"]);
      return { r, db };
    };
    const socketLine = fs.readFileSync(lab.db.optionFile, "utf8").match(/^socket=(.*)$/m)![1]!;
    const login = (user: string, pass: string, db: string) =>
      run("bash", ["-c", 'IFS= read -r -d "" MYSQL_PWD; export MYSQL_PWD; exec mariadb --no-defaults -S "$3" -u "$1" -D "$2" -N -e "SELECT COUNT(*) FROM llx_facture"', "x", user, db, socketLine], { input: `${pass}\0` });

    // Generated: passwords of every printable ASCII character (quotes, backslashes, $, spaces) and
    // accented letters, in single- and double-quoted PHP; user names with '_' and a quote.
    const random = prng(2026);
    const pick = (chars: string, len: number) => Array.from({ length: len }, () => chars[Math.floor(random() * chars.length)]!).join("");
    const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("") + "éàç€";
    for (let i = 0; i < 8; i++) {
      const user = i === 7 ? "o'dolibarr" : `dol_${pick("abcdefghijklmnopqrstuvwxyz0123456789_", 1 + Math.floor(random() * 12))}${i}`;
      const pass = pick(printable, 8 + Math.floor(random() * 24));
      const { r, db } = await restoreWith(conf({ host: "localhost", port: "3306", name: "DBNAME", user, pass }, i % 3 === 2 ? phpDouble : phpSingle));
      ok(r, `restore with account ${user} / ${JSON.stringify(pass)}`);
      assert.match(r.stdout, new RegExp(`^database account: identical \\(${user}@localhost logs in with conf/conf\\.php's password and sees \\d+ tables of ${db} \\(created: ${user}@localhost, with conf/conf\\.php's password\\)\\)$`, "m"));
      const seen = await login(user, pass, db);
      assert.equal(seen.code, 0, `${user} cannot log in: ${seen.stderr}`);
      assert.equal(seen.stdout.trim(), (await lab.db.query("SELECT COUNT(*) FROM llx_facture", acme.dbName)).trim());
      assert.notEqual((await login(user, `${pass}x`, db)).code, 0, "a wrong password is refused");
      assert.ok(!r.stdout.includes(pass) && !r.stderr.includes(pass), "the password is never printed");
    }

    // An existing account keeps its password: the restore says Dolibarr cannot log in, and fails.
    await lab.db.query("CREATE USER 'dol_taken'@'localhost' IDENTIFIED BY 'other-password'");
    const taken = await restoreWith(conf({ host: "localhost", name: "DBNAME", user: "dol_taken", pass: "conf-password" }));
    assert.notEqual(taken.r.code, 0);
    assert.match(taken.r.stdout, /^database account: DIFFERS \(dol_taken cannot log in with conf\/conf\.php's password \(an existing account keeps its own\)/m);
    await lab.db.query(`GRANT SELECT ON ${taken.db}.* TO 'dol_taken'@'localhost'`);
    assert.equal((await login("dol_taken", "other-password", taken.db)).code, 0, "the existing account's password is unchanged");
    // An existing account that can log in is never changed either: no privilege granted, none taken.
    await lab.db.query("CREATE USER 'dol_kept'@'localhost' IDENTIFIED BY 'conf-pw'; GRANT SELECT ON `acct\\_%`.* TO 'dol_kept'@'localhost'");
    const grantsBefore = await lab.db.query("SHOW GRANTS FOR 'dol_kept'@'localhost'");
    const kept = await restoreWith(conf({ host: "localhost", name: "DBNAME", user: "dol_kept", pass: "conf-pw" }));
    ok(kept.r, "restore onto an existing account");
    assert.equal(await lab.db.query("SHOW GRANTS FOR 'dol_kept'@'localhost'"), grantsBefore, "the existing account's privileges are unchanged");
    assert.match(kept.r.stdout, /^database account: identical \(dol_kept@localhost logs in .* \(it existed: left as it was\)\)$/m);
    // conf.php names another database than the one restored: Dolibarr would not find its data.
    const other = await restoreWith(conf({ host: "localhost", name: "elsewhere", user: "dol_other", pass: "p" }));
    assert.notEqual(other.r.code, 0);
    assert.match(other.r.stdout, /^database account: DIFFERS \(conf\/conf\.php names database elsewhere, restored into acct_\d+/m);
    // What it must not do: root, a remote database host, an encrypted password, no user: a warning, nothing created.
    const refused: [Record<string, string>, RegExp][] = [
      [{ host: "localhost", name: "DBNAME", user: "root", pass: "x" }, /logs in as root/],
      [{ host: "db.example.net", name: "DBNAME", user: "dol_remote", pass: "x" }, /database is on db\.example\.net, not on the target/],
      [{ host: "localhost", name: "DBNAME", user: "dol_crypt", pass: "dolcrypt:AES-256-CTR:abc" }, /password encrypted/],
      [{ host: "localhost", name: "DBNAME", user: "dol_crypt2", pass: "x", encrypted_pass: "abcdef" }, /password encrypted/],
      [{ host: "localhost", name: "DBNAME" }, /names no \$dolibarr_main_db_user/],
    ];
    for (const [settings, warning] of refused) {
      const { r } = await restoreWith(conf(settings));
      ok(r, `restore warning ${warning}`);
      assert.match(r.stdout, new RegExp(`^database account: WARNING .*${warning.source}`, "m"));
      const user = settings.user;
      if (user && user !== "root") assert.equal((await lab.db.query(`SELECT COUNT(*) FROM mysql.user WHERE user = '${user}'`)).trim(), "0", `${user} created`);
    }
    // A commented-out assignment is not read; the last assignment wins, as in PHP.
    const last = await restoreWith(`<?php\n// $dolibarr_main_db_user='dol_commented';\n$dolibarr_main_db_name='DBNAME';\n$dolibarr_main_db_user='dol_first';\n$dolibarr_main_db_user='dol_last';\n$dolibarr_main_db_pass='pw';\n`);
    ok(last.r, "restore with several assignments");
    assert.match(last.r.stdout, /^database account: identical \(dol_last@localhost/m);
    assert.equal((await lab.db.query("SELECT COUNT(*) FROM mysql.user WHERE user IN ('dol_first', 'dol_commented')")).trim(), "0");
    // Not with --only: the account needs both the database and conf.php.
    const only = await lab.restore(["--mirror", base, "--db-account", "--only", "db", "--database", "acct_only", "acme"]);
    assert.notEqual(only.code, 0);
    assert.match(only.stderr, /--db-account needs the database and the code/);
  });

  it("--db-account recreates Dolibarr's account as the hosting server had it (the dump's manifest: host, plugin, hash): a copy whose conf.php password or user is not that account's is caught", async () => {
    const li = await lab.addInstance("acct", { tree: { documents: 5 } });
    const liveConf = path.join(li.tree.codeRoot, "conf/conf.php");
    const original = fs.readFileSync(liveConf, "utf8");
    const random = prng(421);
    const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join("") + " éà€";
    const pass = Array.from({ length: 24 }, () => printable[Math.floor(random() * printable.length)]!).join("");
    const user = "dol_acct";
    const phpSingle = (v: string) => `'${v.replace(/[\\']/g, (c) => `\\${c}`)}'`;
    const confWith = (u: string, p: string, db = li.dbName) => `<?php\n$dolibarr_main_db_host='localhost';\n$dolibarr_main_db_name=${phpSingle(db)};\n$dolibarr_main_db_user=${phpSingle(u)};\n$dolibarr_main_db_pass=${phpSingle(p)};\n`;
    const sqlPass = pass.replace(/[\\']/g, (c) => `\\${c}`);
    const dropAccount = () => lab.db.query(`DROP USER IF EXISTS '${user}'@'localhost', '${user}'@'127.0.0.1'`);
    const manifestAccounts = () => {
      const dir = path.join(li.mirror, "dumps");
      const newest = fs.readdirSync(dir).filter((f) => f.endsWith(".manifest")).sort().at(-1)!;
      return fs.readFileSync(path.join(dir, newest), "utf8").split("\n").filter((l) => /^account/.test(l));
    };
    let n = 0;
    // The copy restored beside the source (one MariaDB here): its conf.php names the database restored.
    const restoreCopy = async (u = user, p = pass) => {
      const copy = path.join(lab.root, `acct-copy-${++n}`);
      const db = `acct_r${n}`;
      await mustRun("cp", ["-a", li.mirror, copy]);
      fs.writeFileSync(path.join(copy, "code/conf/conf.php"), confWith(u, p, db));
      const target = path.join(lab.root, "acct-restore", String(n));
      await dropAccount();
      const r = await lab.restore(["--mirror", copy, "--db-account", "--code-dir", `${target}/htdocs`, "--documents-dir", `${target}/documents`, "--database", db, "acct"]);
      return { r, db };
    };
    const socket = fs.readFileSync(lab.db.optionFile, "utf8").match(/^socket=(.*)$/m)![1]!;
    const login = (p: string, db: string) =>
      run("bash", ["-c", 'IFS= read -r -d "" MYSQL_PWD; export MYSQL_PWD; exec mariadb --no-defaults -S "$3" -u "$1" -D "$2" -N -e "SELECT 1"', "x", user, db, socket], { input: `${p}\0` });
    try {
      fs.writeFileSync(liveConf, confWith(user, pass));
      await lab.db.query(`CREATE USER '${user}'@'localhost' IDENTIFIED BY '${sqlPass}'; CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${sqlPass}'; GRANT ALL ON \`${li.dbName}\`.* TO '${user}'@'localhost'`);
      const hash = (await lab.db.query(`SELECT PASSWORD('${sqlPass}')`)).trim();
      ok(await lab.dump("acct"), "dump");
      ok(await lab.replicate("acct"), "replication");
      assert.deepEqual(manifestAccounts(), [`account\t${user}\t127.0.0.1\tmysql_native_password\t${hash}`, `account\t${user}\tlocalhost\tmysql_native_password\t${hash}`]);
      assert.ok(!manifestAccounts().join("\n").includes(pass), "the manifest holds the hash, not the password");

      // The copy as it is: the account recreated on both hosts with the hash, conf.php's password logs in.
      const good = await restoreCopy();
      assert.equal(good.r.code, 0, `restore of the copy as it is:\n${good.r.stdout}\n${good.r.stderr}`);
      assert.match(good.r.stdout, new RegExp(`^database account: identical \\(${user}@localhost logs in with conf/conf\\.php's password and sees \\d+ tables of ${good.db} \\(created: ${user}@127\\.0\\.0\\.1 ${user}@localhost, with the hosting server's password hash\\)\\)$`, "m"));
      assert.equal((await login(pass, good.db)).code, 0, "Dolibarr's password logs in on the new server");
      assert.equal((await lab.db.query(`SELECT COUNT(*) FROM mysql.user WHERE User = '${user}' AND Password = '${hash}'`)).trim(), "2");

      // Broken copies: a conf.php whose password is not the account's, one that names another user.
      for (const [u, p, expected] of [
        [user, `${pass}x`, new RegExp(`^database account: DIFFERS \\(${user} cannot log in with conf/conf\\.php's password \\(an existing account keeps its own\\); the one made here has the hosting server's password hash: `, "m")],
        [user, "s3cr3t", /^database account: DIFFERS \(dol_acct cannot log in/m],
        ["dol_other", pass, /^database account: DIFFERS \(conf\/conf\.php names dol_other, but the dump's manifest records the account of dol_acct on the hosting server/m],
      ] as const) {
        const { r } = await restoreCopy(u, p);
        assert.notEqual(r.code, 0, `a broken copy restored without error:\n${r.stdout}`);
        assert.match(r.stdout, expected);
        assert.ok(!r.stdout.includes(pass) && !r.stderr.includes(pass), "the password is never printed");
      }

      // The account gone on the hosting server: the dump says so, the restore refuses to make one up.
      await dropAccount();
      ok(await lab.dump("acct"), "dump without the account");
      ok(await lab.replicate("acct"), "replication");
      assert.deepEqual(manifestAccounts(), [`account-missing\t${user}`]);
      const missing = await restoreCopy();
      assert.notEqual(missing.r.code, 0);
      assert.match(missing.r.stdout, /^database account: DIFFERS \(dol_acct had no account on the hosting server at the dump/m);
      assert.equal((await lab.db.query(`SELECT COUNT(*) FROM mysql.user WHERE User = '${user}'`)).trim(), "0", "no account made up");
    } finally {
      fs.writeFileSync(liveConf, original);
      await dropAccount();
    }
  });

  it("a source directory replaced under its export (swapped by an upgrade, deleted and made anew) is followed at the next refresh; one that is gone fails loudly", async () => {
    const swap = await lab.addInstance("swap", { tree: { documents: 40 } });
    ok(await lab.dump("swap"), "dump");
    ok(await lab.replicate("swap"), "first replication");
    const live = swap.tree.documentsDir;
    const cases: Array<[string, () => void]> = [
      ["moved away, a copy put in its place", () => fs.renameSync(live, `${live}.old`)],
      ["deleted, made anew", () => fs.rmSync(live, { recursive: true })],
    ];
    let round = 0;
    for (const [what, replace] of cases) {
      const copy = `${live}.copy`;
      await mustRun("cp", ["-a", live, copy]);
      replace();
      fs.renameSync(copy, live);
      fs.writeFileSync(path.join(live, `only-in-the-new-directory-${++round}.pdf`), `new ${round}\n`);
      // What each dump's ExecStartPost runs: then the next pull mirrors the directory at the path.
      await lab.exportCmd("refresh", "swap");
      ok(await lab.replicate("swap"), `replication after: ${what}`);
      assertSameTree(live, mirrorPart(swap, "documents"), `mirror after: ${what}`);
      fs.rmSync(`${live}.old`, { recursive: true, force: true });
    }
    // The directory gone for good: the refresh fails (the dump unit's ExecStartPost, so alerts), naming it.
    await mustRun("cp", ["-a", live, `${live}.keep`]);
    fs.rmSync(live, { recursive: true });
    const gone = await run(lab.script("dolibarr-export"), ["refresh", "swap"], { env: lab.hosting.env });
    fs.renameSync(`${live}.keep`, live);
    assert.notEqual(gone.code, 0, "a refresh with its documents directory gone succeeded");
    assert.match(gone.stderr, new RegExp(`instance swap, DOCUMENTS_DIR \\(documentsDir\\) ${live.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} does not exist`));
    await lab.exportCmd("refresh", "swap");
    ok(await lab.replicate("swap"), "replication once the directory is back");
  });

  it("a later run after a day of changes converges: 1% of documents changed, new dump, deletions mirrored", async () => {
    const before = listFiles(mirrorPart(acme, "documents")).length;
    const done = touchDocuments(acme.tree.documentsDir, 0.01, 11);
    assert.ok(done.removed > 0 && done.changed > 0);
    await sleep(1100); // a new dump stamp
    ok(await lab.dump("acme"), "second dump");
    assert.equal(lab.dumps("acme").length, 2);
    const r = await lab.replicate("acme");
    ok(r, "replicate");
    assertMirrorIdentical(acme);
    const rs = lab.replicateStatus("acme");
    assert.ok((rs.deletions as number) >= done.removed, `deletions ${rs.deletions} >= ${done.removed}`);
    assert.equal(listFiles(mirrorPart(acme, "documents")).length, before + done.added - done.removed);
  });

  it("restore pushed over SSH onto a target host, and a database-only restore onto an existing database", async () => {
    lab.allowRootPush();
    const target = path.join(lab.root, "restore-ssh", "acme");
    const common = ["--target-host", "root@127.0.0.1", "--target-port", String(lab.sshd.port)];
    const r = await lab.restore([
      ...common,
      "--code-dir",
      `${target}/htdocs`,
      "--documents-dir",
      `${target}/documents`,
      "--database",
      "acme_pushed",
      "--mysql-option-file",
      lab.db.optionFile,
      "acme",
    ]);
    ok(r, "restore over ssh");
    assertSameTree(acme.tree.codeRoot, `${target}/htdocs`, "pushed code");
    assertSameTree(acme.tree.documentsDir, `${target}/documents`, "pushed documents");
    assert.equal(await tableChecksums(lab.db, "acme_pushed"), await tableChecksums(lab.db, acme.dbName));

    const again = await lab.restore([...common, "--only", "db", "--database", "acme_pushed", "--mysql-option-file", lab.db.optionFile, "acme"]);
    assert.notEqual(again.code, 0, "an existing database is not overwritten without --force");
    assert.match(again.stderr, /already has \d+ table\(s\): use --force/);
    const forced = await lab.restore([...common, "--only", "db", "--force", "--database", "acme_pushed", "--mysql-option-file", lab.db.optionFile, "acme"]);
    ok(forced, "forced db restore");
    assert.equal(await tableChecksums(lab.db, "acme_pushed"), await tableChecksums(lab.db, acme.dbName));
  });

  it("a hosting tree with a device node, a FIFO and a setuid file: the device never mirrored, the rest mirrored as sent and pushed over SSH without them, each listed (issue 22 point 6)", async () => {
    lab.allowRootPush();
    const li = await lab.addInstance("hostile", { tree: { documents: 3 }, database: { societes: 2, invoices: 2, blobs: 0 } });
    const docs = li.tree.documentsDir;
    spawnSync("mknod", [path.join(docs, "disk copy"), "b", "7", "0"]);
    spawnSync("mkfifo", [path.join(docs, "a fifo")]);
    fs.writeFileSync(path.join(li.tree.codeRoot, "helper"), "#!/bin/sh\n");
    fs.chmodSync(path.join(li.tree.codeRoot, "helper"), 0o4755);
    ok(await lab.dump("hostile"), "dump");
    ok(await lab.replicate("hostile"), "replicate");
    // the replication skips device nodes (its sandboxed unit could not make one: every run would fail)
    assert.equal(fs.existsSync(path.join(li.mirror, "documents", "disk copy")), false, "a device node is not mirrored");
    assert.ok(fs.lstatSync(path.join(li.mirror, "documents", "a fifo")).isFIFO(), "the mirror holds the FIFO as sent");
    assert.equal(fs.statSync(path.join(li.mirror, "code", "helper")).mode & 0o7777, 0o4755, "and the setuid file as sent");
    const target = path.join(lab.root, "restore-ssh", "hostile");
    const r = await lab.restore(["--target-host", "root@127.0.0.1", "--target-port", String(lab.sshd.port), "--only", "files", "--code-dir", `${target}/htdocs`, "--documents-dir", `${target}/documents`, "hostile"]);
    ok(r, "restore over ssh");
    assert.match(r.stdout, /^dropped from the mirror: 2 item\(s\) \(0 device node\(s\), 1 FIFO\(s\)\/socket\(s\), 1 setuid\/setgid file\(s\)/m);
    assert.match(r.stdout, /^ {2}dropped code: setuid bit \(mode 4755, restored 0755\): helper$/m);
    assert.match(r.stdout, /^tree documents: identical/m);
    assert.ok(!fs.existsSync(path.join(target, "documents", "disk copy")) && !fs.existsSync(path.join(target, "documents", "a fifo")));
    assert.equal(fs.statSync(path.join(target, "htdocs", "helper")).mode & 0o7777, 0o755);
  });

  it("the backup server's key can only read its own export (rrsync -ro): no write, no shell, no escape, no symlinked export", async () => {
    const ssh = lab.sshCommand();
    const dest = `${lab.user}@127.0.0.1`;
    const push = await run("rsync", ["-a", "-e", ssh, "/etc/hostname", `${dest}:acme/`]);
    assert.notEqual(push.code, 0);
    assert.match(push.stderr, /read-only/);
    const shell = await run("bash", ["-c", `${ssh} ${dest} cat /etc/passwd`]);
    assert.notEqual(shell.code, 0);
    assert.doesNotMatch(shell.stdout, /root:/);
    const escape = await run("rsync", ["-a", "--list-only", "-e", ssh, `${dest}:../`]);
    assert.notEqual(escape.code, 0);
    // A symlink in the export pointing outside it is refused by rrsync: why exports are bind mounts.
    const exportDir = path.join(lab.hosting.varLib, "export", lab.backupServer);
    fs.symlinkSync(acme.tree.documentsDir, path.join(exportDir, "symlinked"));
    try {
      const viaLink = await run("rsync", ["-a", "--list-only", "-e", ssh, `${dest}:symlinked/`]);
      assert.notEqual(viaLink.code, 0, "rrsync must refuse a top-level symlink leaving its root");
      assert.match(viaLink.stderr, /unsafe arg|escaped/);
    } finally {
      fs.rmSync(path.join(exportDir, "symlinked"));
    }
    const listed = await mustRun("rsync", ["--list-only", "-e", ssh, `${dest}:acme/code/conf/conf.php`]);
    assert.match(listed.stdout, /-rw-r-----.* conf\.php/);
  });

  it("guards: emptied source, missing conf.php, unreachable source and mass deletion leave the mirror untouched", async () => {
    // Files and links with all their attributes, directories by name (an empty directory
    // deleted by a refused run comes back with default owner and mode: see docs/server-jobs.md).
    const snapshot = (): string[] =>
      [...treeManifest(acme.mirror)].filter(([k]) => !k.startsWith(".rsync-itemized")).map(([k, v]) => (v.startsWith("d ") ? `${k} dir` : k === ".complete" ? `${k} ${v.split(" ").pop()}` : `${k} ${v}`));
    const mirrorBefore = snapshot();
    const docs = acme.tree.documentsDir;
    const aside = path.join(path.dirname(docs), "documents.aside");
    fs.mkdirSync(aside);
    for (const e of fs.readdirSync(docs)) fs.renameSync(path.join(docs, e), path.join(aside, e));
    let r = await lab.replicate("acme");
    for (const e of fs.readdirSync(aside)) fs.renameSync(path.join(aside, e), path.join(docs, e));
    fs.rmdirSync(aside);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /would delete \d+ of the mirror's \d+ entries|documents\/ is empty/);
    assert.deepEqual(snapshot(), mirrorBefore, "emptied source: mirror as before");
    assert.equal(lab.replicateStatus("acme").result, "failed");

    const conf = path.join(acme.tree.codeRoot, "conf/conf.php");
    fs.renameSync(conf, `${conf}.moved`);
    r = await lab.replicate("acme");
    fs.renameSync(`${conf}.moved`, conf);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /conf\.php/);
    assert.deepEqual(snapshot(), mirrorBefore, "no conf.php: mirror as before");

    // unreachable: the same instance seen through a closed port
    const env = fs.readFileSync(path.join(lab.backup.etc, "instances/acme.env"), "utf8");
    fs.writeFileSync(
      path.join(lab.backup.etc, "instances/ghost.env"),
      env.replace("INSTANCE='acme'", "INSTANCE='ghost'").replace(/SOURCE_PORT='\d+'/, "SOURCE_PORT='1'").replace(/MIRROR_ROOT='[^']*'/, `MIRROR_ROOT='${acme.mirror}/..'`),
    );
    r = await lab.replicate("ghost");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unreachable|cannot list/);
    assert.deepEqual(fs.existsSync(path.join(lab.mirrorRoot, "ghost")) ? fs.readdirSync(path.join(lab.mirrorRoot, "ghost")).filter((e) => e !== ".work") : [], []);

    // two thirds of the documents deleted: refused, then allowed on purpose
    const files = listFiles(docs);
    const gone = path.join(lab.root, "gone");
    fs.mkdirSync(gone);
    const victims = files.filter((_, i) => i % 3 !== 0);
    victims.forEach((f, i) => fs.renameSync(f, path.join(gone, String(i))));
    r = await lab.replicate("acme");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /would delete \d+ of the mirror's \d+ entries \(limit 20%\): run undone/);
    assert.deepEqual(snapshot(), mirrorBefore, "mass deletion: mirror as before");
    r = await lab.replicate("acme", ["--allow-big-delete"]);
    ok(r, "replicate --allow-big-delete");
    assertMirrorIdentical(acme);
    victims.forEach((f, i) => fs.renameSync(path.join(gone, String(i)), f));
    ok(await lab.replicate("acme", ["--allow-big-delete"]), "replicate back");
    assertMirrorIdentical(acme);
  });

  it("a replication killed mid-way never looks complete, and the next run converges", async () => {
    const big = await lab.addInstance("bigdocs", { tree: { documents: 300, bigFiles: 3, bigFileMb: 24 }, database: { societes: 20, invoices: 20, blobs: 2 } });
    ok(await lab.dump("bigdocs"), "dump");
    ok(await lab.replicate("bigdocs"), "first replication");
    for (const f of listFiles(path.join(big.tree.documentsDir, "ecm/gros"))) {
      await sh(`head -c 25165824 /dev/urandom > '${f}'`);
    }
    for (const signal of ["SIGKILL", "SIGTERM"] as const) {
      const job = lab.startReplicate("bigdocs", [], { RSYNC_EXTRA_ARGS: "--bwlimit=16m" });
      await waitFor(() => !fs.existsSync(path.join(big.mirror, ".complete")), 20_000, "the marker to go");
      await sleep(1500);
      job.kill(signal);
      const r = await job.done;
      assert.notEqual(r.code, 0, `${signal}: the job did not finish`);
      assert.equal(fs.existsSync(path.join(big.mirror, ".complete")), false, `${signal}: an interrupted mirror is not marked complete`);
      if (signal === "SIGTERM") assert.equal(lab.replicateStatus("bigdocs").result, "failed");
      const d = diffManifests(treeManifest(big.tree.documentsDir), treeManifest(mirrorPart(big, "documents")));
      assert.ok(d.length > 0, `${signal}: the kill came before the end (raise the size if this fails)`);
    }
    // What a run died holding (replaced or deleted files) is put back before anything else.
    const trash = path.join(big.mirror, ".work", "trash", "documents", "ecm");
    fs.mkdirSync(trash, { recursive: true });
    fs.writeFileSync(path.join(trash, "from-a-dead-run.txt"), "x");
    const r = await lab.replicate("bigdocs");
    // Rewriting most of the bytes (the big files) is itself a suspicious change: done, exit 3.
    assert.equal(r.code, 3, `re-run:\n${r.stderr.slice(-2000)}`);
    assert.match(r.stderr, /left by an interrupted run: putting its files back first/);
    assertMirrorIdentical(big);
    assert.equal(fs.existsSync(path.join(big.mirror, ".work", "trash")), false);
    assert.equal(lab.replicateStatus("bigdocs").result, "suspicious");
  });

  it("a dump killed mid-way leaves no dump behind and keeps the previous ones", async () => {
    const big = await lab.addInstance("bigdb", { tree: { documents: 50 }, database: { societes: 50, invoices: 50, blobs: 5 } });
    ok(await lab.dump("bigdb"), "first dump");
    const first = lab.dumps("bigdb");
    const firstHash = (await mustRun("sha256sum", [path.join(big.dumpDir, first[0]!)])).stdout;
    await growDatabase(lab.db, big.dbName, 96);
    for (const signal of ["SIGKILL", "SIGTERM"] as const) {
      await sleep(1100);
      const leftovers = fs.readdirSync(big.dumpDir).filter((f) => f.endsWith(".tmp"));
      const job = lab.startDump("bigdb");
      await waitFor(
        () => fs.readdirSync(big.dumpDir).some((f) => f.endsWith(".tmp") && !leftovers.includes(f) && fs.statSync(path.join(big.dumpDir, f)).size > 0),
        30_000,
        "the temp dump",
      );
      job.kill(signal);
      const r = await job.done;
      assert.notEqual(r.code, 0);
      assert.deepEqual(lab.dumps("bigdb"), first, `${signal}: no new dump, the previous one kept`);
      const tmp = fs.readdirSync(big.dumpDir).filter((f) => f.endsWith(".tmp"));
      if (signal === "SIGTERM") {
        assert.deepEqual(tmp, [], "SIGTERM: the temp file is removed");
        assert.equal(lab.dumpStatus("bigdb").result, "failed");
      }
    }
    assert.equal((await mustRun("sha256sum", [path.join(big.dumpDir, first[0]!)])).stdout, firstHash);
    await sleep(1100);
    ok(await lab.dump("bigdb"), "next dump");
    assert.equal(lab.dumps("bigdb").length, 2);
    assert.deepEqual(fs.readdirSync(big.dumpDir).filter((f) => f.startsWith(".")), [], "leftover temp files cleaned by the next run");
  });

  it("overlapping runs: a second dump or replication waits (bounded) then skips with exit 75", async () => {
    const slow = lab.startDump("bigdb");
    await waitFor(() => fs.readdirSync(lab.instances.get("bigdb")!.dumpDir).some((f) => f.endsWith(".tmp")), 30_000, "the first dump");
    const second = await lab.dump("bigdb", ["--lock-wait", "0"]);
    assert.equal(second.code, 75);
    assert.match(second.stderr, /still holds the lock after 0s: skipping this run/);
    const waiting = lab.dump("bigdb", ["--lock-wait", "120"]);
    ok(await slow.done, "first dump");
    ok(await waiting, "the waiting dump ran after the first");

    // The same lock file and flock as a running replication.
    const holder = start("flock", [path.join(lab.backup.lock, "replicate-acme.lock"), "sleep", "3"]);
    await sleep(300);
    const t0 = Date.now();
    const r = await lab.replicate("acme", ["--lock-wait", "1"]);
    assert.equal(r.code, 75);
    assert.ok(Date.now() - t0 >= 1000, "it waited its --lock-wait first");
    assert.match(r.stderr, /another replication of acme still holds the lock after 1s: skipping this run/);
    await holder.done;
    ok(await lab.replicate("acme", ["--lock-wait", "1"]), "runs once the lock is free");
  });

  it("disk full on the dump target: clear failure, temp file removed, previous dump intact", async () => {
    const mnt = path.join(lab.root, "hosting", "smalldisk");
    fs.mkdirSync(mnt, { recursive: true });
    await mustRun("mount", ["-t", "tmpfs", "-o", "size=6m,mode=0750", "tmpfs", mnt]);
    try {
      const full = await lab.addInstance("full", { tree: { documents: 20 }, database: { societes: 20, invoices: 20, blobs: 2 }, dumpDir: mnt });
      ok(await lab.dump("full"), "small dump");
      const before = fs.readdirSync(mnt).sort();
      assert.equal(before.length, 3, `the dump, its manifest and its FLOAT values: ${before.join(" ")}`);
      const hash = (await mustRun("sha256sum", [path.join(mnt, lab.dumps("full")[0]!)])).stdout;
      await growDatabase(lab.db, full.dbName, 24);
      await sleep(1100);
      const r = await lab.dump("full");
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ERROR: dump of dolibarr_full failed/);
      assert.deepEqual(fs.readdirSync(mnt).sort(), before, "no temp file left, previous dump kept");
      assert.equal((await mustRun("sha256sum", [path.join(mnt, lab.dumps("full")[0]!)])).stdout, hash);
      const st = lab.dumpStatus("full");
      assert.equal(st.result, "failed");
      await lab.exportCmd("remove", "full");
      lab.instances.delete("full");
    } finally {
      await run("umount", ["-l", mnt]);
    }
  });

  it("a dump file that loses bytes on the way to the disk is refused, at any cut; a corrupt block is caught by the backup server's pull, or on the host with DUMP_VERIFY=full", async () => {
    const li = await lab.addInstance("faulty", { tree: { documents: 10 }, database: { societes: 50, invoices: 50, blobs: 5 } });
    await growDatabase(lab.db, li.dbName, 3);
    ok(await lab.dump("faulty"), "good dump");
    ok(await lab.replicate("faulty"), "first pull");
    const good = lab.dumps("faulty");
    assert.equal(lab.dumpStatus("faulty").verification, "frames", "the default check");
    const hashOf = async (f: string) => (await mustRun("sha256sum", [path.join(li.dumpDir, f)])).stdout.split(" ")[0];
    const goodHash = await hashOf(good[0]!);
    const size = fs.statSync(path.join(li.dumpDir, good[0]!)).size;
    assert.ok(size > 300_000, `a dump of several zstd blocks (${size} bytes)`);
    // Fault injection between the compressor and the file: the real zstd, its output cut or
    // altered on its way out (a write path that loses or changes bytes without an error).
    const shim = path.join(lab.root, "faulty-bin");
    fs.mkdirSync(shim, { recursive: true });
    fs.writeFileSync(
      path.join(shim, "zstd"),
      `#!/bin/bash
set -euo pipefail
case " $* " in
  *" -c "*) ;;
  *) exec /usr/bin/zstd "$@" ;;
esac
set +o pipefail
if [[ -n "\${DBK_FAULT_CUT:-}" ]]; then /usr/bin/zstd "$@" | head -c "-$DBK_FAULT_CUT"; exit "\${PIPESTATUS[0]}"; fi
/usr/bin/zstd "$@" | perl -e 'binmode STDIN; binmode STDOUT; local $/ = \\65536; my ($n, $at) = (0, $ENV{DBK_FAULT_FLIP});
  while (my $b = <STDIN>) { if ($at >= $n && $at < $n + length $b) { substr($b, $at - $n, 1) ^= "\\x55"; } $n += length $b; print $b; }'
exit "\${PIPESTATUS[0]}"
`,
      { mode: 0o755 },
    );
    const faulty = (fault: Record<string, string>) => ({ PATH: `${shim}:${process.env.PATH}`, ...fault });
    const afterFailure = async (what: string) => {
      assert.deepEqual(lab.dumps("faulty"), good, `${what}: no new dump`);
      assert.deepEqual(fs.readdirSync(li.dumpDir).filter((f) => f.startsWith(".")), [], `${what}: no temp file left`);
      assert.equal(await hashOf(good[0]!), goodHash, `${what}: the previous dump untouched`);
      assert.equal(lab.dumpStatus("faulty").result, "failed", what);
    };

    // Cuts: the checksum's bytes, the last block, block boundaries, and generated ones anywhere.
    let seed = 17;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const cuts = [1, 2, 3, 4, 5, 7, 131_075, 131_078, ...Array.from({ length: 10 }, () => 8 + Math.floor(random() * (size - 20)))];
    for (const cut of cuts) {
      const r = await lab.dump("faulty", [], faulty({ DBK_FAULT_CUT: String(cut) }));
      assert.equal(r.code, 1, `cut ${cut}: accepted\n${r.stderr}`);
      assert.match(r.stderr, /not complete zstd frames with content checksums/, `cut ${cut}`);
      await afterFailure(`cut ${cut}`);
    }

    // A byte changed inside the stream: zstd --list walks block headers only, so the host may
    // accept it; then the backup server's pull decompresses it, fails, pins and exits 3. Never
    // accepted by both. With DUMP_VERIFY=full the host refuses it itself.
    let caughtByPull = 0;
    for (let k = 0; k < 4; k++) {
      const flip = String(1000 + Math.floor(random() * (size - 2000)));
      await sleep(1100);
      const r = await lab.dump("faulty", [], faulty({ DBK_FAULT_FLIP: flip }));
      if (r.code === 0) {
        const pulled = await lab.replicate("faulty");
        assert.equal(pulled.code, 3, `flip at ${flip}: accepted by the host and by the pull\n${pulled.stderr}`);
        assert.match(String(lab.replicateStatus("faulty").suspicious), /does not decompress/);
        caughtByPull++;
        // The operator's answer: the bad dump goes, and the next pull is clean again.
        const bad = lab.dumps("faulty").filter((f) => !good.includes(f));
        for (const f of bad) for (const side of [f, f.replace(/\.sql\.zst$/, ".manifest"), f.replace(/\.sql\.zst$/, ".floats.sql")]) fs.rmSync(path.join(li.dumpDir, side), { force: true });
        await sleep(1100);
        ok(await lab.replicate("faulty"), `pull after removing the bad dump (flip at ${flip})`);
      } else {
        assert.match(r.stderr, /not complete zstd frames/, `flip at ${flip}: refused for another reason\n${r.stderr}`);
        await afterFailure(`flip at ${flip}`);
      }
      lab.setDumpVerification("faulty", "full");
      const full = await lab.dump("faulty", [], faulty({ DBK_FAULT_FLIP: flip }));
      lab.setDumpVerification("faulty", "frames");
      assert.equal(full.code, 1, `flip at ${flip} with DUMP_VERIFY=full: accepted`);
      await afterFailure(`flip at ${flip}, DUMP_VERIFY=full`);
    }
    assert.ok(caughtByPull > 0, "no flip got past the host's frame check: the pull's test was not exercised");

    // A hand-edited server config: the pushed env file is the only source of DUMP_VERIFY.
    const envFile = path.join(lab.hosting.etc, "instances", "faulty.env");
    const rendered = fs.readFileSync(envFile, "utf8");
    assert.match(rendered, /^DUMP_VERIFY='frames'$/m);
    fs.writeFileSync(envFile, rendered.replace("DUMP_VERIFY='frames'", "DUMP_VERIFY='sometimes'"));
    const bad = await lab.dump("faulty");
    fs.writeFileSync(envFile, rendered);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /DUMP_VERIFY='sometimes' in faulty's config \(fleet key dumpVerification\): expected frames or full/);
    await lab.exportCmd("remove", "faulty");
    lab.instances.delete("faulty");
  });

  it("dumps run with a least-privilege account from a 0600 option file, and refuse a readable one", async () => {
    const li = await lab.addInstance("least", { tree: { documents: 10 }, database: { societes: 20, invoices: 20, blobs: 2 } });
    // The grants the client stack gives the dump account (infra/components/instance.ts).
    await lab.db.query(`CREATE USER 'dbk_least'@'localhost' IDENTIFIED BY 'pw-é''x';
GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES, EVENT ON \`${li.dbName}\`.* TO 'dbk_least'@'localhost';
GRANT SELECT ON mysql.proc TO 'dbk_least'@'localhost';`);
    const cnf = path.join(lab.hosting.etc, "instances", "least.my.cnf");
    fs.writeFileSync(cnf, `[client]\nuser=dbk_least\npassword=pw-é'x\nsocket=${lab.db.socket}\n`, { mode: 0o600 });
    fs.chmodSync(cnf, 0o600);
    ok(await lab.dump("least"), "least-privilege dump");
    const dump = path.join(li.dumpDir, lab.dumps("least")[0]!);
    const text = (await mustRun("zstd", ["-dc", dump])).stdout;
    assert.match(text, /CREATE TABLE `llx_facture`/);
    assert.match(text, /TRIGGER `?llx_facture_after_insert/);
    assert.match(text, /PROCEDURE `llx_total_client`/);
    assert.match(text, /EVENT `llx_purge_actioncomm`/);
    fs.chmodSync(cnf, 0o644);
    const r = await lab.dump("least");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has mode 644: it must be 0600/);
  });

  it("retention: old dumps go only after a verified new one, keeping retentionDays x dumpsPerDay", async () => {
    const ret = await lab.addInstance("ret", { tree: { documents: 10 }, database: { societes: 5, invoices: 5, blobs: 1 } });
    const old = (daysAgo: number, hour: number): string => {
      const d = new Date(Date.now() - daysAgo * 86_400_000);
      d.setUTCHours(hour, 0, 0, 0);
      const stamp = d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
      return `${ret.dbName}-${stamp}.sql.zst`;
    };
    const names = [];
    for (let day = 1; day <= 10; day++) for (const h of [0, 12]) names.push(old(day, h));
    for (const n of names) await sh(`echo '-- Dump completed' | zstd -q > '${path.join(ret.dumpDir, n)}'`);
    await lab.db.query(`DROP DATABASE ${ret.dbName}`);
    const failed = await lab.dump("ret");
    assert.equal(failed.code, 1, "dump of a missing database fails");
    assert.equal(lab.dumps("ret").length, 20, "a failed dump removes nothing");
    await lab.db.query(`CREATE DATABASE ${ret.dbName}; CREATE TABLE ${ret.dbName}.llx_t (id INT PRIMARY KEY) ENGINE=InnoDB;`);
    ok(await lab.dump("ret"), "dump");
    const left = lab.dumps("ret");
    assert.equal(left.length, 14, `7 days x 2 dumps kept: ${left.join(" ")}`);
    assert.equal(lab.dumpStatus("ret").removedDumps, 7);
  });

  it("snapshots: dated hard-link copies, kept by age, restorable", async () => {
    const snap = await lab.addInstance("snap", { tree: { documents: 200 }, database: { societes: 10, invoices: 10, blobs: 1 }, snapshotsKeep: 2 });
    ok(await lab.dump("snap"), "dump");
    for (let i = 0; i < 3; i++) {
      if (i > 0) touchDocuments(snap.tree.documentsDir, 0.05, 100 + i);
      ok(await lab.replicate("snap"), `replication ${i}`);
      await sleep(1100);
    }
    const snaps = fs.readdirSync(path.join(snap.mirror, ".snapshots")).filter((s) => /^\d{8}T\d{6}Z$/.test(s)).sort();
    assert.equal(snaps.length, 3, `all younger than 48 h are kept: ${snaps.join(" ")}`);
    const latest = path.join(snap.mirror, ".snapshots", snaps[2]!);
    assertSameTree(mirrorPart(snap, "documents"), path.join(latest, "documents"), "latest snapshot");
    const conf = "code/conf/conf.php";
    assert.equal(fs.statSync(path.join(latest, conf)).ino, fs.statSync(path.join(snap.mirror, conf)).ino, "unchanged files are hard links");
    const target = path.join(lab.root, "restore", "snap");
    ok(
      await lab.restore(["--snapshot", snaps[0]!, "--code-dir", `${target}/htdocs`, "--documents-dir", `${target}/documents`, "--database", "snap_restored", "snap"]),
      "restore from the older snapshot",
    );
    assertSameTree(path.join(snap.mirror, ".snapshots", snaps[0]!, "documents"), `${target}/documents`, "restored snapshot");
  });

  it("export: apply is idempotent, remove unmounts and revokes the ACLs, data untouched", async () => {
    const countMounts = async (): Promise<number> =>
      (await mustRun("findmnt", ["-rn", "-o", "TARGET"])).stdout.split("\n").filter((m) => m.includes(`/export/${lab.backupServer}/acme/`)).length;
    assert.equal(await countMounts(), 3);
    await lab.exportCmd("apply", "acme");
    assert.equal(await countMounts(), 3);
    // A backup server dropped from the instance: its export goes at the next apply.
    const stale = path.join(lab.hosting.varLib, "export", "gone-bk", "acme");
    for (const part of ["code", "documents", "dumps"]) fs.mkdirSync(path.join(stale, part), { recursive: true });
    await mustRun("mount", ["--bind", acme.tree.documentsDir, path.join(stale, "documents")]);
    await lab.exportCmd("apply", "acme");
    assert.equal(fs.existsSync(stale), false, "stale export removed");
    assert.equal((await run("mountpoint", ["-q", path.join(stale, "documents")])).code !== 0, true);
    assert.equal(await countMounts(), 3);
    // Modes may move back (a 0600 file shows 0640 while its ACL mask grants the read): compare content.
    const content = (m: Map<string, string>): string[] => [...m].map(([k, v]) => `${k} ${v.split(" ").filter((_, i) => i !== 1).join(" ")}`);
    const before = content(treeManifest(acme.tree.documentsDir));
    await lab.exportCmd("remove", "acme");
    assert.equal(await countMounts(), 0);
    assert.equal(fs.existsSync(path.join(lab.hosting.varLib, "export", lab.backupServer, "acme")), false);
    const acl = (await mustRun("getfacl", ["-p", "-n", path.join(acme.tree.codeRoot, "conf/conf.php")])).stdout;
    assert.doesNotMatch(acl, new RegExp(`user:${(await mustRun("id", ["-u", lab.user])).stdout.trim()}:`));
    assert.deepEqual(content(treeManifest(acme.tree.documentsDir)), before);
    await lab.exportCmd("apply", "acme");
    assert.equal(await countMounts(), 3);
    ok(await lab.replicate("acme"), "replication after re-export");
  });
});

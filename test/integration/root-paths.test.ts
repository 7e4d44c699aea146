// Issue 22, point 5: root checks what it touches. On a one-machine lab (real users, bind mounts,
// ACLs, MariaDB): an application user who owns a parent of htdocs swaps in a symbolic link, a
// symbolic link on the way leads to /root, a parent is writable by others or owned by another user,
// the dumps' directory is not root's, the old predictable temp names of the dump are planted as
// symbolic links, a restore target can be swapped. Each is refused before anything is changed:
// getfacl shows no grant and findmnt no mount where the path led, the planted files keep their
// bytes. Every "refused" case here was accepted, and followed, by the jobs before this change.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { dumpAccountName, dumpAccountScript } from "../../infra/components/instance";
import { asRoot } from "../../infra/components/remote";
import { mysqlOptionFilePath } from "../../infra/render";
import { growDatabase } from "../support/dolibarr-fixture";
import { mustRun, run, sh, sleep, type RunResult } from "../support/jobs-exec";
import { JobsLab, labUnavailable, type LabInstance } from "../support/jobs-lab";
import { skipUnlessCi } from "../support/prerequisites";

const skip = skipUnlessCi(labUnavailable(), "root checks what it touches");

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stderr.slice(-3000)}`);
}
function re(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("root checks what it touches", { skip, timeout: 600_000 }, () => {
  let lab: JobsLab;
  // the application user of the tests' instances (a Dolibarr site's Unix account)
  const app = `dbkapp-${process.pid}`;
  let appUid = 0;
  let dbkUid = 0;
  // stands for /root: outside every allowed root, root's own
  let victim = "";
  const inRoot = `/root/dbk-itest-${process.pid}`;

  before(async () => {
    lab = await JobsLab.create();
    await mustRun("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", app]);
    appUid = Number((await mustRun("id", ["-u", app])).stdout.trim());
    dbkUid = Number((await mustRun("id", ["-u", lab.user])).stdout.trim());
    victim = path.join(lab.root, "victim");
    fs.mkdirSync(path.join(victim, "htdocs", "conf"), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(victim, "documents"), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(victim, "htdocs", "conf", "conf.php"), "<?php // root's secret\n", { mode: 0o600 });
    fs.writeFileSync(path.join(victim, "documents", "secret.txt"), "root's secret\n", { mode: 0o600 });
  });

  after(async () => {
    try {
      if (lab) await lab.close();
    } finally {
      await run("userdel", [app]);
      fs.rmSync(inRoot, { recursive: true, force: true });
    }
  });

  /** As the application user (runuser): what it can do to its own directories. */
  const asApp = (script: string) => mustRun("runuser", ["-u", app, "--", "sh", "-eu", "-c", script]);

  /** No ACL entry of the backup user anywhere below DIR (a physical walk: getfacl -P). */
  async function assertNoGrant(dir: string, what: string): Promise<void> {
    const acl = (await mustRun("getfacl", ["-R", "-P", "-p", "-n", "--", dir])).stdout;
    assert.ok(!new RegExp(`^(default:)?user:${dbkUid}:`, "m").test(acl), `${what}: ${dir} got a read ACL for ${lab.user}:\n${acl.slice(0, 2000)}`);
  }

  /** No mount shows DIR or anything below it. */
  async function assertNotMounted(dir: string, what: string): Promise<void> {
    const real = fs.realpathSync(dir);
    const mounts = (await mustRun("findmnt", ["-rn", "-o", "TARGET,FSROOT"])).stdout.split("\n").filter(Boolean);
    const hits = mounts.filter((l) => {
      const root = l.split(" ")[1] ?? "";
      return root === real || root.startsWith(`${real}/`);
    });
    assert.deepEqual(hits, [], `${what}: ${dir} is mounted`);
  }

  function exportStatus(name: string): Record<string, unknown> {
    return JSON.parse(fs.readFileSync(path.join(lab.hosting.varLib, "status", `${name}.export.json`), "utf8")) as Record<string, unknown>;
  }

  /** apply and refresh both refused, naming the instance, the key and the path; the status says so. */
  async function assertExportRefused(name: string, key: RegExp, detail: RegExp): Promise<void> {
    for (const action of ["refresh", "apply"]) {
      const r = await run(lab.script("dolibarr-export"), [action, name], { env: lab.hosting.env });
      assert.notEqual(r.code, 0, `export ${action} ${name} accepted:\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`instance ${name}, ${key.source}`), r.stderr);
      assert.match(r.stderr, detail, r.stderr);
      const st = exportStatus(name);
      assert.equal(st.result, "failed");
      assert.match(String(st.message), detail);
    }
  }

  async function dropInstance(li: LabInstance): Promise<void> {
    ok(await run(lab.script("dolibarr-export"), ["remove", li.name], { env: lab.hosting.env }), `export remove ${li.name}`);
    lab.instances.delete(li.name);
  }

  it("htdocs swapped for a symbolic link (to a root-only tree) by the user who owns its parent: refused, nothing ACL'd or mounted", async () => {
    const base = path.join(lab.root, "hosting", "srv", "swapped");
    const li = await lab.addInstance("swapped", { base, database: false });
    // a site as hosting companies set it up: the site's directory and its htdocs are the application user's
    for (const d of [base, li.tree.codeRoot, li.tree.documentsDir]) fs.chownSync(d, appUid, appUid);
    ok(await run(lab.script("dolibarr-export"), ["apply", "swapped"], { env: lab.hosting.env }), "apply of the site as set up");
    // what the application user can do to it
    await asApp(`mv '${li.tree.codeRoot}' '${li.tree.codeRoot}.real' && ln -s '${path.join(victim, "htdocs")}' '${li.tree.codeRoot}'`);
    await assertExportRefused("swapped", /CODE_ROOT \(codeRoot\)/, new RegExp(`${re(li.tree.codeRoot)} refused: ${re(li.tree.codeRoot)} is a symbolic link \\(to ${re(path.join(victim, "htdocs"))}\\)`));
    await assertNoGrant(victim, "htdocs swapped for a symbolic link");
    await assertNotMounted(victim, "htdocs swapped for a symbolic link");
    // put back: the export follows the real directory again
    fs.rmSync(li.tree.codeRoot);
    fs.renameSync(`${li.tree.codeRoot}.real`, li.tree.codeRoot);
    ok(await run(lab.script("dolibarr-export"), ["refresh", "swapped"], { env: lab.hosting.env }), "refresh once put back");
    await dropInstance(li);
  });

  it("the parent of htdocs swapped for a symbolic link by the user who owns the grandparent: refused, nothing ACL'd or mounted", async () => {
    const site = path.join(lab.root, "hosting", "srv", "parent", "site");
    const li = await lab.addInstance("parentswap", { base: site, database: false });
    for (const d of [path.dirname(site), site, li.tree.codeRoot, li.tree.documentsDir]) fs.chownSync(d, appUid, appUid);
    ok(await run(lab.script("dolibarr-export"), ["apply", "parentswap"], { env: lab.hosting.env }), "apply of the site as set up");
    await asApp(`mv '${site}' '${site}.real' && ln -s '${victim}' '${site}'`);
    await assertExportRefused("parentswap", /CODE_ROOT \(codeRoot\)/, new RegExp(`${re(site)} leads to ${re(victim)}, outside the allowed root ${re(path.join(lab.root, "hosting"))}`));
    await assertNoGrant(victim, "htdocs' parent swapped for a symbolic link");
    await assertNotMounted(victim, "htdocs' parent swapped for a symbolic link");
    fs.rmSync(site);
    fs.renameSync(`${site}.real`, site);
    await dropInstance(li);
  });

  it("a symbolic link on the way that leads to /root: refused, /root untouched", async () => {
    const app1 = path.join(lab.root, "hosting", "srv", "rootlink", "app");
    const li = await lab.addInstance("rootlink", { base: app1, database: false });
    // the same tree under /root, and the path's "app" turned into a link to it
    await sh(`rm -rf '${inRoot}' && mkdir -m 0700 '${inRoot}' && cp -a '${app1}/htdocs' '${app1}/documents' '${inRoot}/' && setfacl -R -b '${inRoot}' && mv '${app1}' '${app1}.real' && ln -s '${inRoot}' '${app1}'`);
    await assertExportRefused("rootlink", /CODE_ROOT \(codeRoot\)/, new RegExp(`${re(app1)} leads to ${re(inRoot)}, outside the allowed root`));
    await assertNoGrant(inRoot, "a link to /root on the way");
    assert.ok(!/user:\d+:|default:/.test((await mustRun("getfacl", ["-p", "-n", "/root"])).stdout.replace(/^#.*$/gm, "")), "/root itself got an ACL entry");
    await assertNotMounted(inRoot, "a link to /root on the way");
    fs.rmSync(app1);
    fs.renameSync(`${app1}.real`, app1);
    await dropInstance(li);
  });

  it("parents another user could change (group- or other-writable, owned by another user) are refused, naming the directory", async () => {
    const base = path.join(lab.root, "hosting", "srv", "parents");
    const li = await lab.addInstance("parents", { base, database: false });
    const cases: Array<[string, () => void, RegExp]> = [
      ["group-writable", () => fs.chmodSync(base, 0o775), new RegExp(`${re(base)} is writable by its group \\(mode 0775\\): another user could swap ${re(li.tree.codeRoot)}; expected chmod go-w`)],
      ["world-writable", () => fs.chmodSync(base, 0o777), new RegExp(`${re(base)} is writable by its group and others \\(mode 0777\\)`)],
      ["owned by another user than the directory's", () => fs.chownSync(base, 65534, 65534), new RegExp(`${re(base)} is owned by nobody \\(uid 65534\\), not by root: that user could swap ${re(li.tree.codeRoot)}`)],
      ["allowed root writable by its group", () => fs.chmodSync(path.join(lab.root, "hosting"), 0o775), new RegExp(`${re(path.join(lab.root, "hosting"))} is writable by its group`)],
    ];
    for (const [what, change, detail] of cases) {
      change();
      try {
        await assertExportRefused("parents", /CODE_ROOT \(codeRoot\)/, detail);
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message}`);
      } finally {
        fs.chmodSync(base, 0o755);
        fs.chownSync(base, 0, 0);
        fs.chmodSync(path.join(lab.root, "hosting"), 0o755);
      }
    }
    ok(await run(lab.script("dolibarr-export"), ["refresh", "parents"], { env: lab.hosting.env }), "refresh once put back");
    // A root-owned sticky directory (as /tmp above the lab) is fine: there only an entry's owner
    // (root, for htdocs and documents here) can move it.
    fs.chmodSync(base, 0o1777);
    ok(await run(lab.script("dolibarr-export"), ["refresh", "parents"], { env: lab.hosting.env }), "refresh below a root-owned sticky directory");
    fs.chmodSync(base, 0o755);
    await dropInstance(li);
  });

  it("the dumps' directory must be root's: one a user owns or can write is refused by the dump and the export, nothing written there", async () => {
    const li = await lab.addInstance("dumpowner", { tree: { documents: 5 }, database: { societes: 5, invoices: 5, blobs: 1 } });
    for (const [what, change, detail] of [
      ["owned by the application user", () => fs.chownSync(li.dumpDir, appUid, appUid), new RegExp(`${re(li.dumpDir)} is owned by ${re(app)} \\(uid ${appUid}\\): the dumps are root's`)],
      ["writable by its group", () => fs.chmodSync(li.dumpDir, 0o770), new RegExp(`${re(li.dumpDir)} is writable by its group \\(mode 0770\\): the dumps are root's`)],
    ] as const) {
      change();
      const r = await lab.dump("dumpowner");
      assert.equal(r.code, 1, `${what}: dump accepted`);
      assert.match(r.stderr, new RegExp(`instance dumpowner, DUMP_DIR \\(dumpDir\\) ${re(li.dumpDir)} refused: ${detail.source}`));
      assert.equal(lab.dumpStatus("dumpowner").result, "failed");
      assert.deepEqual(fs.readdirSync(li.dumpDir), [], `${what}: something was written into the refused directory`);
      await assertExportRefused("dumpowner", /DUMP_DIR \(dumpDir\)/, detail);
      fs.chownSync(li.dumpDir, 0, 0);
      fs.chmodSync(li.dumpDir, 0o750);
    }
    // a system database named by a hand-edited config: refused as a run (status, alert), nothing dumped
    const envFile = path.join(lab.hosting.etc, "instances", "dumpowner.env");
    const rendered = fs.readFileSync(envFile, "utf8");
    for (const db of ["mysql", "MySQL", "information_schema", "Performance_Schema", "sys"]) {
      fs.writeFileSync(envFile, rendered.replace(/^DB_NAME=.*$/m, `DB_NAME='${db}'`));
      const r = await lab.dump("dumpowner");
      assert.equal(r.code, 1, `${db}: dumped`);
      assert.match(r.stderr, new RegExp(`dump of ${db} refused: DB_NAME in dumpowner's config is a system database of MariaDB`));
      assert.equal(lab.dumpStatus("dumpowner").result, "failed");
      assert.deepEqual(fs.readdirSync(li.dumpDir), [], `${db}: something was dumped`);
    }
    fs.writeFileSync(envFile, rendered);
    // missing: made by root, 0750, every directory above it root's
    fs.rmdirSync(li.dumpDir);
    ok(await lab.dump("dumpowner"), "dump into a directory made anew");
    assert.equal((fs.statSync(li.dumpDir).mode & 0o7777).toString(8), "750");
    ok(await run(lab.script("dolibarr-export"), ["refresh", "dumpowner"], { env: lab.hosting.env }), "refresh");
    await dropInstance(li);
  });

  it("the dump's temp files have names no one can guess: symbolic links planted at the old names are never followed", async () => {
    const li = await lab.addInstance("tmpnames", { tree: { documents: 5 }, database: { societes: 20, invoices: 20, blobs: 2 } });
    await growDatabase(lab.db, li.dbName, 16);
    const bait = path.join(victim, "shadow");
    fs.writeFileSync(bait, "root:$y$j9T$hash:19000:0:99999:7:::\n", { mode: 0o600 });
    const baitBefore = fs.readFileSync(bait, "utf8");
    // The names the dump used to write, for every second of the next two minutes.
    const planted: string[] = [];
    const t0 = Math.floor(Date.now() / 1000);
    for (let s = 0; s < 120; s++) {
      const stamp = new Date((t0 + s) * 1000).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
      for (const side of ["sql.zst", "manifest", "floats.sql", "pos"]) {
        const p = path.join(li.dumpDir, `.${li.dbName}-${stamp}.${side}.tmp`);
        fs.symlinkSync(bait, p);
        planted.push(p);
      }
    }
    // Watch the directory while the dump runs: the temp file it writes.
    const seen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const f of fs.readdirSync(li.dumpDir)) {
          if (!f.endsWith(".tmp")) continue;
          try {
            if (!fs.lstatSync(path.join(li.dumpDir, f)).isSymbolicLink()) seen.add(f);
          } catch {
            // renamed meanwhile
          }
        }
        await sleep(2);
      }
    })();
    const first = await lab.dump("tmpnames");
    watching = false;
    await watcher;
    assert.equal(fs.readFileSync(bait, "utf8"), baitBefore, "the dump wrote through a planted link");
    ok(first, "dump beside the planted links");
    for (const p of planted) assert.ok(fs.lstatSync(p).isSymbolicLink(), `${p} was replaced`);
    assert.equal(lab.dumps("tmpnames").length, 1);
    const stamp = /-(\d{8}T\d{6}Z)\.sql\.zst$/.exec(lab.dumps("tmpnames")[0]!)![1]!;
    const ours = [...seen].filter((f) => f.startsWith(`.${li.dbName}-${stamp}.sql.zst.`));
    assert.ok(ours.length > 0, `the dump's temp file was not seen (saw ${[...seen].join(" ")})`);
    for (const f of ours) {
      assert.match(f, new RegExp(`^\\.${li.dbName}-${stamp}\\.sql\\.zst\\.[A-Za-z0-9]{10}\\.tmp$`), "a temp name of mktemp's");
      assert.notEqual(f, `.${li.dbName}-${stamp}.sql.zst.tmp`);
    }
    for (const p of planted) fs.rmSync(p);
    await dropInstance(li);
  });

  it("the ACL walk never follows a symbolic link inside a tree (setfacl -P from inside the pinned directory)", async () => {
    // (setfacl -R skipped links below its argument before too: this guards it)
    const li = await lab.addInstance("inner", { tree: { documents: 5 }, database: false });
    const outside = path.join(lab.root, "victim-inner");
    fs.mkdirSync(path.join(outside, "sub"), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(outside, "secret.txt"), "secret\n", { mode: 0o600 });
    fs.symlinkSync(outside, path.join(li.tree.documentsDir, "to-victim"));
    fs.symlinkSync(outside, path.join(li.tree.documentsDir, "facture", "to-victim"));
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(li.tree.documentsDir, "to-secret.txt"));
    ok(await run(lab.script("dolibarr-export"), ["refresh", "inner"], { env: lab.hosting.env }), "refresh");
    await assertNoGrant(outside, "a link inside the tree");
    const acl = (await mustRun("getfacl", ["-p", "-n", li.tree.documentsDir])).stdout;
    assert.match(acl, new RegExp(`^user:${dbkUid}:r-x$`, "m"), "the tree itself is granted");
    assert.match(acl, new RegExp(`^default:user:${dbkUid}:r-x$`, "m"), "with its default ACL");
    await dropInstance(li);
  });

  it("restore refuses a target another user could swap, before anything changes (database included)", async () => {
    const li = await lab.addInstance("restoreme", { tree: { documents: 5 }, database: { societes: 5, invoices: 5, blobs: 1 } });
    ok(await lab.dump("restoreme"), "dump");
    ok(await lab.replicate("restoreme"), "replicate");
    const area = path.join(lab.root, "restore-area");
    fs.mkdirSync(area, { recursive: true, mode: 0o755 });
    const open = path.join(area, "open");
    fs.mkdirSync(open, { mode: 0o777 });
    fs.chmodSync(open, 0o777);
    const foreign = path.join(area, "foreign");
    fs.mkdirSync(path.join(foreign, "htdocs"), { recursive: true });
    fs.chownSync(foreign, 65534, 65534);
    const linked = path.join(area, "linked");
    fs.mkdirSync(linked);
    fs.symlinkSync(path.join(victim, "htdocs"), path.join(linked, "htdocs"));
    const before = fs.readdirSync(path.join(victim, "htdocs"), { recursive: true }).sort();
    const cases: Array<[string, string, RegExp]> = [
      ["a target to be made in a directory others can write", path.join(open, "htdocs"), new RegExp(`${re(open)}, where ${re(path.join(open, "htdocs"))} would be made, is writable by its group and others \\(mode 0777\\)`)],
      ["a target in a directory of another user", path.join(foreign, "htdocs"), new RegExp(`${re(foreign)} is owned by nobody \\(uid 65534\\), not by root`)],
      ["a target that is a symbolic link", path.join(linked, "htdocs"), new RegExp(`${re(path.join(linked, "htdocs"))} is a symbolic link \\(to ${re(path.join(victim, "htdocs"))}\\)`)],
    ];
    for (const [what, code, detail] of cases) {
      const r = await lab.restore(["--code-dir", code, "--documents-dir", path.join(area, "docs-ok"), "--database", "restoreme_target", "restoreme"]);
      assert.notEqual(r.code, 0, `${what}: restore accepted`);
      assert.match(r.stderr, new RegExp(`--code-dir ${re(code)} refused: ${detail.source}`), `${what}: ${r.stderr}`);
      assert.equal((await lab.db.query("SHOW DATABASES LIKE 'restoreme_target'")).trim(), "", `${what}: the database was restored`);
      assert.ok(!fs.existsSync(path.join(area, "docs-ok")), `${what}: the documents were restored`);
    }
    assert.deepEqual(fs.readdirSync(path.join(victim, "htdocs"), { recursive: true }).sort(), before, "the link's target was written");
    // the same restore into directories of root's own goes through
    ok(await lab.restore(["--code-dir", path.join(area, "ok", "htdocs"), "--documents-dir", path.join(area, "ok", "documents"), "--database", "restoreme_target", "restoreme"]), "restore into root's directories");
    await dropInstance(li);
  });

  it("the dump account and other databases' routines: measured on this MariaDB (10.11 needs SELECT on mysql.proc, which shows every database's; 11.3+ does with SHOW CREATE ROUTINE on its own)", async () => {
    const li = await lab.addInstance("routines", { tree: { documents: 5 }, database: { societes: 5, invoices: 5, blobs: 1 } });
    await lab.db.query(`CREATE DATABASE other_tenant; CREATE PROCEDURE other_tenant.their_secret() SELECT 'their-secret-marker-42';`);
    // The account as the client stack makes it: the real script, run as root against this lab's MariaDB.
    const optionFile = path.join(lab.hosting.etc, "instances", "routines.my.cnf");
    const script = dumpAccountScript(li.instance).split(path.dirname(mysqlOptionFilePath("routines"))).join(path.dirname(optionFile));
    assert.ok(!script.includes("/etc/dolibarr-backup"), "the script writes into the lab only");
    // its `mariadb` reaches this lab's server (as root over its socket)
    const bin = path.join(lab.root, "account-bin");
    fs.mkdirSync(bin, { recursive: true });
    const real = (await mustRun("sh", ["-c", "command -v mariadb"])).stdout.trim();
    fs.writeFileSync(path.join(bin, "mariadb"), `#!/bin/sh\nexec ${real} --defaults-extra-file=${lab.db.optionFile} "$@"\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    await mustRun("sh", ["-c", asRoot("root", script)], { env, input: "Secret123abc\n" });
    fs.appendFileSync(optionFile, `socket=${lab.db.socket}\n`);
    const user = `'${dumpAccountName("routines")}'@'localhost'`;
    const grants = await lab.db.query(`SHOW GRANTS FOR ${user}`);
    const asDump = (sql: string) => run("mariadb", [`--defaults-extra-file=${optionFile}`, "--batch", "--skip-column-names", "-e", sql]);
    const dumpText = async () => (await mustRun("zstd", ["-dc", path.join(li.dumpDir, lab.dumps("routines").pop()!)])).stdout;
    const [major, minor] = (await lab.db.query("SELECT VERSION()")).trim().split(/[.-]/).map(Number) as [number, number];
    const hasShowCreateRoutine = major > 11 || (major === 11 && minor >= 3);
    const theirs = await asDump("SHOW CREATE PROCEDURE other_tenant.their_secret");
    ok(await lab.dump("routines"), "dump as the dump account");
    assert.match(await dumpText(), /PROCEDURE `llx_total_client`/, "its own routines are in its dump");
    if (hasShowCreateRoutine) {
      // MariaDB 11.3+: the database's own grant; the account reads no other database's routines
      assert.match(grants, /SHOW CREATE ROUTINE ON `dolibarr_routines`/);
      assert.doesNotMatch(grants, /`mysql`\.`proc`/, grants);
      assert.doesNotMatch(theirs.stdout, /their-secret-marker-42/, "the dump account read another database's routine");
    } else {
      // MariaDB 10.x (Debian 12: 10.11): no SHOW CREATE ROUTINE privilege at all ...
      const grant = await run("mariadb", [`--defaults-extra-file=${lab.db.optionFile}`, "-e", `GRANT SHOW CREATE ROUTINE ON dolibarr_routines.* TO ${user}`]);
      assert.notEqual(grant.code, 0);
      assert.match(grant.stderr, /ERROR 1064/);
      // ... so the account holds SELECT on mysql.proc, and with it every database's routines
      assert.match(grants, /GRANT SELECT ON `mysql`\.`proc` TO/, grants);
      assert.match(theirs.stdout, /their-secret-marker-42/, "on 10.x SELECT on mysql.proc shows another database's routine: if not, this MariaDB may allow less");
      // less does not work: with EXECUTE and ALTER ROUTINE on its own database the dump fails ...
      await lab.db.query(`REVOKE SELECT ON mysql.proc FROM ${user}; GRANT EXECUTE, ALTER ROUTINE ON dolibarr_routines.* TO ${user};`);
      await sleep(1100);
      const partial = await lab.dump("routines");
      assert.equal(partial.code, 1, "a dump without SELECT on mysql.proc succeeded");
      assert.match(partial.stderr, /insufficient privileges to SHOW CREATE PROCEDURE/);
      // ... and with no routine privilege it leaves every routine out and succeeds (mariadb-dump exits 0)
      await lab.db.query(`REVOKE EXECUTE, ALTER ROUTINE ON dolibarr_routines.* FROM ${user};`);
      await sleep(1100);
      ok(await lab.dump("routines"), "dump without any routine privilege");
      assert.doesNotMatch(await dumpText(), /PROCEDURE `llx_total_client`/, "the routines were dumped without a privilege on them");
      await lab.db.query(`GRANT SELECT ON mysql.proc TO ${user};`);
    }
    await lab.db.query("DROP DATABASE other_tenant");
    await dropInstance(li);
  });
});

// The restore drill on the lab (issue 21): a client deployed by the real engine, its instance dumped
// and replicated, then drilled on each of its backup hosts by the deployed unit: restored from the
// host's own copy into a private MariaDB, served by PHP-FPM and nginx on the loopback, the front
// page fetched and checked against the database's version, timed. Then the copy broken in the ways
// a drill must catch (a conf.php PHP cannot parse, a conf.php whose password or user is not the
// account's, a PHP extension missing, a dump that does not load, a drill root too small, a document
// changed on the backup host after it was received, a drill still running at the next dump): each
// drill fails with a clear message and leaves nothing running, mounted or on disk. A replication
// started during a drill is not delayed by it.
// Runs in a project copy of its own (own stacks/ and state).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { labEnv, labHost, projectCopy, pulumi, ssh, sshOk, waitWhileActivating } from "../../scripts/lab/driver";
import { deploy, failedUnitsReport, labTopology, prepareLabStacks, replicateAndVerify, runDrills, runDumps } from "../../scripts/lab/flow";
import { LAB_CLIENTS, LAB_FLEET_STACK, type LabHost } from "../../scripts/lab/stacks";
import { drillStatusPath } from "../../infra/render/paths";

const bistro = LAB_CLIENTS.find((c) => c.client === "bistro")!;
const INSTANCE = "bistro-erp";

describe("restore drills on the lab", { concurrency: false }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-e2e-drill-"));
  const env = labEnv({ repo: projectCopy(fs.mkdtempSync(path.join(work, "project-"))), stateDir: fs.mkdtempSync(path.join(work, "state-")) });
  let backup: LabHost;
  let mirror = "";

  const status = (host: LabHost) => JSON.parse(sshOk(env, host, `cat ${drillStatusPath(INSTANCE)}`)) as Record<string, unknown>;
  /** Waits while a drill runs on the host (a start of a running oneshot would wait for it and take its result). */
  const waitDrill = (host: LabHost) => waitWhileActivating(env, host, `dolibarr-drill@${INSTANCE}.service`, 300_000, `the drill of ${INSTANCE} on ${host.name} still runs after 300 s`);
  /** A oneshot runs while "activating" (is-active says so only once it is done). */
  const drillRuns = (host: LabHost) => sshOk(env, host, `systemctl show -P ActiveState dolibarr-drill@${INSTANCE}.service`).trim() === "activating";
  /** Runs the drill unit; the unit failed is reset so that the next test starts clean. */
  const drill = (host: LabHost) => {
    waitDrill(host);
    const r = ssh(env, host, `systemctl start dolibarr-drill@${INSTANCE}.service`);
    if (r.status !== 0) sshOk(env, host, `systemctl reset-failed dolibarr-drill@${INSTANCE}.service`);
    return { code: r.status, status: status(host) };
  };
  /** Nothing of a drill left: no transient unit, no process, no work dir, no mount. */
  const nothingLeft = (host: LabHost, root = "/var/lib/dolibarr-backup/drill") => {
    const units = sshOk(env, host, "systemctl list-units --all --plain --no-legend 'dbk-drill-*' | awk '{print $1}'").trim();
    assert.equal(units, "", `${host.name}: drill units left`);
    assert.equal(sshOk(env, host, `test -e ${root}/${INSTANCE} && echo left || true`).trim(), "", `${host.name}: drill dir left`);
    // ([/]: the pattern does not match the shell that runs pgrep)
    assert.equal(sshOk(env, host, `pgrep -f -- '[/]${root.slice(1)}/${INSTANCE}' || true`).trim(), "", `${host.name}: a drill process left`);
    assert.equal(sshOk(env, host, `grep -c -- ' ${root}/' /proc/self/mounts || true`).trim(), "0", `${host.name}: a mount left`);
  };

  before(() => {
    const files = prepareLabStacks(env, [bistro]);
    const up = deploy(env, "up", files);
    assert.equal(up.status, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
    const topology = labTopology(env, [bistro]);
    runDumps(env, topology);
    assert.ok(replicateAndVerify(env, topology, 1).every((c) => c.identical), "every mirror identical before the drills");
    const instance = topology.clients.flatMap((c) => c.instances).find((i) => i.name === INSTANCE)!;
    backup = labHost(env, instance.backupServers[0]!);
    mirror = `${topology.fleet.mirrorRoot}/${INSTANCE}`;
  });

  after(() => {
    for (const stack of [bistro.stack, LAB_FLEET_STACK]) {
      const r = pulumi(env, ["destroy", "--yes", "--skip-preview", "--stack", stack]);
      if (r.status !== 0) console.error(`pulumi destroy ${stack} failed:\n${r.stdout}\n${r.stderr}`);
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  test("the deployed timer is weekly, on each backup host", () => {
    const topology = labTopology(env, [bistro]);
    for (const name of topology.clients.flatMap((c) => c.instances).find((i) => i.name === INSTANCE)!.backupServers) {
      const host = labHost(env, name);
      assert.equal(sshOk(env, host, `systemctl is-enabled dolibarr-drill@${INSTANCE}.timer`).trim(), "enabled", name);
      assert.match(sshOk(env, host, `systemctl cat dolibarr-drill@${INSTANCE}.timer`), /^OnCalendar=(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \*-\*-\* \d\d:\d0:00 \S+$/m, name);
    }
  });

  test("each backup host restores, serves and checks the instance from its own copy, timed, and leaves nothing behind", () => {
    const drills = runDrills(env, labTopology(env, [bistro]));
    assert.equal(drills.length, 2);
    for (const d of drills) {
      const s = d.status!;
      assert.equal(d.exitCode, 0, JSON.stringify(s));
      assert.equal(s.result, "ok", JSON.stringify(s));
      assert.equal(s.httpStatus, 200);
      assert.equal(s.version, "18.0.4", "the version of the database's llx_const, shown by the page");
      assert.match(String(s.source), /^snapshot \d{8}T\d{6}Z$/);
      for (const k of ["restoreMs", "databaseMs", "filesMs", "serveMs", "firstPageMs", "rtoMs"]) assert.ok(typeof s[k] === "number" && (s[k] as number) >= 0, `${k}: ${s[k]}`);
      assert.equal(s.rtoMs, (s.restoreMs as number) + (s.serveMs as number) + (s.firstPageMs as number));
      assert.match(
        String(s.checks),
        /database: \d+ tables identical to the dump; documents and code identical to the copy; point in time: the newest recoverable second, applied \(\d+ transaction\(s\) of dolibarr_bistro[^;]* UTC[^;]*\); Dolibarr's database account: .* logs in .*; documents: \d+ of \d+ files \((?:sample \d+ \+ \d+ changed since the last drill|sample \d+; no earlier drill here to compare with)\) equal their SHA-256 as received; dump: \S+\.sql\.zst(?: and its \d companion file\(s\) equal their| equals its) SHA-256 as received; front page: HTTP 200, Dolibarr 18\.0\.4; PHP error log: empty/,
      );
      // the document check against the received-hash manifest: at least the sample's floor (or every file) hashed
      assert.ok((s.manifestFiles as number) > 0, `manifestFiles: ${s.manifestFiles}`);
      assert.ok((s.hashedFiles as number) >= Math.min(20, s.manifestFiles as number) && (s.sampledFiles as number) <= (s.hashedFiles as number), JSON.stringify(s));
      assert.ok(typeof s.hashMs === "number");
      assert.match(sshOk(env, labHost(env, d.backupServer), `head -c 40 /var/lib/dolibarr-backup/drills/${INSTANCE}.sha256 | tr '\\0' '\\n' | head -n 1`), /^#dolibarr-backup sha256 manifest 1$/m, "the drilled copy's manifest kept for the next drill");
      const host = labHost(env, d.backupServer);
      nothingLeft(host);
      assert.ok(Number(sshOk(env, host, `wc -l < /var/lib/dolibarr-backup/drills/${INSTANCE}.jsonl`).trim()) >= 1, "the drill's history");
      assert.match(sshOk(env, host, `cat /var/lib/prometheus/node-exporter/dolibarr-backup-drill-${INSTANCE}.prom`), /^dolibarr_backup_last_success\{[^}]*backup_job="drill"[^}]*\} 1$/m);
      console.log(`drill of ${INSTANCE} on ${d.backupServer}: RTO ${s.rtoMs} ms (restore ${s.restoreMs}: database ${s.databaseMs}, files ${s.filesMs}; serve ${s.serveMs}; first page ${s.firstPageMs})`);
    }
  });

  test("a replication started during a drill runs alongside it: neither waits for the other", () => {
    // The drill held in its first page for 12 s (a newer snapshot whose front sleeps first), so that
    // the replication surely runs inside it.
    const fake = "29991231T000000Z";
    const replicate = () => {
      const t0 = Date.now();
      sshOk(env, backup, `systemctl start dolibarr-replicate@${INSTANCE}.service`);
      return Date.now() - t0;
    };
    try {
      const alone = replicate();
      // (a copy changed by hand is not what the replication received: without its manifest the drill
      // does not compare the files, and says so)
      sshOk(env, backup, `latest=$(ls -d ${mirror}/.snapshots/????????T??????Z | sort | tail -n 1) && cp -a "$latest" ${mirror}/.snapshots/${fake} && sed -i '1a sleep(12);' ${mirror}/.snapshots/${fake}/code/index.php && rm -f ${mirror}/.snapshots/${fake}/.sha256`);
      sshOk(env, backup, `systemctl start --no-block dolibarr-drill@${INSTANCE}.service`);
      const until = Date.now() + 60_000;
      while (ssh(env, backup, "systemctl list-units --plain --no-legend 'dbk-drill-*-web.service' | grep -q .").status !== 0 && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      const during = replicate();
      assert.ok(drillRuns(backup), "the drill still runs when the replication has ended");
      waitDrill(backup);
      const s = status(backup);
      assert.equal(s.result, "ok", JSON.stringify(s));
      assert.equal(s.source, `snapshot ${fake}`);
      assert.ok((s.firstPageMs as number) >= 12_000, `the first page took ${s.firstPageMs} ms: its time is measured`);
      assert.match(String(s.checks), /documents: no received-hash manifest yet \(written by the next replication\)/);
      assert.equal(JSON.parse(sshOk(env, backup, `cat /var/lib/dolibarr-backup/status/${INSTANCE}.replicate.json`)).result, "ok");
      console.log(`replication alone ${alone} ms, during a drill ${during} ms`);
      // No lock is shared: the replication during the drill takes about as long as alone (CPU and
      // disk shared, at the drill's lower weights), never the rest of the drill.
      assert.ok(during < alone + 8_000, `the replication during the drill took ${during} ms, ${alone} ms alone`);
      nothingLeft(backup);
    } finally {
      waitDrill(backup);
      sshOk(env, backup, `rm -rf -- ${mirror}/.snapshots/${fake}`);
    }
  });

  test("a conf.php that PHP cannot parse: HTTP 500, PHP's error named, nothing left", () => {
    // A newer snapshot of the copy with a broken conf.php (the mirror and the older snapshots untouched).
    const fake = "29991231T000000Z";
    try {
      // (the seeded conf.php has no closing tag: what follows is PHP)
      // (without the copy's manifest: conf.php is the broken one the test wants served, not one the drill finds changed)
      sshOk(env, backup, `latest=$(ls -d ${mirror}/.snapshots/????????T??????Z | sort | tail -n 1) && cp -a "$latest" ${mirror}/.snapshots/${fake} && printf 'this is not PHP(;\\n' >> ${mirror}/.snapshots/${fake}/code/conf/conf.php && rm -f ${mirror}/.snapshots/${fake}/.sha256`);
      const r = drill(backup);
      assert.notEqual(r.code, 0, JSON.stringify(r.status));
      assert.equal(r.status.result, "failed");
      assert.equal(r.status.source, `snapshot ${fake}`);
      assert.match(String(r.status.message), /^the front page answered HTTP 500; PHP logged: .*PHP Parse error/, String(r.status.message));
      nothingLeft(backup);
    } finally {
      sshOk(env, backup, `rm -rf -- ${mirror}/.snapshots/${fake}`);
    }
  });

  test("a conf.php whose password, or user, is not the hosting server's account: the restore names it, nothing served, nothing left", () => {
    // The account is recreated from the dump's manifest (the hosting server's hash), not from conf.php.
    const fake = "29991231T000000Z";
    const cases: [string, RegExp][] = [
      [`s/^\\$dolibarr_main_db_pass\\s*=.*$/\\$dolibarr_main_db_pass='not-the-password';/m`, /database account: DIFFERS \(\S+ cannot log in with conf\/conf\.php's password \(an existing account keeps its own\); the one made here has the hosting server's password hash/],
      [`s/^\\$dolibarr_main_db_user\\s*=.*$/\\$dolibarr_main_db_user='nobody_here';/m`, /database account: DIFFERS \(conf\/conf\.php names nobody_here, but the dump's manifest records the account of \S+ on the hosting server/],
    ];
    for (const [edit, expected] of cases) {
      try {
        sshOk(env, backup, `latest=$(ls -d ${mirror}/.snapshots/????????T??????Z | sort | tail -n 1) && cp -a "$latest" ${mirror}/.snapshots/${fake} && perl -0777 -i -pe '${edit.replace(/'/g, "'\\''")}' ${mirror}/.snapshots/${fake}/code/conf/conf.php`);
        const r = drill(backup);
        assert.notEqual(r.code, 0, `${JSON.stringify(r.status)}\n${sshOk(env, backup, `grep -h '^account' ${mirror}/.snapshots/${fake}/dumps/*.manifest; grep -n 'db_pass\\|db_user' ${mirror}/.snapshots/${fake}/code/conf/conf.php; ls ${mirror}/.snapshots/${fake}/dumps`)}`);
        assert.equal(r.status.source, `snapshot ${fake}`);
        assert.match(String(r.status.message), /^the restore failed \(exit 1\): /, String(r.status.message));
        assert.match(String(r.status.message), expected, String(r.status.message));
        assert.equal(r.status.httpStatus, undefined, "nothing was served");
        nothingLeft(backup);
      } finally {
        sshOk(env, backup, `rm -rf -- ${mirror}/.snapshots/${fake}`);
      }
    }
  });

  test("the copy's newest dump has no binlog position (taken with binlogs off): the drill replays from the newest that has one, and checks and reports that one", () => {
    const fake = "29991231T000000Z";
    try {
      // a newer dump without .pos beside the real ones (not in the received-hash manifest: never received)
      const loaded = sshOk(
        env,
        backup,
        `latest=$(ls -d ${mirror}/.snapshots/????????T??????Z | sort | tail -n 1) && cp -a "$latest" ${mirror}/.snapshots/${fake} && cd ${mirror}/.snapshots/${fake}/dumps && d=$(ls *.sql.zst | sort | tail -n 1) && test -f "\${d%.sql.*}.pos" && cp -a "$d" "\${d%-*}-29991230T000000Z.sql.zst" && echo "$d"`,
      ).trim();
      assert.match(loaded, /^\S+-\d{8}T\d{6}Z\.sql\.zst$/);
      const r = drill(backup);
      assert.equal(r.code, 0, JSON.stringify(r.status));
      assert.equal(r.status.source, `snapshot ${fake}`);
      assert.equal(r.status.dump, loaded, "the dump the restore loaded, not the newest name");
      assert.match(String(r.status.checks), /point in time: the newest recoverable second, applied/);
      assert.ok(String(r.status.checks).includes(`dump: ${loaded} `), String(r.status.checks));
      nothingLeft(backup);
    } finally {
      sshOk(env, backup, `rm -rf -- ${mirror}/.snapshots/${fake}`);
    }
  });

  test("encryptionAtRest required on a lab host (its disk is a plain overlay): the replication and the drill refuse before writing, the mirror untouched", () => {
    const envFile = `/etc/dolibarr-backup/instances/${INSTANCE}.env`;
    const before = sshOk(env, backup, `cat ${mirror}/.last-good 2>/dev/null; ls ${mirror}/.snapshots | sort | tail -n 1`);
    try {
      sshOk(env, backup, `cp -a ${envFile} ${envFile}.keep && sed -i "s/^AT_REST=.*/AT_REST='required'/" ${envFile} && grep -q "^AT_REST='required'" ${envFile}`);
      const r = ssh(env, backup, `/usr/local/sbin/dolibarr-replicate ${INSTANCE}`);
      assert.notEqual(r.status, 0, r.stderr);
      assert.match(r.stderr, /the mirror root not on an encrypted volume: \S+ \(plain: overlay [^)]*\); the fleet requires it \(encryptionAtRest: required\): nothing written/, r.stderr);
      assert.equal(sshOk(env, backup, `cat ${mirror}/.last-good 2>/dev/null; ls ${mirror}/.snapshots | sort | tail -n 1`), before, "no snapshot made, the last good one kept");
      const d = ssh(env, backup, `/usr/local/sbin/dolibarr-drill ${INSTANCE}`);
      assert.notEqual(d.status, 0);
      assert.match(String(status(backup).message), /the drill's work root not on an encrypted volume: .*encryptionAtRest: required/, String(status(backup).message));
      nothingLeft(backup);
    } finally {
      ssh(env, backup, `mv -f ${envFile}.keep ${envFile}`);
    }
    // advisory (as deployed): a warning in the replication's log, the run goes on
    const r = ssh(env, backup, `/usr/local/sbin/dolibarr-replicate ${INSTANCE}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /WARNING: the mirror root not on an encrypted volume: .*\(encryptionAtRest: advisory\)/);
  });

  test("a drill still running at the instance's next dump is stopped there, says so, and leaves nothing", () => {
    // The next dump moved to 2 minutes from now (the instance config's DRILL_STOP_AT), a front that
    // takes 5 minutes to answer: the drill stops at the dump's time.
    const fake = "29991231T000000Z";
    const envFile = `/etc/dolibarr-backup/instances/${INSTANCE}.env`;
    try {
      sshOk(env, backup, `cp -a ${envFile} ${envFile}.keep && . ${envFile} && at=$(TZ="$DRILL_TIME_ZONE" date -d '+2 min' +%H:%M) && sed -i "s/^DRILL_STOP_AT=.*/DRILL_STOP_AT='$at'/" ${envFile} && grep -q "^DRILL_STOP_AT='$at'" ${envFile}`);
      sshOk(env, backup, `latest=$(ls -d ${mirror}/.snapshots/????????T??????Z | sort | tail -n 1) && cp -a "$latest" ${mirror}/.snapshots/${fake} && sed -i '1a sleep(300);' ${mirror}/.snapshots/${fake}/code/index.php && rm -f -- ${mirror}/.snapshots/${fake}/.sha256`);
      const r = drill(backup);
      assert.notEqual(r.code, 0, JSON.stringify(r.status));
      assert.match(String(r.status.message), /^the front page did not answer before the drill's deadline \(the instance's next dump at \d\d:\d\d \(.+\)\): stopped$/, String(r.status.message));
      const took = Number(r.status.durationSeconds);
      assert.ok(took >= 55 && took <= 130, `the drill ran ${took} s, its deadline was 1 to 2 minutes away`);
      assert.ok(Date.parse(String(r.status.finishedAt)) <= Date.parse(String(r.status.deadlineAt)) + 5_000, `finished ${r.status.finishedAt}, deadline ${r.status.deadlineAt}`);
      nothingLeft(backup);
    } finally {
      ssh(env, backup, `mv -f ${envFile}.keep ${envFile}`);
      sshOk(env, backup, `rm -rf -- ${mirror}/.snapshots/${fake}`);
    }
  });

  test("a PHP extension missing (mysqli): HTTP 500, the missing class named, nothing left", () => {
    try {
      sshOk(env, backup, "phpdismod -s fpm mysqli");
      const r = drill(backup);
      assert.notEqual(r.code, 0);
      assert.match(String(r.status.message), /front page answered HTTP 500; PHP logged: .*(mysqli|mysqli_report)/, String(r.status.message));
      nothingLeft(backup);
    } finally {
      sshOk(env, backup, "phpenmod -s fpm mysqli");
    }
  });

  test("a dump that does not load: the restore's error named, nothing left", () => {
    const fake = "29991231T000000Z";
    try {
      sshOk(env, backup, `latest=$(ls -d ${mirror}/.snapshots/????????T??????Z | sort | tail -n 1) && cp -a "$latest" ${mirror}/.snapshots/${fake} && d=$(ls ${mirror}/.snapshots/${fake}/dumps/*.sql.zst | sort | tail -n 1) && head -c 2000 "$d" > "$d.cut" && mv "$d.cut" "$d"`);
      const r = drill(backup);
      assert.notEqual(r.code, 0);
      assert.match(String(r.status.message), /^the restore failed \(exit \d+\): .+/, String(r.status.message));
      nothingLeft(backup);
    } finally {
      sshOk(env, backup, `rm -rf -- ${mirror}/.snapshots/${fake}`);
    }
  });

  test("a drill root too small for the copy: refused before anything is written, with the sizes", () => {
    const root = "/mnt/dbk-drill-tiny";
    try {
      sshOk(env, backup, `mkdir -p ${root} && mount -t tmpfs -o size=16m tmpfs ${root}`);
      const r = ssh(env, backup, `/usr/local/sbin/dolibarr-drill --work-root ${root} ${INSTANCE}`);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /not enough room in \/mnt\/dbk-drill-tiny for the drill: it needs about \d+ MiB .*, \d+ MiB free/);
      assert.equal(status(backup).result, "failed");
      assert.equal(sshOk(env, backup, `ls -A ${root}`).trim(), "", "nothing written");
      nothingLeft(backup, root);
    } finally {
      ssh(env, backup, `umount ${root}; rmdir ${root}`);
    }
  });

  test("a document changed on a backup host after it was received (in place, same size, mtime kept): the drill fails naming it and both hashes, nothing left; put back, it passes", () => {
    const topology = labTopology(env, [bistro]);
    const instance = topology.clients.flatMap((c) => c.instances).find((i) => i.name === INSTANCE)!;
    const hosting = labHost(env, instance.hostingServer);
    const name = "dbk-e2e-received-since-the-last-drill.pdf";
    const src = `${instance.documentsDir}/${name}`;
    const copy = `${mirror}/documents/${name}`;
    const ref = `/root/dbk-e2e-${name}.times`;
    // one byte flipped in place (same inode: the snapshots sharing it see it too, same size); twice puts it back
    const flip = `perl -e 'open(my $f, "+<", $ARGV[0]) or die "$ARGV[0]: $!"; seek($f, 100, 0); read($f, my $c, 1) == 1 or die "short"; seek($f, 100, 0); print $f chr(ord($c) ^ 0xff); close($f) or die' ${copy} && touch -r ${ref} ${copy}`;
    let flipped = false;
    const replicate = () => {
      waitWhileActivating(env, backup, `dolibarr-replicate@${INSTANCE}.service`, 300_000, `a replication of ${INSTANCE} on ${backup.name} still runs after 300 s`);
      sshOk(env, backup, `systemctl start dolibarr-replicate@${INSTANCE}.service`);
    };
    try {
      try {
        // a document the hosting server got after the last drill: the next drill hashes it for sure
        sshOk(env, hosting, `head -c 8192 /dev/urandom > ${src} && chown --reference=${instance.documentsDir} ${src} && chmod 0644 ${src}`);
        replicate();
        const received = sshOk(env, backup, `sha256sum ${copy}`).split(" ")[0]!;
        assert.equal(received, sshOk(env, hosting, `sha256sum ${src}`).split(" ")[0], "replicated as the hosting server has it");
        const newest = sshOk(env, backup, `ls -d ${mirror}/.snapshots/????????T??????Z | sort | tail -n 1`).trim();
        assert.equal(sshOk(env, backup, `stat -c %i ${copy} ${newest}/documents/${name} | sort -u | wc -l`).trim(), "1", "the newest snapshot shares the mirror's inode");
        // the change on the backup host: rsync would not see it (size and mtime as received)
        sshOk(env, backup, `touch -r ${copy} ${ref} && ${flip}`);
        flipped = true;
        const altered = sshOk(env, backup, `sha256sum ${copy}`).split(" ")[0]!;
        assert.notEqual(altered, received);
        const r = drill(backup);
        assert.notEqual(r.code, 0, JSON.stringify(r.status));
        assert.equal(r.status.result, "failed");
        // (that snapshot, or a newer one a timer's replication made meanwhile: it links the same inode)
        assert.ok(/^snapshot \d{8}T\d{6}Z$/.test(String(r.status.source)) && String(r.status.source) >= `snapshot ${newest.split("/").pop()}`, String(r.status.source));
        assert.match(
          String(r.status.message),
          new RegExp(`^documents: "documents/${name.replace(/\./g, "\\.")}": SHA-256 expected ${received} \\(as received\\), found ${altered} in the restored copy: the copy on this backup server \\(snapshot \\d{8}T\\d{6}Z\\) differs from what the replication received`),
          String(r.status.message),
        );
        assert.ok((r.status.changedSinceDrillFiles as number) >= 1, "the file was received since the last drill: hashed whatever the sample");
        assert.match(String(r.status.checks), /documents and code identical to the copy/, "the restore itself found the copy identical to the snapshot: only the manifest tells");
        nothingLeft(backup);
      } finally {
        // put back: the bytes as received, in place (the mirror and the snapshots sharing the inode)
        waitDrill(backup);
        if (flipped) sshOk(env, backup, flip);
        ssh(env, backup, `rm -f ${ref}`);
      }
      // the same drill passes; the file is still one received since the last successful drill (the failed one kept none)
      const again = drill(backup);
      assert.equal(again.code, 0, JSON.stringify(again.status));
      assert.match(String(again.status.checks), /documents: \d+ of \d+ files \(sample \d+ \+ [1-9]\d* changed since the last drill\) equal their SHA-256 as received/);
      nothingLeft(backup);
    } finally {
      // the test's document gone from the hosting server, then from this mirror (the other host's next replication removes it there)
      ssh(env, hosting, `rm -f ${src}`);
    }
    replicate();
    assert.equal(sshOk(env, backup, `test -e ${copy} && echo left || true`).trim(), "");
  });

  test("a drill after the broken ones succeeds again: the last drill on each host is green (the status of later tests reads it)", () => {
    const drills = runDrills(env, labTopology(env, [bistro]));
    for (const d of drills) assert.equal(d.status?.result, "ok", `${d.backupServer}: ${JSON.stringify(d.status)}`);
    nothingLeft(backup);
  });

  test("no lab host is left with a failed unit", () => {
    assert.equal(failedUnitsReport(env), undefined);
  });
});

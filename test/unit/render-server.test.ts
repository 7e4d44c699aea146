// Renderers of the server jobs' files and commands (pure functions): shapes, validation,
// and the few properties the rest of the project relies on.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
  calendarExpressions,
  checkTimes,
  installFilesScript,
  maxDumpAgeHours,
  onCalendar,
  readServerScript,
  renderBackupInstance,
  renderEnvFile,
  renderHostingAccess,
  renderHostingInstance,
  renderServerBase,
  backupKeyCommand,
  removeFilesScript,
  knownHostsLine,
  PATHS,
} from "../../infra/render";
import { accessProblems } from "../../infra/rules/access";
import { SAMPLE_PUBLIC_KEY, sampleFleet, sampleInstance, samplePlan, sampleTopology } from "../support/jobs-topology";

const fleet = sampleFleet();
const server = (name: string) => fleet.servers.find((s) => s.name === name)!;

describe("onCalendar", () => {
  it("groups times that share their minute", () => {
    assert.deepEqual(calendarExpressions([0, 720]), ["*-*-* 00,12:00:00"]);
    assert.deepEqual(calendarExpressions([90, 450, 810, 1170]), ["*-*-* 01,07,13,19:30:00"]);
    assert.deepEqual(calendarExpressions([390, 0]), ["*-*-* 00:00:00", "*-*-* 06:30:00"]);
    assert.deepEqual(calendarExpressions([1439]), ["*-*-* 23:59:00"]);
  });

  it("renders drop-in lines that reset the list first", () => {
    assert.equal(onCalendar([195, 555, 915, 1275]), "OnCalendar=\nOnCalendar=*-*-* 03,09,15,21:15:00\n");
    assert.equal(onCalendar([0, 45]), "OnCalendar=\nOnCalendar=*-*-* 00:00:00\nOnCalendar=*-*-* 00:45:00\n");
    assert.equal(onCalendar([0, 720], "Europe/Paris"), "OnCalendar=\nOnCalendar=*-*-* 00,12:00:00 Europe/Paris\n");
    assert.deepEqual(calendarExpressions([390, 0], "UTC"), ["*-*-* 00:00:00 UTC", "*-*-* 06:30:00 UTC"]);
    assert.throws(() => onCalendar([0], "Europe/Paris; rm -rf /"), /not an IANA zone/);
  });

  it("refuses what is not a list of distinct times of day", () => {
    assert.throws(() => onCalendar([]), /at least one/);
    assert.throws(() => onCalendar([1440]), /not a time of day/);
    assert.throws(() => onCalendar([-1]), /not a time of day/);
    assert.throws(() => onCalendar([12.5]), /not a time of day/);
    assert.throws(() => onCalendar([60, 60]), /listed twice/);
    assert.deepEqual(checkTimes([720, 0]), [0, 720]);
  });
});

describe("renderServerBase", () => {
  it("pushes the repo's scripts as they are, the template units, and nothing instance-specific to a hosting server", () => {
    const b = renderServerBase(fleet, server("web1"));
    const byPath = new Map(b.files.map((f) => [f.path, f]));
    assert.equal(byPath.get("/usr/local/sbin/dolibarr-dump")!.content, readServerScript("dolibarr-dump"));
    assert.equal(byPath.get("/usr/local/sbin/dolibarr-dump")!.mode, "0755");
    assert.equal(byPath.get("/usr/local/sbin/dolibarr-export")!.content, readServerScript("dolibarr-export"));
    assert.equal(byPath.get("/usr/local/lib/dolibarr-backup/common.sh")!.mode, "0644");
    for (const u of ["dolibarr-dump@.service", "dolibarr-dump@.timer", "dolibarr-export@.service"]) {
      assert.ok(byPath.has(`/etc/systemd/system/${u}`), u);
    }
    assert.ok(!byPath.has("/usr/local/sbin/dolibarr-replicate"));
    assert.match(byPath.get("/etc/systemd/system/dolibarr-dump@.timer")!.content, /Persistent=true/);
    assert.doesNotMatch(b.files.map((f) => f.content).join("\n"), /acme/);
    assert.match(b.create, /systemctl daemon-reload/);
    assert.match(b.create, /apt-get install .*rsync python3 zstd acl/);
  });

  it("gives a backup server its scripts, units, a 0700 mirror root and pinned known_hosts of every hosting server", () => {
    const b = renderServerBase(fleet, server("bk-fra"));
    const kh = b.files.find((f) => f.path === "/etc/dolibarr-backup/ssh/known_hosts")!;
    assert.match(kh.content, /^203\.0\.113\.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfWeb1x+$/m);
    assert.match(kh.content, /^\[203\.0\.113\.11\]:2222 ssh-ed25519 /m);
    assert.ok(b.files.some((f) => f.path === "/usr/local/sbin/dolibarr-replicate"));
    assert.ok(b.files.some((f) => f.path === "/usr/local/sbin/dolibarr-restore"));
    assert.ok(b.files.some((f) => f.path === "/etc/systemd/system/dolibarr-replicate@.timer"));
    assert.match(b.create, /install -d -m 0700 \/srv\/dolibarr-mirrors/);
    assert.match(b.create, /ssh-keygen -q -t ed25519/);
    assert.doesNotMatch(b.delete, /dolibarr-mirrors/, "a destroy never removes mirrors");
    assert.match(backupKeyCommand(server("bk-fra")), /cat \/etc\/dolibarr-backup\/ssh\/id_ed25519\.pub/);
    assert.throws(() => backupKeyCommand(server("web1")), /not a backup server/);
  });

  it("a destroy of the base first stops and disables every instance of each template it removes, timers first", () => {
    for (const name of ["web1", "bk-fra"]) {
      const b = renderServerBase(fleet, server(name));
      const templates = b.files.map((f) => f.path).filter((p) => /^\/etc\/systemd\/system\/[a-z0-9-]+@\.(timer|service)$/.test(p));
      assert.ok(templates.length >= 3, `${name}: templates ${templates.join(", ")}`);
      const stop = b.delete.split("\n").find((l) => l.includes("systemctl list-units --all"));
      assert.ok(stop, `${name}: no line stops the templates' instances:\n${b.delete}`);
      for (const t of templates) {
        const pattern = `'${t.slice("/etc/systemd/system/".length).replace("@.", "@*.")}'`;
        assert.ok(stop.includes(pattern), `${name}: ${pattern} not stopped on delete: ${stop}`);
        assert.ok(b.delete.indexOf(stop) < b.delete.indexOf(`rm -f -- ${t}`), `${name}: ${t} removed before its instances stop`);
      }
      const order = [...stop.matchAll(/'([a-z0-9-]+)@\*\.(timer|service)'/g)].map((m) => m[2]);
      assert.deepEqual(order, [...order].sort((a, b) => Number(b === "timer") - Number(a === "timer")), `${name}: timers stop before services`);
      assert.match(stop, /systemctl disable --no-reload --now "\$u"/);
    }
  });

  it("knownHostsLine brackets non-standard ports and drops the key comment", () => {
    assert.equal(knownHostsLine(server("web2")), "[203.0.113.11]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfWeb2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    assert.equal(knownHostsLine(server("web1")), "203.0.113.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfWeb1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    // a server without a valid pinned key (a topology built by hand) is refused, never written unpinned
    for (const hostKey of [undefined as unknown as string, "", `203.0.113.11 ${server("web2").ssh.hostKey}`]) {
      assert.throws(() => knownHostsLine({ ...server("web2"), ssh: { ...server("web2").ssh, hostKey } }), /server web2 host key \(ssh\.hostKey\): .*ssh-keyscan -t ed25519 -p 2222 203\.0\.113\.11/, String(hostKey));
    }
  });
});

describe("renderHostingAccess", () => {
  it("writes one restricted, read-only rrsync key per backup server, which the access rule accepts", () => {
    const a = renderHostingAccess(fleet, server("web1"), server("bk-fra"), `${SAMPLE_PUBLIC_KEY}\n`);
    assert.equal(a.user, "dbk-bk-fra");
    assert.equal(a.exportDir, "/var/lib/dolibarr-backup/export/bk-fra");
    assert.equal(
      a.authorizedKeysLine,
      `restrict,from="198.51.100.20",command="/usr/bin/rrsync -ro /var/lib/dolibarr-backup/export/bk-fra" ${SAMPLE_PUBLIC_KEY}`,
    );
    assert.deepEqual(accessProblems(a.keyOptions), []);
    assert.equal(a.files.length, 1);
    assert.equal(a.files[0]!.path, "/var/lib/dolibarr-backup/users/dbk-bk-fra/.ssh/authorized_keys");
    assert.ok(a.files[0]!.content.endsWith(`${a.authorizedKeysLine}\n`));
    assert.match(a.create, /useradd --system --gid dbk-bk-fra --home-dir \/var\/lib\/dolibarr-backup\/users\/dbk-bk-fra/);
    assert.match(a.create, /usermod -p '\*' dbk-bk-fra/);
    assert.match(a.create, /install -d -m 0750 -o root -g dbk-bk-fra \/var\/lib\/dolibarr-backup\/export\/bk-fra/);
    assert.match(a.delete, /rm -f -- \/var\/lib\/dolibarr-backup\/users\/dbk-bk-fra\/\.ssh\/authorized_keys/);
    assert.doesNotMatch(a.create + a.delete, /acme/, "the fleet stack's access knows no instance");
  });

  it("refuses swapped roles, several key lines and odd addresses", () => {
    assert.throws(() => renderHostingAccess(fleet, server("bk-fra"), server("web1"), SAMPLE_PUBLIC_KEY), /not a hosting server/);
    assert.throws(() => renderHostingAccess(fleet, server("web1"), server("bk-fra"), `${SAMPLE_PUBLIC_KEY}\n${SAMPLE_PUBLIC_KEY}`), /one OpenSSH public key line/);
    assert.throws(() => renderHostingAccess(fleet, server("web1"), server("bk-fra"), "not a key"), /public key/);
    const odd = { ...server("bk-fra"), ssh: { ...server("bk-fra").ssh, host: '1.2.3.4",command="sh' } };
    const f2 = { ...fleet, servers: fleet.servers.map((s) => (s.name === "bk-fra" ? odd : s)) };
    assert.throws(() => renderHostingAccess(f2, server("web1"), odd, SAMPLE_PUBLIC_KEY), /sourceAddresses|not an IP address/);
  });
});

describe("renderHostingInstance", () => {
  const topo = sampleTopology();
  const inst = topo.clients[0]!.instances[0]!;

  it("renders the instance config, the dump timer drop-in and idempotent apply/remove commands", () => {
    const b = renderHostingInstance(topo, inst);
    const env = b.files.find((f) => f.path === "/etc/dolibarr-backup/instances/acme-erp.env")!;
    assert.match(env.content, /^INSTANCE='acme-erp'$/m);
    assert.match(env.content, /^DB_NAME='dolibarr_acme'$/m);
    assert.match(env.content, /^DUMP_DIR='\/var\/backups\/dolibarr\/acme-erp'$/m);
    assert.match(env.content, /^RETENTION_DAYS='7'$/m);
    assert.match(env.content, /^DUMPS_PER_DAY='2'$/m);
    assert.match(env.content, /^BACKUP_SERVERS='bk-fra bk-log'$/m);
    const dropIn = b.files.find((f) => f.path === "/etc/systemd/system/dolibarr-dump@acme-erp.timer.d/schedule.conf")!;
    assert.match(dropIn.content, /\[Timer\]\nOnCalendar=\nOnCalendar=\*-\*-\* 00,12:00:00 Europe\/Paris\n$/);
    assert.match(b.create, /systemctl enable --no-reload dolibarr-export@acme-erp\.service dolibarr-dump@acme-erp\.timer/);
    assert.match(b.create, /systemctl reload-or-restart dolibarr-export@acme-erp\.service/);
    assert.equal(b.create.match(/daemon-reload|systemctl enable (?!--no-reload)/g)?.length, 1, "one reload of systemd per instance bundle (enable reloads unless --no-reload)");
    assert.match(b.delete, /systemctl disable --now dolibarr-dump@acme-erp\.timer/);
    assert.match(b.delete, /\/usr\/local\/sbin\/dolibarr-export remove acme-erp/);
    assert.doesNotMatch(b.delete, /rm -rf|\/var\/backups/, "destroy keeps the dumps");
    // remove runs before the config it needs goes
    assert.ok(b.delete.indexOf("dolibarr-export remove") < b.delete.indexOf("rm -f -- /etc/dolibarr-backup/instances/acme-erp.env"));
  });

  it("refuses names and paths that cannot go into units and shell lines", () => {
    assert.throws(() => renderHostingInstance(topo, { ...inst, name: "../etc" }), /instance name/);
    assert.throws(() => renderHostingInstance(topo, { ...inst, codeRoot: "var/www" }), /codeRoot "var\/www" cannot be written into a shell command, a systemd unit or an env file: expected an absolute Unix path/);
    assert.throws(() => renderHostingInstance(topo, { ...inst, documentsDir: "/srv/my docs" }), /documentsDir "\/srv\/my docs" cannot be written.*absolute Unix path/);
    assert.throws(() => renderHostingInstance(topo, { ...inst, database: { name: "x`; DROP" } }), /database name "x`; DROP" cannot be written into SQL/);
    assert.throws(() => renderHostingInstance(topo, { ...inst, hostingServer: "bk-fra" }), /is a backup server/);
    assert.throws(() => renderHostingInstance(topo, { ...inst, backupServers: ["nowhere"] }), /not in fleet/);
  });
});

describe("renderBackupInstance", () => {
  const topo = sampleTopology();
  const inst = topo.clients[0]!.instances[1]!; // acme-test on web2:2222

  it("renders the replication config from the plan and the hosting server's endpoint", () => {
    const b = renderBackupInstance(topo, inst, samplePlan("acme-test", "bk-log"));
    const env = b.files.find((f) => f.path === "/etc/dolibarr-backup/instances/acme-test.env")!.content;
    assert.match(env, /^SOURCE_HOST='203\.0\.113\.11'$/m);
    assert.match(env, /^SOURCE_PORT='2222'$/m);
    assert.match(env, /^SOURCE_USER='dbk-bk-log'$/m);
    assert.match(env, /^MIRROR_ROOT='\/srv\/dolibarr-mirrors'$/m);
    assert.match(env, /^SNAPSHOT_KEEP_MIN='3'$/m);
    assert.match(env, /^MAX_DELETE_PERCENT='20'$/m);
    assert.match(env, /^MAX_DUMP_AGE_HOURS='14'$/m);
    const dropIn = b.files.find((f) => f.path.endsWith("dolibarr-replicate@acme-test.timer.d/schedule.conf"))!;
    assert.match(dropIn.content, /OnCalendar=\*-\*-\* 03,09,15,21:15:00/);
    assert.match(b.create, /systemctl restart dolibarr-replicate@acme-test\.timer/);
    assert.equal(b.create.match(/daemon-reload|systemctl enable (?!--no-reload)/g)?.length, 1, "one reload of systemd per replication bundle");
    assert.doesNotMatch(b.delete, /(rm|rmdir)\b[^\n]*srv\/dolibarr-mirrors/, "destroy keeps the mirror and the binlogs");
  });

  it("refuses a plan of another instance or of a server that does not back it up", () => {
    assert.throws(() => renderBackupInstance(topo, inst, samplePlan("acme-erp", "bk-log")), /given for instance acme-test/);
    assert.throws(() => renderBackupInstance(topo, { ...inst, backupServers: ["bk-fra"] }, samplePlan("acme-test", "bk-log")), /not a backup server of instance/);
    assert.throws(() => renderBackupInstance(topo, inst, { ...samplePlan("acme-test", "bk-log"), times: [2000] }), /not a time of day/);
  });

  it("maxDumpAgeHours is the longest gap between dumps plus 2h", () => {
    assert.equal(maxDumpAgeHours([0, 720]), 14);
    assert.equal(maxDumpAgeHours([0]), 26);
    assert.equal(maxDumpAgeHours([60, 120]), 25);
  });
});

describe("env files and file installation", () => {
  it("renders env files bash can source back, quotes included", () => {
    const text = renderEnvFile("header", { A: "it's \"quoted\" $HOME `x`", B: 3 });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "render-env-")), "x.env");
    fs.writeFileSync(file, text);
    const r = spawnSync("bash", ["-c", 'source "$1"; printf "%s|%s" "$A" "$B"', "x", file], { encoding: "utf8" });
    fs.rmSync(path.dirname(file), { recursive: true });
    assert.equal(r.stdout, "it's \"quoted\" $HOME `x`|3");
    assert.throws(() => renderEnvFile("h", { A: "a\nb" }), /newline/);
    assert.throws(() => renderEnvFile("h", { "bad-key": "x" }), /bad env key/);
  });

  it("installFilesScript writes files with their modes, removeFilesScript removes them", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "render-install-"));
    try {
      const files = renderHostingInstance(sampleTopology(), sampleInstance()).files;
      const owner = process.getuid?.() === 0 ? undefined : String(os.userInfo().username);
      const mine = files.map((f) => ({ ...f, owner: owner ?? "root", group: owner ? String(os.userInfo().gid) : "root" }));
      const r = spawnSync("sh", ["-c", installFilesScript(mine, root)], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      for (const f of files) {
        assert.equal(fs.readFileSync(root + f.path, "utf8"), f.content);
        assert.equal((fs.statSync(root + f.path).mode & 0o777).toString(8), f.mode.replace(/^0/, ""));
      }
      const rm = spawnSync("sh", ["-c", removeFilesScript(files.map((f) => f.path), root)]);
      assert.equal(rm.status, 0);
      for (const f of files) assert.equal(fs.existsSync(root + f.path), false);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("keeps every path under the documented roots", () => {
    const topo = sampleTopology();
    const all = [
      ...renderServerBase(topo.fleet, server("web1")).files,
      ...renderServerBase(topo.fleet, server("bk-fra")).files,
      ...renderHostingAccess(topo.fleet, server("web1"), server("bk-fra"), SAMPLE_PUBLIC_KEY).files,
      ...renderHostingInstance(topo, sampleInstance()).files,
      ...renderBackupInstance(topo, sampleInstance(), samplePlan()).files,
    ];
    const roots = [PATHS.sbin, PATHS.lib, PATHS.confDir, PATHS.unitDir, PATHS.usersHome];
    for (const f of all) assert.ok(roots.some((r) => f.path.startsWith(`${r}/`)), f.path);
  });
});

// The pack's policies on what is really pushed (infra/rules/pushed.ts), run like the analyzer runs
// them on stacks whose remote.Command resources carry the renderers' own push frames: compliant
// stacks, then every way of tampering with a pushed file or with the frame itself.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { PolicyResource } from "@pulumi/policy";
import type { InstanceProps } from "../../infra/components/contract";
import { STOCK_TYPES } from "../../infra/components/contract";
import { DEFAULT_TIME_ZONE, MAX_MINUTE_OFFSET } from "../../infra/model/defaults";
import { pointNorthOf } from "../../infra/model/geo";
import { planInstance } from "../../infra/model/schedule";
import { calendarExpressions } from "../../infra/render/calendar";
import { hostFromRemotePath } from "../../infra/model/address";
import { framePush, pushApplyCall, PUSH_FORMAT } from "../../infra/render/push";
import {
  BACKUP_SBG,
  BACKUP_TXL,
  customSite,
  facts,
  HOSTING,
  instanceProps,
  resource,
  runAll,
  runPolicy,
  UNKNOWN,
  type Reported,
} from "../support/policy-resources";
import {
  accessPushes,
  basePushes,
  commandResource,
  editFile,
  instancePushes,
  passwordCommand,
  pushedClientStack,
  pushedFleetStack,
  topologyOf,
  type Push,
} from "../support/push-resources";

const KEYS = "pushed-authorized-keys";
const TIMERS = "pushed-timers";
const SOURCES = "pushed-replication-sources";
const PUSHED = [KEYS, TIMERS, SOURCES];
const FLEET = [HOSTING, BACKUP_SBG, BACKUP_TXL];
const OFFSET = 7;

function one(vs: Reported[], ...fragments: string[]): Reported {
  assert.equal(vs.length, 1, `expected one violation, got:\n${vs.map((v) => v.message).join("\n---\n")}`);
  for (const f of fragments) assert.ok(vs[0]!.message.includes(f), `message lacks "${f}":\n${vs[0]!.message}`);
  return vs[0]!;
}

async function violations(policy: string, resources: PolicyResource[]): Promise<Reported[]> {
  return (await runPolicy(policy, resources)).violations;
}

const cmdUrn = (stack: string, name: string) => `urn:pulumi:${stack}::dolibarr-backup::${STOCK_TYPES.remoteCommand}::${name}`;

// ---- compliant stacks ----

describe("compliant pushes pass every policy", () => {
  test("a client stack with its pushes, at every client minute offset", async () => {
    for (let off = 0; off <= MAX_MINUTE_OFFSET; off++) {
      const props = [instanceProps({ minuteOffset: off }), instanceProps({ name: "acme-shop", minuteOffset: off })];
      assert.deepEqual([...(await runAll(pushedClientStack(off, props))).keys()], [], `offset ${off}`);
    }
  });

  test("generated schedules: 1..12 dumps and 1..24 replications a day, 2 or 3 backup servers", async () => {
    const waw = facts("bk-ovh-waw-1", "backup", "ovh:waw");
    let n = 0;
    for (const dumps of [[0, 720], [90], [0, 360, 720, 1080], [30, 150, 270, 390, 510, 630, 750, 870, 990, 1110, 1230, 1350]]) {
      for (const replicationsPerDay of [1, 3, 4, 6, 24]) {
        for (const backups of [[BACKUP_SBG, BACKUP_TXL], [BACKUP_TXL, waw, BACKUP_SBG]]) {
          const off = n++ % (MAX_MINUTE_OFFSET + 1);
          const props = instanceProps({ backups, minuteOffset: off, schedule: { dumpTimes: dumps, replicationsPerDay } });
          for (const p of [TIMERS, SOURCES]) assert.deepEqual(await violations(p, pushedClientStack(off, [props])), [], `${p} ${dumps} ${replicationsPerDay}/day off ${off}`);
        }
      }
    }
  });

  test("a fleet stack: base installations (template timers start nothing) and restricted access for every pair", async () => {
    const waw = facts("bk-ovh-waw-1", "backup", "ovh:waw");
    const fra = facts("web-ionos-fra-1", "hosting", "ionos:de/fra");
    const servers = [...FLEET, waw, fra];
    const stack = pushedFleetStack(servers);
    assert.equal(stack.filter((r) => r.name.includes("/access/")).length, 2 * 3);
    assert.deepEqual([...(await runAll(stack)).keys()], []);
  });

  test("the same times written differently are the same schedule (semantics, not text)", async () => {
    const props = instanceProps({ minuteOffset: 0 });
    const pushes = editFile(instancePushes(props, 0), /dolibarr-dump@acme-erp\.timer\.d\/schedule\.conf$/, () =>
      "[Timer]\nOnCalendar=\nOnCalendar=*-*-* 12:00 Europe/Paris\nOnCalendar=*-*-* 0:0:0 Europe/Paris\n",
    );
    assert.deepEqual(await violations(TIMERS, pushedClientStack(0, [props], pushes)), []);
  });
});

// ---- (a) authorized_keys ----

describe("pushed-authorized-keys: every pushed authorized_keys line is restricted", () => {
  const fleetWith = (edit: (line: string) => string, path = /authorized_keys$/) =>
    pushedFleetStack(FLEET, editFile([...basePushes(FLEET), ...accessPushes(FLEET)], path, (c) => c.split("\n").map((l) => (l.startsWith("restrict") ? edit(l) : l)).join("\n")));

  const tampered: Array<[string, (l: string) => string, string]> = [
    ["restrict removed", (l) => l.replace("restrict,", ""), "no `restrict` option"],
    ["restrict replaced by no-pty", (l) => l.replace("restrict,", "no-pty,"), "no `restrict` option"],
    ["from= removed", (l) => l.replace(/from="[^"]*",/, ""), "no `from="],
    ["from= empty", (l) => l.replace(/from="[^"]*"/, 'from=""'), "no `from="],
    ["command= removed", (l) => l.replace(/,command="[^"]*"/, ""), "no `command=\"rrsync -ro"],
    ["rrsync without -ro", (l) => l.replace(" -ro ", " "), "is not `rrsync -ro <dir>`"],
    ["rrsync -wo", (l) => l.replace(" -ro ", " -wo "), "is not `rrsync -ro <dir>`"],
    ["a shell instead of rrsync", (l) => l.replace(/command="[^"]*"/, 'command="/bin/sh"'), "is not `rrsync -ro <dir>`"],
    ["two commands", (l) => l.replace("restrict,", 'restrict,command="/bin/sh",'), "several `command=`"],
    ["pty re-enabled after restrict", (l) => l.replace("restrict,", "restrict,pty,"), "re-enables `pty`"],
    ["port forwarding re-enabled", (l) => l.replace("restrict,", "restrict,port-forwarding,"), "re-enables `port-forwarding`"],
    ["no options at all", (l) => l.slice(l.indexOf("ssh-ed25519")), "no `restrict` option"],
  ];
  for (const [what, edit, problem] of tampered) {
    test(`${what}: reported on the access command of each hosting server`, async () => {
      const vs = await violations(KEYS, fleetWith(edit));
      assert.equal(vs.length, 2, vs.map((v) => v.message).join("\n"));
      for (const v of vs) {
        assert.ok(v.message.includes(problem), v.message);
        assert.match(v.message, /authorized_keys line 2 lets key ssh-ed25519/);
      }
      assert.deepEqual(vs.map((v) => v.urn).sort(), [cmdUrn("fleet", `${HOSTING.name}/access/${BACKUP_SBG.name}/apply`), cmdUrn("fleet", `${HOSTING.name}/access/${BACKUP_TXL.name}/apply`)].sort());
    });
  }

  test("every subset of the three required options that misses one fails, only the full set passes", async () => {
    const opts = ['restrict', 'from="192.0.2.1"', 'command="/usr/bin/rrsync -ro /var/lib/dolibarr-backup/export/bk"'];
    for (let mask = 0; mask < 8; mask++) {
      const kept = opts.filter((_, i) => mask & (1 << i));
      const line = `${kept.join(",")}${kept.length ? " " : ""}ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA x`;
      const vs = await violations(KEYS, fleetWith(() => line));
      assert.equal(vs.length, mask === 7 ? 0 : 2, `${kept.join(",") || "(none)"}: ${vs.map((v) => v.message).join("\n")}`);
    }
  });

  test("order, quoted commas and comments do not matter; an added unrestricted line does", async () => {
    const ok = (l: string) => `# a comment\n\n${l.replace(/^restrict,(from="[^"]*"),(command="[^"]*")/, '$2,$1,restrict').replace(/from="([^"]*)"/, 'from="$1,192.0.2.99"')}`;
    assert.deepEqual(await violations(KEYS, fleetWith(ok)), []);
    const extra = (l: string) => `${l}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB intruder`;
    const vs = await violations(KEYS, fleetWith(extra));
    assert.equal(vs.length, 2);
    for (const v of vs) assert.match(v.message, /line 3 lets key ssh-ed25519 …BBBBBBBB \(intruder\) in unrestricted/);
  });

  test("a line sshd reads but the pack cannot parse is a violation", async () => {
    const vs = await violations(KEYS, fleetWith((l) => l.replace("restrict,", 'restrict,environment="A=\\"x,')));
    assert.equal(vs.length, 2);
    for (const v of vs) assert.match(v.message, /not an authorized_keys line/);
  });

  test("any authorized_keys a push writes is checked (root's too), not only the backup users'", async () => {
    const pushes = editFile(basePushes(FLEET), /dolibarr-backup\/common\.sh$/, (c) => c, HOSTING.name).map((p) =>
      p.server.name === HOSTING.name ? { ...p, files: [...p.files, { path: "/root/.ssh/authorized_keys", mode: "0600", content: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB me@laptop\n" }] } : p,
    );
    one(await violations(KEYS, pushedFleetStack(FLEET, pushes)), "/root/.ssh/authorized_keys line 1", "no `restrict` option");
  });

  test("unknown stdin (first preview: the backup server's key is read at `up`): the policy cannot run, it does not pass", async () => {
    const [p] = accessPushes(FLEET);
    await assert.rejects(runPolicy(KEYS, [commandResource(p!, "fleet", UNKNOWN.string)]), (e: Error) => e.constructor.name === "UnknownValueError");
  });

  test("garbage stdin on a push is a violation; a non-push command's stdin is not read", async () => {
    const [p] = accessPushes(FLEET);
    for (const garbage of ["", "hello\n", `${PUSH_FORMAT}\nfile 0644 root:root 999 /x\nshort\nend\n`, `${PUSH_FORMAT}\n`, framePush(p!.files).replace(/end\n$/, ""), `${framePush(p!.files)}trailing`]) {
      one(await violations(KEYS, [commandResource(p!, "fleet", garbage)]), "not a well-formed");
    }
    one(await violations(KEYS, [commandResource(p!, "fleet", 42)]), "has no stdin frame");
    // a frame on stdin of a command not named …/apply still is a push
    const renamed = { ...p!, name: "something-else", create: "cat >/dev/null", files: [{ path: "/root/.ssh/authorized_keys", mode: "0600", content: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB x\n" }] };
    one(await violations(KEYS, [commandResource(renamed, "fleet")]), "no `restrict` option");
    one(await violations(KEYS, [commandResource(renamed, "fleet", `${PUSH_FORMAT}\ngarbage`)]), "not a well-formed");
    // a command not named …/apply that sources the servers' installed apply program is a push, whatever its stdin
    const sourcing = { ...renamed, create: pushApplyCall({ create: "true" }, { name: "something-else" }) };
    one(await violations(KEYS, [commandResource(sourcing, "fleet", "hello\n")]), "not a well-formed");
    one(await violations(KEYS, [commandResource(sourcing, "fleet")]), "no `restrict` option");
    // the dump account's password on stdin: no frame expected, nothing reported, known or not
    const props = instanceProps();
    assert.deepEqual(await violations(KEYS, [passwordCommand(props, "client-acme"), passwordCommand(props, "client-acme", UNKNOWN.string)]), []);
  });

  test("a command with no script (what stays of a lost server's commands) writes nothing: no frame expected, whatever its name", async () => {
    const [p] = accessPushes(FLEET);
    const inert = resource(STOCK_TYPES.remoteCommand, p!.name, { connection: { host: "203.0.113.1", port: 22, user: "root" } }, "fleet");
    assert.deepEqual(await violations(KEYS, [inert]), []);
    // one script is enough to make it a push again, which needs its frame
    const withScript = resource(STOCK_TYPES.remoteCommand, p!.name, { connection: { host: "203.0.113.1" }, delete: "rm -f /x" }, "fleet");
    one(await violations(KEYS, [withScript]), "has no stdin frame");
  });

  test("a command that writes authorized_keys outside a frame is a violation", async () => {
    const r = resource(STOCK_TYPES.remoteCommand, "sneaky", { create: "echo 'ssh-ed25519 AAAA' >> /root/.ssh/authorized_keys", connection: { host: "203.0.113.1" } }, "fleet");
    one(await violations(KEYS, [r]), "outside a push frame");
  });
});

// ---- (b) timers ----

describe("pushed-timers: every pushed timer starts at the planned times", () => {
  const props = instanceProps({ minuteOffset: OFFSET });
  const pushes = () => instancePushes(props, OFFSET);
  const run = (ps: Push[], p: InstanceProps[] = [props]) => violations(TIMERS, pushedClientStack(OFFSET, p, ps));
  const DUMP = /dolibarr-dump@acme-erp\.timer\.d\/schedule\.conf$/;
  const REPL = /dolibarr-replicate@acme-erp\.timer\.d\/schedule\.conf$/;
  const calendar = (times: number[]) => `[Timer]\nOnCalendar=\n${calendarExpressions(times, DEFAULT_TIME_ZONE).map((e) => `OnCalendar=${e}\n`).join("")}`;

  test("a dump timer moved by any shift from -60 to +60 minutes is reported on the hosting push", async () => {
    for (const shift of [-60, -15, -1, 1, 2, 5, 14, 15, 30, 60]) {
      const ps = editFile(pushes(), DUMP, () => calendar([0, 720].map((t) => (t + shift + 1440) % 1440)));
      const v = one(await run(ps), "dolibarr-dump@acme-erp.timer on web-ovh-rbx-1 starts at", "dumpTimes are 00:00 12:00");
      assert.equal(v.urn, cmdUrn("client-acme", "acme-erp/web-ovh-rbx-1/apply"), `shift ${shift}`);
    }
  });

  test("a dump time missing or added is reported", async () => {
    one(await run(editFile(pushes(), DUMP, () => calendar([0]))), "starts at 00:00,", "00:00 12:00".slice(0, 5));
    one(await run(editFile(pushes(), DUMP, () => calendar([0, 360, 720]))), "starts at 00:00 06:00 12:00");
  });

  test("a replication timer moved beyond the client offsets 0..14, or to another server's plan, is reported", async () => {
    const plan = planInstance(topologyOf([props]).fleet, props.instance);
    const sbg = plan.find((p) => p.backupServer === BACKUP_SBG.name)!.times;
    const txl = plan.find((p) => p.backupServer === BACKUP_TXL.name)!.times;
    for (const shift of [-1, 15, 16, 60, 180]) {
      const ps = editFile(pushes(), REPL, () => calendar(sbg.map((t) => (t + shift + 1440) % 1440)), BACKUP_SBG.name);
      one(await run(ps), `on ${BACKUP_SBG.name} starts at`, "not the plan for bk-ovh-sbg-1", "offset of 0..14 min");
    }
    one(await run(editFile(pushes(), REPL, () => calendar(txl.map((t) => (t + OFFSET) % 1440)), BACKUP_SBG.name)), "not the plan for bk-ovh-sbg-1");
  });

  test("replication timers moved by two different offsets on two backup servers are reported (staggering broken)", async () => {
    const plan = planInstance(topologyOf([props]).fleet, props.instance);
    const sbg = plan.find((p) => p.backupServer === BACKUP_SBG.name)!.times;
    for (const other of [0, 3, 14]) {
      const ps = editFile(pushes(), REPL, () => calendar(sbg.map((t) => (t + other) % 1440)), BACKUP_SBG.name);
      one(await run(ps), "moved by different client offsets", `${BACKUP_SBG.name} +${other}`, `${BACKUP_TXL.name} +${OFFSET}`);
    }
  });

  test("a drop-in that does not reset, or a second drop-in that adds a time, changes the effective schedule", async () => {
    // without the reset line, the same times: still the plan (the template sets none)
    assert.deepEqual(await run(editFile(pushes(), DUMP, (c) => c.replace("OnCalendar=\n", ""))), []);
    const extra = pushes().map((p) => (p.server.name === HOSTING.name ? { ...p, files: [...p.files, { path: "/etc/systemd/system/dolibarr-dump@acme-erp.timer.d/zz-extra.conf", mode: "0644", content: "[Timer]\nOnCalendar=*-*-* 06:00:00 Europe/Paris\n" }] } : p));
    one(await run(extra), "starts at 00:00 06:00 12:00");
    // a later drop-in that resets and sets the right times again is fine
    const reset = pushes().map((p) => (p.server.name === HOSTING.name ? { ...p, files: [...p.files, { path: "/etc/systemd/system/dolibarr-dump@acme-erp.timer.d/zz.conf", mode: "0644", content: calendar([720, 0]) }] } : p));
    assert.deepEqual(await run(reset), []);
  });

  test("settings that move or add starts besides OnCalendar= are reported", async () => {
    for (const setting of ["RandomizedDelaySec=3h", "OnBootSec=5min", "OnUnitActiveSec=1h", "AccuracySec=6h"]) {
      one(await run(editFile(pushes(), DUMP, (c) => `${c}${setting}\n`)), "sets only [Timer] OnCalendar=", setting);
    }
  });

  test("calendars that are not daily lists of times are reported", async () => {
    for (const expr of ["Mon *-*-* 00:00:00", "*-*-01 00:00:00", "*-*-* 00:00:00 UTC", "*-*-* 00:00:30", "weekly", "*-*-* 25:00:00"]) {
      one(await run(editFile(pushes(), DUMP, () => `[Timer]\nOnCalendar=\nOnCalendar=${expr}\n`)), "dolibarr-dump@acme-erp.timer on web-ovh-rbx-1");
    }
  });

  test("a timer pushed to the wrong server, or for an undeclared instance, is reported", async () => {
    const ps = pushes();
    const hostingPush = ps.find((p) => p.server.name === HOSTING.name)!;
    const sbgPush = ps.find((p) => p.server.name === BACKUP_SBG.name)!;
    // the dump timer on a backup server; the replication timer on the hosting server
    one(await run([...ps.filter((p) => p !== sbgPush), { ...sbgPush, files: [...sbgPush.files, hostingPush.files.find((f) => DUMP.test(f.path))!] }]), "goes to bk-ovh-sbg-1, not to its hosting server");
    one(await run([...ps.filter((p) => p !== hostingPush), { ...hostingPush, files: [...hostingPush.files, sbgPush.files.find((f) => REPL.test(f.path))!] }]), "goes to web-ovh-rbx-1, not to one of its backup servers");
    const ghost = { path: "/etc/systemd/system/dolibarr-dump@ghost.timer.d/schedule.conf", mode: "0644", content: calendar([0]) };
    one(await run(ps.map((p) => (p === hostingPush ? { ...p, files: [...p.files, ghost] } : p))), "no instance ghost is declared");
  });

  test("a timer file elsewhere than /etc/systemd/system, an instance unit file, or a template that starts something is reported", async () => {
    const ps = pushes();
    const add = (path: string, content: string) => ps.map((p) => (p.server.name === HOSTING.name ? { ...p, files: [...p.files, { path, mode: "0644", content }] } : p));
    one(await run(add("/run/systemd/system/dolibarr-dump@acme-erp.timer.d/a.conf", calendar([0]))), "timer files belong in /etc/systemd/system");
    one(await run(add("/etc/systemd/system/dolibarr-dump@acme-erp.timer", "[Timer]\nOnCalendar=daily\n")), "replaces the template");
    const base = editFile(basePushes(FLEET), /dolibarr-dump@\.timer$/, (c) => c.replace("[Timer]\n", "[Timer]\nOnCalendar=hourly\n"));
    one(await violations(TIMERS, pushedFleetStack(FLEET, [...base, ...accessPushes(FLEET)])), "must start nothing by itself", "OnCalendar=hourly");
    for (const [accuracy, fails] of [["12h", true], ["2min", true], ["61s", true], ["soon", true], ["1min", false], ["30s", false]] as const) {
      const acc = editFile(basePushes(FLEET), /dolibarr-replicate@\.timer$/, (c) => c.replace(/AccuracySec=.*/, `AccuracySec=${accuracy}`));
      const vs = await violations(TIMERS, pushedFleetStack(FLEET, [...acc, ...accessPushes(FLEET)]));
      assert.equal(vs.length, fails ? 2 : 0, `AccuracySec=${accuracy}: ${vs.map((v) => v.message).join("\n")}`);
      if (fails) for (const v of vs) assert.match(v.message, new RegExp(`delay starts by more than 60 s .*AccuracySec=${accuracy}`));
    }
  });

  test("an instance whose timer is not pushed to one of its servers is reported (no replications would run there)", async () => {
    const ps = pushes().filter((p) => p.server.name !== BACKUP_TXL.name);
    const v = one(await run(ps), "no push sets the times of dolibarr-replicate@acme-erp.timer on bk-ionos-txl-1");
    assert.equal(v.urn, "urn:pulumi:client-acme::dolibarr-backup::dolibarr-backup:client:Instance::acme-erp");
    one(await run(pushes().filter((p) => p.server.name !== HOSTING.name)), "dolibarr-dump@acme-erp.timer on web-ovh-rbx-1", "no dumps");
  });

  test("first preview (replication pushes' stdin unknown): the known pushes are checked, then the policy says it cannot run", async () => {
    const ps = editFile(pushes(), DUMP, () => calendar([5, 725]));
    const stack = pushedClientStack(OFFSET, [props], ps).map((r) =>
      r.name.endsWith(`${BACKUP_SBG.name}/apply`) ? commandResource(ps.find((p) => p.server.name === BACKUP_SBG.name)!, "client-acme", UNKNOWN.string) : r,
    );
    const seen: Reported[] = [];
    const policy = (await import("../support/policy-resources")).policyNamed(TIMERS);
    const args = (await import("../support/policy-resources")).stackArgs(stack);
    await assert.rejects(
      async () =>
        (policy as { validateStack: (a: unknown, r: (m: string, u?: string) => void) => void }).validateStack(args, (message, urn) =>
          seen.push({ message, ...(urn ? { urn } : {}) }),
        ),
      (e: Error) => e.constructor.name === "UnknownValueError",
    );
    // the shifted dump timer is reported all the same; no "missing" timer for the unknown push
    one(seen, "starts at 00:05 12:05");
  });

  test("garbage stdin on a client push is reported by the stack policies too", async () => {
    const ps = pushes();
    const stack = pushedClientStack(OFFSET, [props], ps).map((r) => (r.name.endsWith(`${BACKUP_SBG.name}/apply`) ? commandResource(ps.find((p) => p.server.name === BACKUP_SBG.name)!, "client-acme", "not a frame") : r));
    for (const p of [TIMERS, SOURCES]) {
      const vs = await violations(p, stack);
      assert.ok(vs.some((v) => v.message.includes("not a well-formed") && v.urn === cmdUrn("client-acme", `acme-erp/${BACKUP_SBG.name}/apply`)), p);
    }
  });
});

// ---- (c) replication sources ----

describe("pushed-replication-sources: every replication pulls from the instance's hosting server, far enough", () => {
  const SBG_AT = BACKUP_SBG.site;
  const near = (km: number, name = `web-near-${Math.round(km)}`) =>
    facts(name, "hosting", customSite(`ovh:near${Math.round(km * 10)}`, "ovh", `Near${Math.round(km * 10)}`, pointNorthOf(SBG_AT, km).latitude, SBG_AT.longitude));
  const setSource = (ps: Push[], host: string, server = BACKUP_SBG.name) =>
    editFile(ps, /instances\/acme-erp\.env$/, (c) => c.replace(/^SOURCE_HOST='[^']*'$/m, `SOURCE_HOST='${host}'`), server);

  test("a source that is a backup server, or no server at all, is reported on the backup server's push", async () => {
    const props = instanceProps({ minuteOffset: OFFSET });
    const v = one(await violations(SOURCES, pushedClientStack(OFFSET, [props], setSource(instancePushes(props, OFFSET), BACKUP_TXL.address))), "pulls acme-erp from bk-ionos-txl-1", "not a hosting server");
    assert.equal(v.urn, cmdUrn("client-acme", `acme-erp/${BACKUP_SBG.name}/apply`));
    one(await violations(SOURCES, pushedClientStack(OFFSET, [props], setSource(instancePushes(props, OFFSET), "192.0.2.250"))), "192.0.2.250:22, which is no server");
    one(await violations(SOURCES, pushedClientStack(OFFSET, [props], editFile(instancePushes(props, OFFSET), /instances\/acme-erp\.env$/, (c) => c.replace("SOURCE_PORT='22'", "SOURCE_PORT='2222'"), BACKUP_SBG.name))), ":2222, which is no server");
  });

  test("IPv6 servers: the renderer's bracketed source is the hosting server in any spelling; another address in brackets, or the right one bare, is reported", async () => {
    // Found by the lab's IPv6 run: SOURCE_HOST='[fd00:77::12]' was compared with fd00:77::12.
    let seed = 11;
    const random16 = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xffff;
    const spell = (groups: number[], style: number): string => {
      const full = groups.map((g) => g.toString(16));
      if (style === 0) return full.join(":");
      if (style === 1) return groups.map((g) => g.toString(16).padStart(4, "0").toUpperCase()).join(":");
      return `${full.slice(0, 2).join(":")}::${full.slice(-2).join(":")}`; // groups 2..5 are zero below
    };
    for (let n = 0; n < 40; n++) {
      const groups = [0x2001, 0xdb8, 0, 0, 0, 0, random16(), random16() | 1];
      const [declared, other] = [spell(groups, n % 3), spell(groups, (n + 1) % 3)];
      const hosting = facts(HOSTING.name, "hosting", HOSTING.site, declared);
      const backups = [facts(BACKUP_SBG.name, "backup", BACKUP_SBG.site, `2001:db8::2:${n.toString(16)}`), facts(BACKUP_TXL.name, "backup", BACKUP_TXL.site, `2001:db8::3:${n.toString(16)}`)];
      const props = instanceProps({ hosting, backups, minuteOffset: OFFSET });
      const rendered = instancePushes(props, OFFSET);
      const env = rendered.find((p) => p.server.name === BACKUP_SBG.name)!.files.find((f) => /instances\/acme-erp\.env$/.test(f.path))!;
      assert.match(env.content, new RegExp(`^SOURCE_HOST='\\[${declared}\\]'$`, "m"));
      assert.deepEqual(await violations(SOURCES, pushedClientStack(OFFSET, [props], rendered)), [], declared);
      assert.deepEqual(await violations(SOURCES, pushedClientStack(OFFSET, [props], setSource(rendered, `[${other}]`))), [], `${declared} written ${other}`);
      one(await violations(SOURCES, pushedClientStack(OFFSET, [props], setSource(rendered, `[${backups[1]!.address}]`))), `pulls acme-erp from ${BACKUP_TXL.name}`, "not a hosting server");
      one(await violations(SOURCES, pushedClientStack(OFFSET, [props], setSource(rendered, "[2001:db8:ffff::1]"))), "[2001:db8:ffff::1]:22, which is no server");
      // The hosting server's own address, but bare: rsync would read host "2001" and never pull.
      const bare = one(await violations(SOURCES, pushedClientStack(OFFSET, [props], setSource(rendered, other))), `SOURCE_HOST='${other}', an IPv6 address without brackets`, `'[${other}]'`);
      assert.equal(bare.urn, cmdUrn("client-acme", `acme-erp/${BACKUP_SBG.name}/apply`));
    }
    // Brackets are rsync's syntax for IPv6 only: a bracketed IPv4 address or name of a real server is no server's host.
    const v4 = instanceProps({ minuteOffset: OFFSET });
    one(await violations(SOURCES, pushedClientStack(OFFSET, [v4], setSource(instancePushes(v4, OFFSET), `[${HOSTING.address}]`))), `[${HOSTING.address}]:22, which is no server`);
    assert.deepEqual(await violations(SOURCES, pushedClientStack(OFFSET, [v4], setSource(instancePushes(v4, OFFSET), HOSTING.address))), []);
    assert.equal(hostFromRemotePath("[web.example.net]"), "[web.example.net]");
    assert.equal(hostFromRemotePath("[2001:db8::1]"), "2001:db8::1");
  });

  test("another hosting server too close to the backup server: both the wrong source and the distance are reported", async () => {
    for (const km of [0.5, 20, 60, 99.4]) {
      const close = near(km);
      const shop = instanceProps({ name: "acme-shop", hosting: close, backups: [BACKUP_TXL, facts("bk-ovh-waw-1", "backup", "ovh:waw")], minuteOffset: OFFSET });
      const erp = instanceProps({ minuteOffset: OFFSET });
      const topo = topologyOf([erp, shop]);
      const ps = setSource([...instancePushes(erp, OFFSET, topo), ...instancePushes(shop, OFFSET, topo)], close.address);
      const vs = await violations(SOURCES, pushedClientStack(OFFSET, [erp, shop], ps));
      assert.equal(vs.length, 2, vs.map((v) => v.message).join("\n"));
      assert.ok(vs[0]!.message.includes(`but acme-erp is hosted on ${HOSTING.name}`));
      assert.match(vs[1]!.message, /replication as pushed: instance acme-erp: backup server bk-ovh-sbg-1 .* and hosting server web-near-\d+ .* (are [\d.]+ km apart; required ≥ 100 km|in the same city)/);
      assert.match(vs[1]!.message, /set by fleet policy minDistanceKm/);
    }
  });

  test("boundary: a source hosting server just over minDistanceKm passes the distance, just under fails", async () => {
    for (const [km, fails] of [[100.5, false], [99.5, true], [150, false]] as const) {
      const h = near(km);
      const erp = instanceProps({ hosting: h, minuteOffset: OFFSET });
      const vs = await violations(SOURCES, pushedClientStack(OFFSET, [erp]));
      assert.equal(vs.length, fails ? 1 : 0, `${km} km: ${vs.map((v) => v.message).join("\n")}`);
      if (fails) assert.match(vs[0]!.message, /replication as pushed: .* 99\.5 km apart; required ≥ 100 km/);
    }
  });

  test("the source is the backup server itself (same machine) or the wrong user", async () => {
    const props = instanceProps({ minuteOffset: OFFSET });
    one(await violations(SOURCES, pushedClientStack(OFFSET, [props], setSource(instancePushes(props, OFFSET), BACKUP_SBG.address))), "a backup server, not a hosting server");
    one(
      await violations(SOURCES, pushedClientStack(OFFSET, [props], editFile(instancePushes(props, OFFSET), /instances\/acme-erp\.env$/, (c) => c.replace("SOURCE_USER='dbk-bk-ovh-sbg-1'", "SOURCE_USER='root'"), BACKUP_SBG.name))),
      "as user 'root', not its own restricted user dbk-bk-ovh-sbg-1",
    );
    one(
      await violations(SOURCES, pushedClientStack(OFFSET, [props], editFile(instancePushes(props, OFFSET), /instances\/acme-erp\.env$/, (c) => c.replace(`HOSTING_SERVER='${HOSTING.name}'`, "HOSTING_SERVER='elsewhere'"), BACKUP_SBG.name))),
      "names HOSTING_SERVER='elsewhere'",
    );
  });

  test("a replication config on a server that is not a backup server of the instance, or for an undeclared instance", async () => {
    const props = instanceProps({ minuteOffset: OFFSET });
    const ps = instancePushes(props, OFFSET);
    const env = ps.find((p) => p.server.name === BACKUP_SBG.name)!.files.find((f) => f.path.endsWith("acme-erp.env"))!;
    const onHosting = ps.map((p) => (p.server.name === HOSTING.name ? { ...p, files: p.files.map((f) => (f.path === env.path ? env : f)) } : p));
    one(await violations(SOURCES, pushedClientStack(OFFSET, [props], onHosting)), "makes web-ovh-rbx-1 pull acme-erp, but web-ovh-rbx-1 is not one of its backup servers");
    const ghost = ps.map((p) => (p.server.name === BACKUP_SBG.name ? { ...p, files: [...p.files, { ...env, path: env.path.replace("acme-erp", "ghost") }] } : p));
    one(await violations(SOURCES, pushedClientStack(OFFSET, [props], ghost)), "no Instance component of this stack declares ghost");
  });

  test("an env file the jobs would source but the pack cannot read is reported", async () => {
    const props = instanceProps({ minuteOffset: OFFSET });
    for (const line of ["SOURCE_HOST=$(curl evil)", "export SOURCE_HOST='x'", "SOURCE_HOST='a'; rm -rf /'", "SOURCE_HOST='203.0.113.1'"]) {
      const ps = editFile(instancePushes(props, OFFSET), /instances\/acme-erp\.env$/, (c) => `${c}${line}\n`, BACKUP_SBG.name);
      one(await violations(SOURCES, pushedClientStack(OFFSET, [props], ps)), "cannot be read (the jobs source it)");
    }
  });

  test("first preview: unknown stdin makes the policy say it cannot run; a known push is checked", async () => {
    const props = instanceProps({ minuteOffset: OFFSET });
    const ps = instancePushes(props, OFFSET);
    const stack = pushedClientStack(OFFSET, [props], ps).map((r) => (r.name.endsWith(`${BACKUP_TXL.name}/apply`) ? commandResource(ps.find((p) => p.server.name === BACKUP_TXL.name)!, "client-acme", UNKNOWN.string) : r));
    await assert.rejects(runPolicy(SOURCES, stack), (e: Error) => e.constructor.name === "UnknownValueError");
    // an unknown connection (host key read on first use) alone: same
    const conn = pushedClientStack(OFFSET, [props], ps).map((r) =>
      r.name.endsWith(`${BACKUP_TXL.name}/apply`) ? resource(STOCK_TYPES.remoteCommand, r.name, { ...JSON.parse(JSON.stringify((r.props as Record<string, unknown>)["__getSpecialProxyTarget"])), connection: UNKNOWN.object }, "client-acme") : r,
    );
    await assert.rejects(runPolicy(SOURCES, conn), (e: Error) => e.constructor.name === "UnknownValueError");
  });
});

describe("every pushed-* policy", () => {
  test("is quiet on a compliant stack and names the command's URN when it reports", async () => {
    const props = instanceProps({ minuteOffset: OFFSET });
    for (const p of PUSHED) assert.deepEqual(await violations(p, pushedClientStack(OFFSET, [props])), [], p);
  });
});

// The push frame and the apply/delete scripts of a bundle (infra/render/push.ts), the scripts run
// for real with sh on generated bundles: what is written, what is skipped, what is removed, what a
// failure leaves behind.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { asRoot } from "../../infra/components/remote";
import type { ServerFile } from "../../infra/render/files";
import { PUSH_APPLY_PATH, PUSH_FORMAT, framePush, pushApplyCall, pushApplyFile, pushApplyScript, pushDeleteScript, pushId, pushRecordsInvalidateLine, unframePush, type PushOptions } from "../../infra/render/push";
import { renderServerBase } from "../../infra/render/server";
import { fleet as fleetOf, server as serverOf, SITES } from "../support/pulumi-mocks-fixtures";
import { rng } from "../support/rng";

const tmp = mkdtempSync(join(tmpdir(), "dbk-push-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const me = userInfo().username;

// The apply program as the servers' base installation puts it (pushApplyFile), for the bundles that source it.
const lib = join(tmp, "lib");
mkdirSync(lib);
writeFileSync(join(lib, "push-apply"), pushApplyFile().content);

function run(script: string, stdin: string, state: string, pushLib = lib): { status: number; stdout: string; stderr: string } {
  const r = spawnSync("sh", ["-c", script], { input: stdin, encoding: "utf8", env: { ...process.env, DOLIBARR_BACKUP_PUSH_STATE: state, DOLIBARR_BACKUP_PUSH_LIB: pushLib } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const PIECES = ["a", "Z", " ", "\n", "\r\n", "'", '"', "`", "$HOME", "\\", "%s", "é", "🦆", "\t", "end\n", `${PUSH_FORMAT}\n`, "file 0644 root:root 3 /x\n", "\u0000"];

function content(rand: () => number): string {
  const n = Math.floor(rand() * 40);
  let s = "";
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(rand() * PIECES.length)]!;
  return rand() < 0.1 ? s.repeat(200) : s;
}

function bundleFiles(root: string, rand: () => number, count: number): ServerFile[] {
  const names = ["a.conf", "b c.env", "x@y.timer", "-dash", "ünï", "deep/er/file", "z.service.d/schedule.conf"];
  const files: ServerFile[] = [];
  const used = new Set<string>();
  while (files.length < count) {
    const path = join(root, names[Math.floor(rand() * names.length)]!, `${files.length}`);
    if (used.has(path)) continue;
    used.add(path);
    files.push({ path, content: content(rand), mode: ["0644", "0600", "0640", "0755"][Math.floor(rand() * 4)]!, owner: me });
  }
  return files;
}

describe("push frame", () => {
  it("round-trips any content, byte for byte (generated bundles)", () => {
    const rand = rng(7);
    for (let k = 0; k < 200; k++) {
      const files = bundleFiles("/srv/x", rand, 1 + Math.floor(rand() * 6));
      const back = unframePush(framePush(files));
      assert.deepEqual(back, files.map((f) => ({ ...f, group: f.owner })));
    }
  });

  it("refuses paths and modes that the script could misread, naming the file", () => {
    for (const path of ["relative/x", "/a/../etc/passwd", "/a\nb", "/trailing ", "/tab\tin"]) {
      assert.throws(() => framePush([{ path, content: "", mode: "0644" }]), /expected an absolute path/);
    }
    assert.throws(() => framePush([{ path: "/x", content: "", mode: "644;rm" }]), /mode "644;rm" is not octal/);
    assert.throws(() => framePush([{ path: "/x", content: "", mode: "0644", owner: "root x" }]), /owner\/group "root x"/);
    assert.throws(() => framePush([{ path: "/x", content: "", mode: "0644" }, { path: "/x", content: "", mode: "0644" }]), /listed twice/);
  });

  it("rejects a damaged frame", () => {
    const good = framePush([{ path: "/x", content: "abc", mode: "0644" }]);
    for (const bad of [good.replace("3 /x", "4 /x"), good.slice(0, -4), good + "junk", good.replace(PUSH_FORMAT, "other")]) {
      assert.throws(() => unframePush(bad), /push frame/);
    }
  });

  it("names a bundle's records by a readable, unique slug", () => {
    assert.match(pushId("acme-erp/web-ovh-rbx-1"), /^acme-erp_web-ovh-rbx-1\.[0-9a-f]{8}$/);
    assert.notEqual(pushId("a/b"), pushId("a_b"));
  });
});

// Both forms: the base installation's self-contained script, and every other bundle's call of the installed program.
for (const [form, pushApply] of [
  ["self-contained", pushApplyScript],
  ["sourcing the installed program", pushApplyCall],
] as const) describe(`push apply script, ${form} (run with sh)`, () => {
  it("writes every file with its content and mode, runs create once, and does nothing for the same frame again", () => {
    const rand = rng(11);
    for (let k = 0; k < 25; k++) {
      const root = mkdtempSync(join(tmp, "apply-"));
      const state = join(root, "state");
      const marker = join(root, "create-ran");
      const files = bundleFiles(join(root, "fs"), rand, 1 + Math.floor(rand() * 5));
      const script = asRoot("root", pushApply({ create: `echo ran >>'${marker}'` }, { name: `bundle-${k}` }));
      const stdin = framePush(files);
      const first = run(script, stdin, state);
      assert.equal(first.status, 0, first.stderr);
      for (const f of files) {
        assert.equal(readFileSync(f.path, "utf8"), f.content, f.path);
        assert.equal((statSync(f.path).mode & 0o7777).toString(8).padStart(4, "0"), f.mode, f.path);
        assert.deepEqual(readdirSync(join(f.path, "..")).filter((n) => n.startsWith(".dbk-push")), []);
      }
      assert.equal(readFileSync(marker, "utf8"), "ran\n");
      const again = run(script, stdin, state);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /is applied already/);
      assert.equal(readFileSync(marker, "utf8"), "ran\n", "create did not run again");
    }
  });

  it("rewrites changed files, removes files that left the bundle, and runs create again", () => {
    const root = mkdtempSync(join(tmp, "change-"));
    const state = join(root, "state");
    const marker = join(root, "ran");
    const a = { path: join(root, "etc/a.conf"), content: "one\n", mode: "0644", owner: me };
    const b = { path: join(root, "etc/b.conf"), content: "two\n", mode: "0600", owner: me };
    const script = asRoot("root", pushApply({ create: `echo x >>'${marker}'` }, { name: "b" }));
    assert.equal(run(script, framePush([a, b]), state).status, 0);
    const r = run(script, framePush([{ ...a, content: "ONE\n" }]), state);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(a.path, "utf8"), "ONE\n");
    assert.ok(!existsSync(b.path), "b left the bundle: removed");
    assert.match(r.stdout, /removed .*b\.conf \(no longer pushed\)/);
    assert.equal(readFileSync(marker, "utf8"), "x\nx\n");
    // removeFiles: false keeps what leaves the bundle
    const keep = asRoot("root", pushApply({ create: "true" }, { name: "k", removeFiles: false }));
    assert.equal(run(keep, framePush([a, b]), state).status, 0);
    assert.equal(run(keep, framePush([a]), state).status, 0);
    assert.ok(existsSync(b.path));
  });

  it("a failing create leaves no record: the same frame is applied again on the next run", () => {
    const root = mkdtempSync(join(tmp, "fail-"));
    const state = join(root, "state");
    const flag = join(root, "fail");
    writeFileSync(flag, "");
    const f = { path: join(root, "f"), content: "v1\n", mode: "0644", owner: me };
    const script = asRoot("root", pushApply({ create: `if [ -e '${flag}' ]; then echo boom >&2; exit 3; fi` }, { name: "f" }));
    const failed = run(script, framePush([f]), state);
    assert.notEqual(failed.status, 0);
    assert.match(failed.stderr, /boom/);
    assert.deepEqual(readdirSync(state).filter((n) => !n.startsWith(".")), []);
    rmSync(flag);
    const ok = run(script, framePush([f]), state);
    assert.equal(ok.status, 0, ok.stderr);
    assert.doesNotMatch(ok.stdout, /applied already/);
    assert.deepEqual(readdirSync(state).filter((n) => !n.startsWith(".")).sort(), [`${pushId("f")}.paths`, `${pushId("f")}.sha256`]);
  });

  it("refuses a truncated or foreign stdin and keeps the old file", () => {
    const root = mkdtempSync(join(tmp, "bad-"));
    const state = join(root, "state");
    const path = join(root, "kept");
    mkdirSync(root, { recursive: true });
    writeFileSync(path, "kept\n");
    const script = asRoot("root", pushApply({ create: "true" }, { name: "bad" }));
    const frame = framePush([{ path, content: "new content\n", mode: "0644", owner: me }]);
    for (const stdin of [frame.slice(0, frame.indexOf("new") + 3), "hello\n", ""]) {
      const r = run(script, stdin, state);
      assert.notEqual(r.status, 0, JSON.stringify(stdin));
      assert.equal(readFileSync(path, "utf8"), "kept\n");
      assert.deepEqual(readdirSync(root).filter((n) => n.startsWith(".dbk-push")), []);
    }
  });

});

describe("push apply and delete scripts (run with sh)", () => {
  it("a bundle whose server lacks the installed program fails, writing and running nothing", () => {
    const root = mkdtempSync(join(tmp, "nolib-"));
    const state = join(root, "state");
    const marker = join(root, "ran");
    const f = { path: join(root, "f"), content: "v1\n", mode: "0644", owner: me };
    const r = run(asRoot("root", pushApplyCall({ create: `echo x >'${marker}'` }, { name: "n" })), framePush([f]), state, join(root, "no-lib"));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /push-apply is missing: deploy the fleet stack first/);
    assert.ok(!existsSync(f.path) && !existsSync(marker) && !existsSync(state));
  });

  it("every server's base installation carries the apply program, which the other bundles' scripts no longer carry", () => {
    const f = fleetOf([serverOf("web-rbx", "hosting", SITES.rbx!), serverOf("bk-sbg", "backup", SITES.sbg!)]);
    for (const s of f.servers) {
      const base = renderServerBase(f, s);
      assert.deepEqual(base.files.filter((x) => x.path === PUSH_APPLY_PATH), [pushApplyFile()], s.name);
    }
    const opts: PushOptions = { name: "acme-erp/web-rbx" };
    const call = pushApplyCall({ create: "true" }, opts);
    assert.doesNotMatch(call, /sha256sum|mktemp/);
    assert.ok(call.length < pushApplyScript({ create: "true" }, opts).length / 3, `${call.length} bytes`);
  });

  it("delete runs the bundle's delete, removes its files and its records (or keeps the files when asked)", () => {
    const root = mkdtempSync(join(tmp, "delete-"));
    const state = join(root, "state");
    const files = [
      { path: join(root, "a"), content: "a", mode: "0644", owner: me },
      { path: join(root, "b"), content: "b", mode: "0644", owner: me },
    ];
    const bundle = { create: "true", delete: `echo deleting >'${join(root, "deleted")}'`, files };
    assert.equal(run(asRoot("root", pushApplyScript(bundle, { name: "d" })), framePush(files), state).status, 0);
    const r = run(asRoot("root", pushDeleteScript(bundle, { name: "d" })), "", state);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(files.every((f) => !existsSync(f.path)));
    assert.equal(readFileSync(join(root, "deleted"), "utf8"), "deleting\n");
    assert.deepEqual(readdirSync(state).filter((n) => !n.startsWith(".")), []);
    assert.equal(run(asRoot("root", pushApplyScript(bundle, { name: "d" })), framePush(files), state).status, 0);
    assert.equal(run(asRoot("root", pushDeleteScript(bundle, { name: "d", removeFiles: false })), "", state).status, 0);
    assert.ok(files.every((f) => existsSync(f.path)));
  });

  it("a server's base installation removed (its delete disables every instance of its units), each other bundle's next push applies in full", () => {
    const f = fleetOf([serverOf("web-rbx", "hosting", SITES.rbx!), serverOf("bk-sbg", "backup", SITES.sbg!)]);
    for (const s of f.servers) assert.ok(renderServerBase(f, s).delete.split("\n").includes(pushRecordsInvalidateLine()), `${s.name}: base delete forgets the frames applied`);
    const root = mkdtempSync(join(tmp, "invalidate-"));
    const state = join(root, "state");
    const names = Array.from({ length: 12 }, (_, k) => `client-${k}/web-rbx`);
    const frameOf = (k: number) => framePush([{ path: join(root, `f${k}`), content: `v${k}\n`, mode: "0644", owner: me }]);
    const apply = (name: string, k: number) => run(asRoot("root", pushApplyCall({ create: `echo ${k} >>'${join(root, `ran${k}`)}'` }, { name })), frameOf(k), state);
    names.forEach((name, k) => assert.equal(apply(name, k).status, 0));
    names.forEach((name, k) => assert.match(apply(name, k).stdout, /applied already/, name));
    const r = run(pushRecordsInvalidateLine(), "", state);
    assert.equal(r.status, 0, r.stderr);
    names.forEach((name, k) => {
      const again = apply(name, k);
      assert.equal(again.status, 0, again.stderr);
      assert.doesNotMatch(again.stdout, /applied already/, name);
      assert.equal(readFileSync(join(root, `ran${k}`), "utf8"), `${k}\n${k}\n`, `${name}: create ran again`);
    });
    // the paths records stay: a file that left a bundle meanwhile is still removed on its next push
    assert.equal(readdirSync(state).filter((n) => n.endsWith(".paths")).length, names.length);
    assert.equal(run(pushRecordsInvalidateLine(), "", join(root, "no-state")).status, 0, "nothing to forget: no error");
  });
});

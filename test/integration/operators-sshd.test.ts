// Issue 22 point 3 on a real OpenSSH server (a throwaway sshd on 127.0.0.1 with its own config in a
// temp dir, a throwaway non-root user; never the machine's sshd config nor /root/.ssh): with the
// rendered drop-in, a key in ~/.ssh/authorized_keys is refused and the rendered file's keys are
// accepted; the deploy's create line (its paths moved into the temp dir) refuses a keys file without
// the deploy key and a config sshd -t refuses, leaving sshd as it was; the status's keys script
// reads what sshd reads and reports the stray key.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseFleetConfig } from "../../infra/model/parse";
import { fingerprintOfBlob } from "../../infra/model/ssh-keys";
import { ACCESS_PATHS, renderServerAccess } from "../../infra/render/operators";
import { parseServerReport, sshKeysScript } from "../../infra/status/collect";
import { assessKeys } from "../../infra/status/snapshot";
import { freePort, generateKey } from "../support/jobs-sshd";
import { mustRun, run, start, waitFor, type Running } from "../support/jobs-exec";
import { skipUnlessCi } from "../support/prerequisites";

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (a throwaway user and sshd)";
  if (!fs.existsSync("/usr/sbin/sshd")) return "needs /usr/sbin/sshd (openssh-server)";
  if (!fs.existsSync("/usr/sbin/useradd")) return "needs useradd";
  return undefined;
}
const skip = skipUnlessCi(unavailable(), "operators' keys on a real sshd");

describe("operators' keys file and sshd drop-in on a real sshd", { skip }, () => {
  const user = `dbkop${process.pid % 100000}`;
  let root: string;
  let home: string;
  let cfg: string;
  let pidFile: string;
  let port: number;
  /** The throwaway sshd's host key, pinned in the fleet config (ssh.hostKey is mandatory). */
  let hostPub: string;
  let knownHosts: string;
  let sshd: Running | undefined;
  const key = { deploy: "", alice: "", stray: "" };
  const pub = { deploy: "", alice: "", stray: "" };

  /** The bundle's paths moved under the temp dir, and its sshd calls given the temp config. */
  const moved = (text: string) =>
    text
      .split(ACCESS_PATHS.dir).join(path.join(root, "etc-ssh-dbk"))
      .split("/etc/ssh/sshd_config.d").join(path.join(root, "sshd_config.d"))
      .split("/usr/sbin/sshd ").join(`/usr/sbin/sshd -f ${cfg} `)
      .split("/run/systemd/system").join(path.join(root, "no-systemd"))
      .split("/run/sshd.pid").join(pidFile);

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-operators-sshd-"));
    fs.chmodSync(root, 0o755);
    home = path.join(root, "home");
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    await run("userdel", [user]);
    await mustRun("useradd", ["--no-create-home", "--home-dir", home, "--shell", "/bin/sh", user]);
    await mustRun("usermod", ["-p", "*", user]);
    for (const k of ["deploy", "alice", "stray"] as const) {
      key[k] = path.join(root, "client", k);
      pub[k] = await generateKey(key[k], `${k}-comment`);
    }
    // the stray key where a person would drop it
    fs.mkdirSync(path.join(home, ".ssh"), { recursive: true });
    fs.writeFileSync(path.join(home, ".ssh", "authorized_keys"), `${pub.stray}\n`);
    await mustRun("chown", ["-R", `${user}:`, home]);
    fs.mkdirSync(path.join(root, "sshd_config.d"));
    const hostKey = path.join(root, "ssh_host_ed25519_key");
    hostPub = (await generateKey(hostKey, "host")).split(" ").slice(0, 2).join(" ");
    port = await freePort();
    pidFile = path.join(root, "sshd.pid");
    cfg = path.join(root, "sshd_config");
    // As Debian's: the drop-ins first, then the main file's own AuthorizedKeysFile (global and in a Match).
    fs.writeFileSync(
      cfg,
      [
        `Include ${root}/sshd_config.d/*.conf`,
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey}`,
        `PidFile ${pidFile}`,
        "AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2",
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "LogLevel VERBOSE",
        `Match User ${user}`,
        "\tAuthorizedKeysFile .ssh/authorized_keys",
        "",
      ].join("\n"),
    );
    knownHosts = path.join(root, "known_hosts");
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
    await mustRun("/usr/sbin/sshd", ["-t", "-f", cfg]);
    sshd = start("/usr/sbin/sshd", ["-D", "-e", "-f", cfg]);
    await waitFor(
      () => new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1");
        s.on("connect", () => (s.destroy(), resolve(true)));
        s.on("error", () => resolve(false));
      }),
      20_000,
      "sshd to listen",
      50,
    );
  });

  after(async () => {
    if (sshd) {
      sshd.kill("SIGTERM");
      await sshd.exited;
    }
    await run("userdel", [user]);
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  function login(which: keyof typeof key): Promise<number> {
    const child = spawn(
      "ssh",
      ["-F", "/dev/null", "-i", key[which], "-p", String(port), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", `${user}@127.0.0.1`, "true"],
      { stdio: ["ignore", "ignore", "ignore"] },
    );
    return new Promise((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  }

  const fleet = () =>
    parseFleetConfig(
      {
        servers: [{ name: "web-local", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "127.0.0.1", user, hostKey: hostPub } }],
        operators: [{ name: "alice", publicKey: pub.alice }],
      },
      { stack: "itest-fleet", file: "stacks/Pulumi.itest-fleet.yaml" },
    );
  /** The bundle's files written (moved), then its create run as the deploy's apply would. */
  async function apply(edit: (files: { path: string; content: string }[]) => void = () => undefined) {
    const f = fleet();
    const bundle = renderServerAccess(f, f.servers[0]!, pub.deploy);
    const files = bundle.files.map((x) => ({ path: moved(x.path), content: x.content.split(ACCESS_PATHS.dir).join(path.join(root, "etc-ssh-dbk")) }));
    edit(files);
    for (const x of files) {
      fs.mkdirSync(path.dirname(x.path), { recursive: true });
      fs.writeFileSync(x.path, x.content, { mode: 0o644 });
    }
    return run("sh", ["-eu", "-c", moved(bundle.create)]);
  }
  const reloaded = () => new Promise((r) => setTimeout(r, 500));
  const dropIn = () => path.join(root, "sshd_config.d", path.basename(ACCESS_PATHS.dropIn));

  /** The status's keys script on this machine's temp sshd, parsed and judged against the declared keys. */
  async function statusKeys() {
    const script = [`health() { printf 'health %s %s\\n' "$1" "$(printf '%s' "$2" | base64 -w0)"; }`, ...sshKeysScript(user, { sshdConfig: cfg, rootHome: path.join(root, "no-root-home") }), "echo end-of-report"].join("\n");
    const out = await mustRun("bash", ["-c", script]);
    const facts = parseServerReport(out.stdout).health!.sshKeys!;
    const declared = [pub.deploy, pub.alice].map((p, i) => ({ fingerprint: fingerprintOfBlob(p.split(" ")[1]!), who: i ? "operator:alice" : "deploy" }));
    return { facts, judged: assessKeys(declared, { ...facts, authorizedKeysFiles: (facts.authorizedKeysFiles ?? []).map((p) => p.split(path.join(root, "etc-ssh-dbk")).join(ACCESS_PATHS.dir)) }) };
  }

  it("without the drop-in: the stray key in ~/.ssh logs in, and the status says so (failing)", async () => {
    assert.equal(await login("stray"), 0);
    assert.notEqual(await login("deploy"), 0);
    const { judged } = await statusKeys();
    const stray = fingerprintOfBlob(pub.stray.split(" ")[1]!);
    assert.ok(judged.failing.some((r) => r.includes(`undeclared SSH key ${stray}`) && r.includes(`${home}/.ssh/authorized_keys line 1: sshd accepts it`)), judged.failing.join("\n"));
  });

  it("the create refuses a keys file without the deploy key, and a drop-in sshd -t refuses; sshd is left as it was", async () => {
    const noDeploy = await apply((files) => {
      const k = files.find((x) => x.path.includes("/authorized_keys/"))!;
      k.content = k.content.split("\n").filter((l) => !l.includes("dolibarr-backup deploy")).join("\n");
    });
    assert.notEqual(noDeploy.code, 0);
    assert.match(noDeploy.stderr, /the deploy key is not in .*sshd left as it was/);
    assert.equal(fs.existsSync(dropIn()), false);
    const broken = await apply((files) => {
      const d = files.find((x) => x.path.endsWith("sshd_config.conf"))!;
      d.content += "\tNoSuchDirective yes\n";
    });
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, /sshd -t refuses the config with the drop-in/);
    assert.equal(fs.existsSync(dropIn()), false);
    assert.equal(await login("stray"), 0);
  });

  it("with the drop-in installed by the create: the stray key is refused, the deploy and alice's keys log in, the status warns of the ignored key", async () => {
    const r = await apply();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.existsSync(dropIn()));
    await reloaded();
    assert.notEqual(await login("stray"), 0, "a key in ~/.ssh/authorized_keys must be ignored");
    assert.equal(await login("deploy"), 0);
    assert.equal(await login("alice"), 0);
    const { facts, judged } = await statusKeys();
    assert.deepEqual(facts.authorizedKeysFiles, [`${path.join(root, "etc-ssh-dbk")}/authorized_keys/%u`]);
    assert.equal(facts.authorizedKeysCommand, "none");
    assert.deepEqual(judged.failing, []);
    assert.match(judged.warnings.join("\n"), new RegExp(`undeclared SSH key ${fingerprintOfBlob(pub.stray.split(" ")[1]!).replace(/[+/]/g, "\\$&")} .* in ${home.replace(/[/.]/g, "\\$&")}/.ssh/authorized_keys line 1: ignored by sshd`));
    // a key added to the rendered file by hand: failing
    const keysFile = `${path.join(root, "etc-ssh-dbk")}/authorized_keys/${user}`;
    fs.appendFileSync(keysFile, `${pub.stray}\n`);
    assert.match((await statusKeys()).judged.failing.join("\n"), /sshd accepts it for the deploy user/);
    // root's own keys, with another deploy user and root logins allowed (sshd's default
    // prohibit-password): live, whatever the drop-in says for the deploy user, so failing
    const rootSsh = path.join(root, "no-root-home", ".ssh");
    fs.mkdirSync(rootSsh, { recursive: true });
    fs.writeFileSync(path.join(rootSsh, "authorized_keys"), `${pub.stray}\n`);
    assert.match((await statusKeys()).judged.failing.join("\n"), /no-root-home\/\.ssh\/authorized_keys line 1: sshd accepts it for root/);
    fs.rmSync(rootSsh, { recursive: true });
  });

  it("the delete puts sshd back: the drop-in gone, ~/.ssh/authorized_keys read again", async () => {
    const f = fleet();
    const bundle = renderServerAccess(f, f.servers[0]!, pub.deploy);
    const r = await run("sh", ["-eu", "-c", moved(bundle.delete)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.existsSync(dropIn()), false);
    await reloaded();
    assert.equal(await login("stray"), 0);
  });
});

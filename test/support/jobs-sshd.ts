// A private OpenSSH server on 127.0.0.1 for the server-jobs tests and benches: own host key,
// own config, `sshd -D` in the foreground; stopped by stop().
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { mustRun, run, start, type Running, waitFor } from "./jobs-exec";

export interface Sshd {
  port: number;
  /** "ssh-ed25519 AAAA…" of the host key. */
  hostKey: string;
  /** A known_hosts line for 127.0.0.1 on this port. */
  knownHostsLine: string;
  /** File with extra authorized keys for user U: <dir>/authorized_keys.U (besides ~U/.ssh/authorized_keys). */
  extraKeysFile(user: string): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function generateKey(file: string, comment = "itest"): Promise<string> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!fs.existsSync(file)) await mustRun("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  return fs.readFileSync(`${file}.pub`, "utf8").trim();
}

/** `listenAddress`: 127.0.0.1 by default; "::1" for the IPv6 tests. */
export async function startSshd(dir: string, listenAddress = "127.0.0.1"): Promise<Sshd> {
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const hostKeyFile = path.join(dir, "ssh_host_ed25519_key");
  const hostKey = (await generateKey(hostKeyFile, "itest-host")).split(/\s+/).slice(0, 2).join(" ");
  const port = await freePort();
  const config = path.join(dir, "sshd_config");
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      `ListenAddress ${listenAddress}`,
      `HostKey ${hostKeyFile}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile .ssh/authorized_keys ${dir}/authorized_keys.%u`,
      // The test dirs live under /tmp (world-writable): production keeps StrictModes yes.
      "StrictModes no",
      "UsePAM no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "MaxStartups 100:30:200",
      "MaxSessions 50",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  await mustRun("/usr/sbin/sshd", ["-t", "-f", config]);
  const server: Running = start("/usr/sbin/sshd", ["-D", "-e", "-f", config]);
  let exited = false;
  void server.exited.then(() => (exited = true));
  await waitFor(
    () =>
      new Promise<boolean>((resolve, reject) => {
        if (exited) reject(new Error("sshd exited at start"));
        const s = net.connect(port, listenAddress);
        s.on("connect", () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      }),
    20_000,
    "sshd to listen",
    50,
  );
  return {
    port,
    hostKey,
    knownHostsLine: `[${listenAddress}]:${port} ${hostKey}`,
    extraKeysFile: (user) => path.join(dir, `authorized_keys.${user}`),
    stop: async () => {
      if (exited) return;
      server.kill("SIGTERM");
      const t = setTimeout(() => server.kill("SIGKILL"), 10_000);
      await server.exited;
      clearTimeout(t);
      await run("true", []);
    },
  };
}

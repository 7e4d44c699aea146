// Real receivers of the jobs' notifications, on 127.0.0.1: an HTTP receiver
// (test/support/notify-receiver.py: pings and webhooks, one JSON line per request) and an SMTP
// sink (Debian's python3-aiosmtpd, Mailbox handler: one file per mail in a maildir). The
// servers' MTA side is msmtp (Debian package msmtp, without msmtp-mta: it does not take over
// /usr/sbin/sendmail), a real sendmail-compatible SMTP client, configured to the sink by a
// per-test config file. No mocks: what the tests read is what crossed a socket.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { repoRoot } from "../../infra/render/repo";
import { type Running, start, waitFor } from "./jobs-exec";

export const RECEIVER_SCRIPT = path.join(repoRoot(), "test", "support", "notify-receiver.py");
const PYTHON = "/usr/bin/python3"; // Debian's, where python3-aiosmtpd is installed

export interface HttpRecord {
  time: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface MailRecord {
  headers: Record<string, string>;
  subject: string;
  to: string;
  body: string;
  raw: string;
}

/** Why the sinks cannot run here, or undefined (synchronous: for describe's skip). */
export function sinksUnavailable(): string | undefined {
  const missing: string[] = [];
  if (spawnSync(PYTHON, ["-c", "import aiosmtpd"]).status !== 0) missing.push("python3-aiosmtpd");
  for (const c of ["msmtp", "curl", "setsid", "perl"]) if (spawnSync("bash", ["-c", `command -v ${c}`]).status !== 0) missing.push(c);
  return missing.length > 0 ? `missing: ${missing.join(", ")} (install scripts/ci/apt-packages.txt)` : undefined;
}

/** The JSON lines a notify-receiver.py wrote. */
export function parseRequests(text: string): HttpRecord[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as HttpRecord);
}

/** One RFC 5322 message: unfolded headers (lowercase names), body. */
export function parseMail(raw: string): MailRecord {
  const text = raw.replace(/\r\n/g, "\n");
  const cut = text.indexOf("\n\n");
  const head = cut < 0 ? text : text.slice(0, cut);
  const body = cut < 0 ? "" : text.slice(cut + 2);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\n[ \t]+/g, " ").split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, subject: headers.subject ?? "", to: headers.to ?? "", body, raw: text };
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A TCP server that accepts and never answers: the worst dead receiver (only timeouts end it). */
export class Blackhole {
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(): Promise<Blackhole> {
    const server = net.createServer();
    const bh = await new Promise<Blackhole>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve(new Blackhole(server, (server.address() as net.AddressInfo).port))),
    );
    server.on("connection", (s) => {
      bh.sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => bh.sockets.delete(s));
    });
    return bh;
  }

  get connections(): number {
    return this.sockets.size;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

export class NotifySinks {
  private constructor(
    readonly dir: string,
    readonly httpPort: number,
    readonly smtpPort: number,
    private readonly http: Running,
    private readonly smtp: Running,
  ) {}

  /** http://127.0.0.1:<port> */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get requestLog(): string {
    return path.join(this.dir, "requests.jsonl");
  }

  get maildir(): string {
    return path.join(this.dir, "maildir");
  }

  /** A sendmail-compatible command (msmtp) that delivers to this sink over SMTP. */
  get sendmail(): string {
    return path.join(this.dir, "sendmail");
  }

  static async start(dir: string): Promise<NotifySinks> {
    fs.mkdirSync(dir, { recursive: true });
    const log = path.join(dir, "requests.jsonl");
    fs.writeFileSync(log, "");
    const http = start(PYTHON, [RECEIVER_SCRIPT, "--port", "0", "--log", log]);
    let out = "";
    http.child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    const smtpPort = await freePort();
    const maildir = path.join(dir, "maildir");
    const smtp = start(PYTHON, ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${smtpPort}`, "-c", "aiosmtpd.handlers.Mailbox", maildir]);
    try {
      await waitFor(() => /listening on \d+/.test(out), 10_000, "the HTTP receiver");
      await waitFor(
        () =>
          new Promise<boolean>((resolve) => {
            const c = net.connect(smtpPort, "127.0.0.1", () => {
              c.destroy();
              resolve(true);
            });
            c.on("error", () => resolve(false));
          }),
        10_000,
        "the SMTP sink",
        50,
      );
    } catch (e) {
      http.kill();
      smtp.kill();
      throw e;
    }
    const httpPort = Number(/listening on (\d+)/.exec(out)![1]);
    const conf = path.join(dir, "msmtprc");
    fs.writeFileSync(conf, `defaults\nauth off\ntls off\naccount sink\nhost 127.0.0.1\nport ${smtpPort}\nfrom backup@itest.example\naccount default : sink\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "sendmail"), `#!/bin/sh\nexec msmtp -C ${conf} "$@"\n`, { mode: 0o755 });
    return new NotifySinks(dir, httpPort, smtpPort, http, smtp);
  }

  requests(): HttpRecord[] {
    return parseRequests(fs.readFileSync(this.requestLog, "utf8"));
  }

  mails(): MailRecord[] {
    const dir = path.join(this.maildir, "new");
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs }))
      .sort((a, b) => a.t - b.t || a.f.localeCompare(b.f))
      .map(({ f }) => parseMail(fs.readFileSync(path.join(dir, f), "utf8")));
  }

  /** Forgets what was received so far. */
  clear(): void {
    fs.writeFileSync(this.requestLog, "");
    const dir = path.join(this.maildir, "new");
    if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
  }

  async stop(): Promise<void> {
    this.http.kill("SIGTERM");
    this.smtp.kill("SIGTERM");
    await Promise.all([this.http.exited, this.smtp.exited]);
  }
}

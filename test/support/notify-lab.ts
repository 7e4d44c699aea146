// The notification receivers on a LAB host, over SSH: the same real HTTP receiver
// (notify-receiver.py) and SMTP sink (python3 -m aiosmtpd) as the integration tests, listening on
// the lab bridge so that every lab server can reach them; plus the servers' MTA side (msmtp as a
// sendmail-compatible client to the sink). A separate piece for the lead to wire into the lab
// (`npm run lab`, test/e2e/alerts.test.ts): nothing here runs unless called.
//
// Needs on the receiver host: python3 and python3-aiosmtpd; on each server: msmtp. Both are
// installed with apt-get when missing (the lab hosts must reach a Debian mirror, as lab.sh's
// seeding does; otherwise pre-install them in the lab image).
import * as fs from "node:fs";
import { type LabEnv, sshOk } from "../../scripts/lab/driver";
import type { LabHost } from "../../scripts/lab/stacks";
import { type HttpRecord, type MailRecord, parseMail, parseRequests, RECEIVER_SCRIPT } from "./notify-sinks";

export interface LabReceivers {
  host: LabHost;
  httpPort: number;
  smtpPort: number;
  /** http://<host ip>:<port>: base of the ping and webhook URLs. */
  httpUrl: string;
  requests(): HttpRecord[];
  mails(): MailRecord[];
  clear(): void;
  stop(): void;
}

const DIR = "/var/lib/dbk-notify-sink";

function ensurePackages(env: LabEnv, host: LabHost, check: string, packages: string): void {
  sshOk(env, host, `${check} >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${packages}; }`);
}

/**
 * Starts the HTTP receiver and the SMTP sink on `host` (listening on all its addresses), waits
 * until both answer, and returns how to read what they received. Idempotent: a previous pair
 * started by this function on the host is stopped first.
 */
export function startLabReceivers(env: LabEnv, host: LabHost, ports: { http?: number; smtp?: number } = {}): LabReceivers {
  const httpPort = ports.http ?? 18080;
  const smtpPort = ports.smtp ?? 18025;
  ensurePackages(env, host, `python3 -c 'import aiosmtpd'`, "python3 python3-aiosmtpd");
  sshOk(env, host, `install -d -m 0755 ${DIR} && cat > ${DIR}/notify-receiver.py && chmod 0755 ${DIR}/notify-receiver.py`, {
    input: fs.readFileSync(RECEIVER_SCRIPT, "utf8"),
  });
  const stopCmd = `for p in ${DIR}/http.pid ${DIR}/smtp.pid; do if [ -s "$p" ]; then kill "$(cat "$p")" 2>/dev/null || true; rm -f "$p"; fi; done`;
  sshOk(
    env,
    host,
    [
      stopCmd,
      `cd ${DIR} && : > requests.jsonl && rm -rf maildir && : > http.out`,
      `setsid -f sh -c 'echo $$ > ${DIR}/http.pid; exec python3 ${DIR}/notify-receiver.py --host 0.0.0.0 --port ${httpPort} --log ${DIR}/requests.jsonl' > ${DIR}/http.out 2>&1 < /dev/null`,
      `setsid -f sh -c 'echo $$ > ${DIR}/smtp.pid; exec python3 -m aiosmtpd -n -l 0.0.0.0:${smtpPort} -c aiosmtpd.handlers.Mailbox ${DIR}/maildir' > ${DIR}/smtp.out 2>&1 < /dev/null`,
      // both answer within 20 s
      `for i in $(seq 1 100); do grep -q 'listening on' ${DIR}/http.out && python3 -c 'import socket; socket.create_connection(("127.0.0.1", ${smtpPort}), 1).close()' 2>/dev/null && exit 0; sleep 0.2; done; cat ${DIR}/http.out ${DIR}/smtp.out >&2; exit 1`,
    ].join("\n"),
  );
  return {
    host,
    httpPort,
    smtpPort,
    httpUrl: `http://${host.ip}:${httpPort}`,
    requests: () => parseRequests(sshOk(env, host, `cat ${DIR}/requests.jsonl`)),
    mails: () =>
      sshOk(env, host, `if [ -d ${DIR}/maildir/new ]; then cd ${DIR}/maildir/new && ls -tr | while read -r f; do base64 -w0 "$f"; echo; done; fi`)
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => parseMail(Buffer.from(l, "base64").toString("utf8"))),
    clear: () => void sshOk(env, host, `: > ${DIR}/requests.jsonl; rm -f ${DIR}/maildir/new/*`),
    stop: () => void sshOk(env, host, stopCmd),
  };
}

/** Path of the sendmail-compatible command configureLabMta installs on a server. */
export const LAB_SENDMAIL = "/usr/local/sbin/dbk-lab-sendmail";

/**
 * The server's MTA side: msmtp configured to the lab's SMTP sink, behind a sendmail-compatible
 * command (use it as notifications.email.sendmail in the lab fleet's config).
 */
export function configureLabMta(env: LabEnv, server: LabHost, receivers: LabReceivers): string {
  ensurePackages(env, server, "command -v msmtp", "msmtp");
  const conf = `defaults\nauth off\ntls off\naccount sink\nhost ${receivers.host.ip}\nport ${receivers.smtpPort}\nfrom dolibarr-backup@${server.name}.lab.example\naccount default : sink\n`;
  sshOk(env, server, `umask 077 && cat > /etc/dbk-lab-msmtprc`, { input: conf });
  sshOk(env, server, `printf '#!/bin/sh\\nexec msmtp -C /etc/dbk-lab-msmtprc "$@"\\n' > ${LAB_SENDMAIL} && chmod 0755 ${LAB_SENDMAIL}`);
  return LAB_SENDMAIL;
}

/** The lab fleet's notifications: the plain part (stack file) and the secret URLs (pulumi config set --secret --path). */
export function labNotifications(receivers: LabReceivers, pingKey: string): { plain: Record<string, unknown>; secrets: Array<[path: string, value: string]> } {
  return {
    plain: {
      email: { to: ["ops@lab.example"], sendmail: LAB_SENDMAIL, events: "failures" },
      timeoutSeconds: 5,
      logLines: 20,
    },
    secrets: [
      ["notifications.healthchecks.pingUrl", `${receivers.httpUrl}/ping/${pingKey}`],
      ["notifications.webhook.url", `${receivers.httpUrl}/hook?token=${pingKey}`],
    ],
  };
}

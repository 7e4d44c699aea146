// The fleet's notifiers and metrics: config key dolibarr-backup:notifications (URLs are secrets),
// what the base installation renders for them, and that the URLs reach the servers only in the
// 0600 notify.secrets file, encrypted in the state, never in a unit, a command, a log or an output.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { inspect } from "node:util";
import { parseFleetConfig } from "../../infra/model/parse";
import { testHostKey } from "../support/host-keys";
import { parseStackFileText } from "../../infra/model/load";
import type { Fleet } from "../../infra/model/types";
import { runFleet } from "../../infra/program/fleet";
import { unframePush } from "../../infra/render/push";
import {
  notifySecretsPath,
  renderNotifySecrets,
  renderServerBase,
  serverEnvPath,
  SCRIPT,
  unitPath,
  dumpServiceUnit,
  exportServiceUnit,
  replicateServiceUnit,
} from "../../infra/render";
import { isSecretValue, plainOccurrences, reveal, settle, setupMocks, type MockRecorder } from "../support/pulumi-mocks";
import { FLEET_SOURCE, PRIVATE_KEY, fleetCommandStdout, fleetValues } from "../support/pulumi-mocks-fixtures";
import { configError } from "../support/config-errors";

const PING = "https://hc-ping.example/ping-key-SECRET-1234";
const HOOK = "https://hooks.example/services/T0/B0/webhook-SECRET-5678?token=abc";

function notifications(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    healthchecks: { pingUrl: PING },
    email: { to: ["ops@example.com", "oncall@example.org"], from: "backup@example.com" },
    webhook: { url: HOOK },
    ...extra,
  };
}

function fleetWith(n: Record<string, unknown> | undefined, metrics?: Record<string, unknown>): Fleet {
  return parseFleetConfig({ ...fleetValues(), ...(n ? { notifications: n } : {}), ...(metrics ? { metrics } : {}) }, FLEET_SOURCE);
}


describe("notifications config", () => {
  it("parses the notifiers with their defaults", () => {
    const f = fleetWith(notifications());
    assert.deepEqual({ ...f.notifications }, {
      timeoutSeconds: 10,
      logLines: 20,
      healthchecks: { pingUrl: PING },
      email: { to: ["ops@example.com", "oncall@example.org"], from: "backup@example.com", sendmail: "/usr/sbin/sendmail", events: "failures" },
      webhook: { url: HOOK, events: "failures" },
    });
    assert.equal(fleetWith(undefined).notifications, undefined);
  });

  it("never serializes the notifiers: JSON and inspect leave the URLs out, the rest of the fleet stays", () => {
    const f = fleetWith(notifications(), { textfileDir: "/srv/metrics" });
    const json = JSON.stringify(f);
    assert.ok(!json.includes("SECRET"), json);
    assert.ok(!json.includes("notifications"));
    assert.equal((JSON.parse(json) as Fleet).metrics?.textfileDir, "/srv/metrics");
    assert.equal((JSON.parse(json) as Fleet).servers.length, f.servers.length);
    assert.ok(!inspect(f, { depth: 10 }).includes("SECRET"));
    // A copy with spread (as the components make) still carries them for the renderer.
    assert.equal({ ...f }.notifications?.healthchecks?.pingUrl, PING);
  });

  it("rejects bad values, naming the key and never quoting a URL", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [notifications({ healthchecks: { pingUrl: "ftp://x/SECRET-a" } }), /notifications\.healthchecks\.pingUrl.*http/],
      [notifications({ webhook: { url: "https://x/SECRET-b\nX-Injected: 1" } }), /notifications\.webhook\.url/],
      [notifications({ webhook: { url: "https://x/SECRET-c 'quoted'" } }), /notifications\.webhook\.url/],
      [notifications({ email: { to: ["ops@example.com\nBcc: evil@example.com"] } }), /notifications\.email\.to\[0\].*e-mail/],
      [notifications({ email: { to: [] } }), /notifications\.email\.to.*at least 1/],
      [notifications({ email: { to: ["a@b.c"], events: "some" } }), /notifications\.email\.events/],
      [notifications({ email: { to: ["a@b.c"], sendmail: "sendmail" } }), /notifications\.email\.sendmail.*absolute/],
      [notifications({ timeoutSeconds: 0 }), /notifications\.timeoutSeconds/],
      [notifications({ slack: {} }), /unknown key "slack"/],
    ];
    for (const [n, re] of cases) {
      const e = configError(() => fleetWith(n));
      assert.match(e.message, re, e.message);
      assert.ok(!e.message.includes("SECRET"), `a secret is quoted: ${e.message}`);
    }
  });

  it("in a stack file the URLs must be encrypted; a client stack has no notifiers", () => {
    const file = (n: string) => `config:
  dolibarr-backup:stackKind: fleet
  dolibarr-backup:sshPrivateKey:
    secure: v1:abcdefghijklmnop:qrstuvwxyz0123456789
  dolibarr-backup:servers:
    - { name: web1, role: hosting, provider: ovh, site: rbx, ssh: { host: 203.0.113.10, hostKey: "${testHostKey("web1")}" } }
  dolibarr-backup:notifications:
${n}`;
    const clear = configError(() =>
      parseStackFileText(file(`    healthchecks: { pingUrl: "${PING}" }\n    webhook: { url: "${HOOK}" }\n`), "stacks/Pulumi.fleet.yaml"),
    );
    assert.match(clear.message, /notifications\.healthchecks\.pingUrl.*clear text/);
    assert.match(clear.message, /notifications\.webhook\.url.*clear text/);
    const ok = parseStackFileText(
      file(`    healthchecks:\n      pingUrl: { secure: "v1:abcdefghijklmnop:qrstuvwxyz0123456789" }\n    email: { to: [ops@example.com] }\n`),
      "stacks/Pulumi.fleet.yaml",
    );
    assert.equal(ok.kind, "fleet");
    const f = (ok as { fleet: Fleet }).fleet;
    assert.deepEqual(f.notifications?.healthchecks, {});
    // Rendering needs the decrypted URL (the engine's values): a clear error, not an empty URL.
    assert.throws(() => renderNotifySecrets(f), /healthchecks\.pingUrl is encrypted/);
    const client = configError(() =>
      parseStackFileText(
        `config:
  dolibarr-backup:stackKind: client
  dolibarr-backup:fleetStack: fleet
  dolibarr-backup:client: acme
  dolibarr-backup:notifications: { email: { to: [ops@example.com] } }
  dolibarr-backup:instances:
    - { name: acme, hostingServer: web1, database: { name: d }, codeRoot: /a, documentsDir: /b, backupServers: [bk] }
`,
        "stacks/Pulumi.client-acme.yaml",
      ),
    );
    assert.match(client.message, /unknown key "notifications"/);
  });
});

describe("rendered notifier files", () => {
  const f = fleetWith(notifications(), { textfileDir: "/srv/prom-textfiles" });
  const servers = f.servers;

  it("every server gets the notifier, its units (watcher, delivery, sweep), server.env and a 0600 secret notify.secrets", () => {
    for (const s of servers) {
      const b = renderServerBase(f, s);
      const byPath = new Map(b.files.map((x) => [x.path, x]));
      for (const p of [SCRIPT.notify, unitPath("dolibarr-notify@.service"), unitPath("dolibarr-notify.service"), unitPath("dolibarr-notify.path"), unitPath("dolibarr-notify-sweep.service"), unitPath("dolibarr-notify-sweep.timer"), serverEnvPath, notifySecretsPath]) {
        assert.ok(byPath.has(p), `${s.name}: ${p}`);
      }
      const secrets = byPath.get(notifySecretsPath)!;
      assert.equal(secrets.mode, "0600");
      assert.equal(secrets.secret, true);
      assert.match(secrets.content, new RegExp(`^NOTIFY_PING_URL='${PING.replace(/[.?]/g, "\\$&")}'$`, "m"));
      assert.match(secrets.content, /^NOTIFY_WEBHOOK_URL='https:\/\/hooks\.example\/services\/T0\/B0\/webhook-SECRET-5678\?token=abc'$/m);
      // The URLs are nowhere else: no other file, no command.
      for (const file of b.files.filter((x) => x.path !== notifySecretsPath)) {
        assert.ok(!file.content.includes("SECRET"), `${s.name}: a URL in ${file.path}`);
        assert.ok(!file.secret, `${file.path} needs no secrecy`);
      }
      assert.ok(!b.create.includes("SECRET") && !b.delete.includes("SECRET"));
      const env = byPath.get(serverEnvPath)!.content;
      assert.match(env, new RegExp(`^SERVER_NAME='${s.name}'$`, "m"));
      assert.match(env, /^FLEET_STACK='fleet'$/m);
      assert.match(env, /^METRICS_DIR='\/srv\/prom-textfiles'$/m);
      assert.match(env, /^NOTIFY_ENABLED='1'$/m);
      assert.match(env, /^NOTIFY_MAIL_TO='ops@example\.com oncall@example\.org'$/m);
      assert.match(b.create, /^systemctl enable dolibarr-notify\.path dolibarr-notify-sweep\.timer$/m);
      assert.match(b.create, /^systemctl restart dolibarr-notify\.path dolibarr-notify-sweep\.timer$/m);
      assert.match(b.create, /install -d -m 0755 \/srv\/prom-textfiles/);
      assert.match(b.delete, /^systemctl disable --now dolibarr-notify-sweep\.timer dolibarr-notify\.path /m);
      assert.match(b.create, /curl/, "curl is installed");
    }
  });

  it("without notifiers: nothing enabled, empty URLs (a removed notifier's URL is overwritten), metrics in node_exporter's directory", () => {
    const plain = fleetWith(undefined);
    const b = renderServerBase(plain, plain.servers[0]!);
    const env = b.files.find((x) => x.path === serverEnvPath)!.content;
    assert.match(env, /^NOTIFY_ENABLED='0'$/m);
    assert.match(env, /^METRICS_DIR='\/var\/lib\/prometheus\/node-exporter'$/m);
    const secrets = b.files.find((x) => x.path === notifySecretsPath)!.content;
    assert.match(secrets, /^NOTIFY_PING_URL=''$/m);
    assert.match(secrets, /^NOTIFY_WEBHOOK_URL=''$/m);
  });

  it("every job unit alerts through OnFailure=, and a failed export refresh fails the dump unit", () => {
    for (const unit of [dumpServiceUnit(), exportServiceUnit(), replicateServiceUnit({ mirrorRoot: "/srv/m" })]) {
      assert.match(unit, /^OnFailure=dolibarr-notify@%n\.service$/m);
    }
    assert.match(dumpServiceUnit(), /^ExecStartPost=\/usr\/local\/sbin\/dolibarr-export refresh %i$/m);
  });
});

describe("notifier secrets in the fleet stack's resources", () => {
  let mocks: MockRecorder;
  let outputs: Record<string, unknown>;

  before(async () => {
    mocks = setupMocks({ stack: "fleet", commandStdout: (r) => fleetCommandStdout(r.name) });
    outputs = runFleet({ fleet: fleetWith(notifications()), sshPrivateKey: PRIVATE_KEY }).outputs;
    await settle();
  });

  it("notify.secrets is pushed (0600) in a base bundle whose frame is a secret, on every server", () => {
    const applies = mocks.resources.filter((r) => r.name.endsWith("/base/apply"));
    assert.equal(applies.length, 5);
    for (const c of applies) {
      assert.ok(isSecretValue(c.inputs.stdin), `${c.name}: stdin not secret`);
      const file = unframePush(reveal<string>(c.inputs.stdin)).find((f) => f.path === "/etc/dolibarr-backup/notify.secrets");
      assert.ok(file, c.name);
      assert.equal(file.mode, "0600");
      assert.match(file.content, /NOTIFY_PING_URL='https:\/\/hc-ping\.example/);
    }
    // a bundle without a secret file stays readable in a preview
    const access = mocks.resources.find((r) => r.name.includes("/access/") && r.name.endsWith("/apply"));
    assert.ok(access && !isSecretValue(access.inputs.stdin));
  });

  it("no URL in clear anywhere: no resource input, no stack output", () => {
    for (const needle of ["ping-key-SECRET-1234", "webhook-SECRET-5678"]) {
      for (const r of mocks.resources) assert.deepEqual(plainOccurrences(r.inputs, needle), [], `${r.type} ${r.name}`);
      assert.deepEqual(plainOccurrences(outputs, needle), []);
    }
    assert.equal((outputs.fleet as Fleet).notifications, undefined);
  });
});

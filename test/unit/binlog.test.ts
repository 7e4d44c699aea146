// Binary logs of the hosting servers (issue 20): fleet keys, server_id derivation, the rule
// binlog.server-id, the rendered MariaDB drop-in and its place in the hosting server's base bundle.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DEFAULT_BINLOG_DIR, derivedServerId, SERVER_ID_MAX } from "../../infra/model/binlog";
import { parseFleetConfig } from "../../infra/model/parse";
import { buildTopology } from "../../infra/model/topology";
import type { Fleet } from "../../infra/model/types";
import { binlogSettings, renderBinlogDropIn, STATIC_BINLOG_KEYS } from "../../infra/render/binlog";
import { readServerScript } from "../../infra/render/repo";
import { mariadbBinlogDropInPath, mariadbBinlogRenderedPath, SCRIPT } from "../../infra/render/paths";
import { parseEnvFile } from "../../infra/render/files";
import { renderHostingInstance, renderServerBase } from "../../infra/render/server";
import { parseClientConfig } from "../../infra/model/parse";
import { checkRule } from "../../infra/rules";
import { assertRefused } from "../support/config-errors";
import { testHostKey } from "../support/host-keys";

const src = { stack: "fleet", file: "stacks/Pulumi.fleet.yaml" };
const backup = { name: "bk-sbg", role: "backup", provider: "ovh", site: "sbg", ssh: { host: "203.0.113.20", hostKey: testHostKey("203.0.113.20") } };
const hosting = (name: string, i: number, binlog?: Record<string, unknown>) => ({
  name,
  role: "hosting",
  provider: "ovh",
  site: "rbx",
  ssh: { host: `203.0.113.${10 + i}`, hostKey: testHostKey(`203.0.113.${10 + i}`) },
  ...(binlog ? { binlog } : {}),
});
const fleetOf = (values: Record<string, unknown>): Fleet => parseFleetConfig(values, src);


const setting = (text: string, key: string): string | undefined => new RegExp(`^${key} = (\\S+)$`, "m").exec(text)?.[1];

describe("binlog fleet keys", () => {
  it("hosting servers get binlogs on by default, with the server_id derived from the name", () => {
    const fleet = fleetOf({ servers: [hosting("web-rbx", 0), backup] });
    const web = fleet.servers[0]!;
    assert.deepEqual(web.binlog, { enabled: true, serverId: derivedServerId("web-rbx"), serverIdDeclared: false });
    assert.equal(fleet.servers[1]!.binlog, undefined);
    assert.deepEqual(fleet.binlog, { dir: DEFAULT_BINLOG_DIR, keepDays: 9, maxFileMB: 64, maxLagSeconds: 300 });
  });

  it("binlog.maxLagSeconds is the chain check's lag limit (default 300)", () => {
    assert.equal(fleetOf({ servers: [hosting("web-a", 0), backup], binlog: { maxLagSeconds: 120 } }).binlog!.maxLagSeconds, 120);
  });

  it("binlog.enabled false and an explicit serverId are kept", () => {
    const fleet = fleetOf({ servers: [hosting("web-a", 0, { enabled: false }), hosting("web-b", 1, { serverId: 42 }), backup] });
    assert.equal(fleet.servers[0]!.binlog!.enabled, false);
    assert.deepEqual(fleet.servers[1]!.binlog, { enabled: true, serverId: 42, serverIdDeclared: true });
  });

  it("refuses a binlog key on a backup server, a keepDays below the retention, a dir in the datadir, a bad serverId", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ servers: [hosting("web-a", 0), { ...backup, binlog: { enabled: true } }] }, /servers\[1\]\.binlog: only hosting servers write binary logs/],
      [{ servers: [hosting("web-a", 0), backup], binlog: { keepDays: 7 } }, /binlog\.keepDays: 7 day\(s\) does not cover the dumps' retention.*expected at least 8/],
      [{ servers: [hosting("web-a", 0), backup], policy: { minRetentionDays: 14 }, binlog: { keepDays: 14 } }, /binlog\.keepDays: 14 day.*at least 15/],
      [{ servers: [hosting("web-a", 0), backup], binlog: { dir: "/var/lib/mysql/binlog" } }, /binlog\.dir: .*overlaps MariaDB's datadir/],
      [{ servers: [hosting("web-a", 0), backup], binlog: { dir: "/binlog" } }, /binlog\.dir: .*top-level directory/],
      [{ servers: [hosting("web-a", 0, { serverId: 0 }), backup] }, /servers\[0\]\.binlog\.serverId: expected a number ≥ 1/],
      [{ servers: [hosting("web-a", 0, { serverId: SERVER_ID_MAX + 1 }), backup] }, /servers\[0\]\.binlog\.serverId: expected a number ≤ 4294967295/],
      [{ servers: [hosting("web-a", 0, { on: true }), backup] }, /servers\[0\]\.binlog\.on: unknown key/],
      [{ servers: [hosting("web-a", 0), backup], binlog: { maxLagSeconds: 30 } }, /binlog\.maxLagSeconds: .*60/],
      [{ servers: [hosting("web-a", 0), backup], binlog: { maxLagSeconds: 90000 } }, /binlog\.maxLagSeconds: .*86400/],
      [{ servers: [hosting("web-a", 0), backup], binlog: { maxLagSeconds: "5m" } }, /binlog\.maxLagSeconds: .*(seconds|number)/],
      [{ servers: [hosting("web-a", 0), backup], binlog: { maxLagSeconds: 90.5 } }, /binlog\.maxLagSeconds: .*(whole|integer)/],
    ];
    assertRefused(cases, fleetOf, /stacks\/Pulumi\.fleet\.yaml/);
  });

  it("derivedServerId: an integer in 1..2^32-1, a function of the name only", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,40}[a-z0-9]$/), (name) => {
        const id = derivedServerId(name);
        assert.ok(Number.isInteger(id) && id >= 1 && id <= SERVER_ID_MAX, `${name}: ${id}`);
        assert.equal(derivedServerId(name), id);
      }),
    );
    // distinct names of a realistic fleet get distinct ids
    const ids = new Set(Array.from({ length: 2000 }, (_, i) => derivedServerId(`web-${i}`)));
    assert.equal(ids.size, 2000);
  });
});

describe("rule binlog.server-id", () => {
  it("flags exactly the server_ids shared by two hosting servers with binlogs on (generated fleets)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: fc.integer({ min: 1, max: 4 }), enabled: fc.boolean(), lost: fc.boolean() }), { minLength: 1, maxLength: 6 }),
        (specs) => {
          const servers = specs.map((s, i) => ({
            ...hosting(`web-${i}`, i, { serverId: s.id, enabled: s.enabled }),
            ...(s.lost ? { state: "lost" } : {}),
          }));
          const topology = buildTopology(fleetOf({ servers: [...servers, backup] }), []);
          const violations = checkRule("binlog.server-id", topology);
          const counts = new Map<number, string[]>();
          specs.forEach((s, i) => {
            if (s.enabled && !s.lost) counts.set(s.id, [...(counts.get(s.id) ?? []), `web-${i}`]);
          });
          const expected = [...counts.entries()].filter(([, n]) => n.length > 1);
          assert.equal(violations.length, expected.length);
          for (const [id, names] of expected) {
            const v = violations.find((x) => x.message.includes(`server_id ${id};`));
            assert.ok(v, `server_id ${id}`);
            assert.deepEqual(v.servers, names);
            assert.equal(v.severity, "mandatory");
            assert.equal(v.file, "stacks/Pulumi.fleet.yaml");
          }
        },
      ),
    );
  });

  it("passes on a fleet of derived ids", () => {
    const fleet = fleetOf({ servers: [hosting("web-a", 0), hosting("web-b", 1), hosting("web-c", 2), backup] });
    assert.deepEqual(checkRule("binlog.server-id", buildTopology(fleet, [])), []);
  });
});

describe("the MariaDB drop-in", () => {
  it("renders every setting of a point-in-time recovery binlog, for any keepDays and file size", () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 400 }), fc.integer({ min: 4, max: 1024 }), fc.integer({ min: 1, max: SERVER_ID_MAX }), (keepDays, maxFileMB, id) => {
        const fleet = fleetOf({ servers: [hosting("web-a", 0, { serverId: id }), backup], binlog: { keepDays, maxFileMB, dir: "/srv/binlogs" } });
        const text = renderBinlogDropIn(fleet, fleet.servers[0]!)!;
        assert.match(text, /^\[mariadbd\]$/m);
        assert.match(text, /^# A change of log_bin or log_bin_index restarts MariaDB when applied; the others apply without restart$/m);
        assert.equal(setting(text, "log_bin"), "/srv/binlogs/binlog");
        assert.equal(setting(text, "log_bin_index"), "/srv/binlogs/binlog.index");
        assert.equal(setting(text, "binlog_format"), "ROW");
        assert.equal(setting(text, "binlog_row_image"), "FULL");
        assert.equal(setting(text, "server_id"), String(id));
        assert.equal(setting(text, "gtid_domain_id"), String(id));
        assert.equal(setting(text, "gtid_strict_mode"), "ON");
        assert.equal(setting(text, "sync_binlog"), "1");
        assert.equal(setting(text, "max_binlog_size"), String(maxFileMB * 1048576));
        assert.equal(setting(text, "binlog_expire_logs_seconds"), String(keepDays * 86400));
        // every non-comment line is a setting of the one section, as dolibarr-binlog-setup reads them
        const lines = text.split("\n").filter((l) => l && !l.startsWith("#"));
        assert.equal(lines.length, 1 + binlogSettings(fleet, fleet.servers[0]!)!.length);
      }),
    );
  });

  it("goes into the hosting server's base bundle, applied by dolibarr-binlog-setup; off: only the removal of ours", () => {
    const fleet = fleetOf({ servers: [hosting("web-a", 0), hosting("web-b", 1, { enabled: false }), backup] });
    const on = renderServerBase(fleet, fleet.servers[0]!);
    const file = on.files.find((f) => f.path === mariadbBinlogRenderedPath);
    assert.ok(file);
    assert.equal(file.content, renderBinlogDropIn(fleet, fleet.servers[0]!));
    assert.ok(on.files.some((f) => f.path === SCRIPT.binlogSetup && f.mode === "0755"));
    assert.match(on.create, new RegExp(`^${SCRIPT.binlogSetup} apply ${mariadbBinlogRenderedPath} ${mariadbBinlogDropInPath}$`, "m"));
    assert.match(on.delete, /dolibarr-binlog-setup remove /);
    const off = renderServerBase(fleet, fleet.servers[1]!);
    assert.ok(!off.files.some((f) => f.path === mariadbBinlogRenderedPath));
    assert.match(off.create, new RegExp(`^${SCRIPT.binlogSetup} off ${mariadbBinlogDropInPath}$`, "m"));
    const bk = renderServerBase(fleet, fleet.servers[2]!);
    assert.doesNotMatch(bk.create, /binlog-setup/);
    assert.ok(bk.files.some((f) => f.path === SCRIPT.binlogReplay && f.mode === "0755"), "backup servers carry the replay");
  });

  it("the settings the drop-in says restart MariaDB are the ones dolibarr-binlog-setup restarts for", () => {
    assert.match(readServerScript("dolibarr-binlog-setup"), new RegExp(`^STATIC_KEYS=" ${STATIC_BINLOG_KEYS.join(" ")} "$`, "m"));
  });

  it("a Server from a fleet parsed before binlogs existed gets nothing configured", () => {
    const fleet = fleetOf({ servers: [hosting("web-a", 0), backup] });
    const { binlog: _drop, ...old } = fleet.servers[0]!;
    assert.equal(renderBinlogDropIn(fleet, old), undefined);
  });
});

describe("the dumps of an instance whose hosting server has binlogs on", () => {
  it("record their binlog position (DUMP_BINLOG_POSITION=1); on a server with binlogs off they do not", () => {
    const fleet = fleetOf({ servers: [hosting("web-a", 0), hosting("web-b", 1, { enabled: false }), backup, { ...backup, name: "bk-txl", provider: "ionos", site: "de/txl", ssh: { host: "203.0.113.30", hostKey: testHostKey("203.0.113.30") } }] });
    const inst = (name: string, hostingServer: string) => ({
      name,
      hostingServer,
      database: { name: name.replace("-", "_") },
      codeRoot: `/var/www/${name}/htdocs`,
      documentsDir: `/var/lib/dolibarr/${name}/documents`,
      backupServers: ["bk-sbg", "bk-txl"],
    });
    const client = parseClientConfig({ fleetStack: "fleet", client: "acme", instances: [inst("acme-on", "web-a"), inst("acme-off", "web-b")] }, { stack: "client-acme", file: "stacks/Pulumi.client-acme.yaml" });
    const topology = buildTopology(fleet, [client]);
    const env = (i: number) => parseEnvFile(renderHostingInstance(topology, topology.clients[0]!.instances[i]!).files[0]!.content);
    assert.equal(env(0).DUMP_BINLOG_POSITION, "1");
    assert.equal(env(1).DUMP_BINLOG_POSITION, undefined);
  });
});

// One verdict (issue 19, point 4): the offline check, the Pulumi program and the policy pack run the
// one rules module, so on the same stack configs they must find the same violations. Generated
// fleets and clients (many instances per hosting server, dump queues that may outlast the dump
// window, several clients on one server, fleet settings the rules read, schedules near the limits)
// go through all three paths:
//  - the offline check: the stack files written to a directory, read and checked as `npm run check`
//    does (loadStacksDir + buildCheckReport);
//  - the program: main() of each client stack under the Pulumi mocks, with the fleet's outputs and the
//    directory of the other client stacks, as `pulumi up` runs it; its verdict is the violations it
//    stops on (mandatory) or the advisories it outputs;
//  - the policy pack: every policy run over the resources the mocked program registered (or, when the
//    program stopped, the resources it would have registered: declareClient without the check).
// The three sets of (rule, instance, severity) must be equal. And a program that stops has
// registered nothing, in a preview as in an update.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import * as yaml from "js-yaml";
import type { PolicyResource } from "@pulumi/policy";
import { FLEET_FIELDS_CARRIED_ELSEWHERE, FLEET_SETTING_KEYS, fleetSettingsOf } from "../../infra/components/contract";
import { accessDeclaration } from "../../infra/components/servers";
import { CONFIG_NAMESPACE } from "../../infra/model/defaults";
import { loadStacksDir, otherClientStacks } from "../../infra/model/load";
import { parseClientConfig, parseFleetConfig } from "../../infra/model/parse";
import { dumpCounts } from "../../infra/model/schedule";
import type { ClientStack, Fleet } from "../../infra/model/types";
import { clientTopology, declareClient, violationsOfError } from "../../infra/program/client";
import { plainFleet } from "../../infra/program/fleet";
import { FLEET_OUTPUTS_VERSION, type FleetView, type OutputDetails } from "../../infra/program/fleet-outputs";
import { main } from "../../infra/program/main";
import { renderHostingAccess } from "../../infra/render";
import { buildCheckReport } from "../../infra/report/check";
import { RULE_IDS } from "../../infra/rules";
import { PUSHED_RULES } from "../../infra/rules/pushed";
import { ADVISORY_SUFFIX, buildPolicies, DEFAULT_ENFORCEMENT, policyName } from "../../policies/policies";
import { settle, setupMocks, type MockRecorder } from "../support/pulumi-mocks";
import { KEYS, PRIVATE_KEY } from "../support/pulumi-mocks-fixtures";
import { policyResources, runAnyPolicy } from "../support/policy-resources";
import { testHostKey } from "../support/host-keys";

const FLEET = "fleet";

// ---- generated configs --------------------------------------------------------------------------

/** Hosting sites (Roubaix, Frankfurt) and backup sites, Gravelines ≈ 80 km from Roubaix among them. */
const HOSTING_SITES = [
  { provider: "ovh", site: "rbx" },
  { provider: "ionos", site: "de/fra" },
] as const;
const BACKUP_SITES = [
  { provider: "ovh", site: "waw" },
  { provider: "ionos", site: "gb/lhr" },
  { provider: "ovh", site: "gra" },
  { provider: "ionos", site: "de/txl" },
  { provider: "ovh", site: "sbg" },
] as const;
const DUMP_TIMES = [undefined, ["00:00", "12:00"], ["01:00", "13:00"], ["00:00", "08:00", "16:00"], ["00:00"], ["00:00", "12:00", "18:00"]];

interface Case {
  fleet: Record<string, unknown>;
  clients: Array<Record<string, unknown>>;
  /** Run each client program as a preview (true) or an update. */
  preview: boolean;
}

// Weighted so that about half the cases pass: each instance breaks a rule only now and then (one
// backup server, a backup 80 km away, one dump a day), the fleet sometimes (a lost server, short
// snapshot retention), and the dump queues and RPO limits decide the rest.
/** `arb` once in `n` cases, else null. */
const onceIn = <T>(n: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: 1, arbitrary: arb }, { weight: n - 1, arbitrary: fc.constant(null) });
/** A value of `rare` once in `n` cases, else one of `usual`. */
const mostly = <T>(n: number, usual: fc.Arbitrary<T>, rare: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: n - 1, arbitrary: usual }, { weight: 1, arbitrary: rare });

const fleetArb = fc.record({
  hosting: fc.integer({ min: 1, max: 2 }),
  // Gravelines (index 2), too close to Roubaix, in one fleet out of 8
  backups: mostly(8, fc.uniqueArray(fc.constantFrom(0, 1, 3, 4), { minLength: 2, maxLength: 4 }), fc.uniqueArray(fc.constantFrom(0, 1, 2, 3, 4), { minLength: 2, maxLength: 4 })),
  lost: onceIn(12, fc.integer({ min: 0, max: 3 })),
  maxConcurrentDumps: fc.option(fc.integer({ min: 1, max: 8 }), { freq: 4 }),
  timeZone: fc.option(fc.constantFrom("UTC", "Europe/Berlin", "Europe/London", "America/New_York"), { freq: 3 }),
  dumpVerification: fc.option(fc.constantFrom("frames", "full"), { freq: 3 }),
  snapshots: onceIn(6, fc.record({ keepHours: fc.constantFrom(12, 24, 48), maxSnapshots: fc.constantFrom(40, 60) })),
  // binlogs off on a hosting server in about half the cases (its database RPO is then the dumps'),
  // and a lag limit that breaks the 15-min bound now and then
  binlogOff: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
  maxLagSeconds: fc.option(fc.constantFrom(120, 300, 900, 1200), { freq: 3 }),
  policy: fc.record({
    maxDumpMinutes: fc.option(fc.integer({ min: 1, max: 8 }), { freq: 4 }),
    dumpWindowMinutes: fc.integer({ min: 20, max: 45 }),
    providerDiversity: fc.constantFrom("required", "advisory", "advisory", "off"),
    minDistanceKm: fc.constantFrom(100, 100, 100, 300),
    maxRpoHours: fc.record({
      files: fc.integer({ min: 6, max: 13 }),
      database: fc.constantFrom(13, 13.5, 14, 14, 15, 16),
      databaseWithBinlogs: fc.option(fc.constantFrom(0.1, 0.25, 0.5), { freq: 3 }),
    }),
  }),
});

const instanceArb = fc.record({
  hosting: fc.integer({ min: 0, max: 1 }),
  /** The instance's backup servers: `count` of the fleet's, from the `start`-th on. */
  backups: fc.record({ start: fc.integer({ min: 0, max: 3 }), count: mostly(60, fc.constantFrom(2, 2, 3), fc.constant(1)) }),
  // one dump a day (index 4) in one instance out of 60
  dumpTimes: mostly(60, fc.constantFrom(0, 0, 0, 0, 1, 2, 2, 3, 5), fc.constant(4)),
  replicationsPerDay: fc.option(fc.integer({ min: 2, max: 8 }), { freq: 3 }),
});

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    fleet: fleetArb,
    clients: fc.array(fc.array(instanceArb, { minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 3 }),
    preview: fc.boolean(),
  })
  .map(({ fleet: f, clients, preview }) => {
    const hosting = HOSTING_SITES.slice(0, f.hosting).map((s, i) => ({
      name: `web-${i}`,
      role: "hosting",
      ...s,
      ssh: { host: `203.0.113.${10 + i}`, hostKey: KEYS.rbxHost },
      ...(f.binlogOff[i] ? { binlog: { enabled: false } } : {}),
    }));
    const backups = f.backups.map((b, i) => ({
      name: `bk-${i}`,
      role: "backup",
      ...BACKUP_SITES[b]!,
      ssh: { host: `198.51.100.${20 + i}`, hostKey: KEYS.sbgHost },
      ...(f.lost === i ? { state: "lost" } : {}),
    }));
    const policy: Record<string, unknown> = { ...f.policy };
    if (policy.maxDumpMinutes === null) delete policy.maxDumpMinutes;
    const maxRpoHours: Record<string, unknown> = { ...f.policy.maxRpoHours };
    if (maxRpoHours.databaseWithBinlogs === null) delete maxRpoHours.databaseWithBinlogs;
    policy.maxRpoHours = maxRpoHours;
    const fleet: Record<string, unknown> = { stackKind: "fleet", servers: [...hosting, ...backups], policy };
    if (f.maxLagSeconds !== null) fleet.binlog = { maxLagSeconds: f.maxLagSeconds };
    for (const k of ["maxConcurrentDumps", "timeZone", "dumpVerification", "snapshots"] as const) if (f[k] !== null) fleet[k] = f[k];
    let n = 0;
    const clientValues = clients.map((instances, c) => ({
      stackKind: "client",
      fleetStack: FLEET,
      client: `c${c}`,
      instances: instances.map((inst) => {
        const name = `c${c}-i${n++}`;
        const schedule: Record<string, unknown> = {};
        const dumpTimes = DUMP_TIMES[inst.dumpTimes];
        if (dumpTimes) schedule.dumpTimes = dumpTimes;
        if (inst.replicationsPerDay !== null) schedule.replicationsPerDay = inst.replicationsPerDay;
        return {
          name,
          hostingServer: hosting[Math.min(inst.hosting, hosting.length - 1)]!.name,
          database: { name: name.replace(/-/g, "_") },
          codeRoot: `/var/www/${name}/htdocs`,
          documentsDir: `/var/lib/dolibarr/${name}/documents`,
          backupServers: Array.from({ length: Math.min(inst.backups.count, backups.length) }, (_, j) => backups[(inst.backups.start + j) % backups.length]!.name),
          ...(Object.keys(schedule).length > 0 ? { schedule } : {}),
        };
      }),
    }));
    return { fleet, clients: clientValues, preview };
  });

/** The configs as stack files in a fresh directory (what `npm run check` and the program read). */
function writeStacks(c: Case): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-verdict-"));
  const write = (stack: string, values: Record<string, unknown>) => {
    const config = Object.fromEntries(Object.entries(values).map(([k, v]) => [`${CONFIG_NAMESPACE}:${k}`, v]));
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), yaml.dump({ config }));
  };
  // the file holds the private key encrypted, as `pulumi config set --secret` writes it
  write(FLEET, { ...c.fleet, sshPrivateKey: { secure: "v1:c2FsdHNhbHQ=:Y2lwaGVydGV4dGNpcGhlcnRleHQ=" } });
  for (const client of c.clients) write(`client-${client.client as string}`, client);
  return dir;
}

// ---- the three verdicts -------------------------------------------------------------------------

/** "rule instance severity", sorted and unique. */
type Verdict = string[];
const key = (rule: string, instance: string | undefined, severity: string) => `${rule} ${instance ?? "(stack)"} ${severity}`;
const verdict = (keys: string[]): Verdict => [...new Set(keys)].sort();

function offlineVerdict(dir: string): Verdict {
  const report = buildCheckReport(loadStacksDir(dir).topologies);
  return verdict(report.violations.map((v) => key(v.ruleId, v.instance, v.severity)));
}

/** What the fleet stack exports to its clients, for these configs (as readFleetView reads it). */
function fleetView(fleet: Fleet): FleetView {
  const backups = fleet.servers.filter((s) => s.role === "backup");
  return {
    fleet: plainFleet(fleet),
    hostKeys: Object.fromEntries(fleet.servers.map((s) => [s.name, s.ssh.hostKey!])),
    access: Object.fromEntries(
      fleet.servers
        .filter((s) => s.role === "hosting")
        .map((h) => [h.name, backups.map((b) => accessDeclaration(b.name, renderHostingAccess(fleet, h, b, KEYS.backupSbg)))]),
    ),
    sshPrivateKey: PRIVATE_KEY,
  };
}

function fleetOutputs(view: FleetView): (name: string) => Promise<OutputDetails> {
  const outputs: Record<string, OutputDetails> = {
    stackKind: { value: "fleet" },
    outputsVersion: { value: FLEET_OUTPUTS_VERSION },
    fleet: { value: view.fleet },
    hostKeys: { value: view.hostKeys },
    access: { value: view.access },
    sshPrivateKey: { secretValue: view.sshPrivateKey },
  };
  return async (name) => outputs[name] ?? {};
}

interface ProgramRun {
  verdict: Verdict;
  stopped: boolean;
  /** What the mocks recorded (nothing, when the program stopped). */
  mocks: MockRecorder;
}

/** One client stack's program, through main(), as the engine runs it. */
async function programRun(dir: string, values: Record<string, unknown>, view: FleetView, preview: boolean): Promise<ProgramRun> {
  const stack = `client-${values.client as string}`;
  const mocks = setupMocks({ stack, preview, randomInteger: () => (preview ? undefined : 9) });
  const deps = {
    config: () => ({ kind: "client" as const, values: JSON.parse(JSON.stringify(values)) as Record<string, unknown>, source: { stack, file: path.join(dir, `Pulumi.${stack}.yaml`), origin: "engine" as const } }),
    fleetOutput: () => fleetOutputs(view),
    stacksDir: dir,
  };
  try {
    const outputs = await main(deps);
    await settle();
    const advisories = outputs.advisories as string[];
    return {
      stopped: false,
      mocks,
      verdict: verdict(
        advisories.map((a) => {
          const m = /^([a-z.-]+): instance ([a-z0-9-]+):/.exec(a);
          assert.ok(m, `advisory without rule and instance: ${a}`);
          return key(m[1]!, m[2]!, "advisory");
        }),
      ),
    };
  } catch (err) {
    const violations = violationsOfError(err);
    if (!violations) throw err;
    await settle();
    return { stopped: true, mocks, verdict: verdict(violations.map((v) => key(v.ruleId, v.instance, v.severity))) };
  }
}


/** The resources the program of this client stack registers when its check is not in the way. */
async function declaredResources(dir: string, client: ClientStack, view: FleetView): Promise<PolicyResource[]> {
  const mocks = setupMocks({ stack: client.stack, randomInteger: () => 9 });
  const topology = clientTopology(client, view, dumpCounts(otherClientStacks(client, dir)));
  declareClient(client, view, { topology, violations: [] });
  await settle();
  return policyResources(mocks, client.stack);
}

/** Policy name → rule id (the rules of infra/rules, access.restricted-ssh, the pushed.* rules). */
const RULE_OF_POLICY = new Map<string, string>([...RULE_IDS, "access.restricted-ssh", ...Object.values(PUSHED_RULES)].map((id) => [policyName(id), id]));

/** The rules' policies of the pack always; its other policies only where resources really get pushed. */
const RULES_POLICY = new Set([...RULE_IDS, "access.restricted-ssh"].map(policyName));

/**
 * The pack's verdict: `rules`, the policies of the rules (infra/rules and access.restricted-ssh);
 * `pushed`, its checks of the pushes and of the contract, which restate the rules on what the
 * commands write (pushed.replication-sources also measures the distance): they must find nothing
 * in what the program really registers.
 */
async function packVerdict(resources: PolicyResource[]): Promise<{ rules: Verdict; pushed: Verdict }> {
  const keys: string[] = [];
  const pushed: string[] = [];
  for (const p of buildPolicies()) {
    const run = await runAnyPolicy(p, resources);
    const advisory = p.name.endsWith(ADVISORY_SUFFIX);
    const base = advisory ? p.name.slice(0, -ADVISORY_SUFFIX.length) : p.name;
    const severity = advisory ? "advisory" : (DEFAULT_ENFORCEMENT[p.name] ?? "mandatory");
    for (const v of run.violations) {
      // Instance components are named after the instance, its commands "<instance>/<server>/…".
      const name = v.urn?.split("::").pop()?.split("/")[0];
      (RULES_POLICY.has(base) ? keys : pushed).push(key(RULE_OF_POLICY.get(base) ?? p.name, name, severity));
    }
  }
  return { rules: verdict(keys), pushed: verdict(pushed) };
}

interface Verdicts {
  offline: Verdict;
  program: Verdict;
  pack: Verdict;
}

async function verdicts(c: Case): Promise<Verdicts> {
  const dir = writeStacks(c);
  try {
    const offline = offlineVerdict(dir);
    const fleet = parseFleetConfig(c.fleet, { stack: FLEET, file: path.join(dir, `Pulumi.${FLEET}.yaml`), origin: "engine" });
    const view = fleetView(fleet);
    const program: string[] = [];
    const pack: string[] = [];
    for (const values of c.clients) {
      const run = await programRun(dir, values, view, c.preview);
      program.push(...run.verdict);
      if (run.stopped) {
        // before its first resource, in a preview as in an update
        assert.deepEqual(run.mocks.resources.map((r) => r.name), [], `client ${values.client as string} stopped on a mandatory violation after registering resources`);
      }
      const client = parseClientConfig(values, { stack: `client-${values.client as string}`, file: path.join(dir, `Pulumi.client-${values.client as string}.yaml`), origin: "engine" });
      const resources = !run.stopped && !c.preview ? policyResources(run.mocks, client.stack) : await declaredResources(dir, client, view);
      const p = await packVerdict(resources);
      pack.push(...p.rules);
      if (!run.stopped) assert.deepEqual(p.pushed, [], `the pack refuses what the program of client ${values.client as string} pushes`);
    }
    return { offline, program: verdict(program), pack: verdict(pack) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The verdicts without the binlog.off advisories, after checking all three give one per instance of `instances`. */
function withoutBinlogOff(v: Verdicts, instances: number): Verdicts {
  const strip = (xs: Verdict) => xs.filter((k) => !k.startsWith("binlog.off "));
  for (const [who, xs] of Object.entries(v)) assert.equal((xs as Verdict).filter((k) => k.startsWith("binlog.off ") && k.endsWith(" advisory")).length, instances, `${who}: binlog.off advisories\n${(xs as Verdict).join("\n")}`);
  return { offline: strip(v.offline), program: strip(v.program), pack: strip(v.pack) };
}

// ---- the properties -----------------------------------------------------------------------------

describe("one verdict: offline check, program and policy pack", () => {
  it("find the same (rule, instance, severity) violations on generated fleets and clients", async () => {
    const seen = { mandatory: 0, clean: 0, rpo: 0, binlogOff: 0 };
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const v = await verdicts(c);
        assert.deepEqual(v.program, v.offline, "the program's verdict differs from the offline check's");
        assert.deepEqual(v.pack, v.offline, "the policy pack's verdict differs from the offline check's");
        if (v.offline.some((k) => k.endsWith(" mandatory"))) seen.mandatory++;
        else seen.clean++;
        if (v.offline.some((k) => k.startsWith("rpo.max "))) seen.rpo++;
        if (v.offline.some((k) => k.startsWith("binlog.off "))) seen.binlogOff++;
      }),
      { numRuns: Number(process.env.DBK_VERDICT_RUNS ?? 40), includeErrorInReport: true },
    );
    // the generated cases are worth something only if the verdicts vary
    assert.ok(seen.mandatory > 0 && seen.clean > 0 && seen.rpo > 0 && seen.binlogOff > 0, `verdicts did not vary: ${JSON.stringify(seen)}`);
  });

  it("the lab's 50-instance client: a dump queue of 4 at once drains in the window, for all three", async () => {
    // scripts/lab/stacks.ts labFleetConfig: maxConcurrentDumps 4 and maxDumpMinutes 2; 50 instances
    // dumping at 00:00 and 12:00 on one hosting server drain in ceil(50 / 4) x 2 = 26 min ≤ 30.
    // Binlogs off: the database RPO is then the dumps', which the queue delays.
    const lab: Case = {
      preview: false,
      fleet: {
        stackKind: "fleet",
        maxConcurrentDumps: 4,
        policy: { maxDumpMinutes: 2 },
        servers: [
          { name: "lab-host-ionos-fra", role: "hosting", provider: "ionos", site: "de/fra", ssh: { host: "10.77.0.11", hostKey: KEYS.fraHost }, binlog: { enabled: false } },
          { name: "lab-backup-ovh-waw", role: "backup", provider: "ovh", site: "waw", ssh: { host: "10.77.0.21", hostKey: KEYS.sbgHost } },
          { name: "lab-backup-ionos-lhr", role: "backup", provider: "ionos", site: "gb/lhr", ssh: { host: "10.77.0.22", hostKey: KEYS.sbgHost } },
        ],
      },
      clients: [
        {
          stackKind: "client",
          fleetStack: FLEET,
          client: "scale",
          instances: Array.from({ length: 50 }, (_, i) => ({
            name: `scale-${i}`,
            hostingServer: "lab-host-ionos-fra",
            database: { name: `scale_${i}` },
            codeRoot: `/var/www/scale-${i}/htdocs`,
            documentsDir: `/var/lib/dolibarr/scale-${i}/documents`,
            backupServers: ["lab-backup-ovh-waw", "lab-backup-ionos-lhr"],
          })),
        },
      ],
    };
    const v = withoutBinlogOff(await verdicts(lab), 50);
    assert.deepEqual(v, { offline: [], program: [], pack: [] });
    // 3 min a dump: ceil(50 / 4) x 3 = 39 min, 9 min past the window: rpo.max for all three
    const over: Case = JSON.parse(JSON.stringify(lab)) as Case;
    (over.fleet.policy as Record<string, unknown>).maxDumpMinutes = 3;
    const w = withoutBinlogOff(await verdicts(over), 50);
    assert.ok(w.offline.some((k) => k.startsWith("rpo.max ")), w.offline.join("\n"));
    assert.deepEqual(w.program, w.offline);
    assert.deepEqual(w.pack, w.offline);
    // With the binlogs on, the database RPO is the shipping lag's: the late dumps break no RPO, for all three.
    const shipped: Case = JSON.parse(JSON.stringify(over)) as Case;
    delete (shipped.fleet.servers as Array<Record<string, unknown>>)[0]!.binlog;
    assert.deepEqual(await verdicts(shipped), { offline: [], program: [], pack: [] });
  });

  it("two clients on one hosting server: the dumps of the other client stack queue with this one's", async () => {
    // The offline check sees both clients' dumps in one queue; so must each client's program and pack.
    const servers = [
      // binlogs off: the dump queue decides the database RPO
      { name: "web-0", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.10", hostKey: KEYS.rbxHost }, binlog: { enabled: false } },
      { name: "bk-0", role: "backup", provider: "ionos", site: "de/txl", ssh: { host: "198.51.100.20", hostKey: KEYS.sbgHost } },
      { name: "bk-1", role: "backup", provider: "ovh", site: "waw", ssh: { host: "198.51.100.21", hostKey: KEYS.sbgHost } },
    ];
    const client = (c: string, n: number) => ({
      stackKind: "client",
      fleetStack: FLEET,
      client: c,
      instances: Array.from({ length: n }, (_, i) => ({
        name: `${c}-${i}`,
        hostingServer: "web-0",
        database: { name: `${c}_${i}` },
        codeRoot: `/var/www/${c}-${i}/htdocs`,
        documentsDir: `/var/lib/dolibarr/${c}-${i}/documents`,
        backupServers: ["bk-0", "bk-1"],
      })),
    });
    // 6 at once, 5 min each: one client of 18 drains in 15 min, both (36) in 30; with a 20-min window only both overflow
    const c: Case = {
      preview: false,
      fleet: { stackKind: "fleet", servers, maxConcurrentDumps: 6, policy: { maxDumpMinutes: 5, dumpWindowMinutes: 20, maxRpoHours: { files: 8, database: 12.75 } } },
      clients: [client("acme", 18), client("beta", 18)],
    };
    const v = withoutBinlogOff(await verdicts(c), 36);
    assert.ok(v.offline.length > 0 && v.offline.every((k) => k.startsWith("rpo.max ")), v.offline.join("\n"));
    assert.deepEqual(v.program, v.offline);
    assert.deepEqual(v.pack, v.offline);
  });

  it("the contract carries every field of a parsed fleet, but those it names with where they go instead", () => {
    // every optional fleet key set, as a fleet stack file may hold them
    const fleet = parseFleetConfig(
      {
        servers: [{ name: "web-0", role: "hosting", provider: "ovh", site: "rbx", ssh: { host: "203.0.113.10", hostKey: testHostKey("203.0.113.10") } }],
        policy: { maxDumpMinutes: 3 },
        mirrorRoot: "/srv/mirrors",
        snapshots: { keepHours: 24 },
        pathRoots: ["/srv"],
        timeZone: "UTC",
        maxConcurrentDumps: 5,
        dumpVerification: "full",
        notifications: { email: { to: ["ops@example.com"] } },
        metrics: { textfileDir: "/var/lib/node-exporter" },
        binlog: { dir: "/srv/binlog", keepDays: 10, maxFileMB: 32 },
        drills: { enabled: false, maxRtoMinutes: 30, staleDays: 15, sampleDocumentsPercent: 0.5 },
        encryptionAtRest: "required",
      },
      { stack: FLEET, file: "stacks/Pulumi.fleet.yaml", origin: "engine" },
    );
    const known = new Set([...Object.keys(FLEET_SETTING_KEYS), ...Object.keys(FLEET_FIELDS_CARRIED_ELSEWHERE)]);
    assert.deepEqual(Object.keys(fleet).filter((k) => !known.has(k)), [], "a Fleet field neither carried nor named in FLEET_FIELDS_CARRIED_ELSEWHERE");
    assert.deepEqual(fleetSettingsOf(fleet), { snapshots: fleet.snapshots, pathRoots: ["/srv"], timeZone: "UTC", maxConcurrentDumps: 5, dumpVerification: "full", metrics: { textfileDir: "/var/lib/node-exporter" }, binlog: { dir: "/srv/binlog", keepDays: 10, maxFileMB: 32, maxLagSeconds: 300 }, drills: { enabled: false, maxRtoMinutes: 30, staleDays: 15, sampleDocumentsPercent: 0.5, sampleDocumentsMin: 20 }, encryptionAtRest: "required", rsync: { minVersion: "3.4.0", minPackages: ["3.2.7-1+deb12u1"] } });
  });
});

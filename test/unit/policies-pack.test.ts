// The pack as the engine loads it: packaging files, then the compiled pack started the way the
// nodejs language host starts `--policy-pack policies` (`node <run-policy-pack> <engine> .` in
// policies/, run-policy-pack resolved from there), and driven over
// its gRPC Analyzer interface like the engine does: analyzer info, policy config (enforcement
// levels), stack analysis. No Pulumi CLI needed; the real `pulumi preview` is the e2e test's job.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerpb from "@pulumi/pulumi/proto/analyzer_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { parse as parseYaml } from "yaml";
import type { PolicyResource } from "@pulumi/policy";
import { buildPolicies, DEFAULT_ENFORCEMENT, PACK_NAME } from "../../policies/policies";
import { BACKUP_SBG, BACKUP_TXL, facts, HOSTING, instanceProps, instanceResource, UNKNOWN, withValue } from "../support/policy-resources";
import { accessPushes, commandResource, editFile, instancePushes, pushedClientStack } from "../support/push-resources";

const repo = path.resolve(__dirname, "../../..");
const packDir = path.join(repo, "policies");
const LEVELS = ["advisory", "mandatory", "disabled", "remediate"] as const;
const LEVEL_NAMES: Record<number, string> = {
  [analyzerpb.EnforcementLevel.ADVISORY]: "advisory",
  [analyzerpb.EnforcementLevel.MANDATORY]: "mandatory",
  [analyzerpb.EnforcementLevel.DISABLED]: "disabled",
  [analyzerpb.EnforcementLevel.REMEDIATE]: "remediate",
};

describe("packaging", () => {
  test("PulumiPolicy.yaml declares the nodejs runtime", () => {
    const project = parseYaml(fs.readFileSync(path.join(packDir, "PulumiPolicy.yaml"), "utf8")) as { runtime: unknown };
    const runtime = typeof project.runtime === "string" ? project.runtime : (project.runtime as { name: string }).name;
    assert.equal(runtime, "nodejs");
  });

  test("requiring the pack directory loads the compiled entry (package.json main)", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(packDir, "package.json"), "utf8")) as Record<string, unknown>;
    assert.match(String(pkg.version), /^\d+\.\d+\.\d+$/, "PolicyPack reads the version from package.json");
    assert.equal(require.resolve(packDir), path.join(repo, "dist/policies/index.js"));
  });

  test("the pack has no dependencies nor node_modules of its own (the repo's are found upward)", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(packDir, "package.json"), "utf8")) as Record<string, unknown>;
    assert.equal(pkg.dependencies, undefined);
    assert.equal(pkg.devDependencies, undefined);
    assert.ok(!fs.existsSync(path.join(packDir, "node_modules")));
    assert.equal(require.resolve("@pulumi/policy", { paths: [packDir] }), require.resolve("@pulumi/policy"));
  });

  test("config.example.json sets a valid level for every policy, and only for policies of the pack", () => {
    const config = JSON.parse(fs.readFileSync(path.join(packDir, "config.example.json"), "utf8")) as Record<string, unknown>;
    const names = buildPolicies().map((p) => p.name);
    assert.deepEqual(Object.keys(config).sort(), [...names].sort());
    for (const [name, value] of Object.entries(config)) {
      const level = typeof value === "string" ? value : (value as { enforcementLevel?: string }).enforcementLevel;
      assert.ok((LEVELS as readonly string[]).includes(level ?? ""), `${name}: ${JSON.stringify(value)}`);
      assert.equal(level, DEFAULT_ENFORCEMENT[name], `the example shows the default of ${name}`);
    }
  });

  test("docs/policies.md documents every policy with its default enforcement", () => {
    const doc = fs.readFileSync(path.join(repo, "docs/policies.md"), "utf8");
    for (const p of buildPolicies()) {
      assert.ok(new RegExp(`\\|\\s*\`${p.name}\`\\s*\\|[^\\n]*\\|\\s*${p.enforcementLevel}\\s*\\|`).test(doc), `${p.name} (${p.enforcementLevel}) not in the table`);
    }
  });
});

// ---- the pack served by its analyzer process ----

type Analyzer = InstanceType<typeof AnalyzerClient>;

function call<Req, Res>(fn: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

/** The engine's wire form of a secret value (the program makes every connection a secret). */
const SECRET_SIG = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };

function wireProps(r: PolicyResource): Struct {
  // The plain object behind the test's unknown-checking proxy (it may hold unknown sentinels).
  const plain = JSON.parse(JSON.stringify((r.props as Record<string, unknown>)["__getSpecialProxyTarget"])) as Record<string, unknown>;
  if (plain.connection !== undefined) plain.connection = { ...SECRET_SIG, value: plain.connection };
  return Struct.fromJavaScript(plain as Record<string, never>);
}

/** An AnalyzerResource (analyzeStack) or AnalyzeRequest (analyze) describing `r`. */
function described<T extends analyzerpb.AnalyzerResource | analyzerpb.AnalyzeRequest>(a: T, r: PolicyResource): T {
  a.setType(r.type);
  a.setUrn(r.urn);
  a.setName(r.name);
  a.setProperties(wireProps(r));
  a.setOptions(new analyzerpb.AnalyzerResourceOptions());
  return a;
}

function toAnalyzerResource(r: PolicyResource): analyzerpb.AnalyzerResource {
  return described(new analyzerpb.AnalyzerResource(), r);
}

function diagnostics(res: analyzerpb.AnalyzeResponse): Diagnostic[] {
  return res.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    level: LEVEL_NAMES[d.getEnforcementlevel()]!,
    message: d.getMessage(),
    urn: d.getUrn(),
  }));
}

/** The engine's `analyze` call: one resource's inputs, before its step (preview, and `up` with every input known). */
async function analyzeResource(client: Analyzer, r: PolicyResource): Promise<Diagnostic[]> {
  const req = described(new analyzerpb.AnalyzeRequest(), r);
  return diagnostics(await call<analyzerpb.AnalyzeRequest, analyzerpb.AnalyzeResponse>(client.analyze.bind(client), req));
}

interface Diagnostic {
  policy: string;
  level: string;
  message: string;
  urn: string;
}

async function analyzeStack(client: Analyzer, resources: PolicyResource[]): Promise<Diagnostic[]> {
  const req = new analyzerpb.AnalyzeStackRequest();
  req.setResourcesList(resources.map(toAnalyzerResource));
  return diagnostics(await call<analyzerpb.AnalyzeStackRequest, analyzerpb.AnalyzeResponse>(client.analyzeStack.bind(client), req));
}

/** What the CLI sends for `--policy-pack-config <file>`: one PolicyConfig per policy named in the file. */
async function configure(client: Analyzer, config: Record<string, string | { enforcementLevel?: string }>): Promise<void> {
  const req = new analyzerpb.ConfigureAnalyzerRequest();
  const byName: Record<string, number> = {
    advisory: analyzerpb.EnforcementLevel.ADVISORY,
    mandatory: analyzerpb.EnforcementLevel.MANDATORY,
    disabled: analyzerpb.EnforcementLevel.DISABLED,
    remediate: analyzerpb.EnforcementLevel.REMEDIATE,
  };
  for (const [name, value] of Object.entries(config)) {
    const pc = new analyzerpb.PolicyConfig();
    const { enforcementLevel, ...properties } = typeof value === "string" ? { enforcementLevel: value } : value;
    pc.setEnforcementlevel(byName[enforcementLevel ?? "advisory"] as analyzerpb.EnforcementLevel);
    pc.setProperties(Struct.fromJavaScript(properties as Record<string, never>));
    req.getPolicyconfigMap().set(name, pc);
  }
  await call<analyzerpb.ConfigureAnalyzerRequest, Empty>(client.configure.bind(client), req);
}

describe("the pack served by the nodejs analyzer", () => {
  let child: ChildProcess | undefined;
  let client: Analyzer;
  let stderr = "";

  before(async () => {
    // As the nodejs language host starts a pack given as a directory (`--policy-pack policies`):
    // @pulumi/pulumi's run-policy-pack, resolved from the pack, with the engine's address, in the pack.
    const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
    child = spawn(process.execPath, [runPolicyPack, "127.0.0.1:0", "."], { cwd: packDir, stdio: ["ignore", "pipe", "pipe"] });
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`no port printed within 30 s; stderr: ${stderr}`)), 30_000);
      child!.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child!.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`analyzer exited (${code}) before printing its port; stderr: ${stderr}`));
      });
    });
    client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  after(() => {
    client?.close();
    if (child?.pid !== undefined && child.exitCode === null) child.kill("SIGTERM");
  });

  test("announces the pack's name, version and policies with their default levels", async () => {
    const info = await call<Empty, analyzerpb.AnalyzerInfo>(client.getAnalyzerInfo.bind(client), new Empty());
    assert.equal(info.getName(), PACK_NAME);
    assert.equal(info.getVersion(), "0.1.0");
    const levels = Object.fromEntries(info.getPoliciesList().map((p) => [p.getName(), LEVEL_NAMES[p.getEnforcementlevel()]]));
    assert.deepEqual(levels, { ...DEFAULT_ENFORCEMENT });
  });

  const gra = facts("bk-ovh-gra-1", "backup", "ovh:gra");
  const waw = facts("bk-ovh-waw-1", "backup", "ovh:waw");
  const violating = () => pushedClientStack(0, [instanceProps({ backups: [gra, waw] })]);
  const levels = (ds: Diagnostic[]) => ds.map((d) => [d.policy, d.level]);

  test("a compliant stack has no diagnostics, as a stack nor resource by resource", async () => {
    const stack = pushedClientStack(9, [instanceProps({ backups: [BACKUP_SBG, BACKUP_TXL], minuteOffset: 9 })]);
    assert.deepEqual(await analyzeStack(client, stack), []);
    for (const r of stack) assert.deepEqual(await analyzeResource(client, r), [], r.name);
  });

  test("a violating stack: geography and provider diversity mandatory (the fleet policy's default), the pushed link too, each where ops act", async () => {
    const ds = await analyzeStack(client, violating());
    assert.deepEqual(levels(ds), [
      ["geo-min-distance", "mandatory"],
      ["provider-diversity", "mandatory"],
      ["pushed-replication-sources", "mandatory"],
    ]);
    assert.match(ds[0]!.message, /bk-ovh-gra-1 \(ovh:gra, Gravelines, FR\) and hosting server web-ovh-rbx-1 \(ovh:rbx, Roubaix, FR\) are \d+\.\d km apart; required ≥ 100 km/);
    assert.ok(ds.slice(0, 2).every((d) => d.urn.endsWith("::dolibarr-backup:client:Instance::acme-erp")));
    assert.match(ds[2]!.message, /replication as pushed: .*bk-ovh-gra-1 .* are \d+\.\d km apart; required ≥ 100 km/);
    assert.ok(ds[2]!.urn.endsWith("::command:remote:Command::acme-erp/bk-ovh-gra-1/apply"), ds[2]!.urn);
  });

  test("a fleet policy with providerDiversity advisory: the advisory companion reports it, nothing mandatory", async () => {
    const props = instanceProps({ backups: [BACKUP_SBG, waw], policy: { providerDiversity: "advisory" } });
    assert.deepEqual(levels(await analyzeStack(client, pushedClientStack(0, [props]))), [["provider-diversity-advisory", "advisory"]]);
  });

  test("first preview of a client stack (offset unknown: replication times and their pushes): the rules report, the rest says it cannot run", async () => {
    const props = withValue(instanceProps({ backups: [gra, waw] }), ["replications"], UNKNOWN.array);
    const pushes = instancePushes(instanceProps({ backups: [gra, waw] }), 0);
    const stack = [instanceResource(props), ...pushes.map((p) => commandResource(p, "client-acme", p.server.role === "backup" ? UNKNOWN.string : undefined))];
    const ds = await analyzeStack(client, stack);
    assert.deepEqual(levels(ds), [
      ["geo-min-distance", "mandatory"],
      ["provider-diversity", "mandatory"],
      ["replications-as-planned", "advisory"],
      ["pushed-timers", "advisory"],
      ["pushed-replication-sources", "advisory"],
    ]);
    for (const d of ds.slice(2)) assert.match(d.message, /can't run policy '[a-z-]+' .* during preview/);
    // the resource policy: a known push is checked, an unknown one cannot be
    assert.deepEqual(await analyzeResource(client, stack[1]!), []);
    assert.deepEqual(levels(await analyzeResource(client, stack[2]!)), [["pushed-authorized-keys", "advisory"]]);
  });

  test("a pushed authorized_keys line without rrsync -ro is refused by the resource policy, before the command runs", async () => {
    const [ok, ...rest] = accessPushes([HOSTING, BACKUP_SBG, BACKUP_TXL]);
    const bad = editFile([ok!], /authorized_keys$/, (c) => c.replace(" -ro ", " "))[0]!;
    const r = commandResource(bad, "fleet");
    const ds = await analyzeResource(client, r);
    assert.deepEqual(levels(ds), [["pushed-authorized-keys", "mandatory"]]);
    assert.match(ds[0]!.message, /is not `rrsync -ro <dir>`/);
    assert.equal(ds[0]!.urn, ""); // the engine attaches a resource policy's diagnostic to the resource it analyzed
    assert.deepEqual(await analyzeResource(client, commandResource(rest[0]!, "fleet")), []);
    assert.deepEqual(levels(await analyzeResource(client, commandResource(ok!, "fleet", "garbage"))), [["pushed-authorized-keys", "mandatory"]]);
  });

  test("a shifted timer and a replication source that is no hosting server fail the stack, on their commands", async () => {
    const props = instanceProps({ minuteOffset: 3 });
    let pushes = instancePushes(props, 3);
    pushes = editFile(pushes, /dolibarr-dump@acme-erp\.timer\.d\/schedule\.conf$/, (c) => c.replace("00,12:00:00", "00,12:20:00"));
    pushes = editFile(pushes, /instances\/acme-erp\.env$/, (c) => c.replace(/^SOURCE_HOST='.*'$/m, `SOURCE_HOST='${BACKUP_TXL.address}'`), BACKUP_SBG.name);
    const ds = await analyzeStack(client, pushedClientStack(3, [props], pushes));
    assert.deepEqual(levels(ds), [
      ["pushed-timers", "mandatory"],
      ["pushed-replication-sources", "mandatory"],
    ]);
    assert.match(ds[0]!.message, /starts at 00:20 12:20, but instance acme-erp's dumpTimes are 00:00 12:00/);
    assert.ok(ds[0]!.urn.endsWith("::acme-erp/web-ovh-rbx-1/apply"));
    assert.match(ds[1]!.message, /pulls acme-erp from bk-ionos-txl-1 .* not a hosting server/);
    assert.ok(ds[1]!.urn.endsWith("::acme-erp/bk-ovh-sbg-1/apply"));
  });

  test("the policy config sets the levels (provider diversity lowered, geography and the pushed link disabled)", async () => {
    await configure(client, { "provider-diversity": "advisory", "geo-min-distance": { enforcementLevel: "disabled" }, "pushed-replication-sources": "disabled" });
    const ds = await analyzeStack(client, violating());
    assert.deepEqual(levels(ds), [["provider-diversity", "advisory"]]);
    await configure(client, {});
    assert.equal((await analyzeStack(client, violating())).length, 3);
  });
});

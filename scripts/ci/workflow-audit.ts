// `node dist/scripts/ci/workflow-audit.js [WORKFLOW.yml...]` (default: .github/workflows/*.yml):
// what a GitHub Actions workflow gives the code of a branch. A job that a pull request (or a push
// to a branch other than main) can start runs the branch's own code (npm packages, the build, the
// check), so it must see no secret, no protected environment and no write token; the jobs that do
// read secrets must be in an environment (its reviewers and branch rule guard them) and run only on
// push or workflow_dispatch of main, and every action is pinned by commit.
//
// Whether a job can run for a branch is decided from its own `if:` only, never from the workflow's
// triggers (a trigger added later must not open the deploy jobs): the condition is evaluated, with
// every other term unknown, for every event and ref a branch or a pull request can produce; a job is
// "main only" when it is false for all of them. Anything the evaluator does not understand counts
// as "may run". Pure functions (auditWorkflow, auditWorkflowText); main() is the CLI.
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

export interface AuditOptions {
  /** The default branch: the only branch whose pushes may deploy. */
  defaultBranch?: string;
  /** Events on which a job may read secrets (on the default branch only). */
  deployEvents?: readonly string[];
}

const DEFAULTS = { defaultBranch: "main", deployEvents: ["push", "workflow_dispatch"] } as const;

/** Triggers that run with the base repository's secrets on behalf of a pull request's code. */
const REFUSED_TRIGGERS: Record<string, string> = {
  pull_request_target: "runs with the repository's secrets and a write token for a pull request (a fork's included), and a checkout of its head runs the pull request's code with them",
  workflow_run: "runs with the repository's secrets after a workflow a pull request started, on what that run produced",
};

/** Every event a job's `if:` is evaluated for: what a branch, a fork or a comment can start. */
const EVENTS = [
  "pull_request",
  "pull_request_target",
  "pull_request_review",
  "pull_request_review_comment",
  "push",
  "workflow_dispatch",
  "workflow_run",
  "workflow_call",
  "issue_comment",
  "merge_group",
  "schedule",
  "repository_dispatch",
  "some_other_event",
];

const PINNED_ACTION = /^[^@\s]+@[0-9a-f]{40}$/;
const PINNED_IMAGE = /^docker:\/\/[^@\s]+@sha256:[0-9a-f]{64}$/;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Expressions: the `${{ … }}` of any string, and the whole of an `if:`.

/**
 * The expressions in a string: the text of each `${{ … }}`, its end found outside the
 * expression's string literals (`${{ format('}}', secrets.X) }}` is one expression). An unclosed
 * `${{` runs to the end of the string.
 */
export function expressionsIn(text: string): string[] {
  const out: string[] = [];
  let i = text.indexOf("${{");
  while (i >= 0) {
    let j = i + 3;
    let end = -1;
    while (j < text.length) {
      if (text[j] === "'") {
        j++;
        while (j < text.length && !(text[j] === "'" && text[j + 1] !== "'")) j += text[j] === "'" ? 2 : 1;
        j++;
      } else if (text.startsWith("}}", j)) {
        end = j;
        break;
      } else j++;
    }
    out.push(text.slice(i + 3, end < 0 ? text.length : end));
    if (end < 0) break;
    i = text.indexOf("${{", end + 2);
  }
  return out;
}

/** The expression's text without its string literals. */
function withoutLiterals(expr: string): string {
  return expr.replace(/'(?:[^']|'')*'?/g, "''");
}

/** Whether an expression names the secrets context (any case: GitHub's contexts are case-insensitive), e.g. secrets.X, secrets['X'], toJSON(secrets). */
export function expressionReadsSecrets(expr: string): boolean {
  return /(?<![\w.-])secrets\b/i.test(withoutLiterals(expr));
}

/** Whether any string in the value (keys too; the whole of every `if:`) reads the secrets context. */
export function readsSecrets(value: unknown, key?: string): boolean {
  if (typeof value === "string") {
    const exprs = expressionsIn(value);
    if (key === "if" && exprs.length === 0) exprs.push(value);
    return exprs.some(expressionReadsSecrets);
  }
  if (Array.isArray(value)) return value.some((v) => readsSecrets(v));
  if (isObj(value)) return Object.entries(value).some(([k, v]) => readsSecrets(k) || readsSecrets(v, k));
  return false;
}

// A small evaluator of GitHub's expression language, enough to tell when an `if:` is false. Values
// are known (a literal, github.event_name, github.ref) or unknown; truth is three-valued.

type Tok = { t: "str" | "num" | "id" | "op"; v: string };

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) i++;
    else if (c === "'") {
      let j = i + 1;
      let s = "";
      for (;;) {
        if (j >= src.length) throw new Error("unterminated string");
        if (src[j] === "'") {
          if (src[j + 1] === "'") (s += "'"), (j += 2);
          else break;
        } else s += src[j++];
      }
      toks.push({ t: "str", v: s });
      i = j + 1;
    } else if (/[0-9]/.test(c) || (c === "-" && /[0-9]/.test(src[i + 1] ?? ""))) {
      const m = /^-?(0x[0-9a-f]+|[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?)/i.exec(src.slice(i))!;
      toks.push({ t: "num", v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))!;
      toks.push({ t: "id", v: m[0] });
      i += m[0].length;
    } else {
      const op = ["&&", "||", "==", "!=", "<=", ">="].find((o) => src.startsWith(o, i)) ?? (/[()[\].,!<>*]/.test(c) ? c : undefined);
      if (!op) throw new Error(`unexpected ${c}`);
      toks.push({ t: "op", v: op });
      i += op.length;
    }
  }
  return toks;
}

type Node =
  | { k: "lit"; v: string | number | boolean | null }
  | { k: "path"; path: string[] | undefined }
  | { k: "call" }
  | { k: "not"; a: Node }
  | { k: "and" | "or"; a: Node; b: Node }
  | { k: "cmp"; op: string; a: Node; b: Node };

function parse(src: string): Node {
  const toks = tokenize(src);
  let p = 0;
  const peek = (v?: string) => (p < toks.length && (v === undefined || (toks[p]!.t === "op" && toks[p]!.v === v)) ? toks[p] : undefined);
  const expect = (v: string) => {
    if (!peek(v)) throw new Error(`expected ${v}`);
    p++;
  };
  const or = (): Node => {
    let a = and();
    while (peek("||")) (p++, (a = { k: "or", a, b: and() }));
    return a;
  };
  const and = (): Node => {
    let a = cmp();
    while (peek("&&")) (p++, (a = { k: "and", a, b: cmp() }));
    return a;
  };
  const cmp = (): Node => {
    let a = unary();
    for (let op = comparison(); op; op = comparison()) a = { k: "cmp", op, a, b: unary() };
    return a;
  };
  const comparison = (): string | undefined => {
    const op = ["==", "!=", "<", "<=", ">", ">="].find((o) => peek(o));
    if (op) p++;
    return op;
  };
  const unary = (): Node => {
    if (peek("!")) return (p++, { k: "not", a: unary() });
    return postfix();
  };
  const postfix = (): Node => {
    const tok = toks[p++];
    if (!tok) throw new Error("unexpected end");
    let node: Node;
    let segs: string[] | undefined;
    if (tok.t === "str") node = { k: "lit", v: tok.v };
    else if (tok.t === "num") node = { k: "lit", v: Number(tok.v) };
    else if (tok.t === "id") {
      const low = tok.v.toLowerCase();
      if (low === "true" || low === "false") node = { k: "lit", v: low === "true" };
      else if (low === "null") node = { k: "lit", v: null };
      else if (peek("(")) {
        p++;
        if (!peek(")")) {
          or();
          while (peek(",")) (p++, or());
        }
        expect(")");
        node = { k: "call" };
      } else {
        segs = [low];
        node = { k: "path", path: segs };
      }
    } else if (tok.v === "(") {
      node = or();
      expect(")");
    } else throw new Error(`unexpected ${tok.v}`);
    for (;;) {
      if (peek(".")) {
        p++;
        const name = toks[p++];
        if (!name || !(name.t === "id" || (name.t === "op" && name.v === "*"))) throw new Error("expected a property");
        segs = segs && name.t === "id" ? [...segs, name.v.toLowerCase()] : undefined;
      } else if (peek("[")) {
        p++;
        const start = p;
        or();
        const index = p === start + 1 && toks[start]!.t === "str" ? toks[start]!.v.toLowerCase() : undefined;
        expect("]");
        segs = segs && index !== undefined ? [...segs, index] : undefined;
      } else break;
      node = { k: "path", path: segs };
    }
    return node;
  };
  const node = or();
  if (p !== toks.length) throw new Error(`unexpected ${toks[p]!.v}`);
  return node;
}

function literals(n: Node): string[] {
  switch (n.k) {
    case "lit":
      return typeof n.v === "string" ? [n.v] : [];
    case "not":
      return literals(n.a);
    case "and":
    case "or":
    case "cmp":
      return [...literals(n.a), ...literals(n.b)];
    default:
      return [];
  }
}

type Truth = "T" | "F" | "U";
type Val = { truth: Truth; known: boolean; v?: string | number | boolean | null };
type Scenario = { event: string; ref: string };

const known = (v: string | number | boolean | null): Val => ({ truth: v === false || v === 0 || v === "" || v === null || Number.isNaN(v) ? "F" : "T", known: true, v });
const UNKNOWN: Val = { truth: "U", known: false };

function evaluate(n: Node, s: Scenario): Val {
  switch (n.k) {
    case "lit":
      return known(n.v);
    case "path": {
      const p = n.path?.join(".");
      if (p === "github.event_name") return known(s.event);
      if (p === "github.ref") return known(s.ref);
      return UNKNOWN;
    }
    case "call":
      return UNKNOWN;
    case "not": {
      const a = evaluate(n.a, s);
      return a.truth === "U" ? UNKNOWN : known(a.truth === "F");
    }
    case "and": {
      const a = evaluate(n.a, s);
      if (a.truth === "F") return a;
      const b = evaluate(n.b, s);
      if (a.truth === "T") return b;
      return b.truth === "F" ? { truth: "F", known: false } : UNKNOWN;
    }
    case "or": {
      const a = evaluate(n.a, s);
      if (a.truth === "T") return a;
      const b = evaluate(n.b, s);
      if (a.truth === "F") return b;
      return b.truth === "T" ? { truth: "T", known: false } : UNKNOWN;
    }
    case "cmp": {
      const a = evaluate(n.a, s);
      const b = evaluate(n.b, s);
      if (!a.known || !b.known || (n.op !== "==" && n.op !== "!=")) return UNKNOWN;
      let eq: boolean;
      if (typeof a.v === "string" && typeof b.v === "string") eq = a.v.toLowerCase() === b.v.toLowerCase(); // GitHub ignores case
      else if (typeof a.v === typeof b.v) eq = a.v === b.v;
      else return UNKNOWN;
      return known(n.op === "==" ? eq : !eq);
    }
  }
}

/** The condition of an `if:` as an expression, or undefined when GitHub would not evaluate it as one (then it is a non-empty string: true). */
function conditionOf(cond: unknown): string | undefined {
  if (cond === undefined || cond === null) return "success()";
  if (typeof cond === "boolean" || typeof cond === "number") return String(cond);
  if (typeof cond !== "string") return undefined;
  const text = cond.trim();
  const exprs = expressionsIn(text);
  if (exprs.length === 0) return text;
  if (exprs.length === 1 && text.startsWith("${{") && text.endsWith("}}") && exprs[0]!.length === text.length - 5) return exprs[0];
  return undefined;
}

/**
 * Whether a job's `if:` lets it run only on one of the deploy events of the default branch: false
 * for every other event, on every ref (a pull request's merge ref, another branch, a tag, a merge
 * queue's, the default branch itself for events such as issue_comment).
 */
export function runsOnlyOnDefaultBranch(cond: unknown, options: AuditOptions = {}): boolean {
  const branch = options.defaultBranch ?? DEFAULTS.defaultBranch;
  const deploy = options.deployEvents ?? DEFAULTS.deployEvents;
  const main = `refs/heads/${branch}`;
  const text = conditionOf(cond);
  if (text === undefined) return false;
  let node: Node;
  try {
    node = parse(text);
  } catch {
    return false;
  }
  // A branch or a tag can be named anything: every string the condition compares with is a ref
  // someone can push, too (a job that runs only on branch "mai" is not a main-only job).
  const words = literals(node);
  const refs = new Set([main, "refs/heads/feature", "refs/pull/1/merge", "refs/tags/v1", `refs/heads/gh-readonly-queue/${branch}/pr-1-0`, "", ...words, ...words.flatMap((w) => [`refs/heads/${w}`, `refs/tags/${w}`])]);
  for (const event of new Set([...EVENTS, ...words])) {
    for (const ref of refs) {
      // GitHub compares strings ignoring case: a ref equal to main's but for case counts as main
      if (deploy.some((d) => d.toLowerCase() === event.toLowerCase()) && ref.toLowerCase() === main.toLowerCase()) continue;
      if (evaluate(node, { event, ref }).truth !== "F") return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The audit.

function triggers(on: unknown): string[] {
  if (typeof on === "string") return [on];
  if (Array.isArray(on)) return on.map(String);
  if (isObj(on)) return Object.keys(on);
  return [];
}

function grantsWrite(permissions: unknown): boolean {
  if (typeof permissions === "string") return permissions.trim() === "write-all" || permissions.includes("${{");
  return isObj(permissions) && Object.values(permissions).some((v) => v !== "read" && v !== "none");
}

/** The name of a job's environment when it is a literal (no expression), else undefined. */
function environmentName(env: unknown): string | undefined {
  const name = isObj(env) ? env.name : env;
  if (typeof name !== "string" || name.trim() === "" || name.includes("${{")) return undefined;
  return name;
}

/** Commands of a run: its script split at newlines and shell separators, comments dropped. */
function commands(run: string): string[] {
  return run
    .split(/\n|;|&&|\|\||\|/)
    .map((c) => c.replace(/(^|\s)#.*$/, "").trim())
    .filter(Boolean);
}

/** A package install that runs the packages' install scripts unless told not to. */
const INSTALLS = [
  /\bnpm(?:\s+--?[\w-]+(?:=\S*)?)*\s+(?:ci|install|i|it|cit|install-test|install-ci-test|add|rebuild|update|up)(?=\s|$)/,
  /\bpnpm(?:\s+--?[\w-]+(?:=\S*)?)*\s+(?:install|i|add)(?=\s|$)/,
  /\byarn(?:\s+-\S*)*\s*$|\byarn\s+(?:install|add)(?=\s|$)/,
];
const IGNORE_SCRIPTS = /\s--ignore-scripts(?:=true)?(?=\s|$)/;

function usesProblem(where: string, uses: unknown): string | undefined {
  if (typeof uses !== "string") return `${where}: uses is not a string`;
  if (uses.startsWith("./")) return undefined;
  if (uses.startsWith("docker://")) return PINNED_IMAGE.test(uses) ? undefined : `${where}: ${uses} is not pinned by digest (docker://image@sha256:<64 hex>)`;
  return PINNED_ACTION.test(uses) ? undefined : `${where}: ${uses} is not pinned by commit (owner/repo@<40 hex>)`;
}

/** Every problem of a parsed workflow, in words; [] when it gives a branch nothing. */
export function auditWorkflow(doc: unknown, options: AuditOptions = {}): string[] {
  if (!isObj(doc)) return ["the workflow is not a mapping"];
  const problems: string[] = [];
  for (const t of triggers(doc.on)) if (REFUSED_TRIGGERS[t]) problems.push(`trigger ${t}: ${REFUSED_TRIGGERS[t]}`);
  const { jobs, ...top } = doc;
  for (const [key, value] of Object.entries(top)) {
    if (readsSecrets(value, key)) problems.push(`workflow-level ${key} reads a secret: every job, a pull request's included, gets it`);
  }
  if (doc.permissions === undefined) problems.push("no workflow-level permissions: every job's token gets the repository's default, which may be write (set permissions: contents: read)");
  else if (grantsWrite(doc.permissions)) problems.push(`workflow-level permissions ${JSON.stringify(doc.permissions)} grant write: every job's token can write`);
  if (!isObj(jobs)) return [...problems, "no jobs"];
  for (const [name, raw] of Object.entries(jobs)) {
    if (!isObj(raw)) {
      problems.push(`job ${name} is not a mapping`);
      continue;
    }
    const job = raw;
    const steps = Array.isArray(job.steps) ? job.steps.filter(isObj) : [];
    steps.forEach((step, i) => {
      if (step.uses !== undefined) {
        const p = usesProblem(`job ${name}, step ${i + 1}`, step.uses);
        if (p) problems.push(p);
      }
    });
    if (job.uses !== undefined) {
      const p = usesProblem(`job ${name}`, job.uses);
      if (p) problems.push(p);
    }
    const secrets = job.secrets !== undefined || readsSecrets(job);
    const mainOnly = runsOnlyOnDefaultBranch(job.if, options);
    if (secrets && environmentName(job.environment) === undefined) {
      problems.push(`job ${name} reads secrets outside a protected environment (no literal environment: name): its secrets are the repository's, which every branch's workflow can read`);
    }
    if (mainOnly) continue;
    const why = `job ${name} can run for a pull request or a branch (its if: ${JSON.stringify(job.if ?? null)} is not false for every event but a push or dispatch of the default branch)`;
    if (secrets) problems.push(`${why} and reads a secret`);
    if (job.environment !== undefined) problems.push(`${why} and enters the environment ${JSON.stringify(job.environment)}: its secrets`);
    if (grantsWrite(job.permissions)) problems.push(`${why} with a token that can write (${JSON.stringify(job.permissions)})`);
    steps.forEach((step, i) => {
      if (typeof step.run === "string") {
        for (const c of commands(step.run)) if (INSTALLS.some((r) => r.test(c)) && !IGNORE_SCRIPTS.test(` ${c}`)) problems.push(`${why} and runs the install scripts of the packages: ${c} (add --ignore-scripts)`);
      }
      if (typeof step.uses === "string" && /^actions\/checkout@/.test(step.uses)) {
        const keep = isObj(step.with) ? step.with["persist-credentials"] : undefined;
        if (keep !== false && keep !== "false") problems.push(`${why} and step ${i + 1} leaves the job's token in .git/config (actions/checkout without persist-credentials: false)`);
      }
    });
  }
  return problems;
}

/**
 * auditWorkflow of a workflow file's text, and what only the text shows: every `uses:` pinned by
 * commit carries the tag it was taken from as a comment (`uses: owner/repo@<40 hex> # v4.4.0`).
 */
export function auditWorkflowText(text: string, options: AuditOptions = {}): string[] {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (e) {
    return [`not valid YAML: ${(e as Error).message.split("\n")[0]}`];
  }
  const problems = auditWorkflow(doc, options);
  text.split("\n").forEach((line, i) => {
    const m = /^\s*(?:-\s+)?uses:\s*(?:&\S+\s+)?["']?([^\s"'#]+)["']?\s*(#.*)?$/.exec(line);
    if (m && PINNED_ACTION.test(m[1]!) && !/^#\s*v?\d[\w.-]*/.test(m[2] ?? "")) problems.push(`line ${i + 1}: ${m[1]} has no "# <tag>" comment naming the release its commit was taken from`);
  });
  return problems;
}

export function main(argv: readonly string[], cwd = process.cwd()): number {
  let files = [...argv];
  if (files.some((a) => a.startsWith("-"))) {
    process.stderr.write("usage: workflow-audit [WORKFLOW.yml...]  (default: .github/workflows/*.yml)\n");
    return 2;
  }
  if (files.length === 0) {
    const dir = path.join(cwd, ".github", "workflows");
    files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(dir, f)) : [];
    if (files.length === 0) {
      process.stderr.write(`workflow-audit: no workflow in ${dir}\n`);
      return 2;
    }
  }
  let bad = 0;
  for (const file of files) {
    const problems = auditWorkflowText(fs.readFileSync(file, "utf8"));
    for (const p of problems) process.stdout.write(`${path.relative(cwd, file) || file}: ${p}\n`);
    if (problems.length === 0) process.stdout.write(`${path.relative(cwd, file) || file}: a branch or a pull request gets no secret\n`);
    bad += problems.length;
  }
  return bad > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

// What a GitHub Actions workflow gives the code of a pull request: a job that a pull request can
// start runs the branch's own code (npm install scripts, the build, the program), so it must see no
// secret, no protected environment and no write token; actions are pinned by commit. Pure: reads the
// parsed workflow, returns every problem in words.

type Job = {
  if?: string;
  env?: Record<string, unknown>;
  environment?: unknown;
  permissions?: unknown;
  secrets?: unknown;
  steps?: Array<{ uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, unknown> }>;
  uses?: string;
};
export type Workflow = { on?: unknown; env?: Record<string, unknown>; permissions?: unknown; jobs?: Record<string, Job> };

/** Events that run a workflow on code a branch or a fork controls. */
const PULL_REQUEST_EVENTS = ["pull_request", "pull_request_review", "pull_request_review_comment"];
/** Events that run with the base repository's secrets on behalf of a pull request: never wanted here. */
const PRIVILEGED_PULL_REQUEST_EVENTS = ["pull_request_target", "workflow_run"];

function events(on: unknown): string[] {
  if (typeof on === "string") return [on];
  if (Array.isArray(on)) return on.map(String);
  if (on && typeof on === "object") return Object.keys(on);
  return [];
}

/**
 * Whether a job may run for a pull request: unless its `if` requires another event outright (a
 * conjunction with `github.event_name == 'push'` and no `||`), a workflow started by a pull request
 * may start it.
 */
function mayRunOnPullRequest(job: Job): boolean {
  const cond = job.if ?? "";
  if (/\|\|/.test(cond)) return true;
  return !/github\.event_name\s*==\s*'(push|schedule|workflow_dispatch)'/.test(cond);
}

const SECRET_RE = /\bsecrets\s*(\.|\[)/;
const PINNED_RE = /^[^@\s]+@[0-9a-f]{40}$/;

function writes(permissions: unknown): boolean {
  if (permissions === "write-all") return true;
  return !!permissions && typeof permissions === "object" && Object.values(permissions as Record<string, unknown>).some((v) => v === "write");
}

export function auditWorkflow(doc: Workflow): string[] {
  const problems: string[] = [];
  const on = events(doc.on);
  for (const e of on.filter((x) => PRIVILEGED_PULL_REQUEST_EVENTS.includes(x))) problems.push(`trigger ${e}: runs with the repository's secrets for code a pull request controls`);
  if (SECRET_RE.test(JSON.stringify(doc.env ?? {}))) problems.push("workflow-level env reads a secret: every job, a pull request's included, gets it");
  if (writes(doc.permissions)) problems.push("workflow-level permissions grant write: every job's token can write");
  const pr = on.some((x) => PULL_REQUEST_EVENTS.includes(x));
  for (const [name, job] of Object.entries(doc.jobs ?? {})) {
    for (const step of job.steps ?? []) {
      if (step.uses && !step.uses.startsWith("./") && !PINNED_RE.test(step.uses)) problems.push(`job ${name}: ${step.uses} is not pinned by commit (owner/repo@<40 hex>)`);
    }
    if (job.uses && !job.uses.startsWith("./") && !PINNED_RE.test(job.uses)) problems.push(`job ${name}: ${job.uses} is not pinned by commit`);
    if (!pr || !mayRunOnPullRequest(job)) continue;
    if (job.secrets !== undefined || SECRET_RE.test(JSON.stringify({ ...job, if: undefined }))) problems.push(`job ${name} runs on a pull request and reads a secret`);
    if (job.environment !== undefined) problems.push(`job ${name} runs on a pull request in an environment (${JSON.stringify(job.environment)}): its secrets`);
    if (writes(job.permissions)) problems.push(`job ${name} runs on a pull request with a token that can write`);
    for (const step of job.steps ?? []) {
      if (step.run && /\bnpm (ci|install|i)\b/.test(step.run) && !/--ignore-scripts/.test(step.run)) problems.push(`job ${name} runs on a pull request and runs npm install scripts: ${step.run.trim()}`);
      if (step.uses?.startsWith("actions/checkout@") && step.with?.["persist-credentials"] !== false) problems.push(`job ${name} runs on a pull request and leaves its token in .git/config (actions/checkout without persist-credentials: false)`);
    }
  }
  return problems;
}

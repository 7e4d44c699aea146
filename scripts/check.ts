// `npm run check [-- [--stacks-dir DIR] [stack-file...]]`: the offline check of the stack configs,
// without the Pulumi engine and without decrypting anything.
// Exit 0: no mandatory violation; 1: a mandatory violation; 2: a config error (or bad usage);
// 3: an internal error of the check itself (a bug: never mistaken for a rule violation or a config error).
import * as fs from "node:fs";
import * as path from "node:path";
import { isConfigError } from "../infra/model/errors";
import { loadStackFiles, loadStacksDir, type LoadedStacks } from "../infra/model/load";
import { buildCheckReport } from "../infra/report/check";
import { formatCheckReport, formatConfigError } from "../infra/report/text";

const USAGE = `usage: npm run check -- [--stacks-dir DIR] [STACK-FILE...]
  Checks every stack config under DIR (default: the project's stacks/), or only the given client
  stack files together with their fleet (given too, or found in DIR by fleetStack).
  Exit 0: no mandatory violation; 1: a mandatory violation; 2: a configuration error;
  3: an internal error of the check (please report it).`;

export function main(argv: readonly string[]): number {
  const files: string[] = [];
  let stacksDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h" || a === "--help") {
      process.stdout.write(USAGE + "\n");
      return 0;
    } else if (a === "--stacks-dir") {
      stacksDir = argv[++i];
      if (!stacksDir) return usage("--stacks-dir needs a directory");
    } else if (a.startsWith("--stacks-dir=")) {
      stacksDir = a.slice("--stacks-dir=".length);
    } else if (a.startsWith("-")) {
      return usage(`unknown option ${a}`);
    } else files.push(a);
  }
  const dir = stacksDir ?? defaultStacksDir();
  let loaded: LoadedStacks;
  try {
    if (files.length > 0) loaded = loadStackFiles(files, stacksDir ? { stacksDir } : {});
    else {
      if (!fs.existsSync(dir)) return usage(`no stacks directory ${dir}`);
      loaded = loadStacksDir(dir);
    }
  } catch (e) {
    if (isConfigError(e)) {
      process.stderr.write(formatConfigError(e));
      return 2;
    }
    throw e;
  }
  if (loaded.topologies.length === 0) {
    process.stderr.write(`no fleet stack found (${files.length ? files.join(" ") : dir})\n`);
    return 2;
  }
  const report = buildCheckReport(loaded.topologies);
  process.stdout.write(formatCheckReport(report));
  return report.exitCode;
}

function usage(message: string): number {
  process.stderr.write(`check: ${message}\n${USAGE}\n`);
  return 2;
}

/** stacks/ of the project: from dist/scripts/check.js, two levels up; else ./stacks. */
function defaultStacksDir(): string {
  const fromBuild = path.resolve(__dirname, "..", "..", "stacks");
  const dir = fs.existsSync(fromBuild) ? fromBuild : path.resolve("stacks");
  const rel = path.relative(process.cwd(), dir);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : dir;
}

/** main(), with any unexpected exception reported as an internal error (exit 3), never as exit 1. */
export function run(argv: readonly string[]): number {
  try {
    return main(argv);
  } catch (e) {
    process.stderr.write(`check: internal error (not a problem of the stack configs; please report it): ${(e as Error)?.stack ?? String(e)}\n`);
    return 3;
  }
}

if (require.main === module) {
  process.exitCode = run(process.argv.slice(2));
}

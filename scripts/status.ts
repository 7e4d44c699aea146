// `npm run status [-- --stack FLEET] [--json] [--html FILE] [--ssh-key FILE] [--known-hosts FILE]
// [--stacks-dir DIR]`: the fleet's backups as they are on the servers, read over SSH, against each
// instance's computed worst-case RPO. Prints a table (or JSON), writes one self-contained HTML page,
// exits 1 when any instance is stale, failing or unknown (2 on a usage or config error).
// The fleet's SSH key: --ssh-key, else $DOLIBARR_BACKUP_SSH_KEY, else the fleet stack's secret
// (`pulumi config get dolibarr-backup:sshPrivateKey`, needs the engine env). Host keys: the pinned
// ssh.hostKey of each server, else --known-hosts.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fleetTimeZone } from "../infra/model/defaults";
import { isConfigError } from "../infra/model/errors";
import { loadStacksDir } from "../infra/model/load";
import { formatConfigError } from "../infra/report/text";
import { collect } from "../infra/status/collect";
import { renderHtml, renderJson, renderTable } from "../infra/status/render";
import { assess, snapshotSkeleton } from "../infra/status/snapshot";

const USAGE = `usage: npm run status -- [--stack FLEET] [--json] [--html FILE] [--ssh-key FILE] [--known-hosts FILE] [--stacks-dir DIR]
  Reads, over SSH, the last dump of every instance and its last complete mirror and snapshot on each
  backup server; compares their ages with the instance's worst-case RPO. Exit 1 when any instance is
  stale, failing or unknown. The page goes to FILE (default .status/<fleet>.html).`;

function usage(message: string): number {
  process.stderr.write(`status: ${message}\n${USAGE}\n`);
  return 2;
}

export async function main(argv: readonly string[]): Promise<number> {
  const repo = process.env.DOLIBARR_BACKUP_PROJECT || path.resolve(__dirname, "../..");
  let stacksDir = path.join(repo, "stacks");
  let stack: string | undefined;
  let json = false;
  let html: string | undefined;
  let sshKey = process.env.DOLIBARR_BACKUP_SSH_KEY;
  let knownHosts: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => argv[++i] ?? "";
    if (a === "-h" || a === "--help") {
      process.stdout.write(USAGE + "\n");
      return 0;
    } else if (a === "--stack") stack = value();
    else if (a === "--json") json = true;
    else if (a === "--html") html = value();
    else if (a === "--ssh-key") sshKey = value();
    else if (a === "--known-hosts") knownHosts = value();
    else if (a === "--stacks-dir") stacksDir = value();
    else return usage(`unknown argument ${a}`);
  }
  let loaded;
  try {
    loaded = loadStacksDir(stacksDir);
  } catch (e) {
    if (isConfigError(e)) {
      process.stderr.write(formatConfigError(e) + "\n");
      return 2;
    }
    throw e;
  }
  const topologies = loaded.topologies.filter((t) => stack === undefined || t.fleet.stack === stack);
  if (topologies.length === 0) return usage(stack ? `no fleet stack ${stack} in ${stacksDir}` : `no fleet stack in ${stacksDir}`);

  let exit = 0;
  for (const topology of topologies) {
    let keyFile = sshKey;
    let tmp: string | undefined;
    if (!keyFile) {
      const r = spawnSync("pulumi", ["config", "get", "dolibarr-backup:sshPrivateKey", "--stack", topology.fleet.stack], { cwd: repo, encoding: "utf8" });
      if (r.status !== 0) return usage(`no SSH key: give --ssh-key FILE (or DOLIBARR_BACKUP_SSH_KEY), or run in the engine env where pulumi can read the fleet's secret (${(r.stderr || r.error?.message || "").trim().split("\n").pop()})`);
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-status-key-"));
      keyFile = path.join(tmp, "id");
      fs.writeFileSync(keyFile, r.stdout.endsWith("\n") ? r.stdout : `${r.stdout}\n`, { mode: 0o600 });
    }
    try {
      const skeleton = snapshotSkeleton(topology, new Date(), fleetTimeZone(topology.fleet));
      const snapshot = await collect(topology, skeleton, { privateKeyFile: keyFile, ...(knownHosts ? { knownHostsFile: knownHosts } : {}) });
      const report = assess(snapshot);
      const page = html && topologies.length === 1 ? html : path.join(repo, ".status", `${topology.fleet.stack}.html`);
      fs.mkdirSync(path.dirname(path.resolve(page)), { recursive: true });
      fs.writeFileSync(page, await renderHtml(report));
      if (json) process.stdout.write(renderJson(report) + "\n");
      else process.stdout.write(renderTable(report) + `\npage: ${path.resolve(page)}\n`);
      if (report.exitCode !== 0) exit = 1;
    } finally {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  return exit;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`status: ${(err as Error).stack ?? err}\n`);
      process.exit(2);
    },
  );
}

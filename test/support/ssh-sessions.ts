// SSH sessions at once on a lab host, as the host sees them. The command provider keeps each
// command's SSH connection open until its `pulumi up` ends and sshd logs no line when a session's
// command ends, so sshd's journal cannot say how many commands ran at once. A sampler on the host
// (started through lxc-attach, so it is no SSH session itself) counts, every 50 ms, the sshd
// session processes ("sshd: <user>@notty") that have a command running, and keeps the most it saw.
// Used by the e2e test of the per-host session cap and by the deploy bench.
import { type LabEnv, labScript } from "../../scripts/lab/driver";
import type { LabHost } from "../../scripts/lab/stacks";

/**
 * awk over `ps -eo pid=,ppid=,args=`: the number of sshd session processes with a child (a command
 * running in the session).
 */
export const RUNNING_SESSIONS_AWK =
  '{ if ($3 == "sshd:" && $4 ~ /@notty$/) s[$1] = 1; parent[NR] = $2 } END { for (i in parent) if (parent[i] in s) busy[parent[i]] = 1; n = 0; for (k in busy) n++; print n }';

const DIR = "/run/dbk-session-sampler";

/** Starts the sampler on a host (replacing one left by an earlier run). */
export function startSessionSampler(env: LabEnv, host: LabHost): void {
  const loop = `max=0; while [ ! -e ${DIR}/stop ]; do n=$(ps -eo pid=,ppid=,args= | awk '${RUNNING_SESSIONS_AWK}'); if [ "$n" -gt "$max" ]; then max=$n; echo "$max" >${DIR}/max; fi; sleep 0.05; done; echo done >${DIR}/done`;
  const script = `rm -rf ${DIR}; mkdir -p ${DIR}; echo 0 >${DIR}/max; setsid sh -c '${loop.replace(/'/g, `'\\''`)}' </dev/null >/dev/null 2>&1 &`;
  const r = labScript(env, ["exec", host.name, "sh", "-c", script]);
  if (r.status !== 0) throw new Error(`session sampler on ${host.name}: ${r.stdout}${r.stderr}`);
}

/** Stops the sampler of a host: the most sessions with a command running at once since its start. */
export function stopSessionSampler(env: LabEnv, host: LabHost): number {
  const r = labScript(env, ["exec", host.name, "sh", "-c", `touch ${DIR}/stop; for i in 1 2 3 4 5 6 7 8 9 10; do [ -e ${DIR}/done ] && break; sleep 0.2; done; cat ${DIR}/max; rm -rf ${DIR}`]);
  const most = Number(r.stdout.trim().split("\n").pop());
  if (r.status !== 0 || !Number.isInteger(most)) throw new Error(`session sampler on ${host.name}: ${r.stdout}${r.stderr}`);
  return most;
}

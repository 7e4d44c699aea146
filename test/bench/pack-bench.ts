// Benchmark of the policy pack on a client stack of N instances with everything it pushes (one
// Instance component, one dump account command and three push commands per instance), run like the
// analyzer runs it: every stack policy once on the stack, the resource policy once per resource.
// Prints numbers; asserts nothing.
import { buildPolicies } from "../../policies/policies";
import { BACKUP_SBG, BACKUP_TXL, instanceProps, runAnyPolicy } from "../support/policy-resources";
import { pushedClientStack } from "../support/push-resources";

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export async function runPackBench(sizes: readonly number[] = [20, 50, 200]): Promise<void> {
  for (const n of sizes) {
    const props = Array.from({ length: n }, (_, i) => instanceProps({ name: `acme-${i}`, backups: [BACKUP_SBG, BACKUP_TXL], minuteOffset: 5 }));
    const resources = pushedClientStack(5, props);
    const ms: Record<string, number> = {};
    let violations = 0;
    const t0 = now();
    for (const p of buildPolicies()) {
      const t = now();
      violations += (await runAnyPolicy(p, resources)).violations.length;
      ms[p.name] = now() - t;
    }
    const total = now() - t0;
    const pushed = ["pushed-authorized-keys", "pushed-timers", "pushed-replication-sources"].map((k) => `${k} ${ms[k]!.toFixed(1)} ms`).join(", ");
    console.log(
      `${n} instances, ${resources.length} resources: every policy ${total.toFixed(1)} ms (${((total * 1000) / n).toFixed(0)} µs/instance), ${violations} violation(s); ${pushed}`,
    );
  }
}

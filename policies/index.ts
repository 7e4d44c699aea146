// Entry of the CrossGuard policy pack (`pulumi preview --policy-pack policies`).
// The nodejs analyzer starts in policies/ and requires it; policies/package.json's `main` points here
// once compiled (dist/policies/index.js). Constructing the PolicyPack starts the analyzer's gRPC
// server, so nothing but the pack's launch belongs in this file: the policies are in policies.ts.
import { PolicyPack } from "@pulumi/policy";
import { buildPolicies, PACK_NAME } from "./policies";

new PolicyPack(PACK_NAME, {
  description:
    "Backup topology of dolibarr-backup: the rules of infra/rules (geography, provider diversity, dumps, staggering, RPO) and restricted SSH access, run on the component resources of fleet and client stacks, and on what their remote commands really push (authorized_keys, timers, replication sources).",
  displayName: "dolibarr-backup rules",
  // Each policy sets its own level (see DEFAULT_ENFORCEMENT); this is only the fallback.
  enforcementLevel: "mandatory",
  policies: buildPolicies(),
});

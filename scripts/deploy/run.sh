#!/usr/bin/env bash
# Runs `pulumi preview` or `pulumi up` with the policy pack (`--policy-pack policies`, from the
# repository root) on stacks in dependency order:
# the fleet stacks one after the other, then the client stacks, DEPLOY_PARALLELISM at a time.
# A failing stack never stops the others; a summary ends the run, exit 1 when any stack failed.
# Stacks of the backend whose config file is gone from stacks/ are reported as orphaned and
# destroyed only when named: run.sh up --destroy-orphan STACK. Before `up`, the resources that run
# on a server the fleet marks `state: lost` leave the stack's state without any command run.
# Input: lines "<kind> <stack>" on stdin (as printed by stacks.sh). Used by the users' CI and the lab.
# Needs the engine env (scripts/engine/env.sh), PULUMI_BACKEND_URL, the passphrase, and the
# compiled program (npm run build): the logic is scripts/deploy/deploy.ts.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
entry=$repo/dist/scripts/deploy/deploy.js
if [[ ! -f $entry ]]; then
  echo "run.sh: $entry is missing: run npm run build first" >&2
  exit 2
fi
# The project dir as this script sees it (a project copy may link dist/ and scripts/ from elsewhere).
DOLIBARR_BACKUP_PROJECT=$repo exec node "$entry" "$@"

#!/usr/bin/env bash
# `npm test`: every test of the project, unit, integration (real MariaDB, sshd, rsync) and
# end to end (the real Pulumi engine against the LXC lab), in one node:test run.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
start=$SECONDS
phase() { printf '\n[test %4ds] == %s\n' "$((SECONDS - start))" "$*"; }

phase "setup (packages, engine, build)"
bash scripts/setup.sh

phase "lab hosts"
bash scripts/lab/lab.sh up

# shellcheck source=/dev/null
source scripts/engine/env.sh
rc=0
phase "tests: unit and integration (files in parallel)"
node --test --test-reporter=spec dist/test/unit/ dist/test/integration/ || rc=$?
# The lab is one per machine and its e2e files change it (a host destroyed, every host restarted):
# run in parallel, the lab test's restart of the hosts once fell inside the IPv6 test.
phase "tests: end to end on the lab (one file at a time)"
node --test --test-concurrency=1 --test-reporter=spec dist/test/e2e/ || rc=$?
phase "all tests done (exit $rc)"
exit "$rc"

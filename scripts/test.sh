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

phase "tests"
# shellcheck source=/dev/null
source scripts/engine/env.sh
node --test --test-reporter=spec dist/test/unit/ dist/test/integration/ dist/test/e2e/
phase "all tests done"

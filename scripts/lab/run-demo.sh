#!/usr/bin/env bash
# `npm run lab`, the project's main job: set up (packages, engine, build), start the lab hosts, then
# deploy and prove the backup procedure on them (scripts/lab/demo.ts).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
bash scripts/setup.sh
bash scripts/lab/lab.sh up
node dist/scripts/lab/demo.js

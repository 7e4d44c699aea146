#!/usr/bin/env bash
# Failover: restores an instance from a backup server's mirror (or a dated snapshot) onto another
# hosting server with dolibarr-restore, then says what to change in the stack configs.
#   scripts/failover.sh --instance acme-erp --from bk-ovh-waw-1 --to web-ionos-fra-1 --ssh-key ~/.ssh/fleet
# Everything is in scripts/failover.ts; see docs/failover.md.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
entry=$repo/dist/scripts/failover.js
if [[ ! -f $entry ]]; then
  echo "failover.sh: $entry is missing: run npm run build first" >&2
  exit 2
fi
# The project dir as this script sees it (a project copy may link dist/ and scripts/ from elsewhere).
DOLIBARR_BACKUP_PROJECT=$repo exec node "$entry" "$@"

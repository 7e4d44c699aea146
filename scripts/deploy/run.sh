#!/usr/bin/env bash
# Runs `pulumi preview` or `pulumi up` with the policy pack (`--policy-pack policies`, from the
# repository root) on stacks in dependency order:
# the fleet stacks one after the other, then the client stacks, DEPLOY_PARALLELISM at a time.
# Input: lines "<kind> <stack>" on stdin (as printed by stacks.sh). Used by the users' CI and the lab.
# Needs the engine env (scripts/engine/env.sh), PULUMI_BACKEND_URL and the passphrase.
set -euo pipefail

action=${1:?"usage: run.sh preview|up < stacks"}
case $action in preview | up) ;; *) echo "run.sh: unknown action $action (preview|up)" >&2; exit 2 ;; esac
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
parallelism=${DEPLOY_PARALLELISM:-3}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

run_one() {
  local stack=$1 log=$logs/$1.log
  local args=(--stack "$stack" --policy-pack policies --non-interactive --color never)
  [[ -n ${DEPLOY_POLICY_CONFIG:-} ]] && args+=(--policy-pack-config "$DEPLOY_POLICY_CONFIG")
  [[ $action == up ]] && args+=(--yes --skip-preview)
  if ! pulumi stack select "$stack" >/dev/null 2>&1; then
    pulumi stack init "$stack" >/dev/null
  fi
  if pulumi "$action" "${args[@]}" >"$log" 2>&1; then
    sed "s/^/[$stack] /" "$log"
    echo "[$stack] $action: ok"
  else
    sed "s/^/[$stack] /" "$log"
    echo "[$stack] $action: FAILED" >&2
    return 1
  fi
}
export -f run_one
export action logs repo

fleets=() clients=()
while read -r kind stack; do
  [[ -n ${kind:-} ]] || continue
  case $kind in
    fleet) fleets+=("$stack") ;;
    client) clients+=("$stack") ;;
    *) echo "run.sh: unknown stack kind '$kind' for $stack" >&2; exit 2 ;;
  esac
done

for stack in "${fleets[@]}"; do
  run_one "$stack"
done
if ((${#clients[@]} > 0)); then
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash, on purpose
  printf '%s\n' "${clients[@]}" | xargs -P "$parallelism" -I{} bash -c 'run_one "$1"' _ {}
fi

#!/usr/bin/env bash
# Lists stack names from stack config files, fleets first, for deploying in dependency order.
# Usage: stacks.sh [--kind fleet|client] [--shard I/N] [--changed-since REV] [STACK_FILE...]
#   no file:         every stack under stacks/
#   --changed-since: the stacks whose config changed since REV; every stack when the program,
#                    the policies or the scripts changed; a changed fleet brings its clients along.
#   --kind:          only the fleet stacks, or only the client stacks
#   --shard I/N:     of the stacks listed, every N-th from the I-th (0 ≤ I < N): the users' CI deploys
#                    the clients in N parallel jobs, each its own shard (N shards cover every stack once)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
shopt -s nullglob

stack_of() { local f=${1##*/}; f=${f#Pulumi.}; echo "${f%.yaml}"; }
kind_of() { sed -n 's/^[[:space:]]*dolibarr-backup:stackKind:[[:space:]]*\([a-z]*\).*/\1/p' "$1" | head -n 1; }
fleet_of() { sed -n 's/^[[:space:]]*dolibarr-backup:fleetStack:[[:space:]]*\([A-Za-z0-9._-]*\).*/\1/p' "$1" | head -n 1; }

only_kind=
shard=
while [[ ${1:-} == --kind || ${1:-} == --shard ]]; do
  case $1 in
    --kind)
      [[ ${2:-} == fleet || ${2:-} == client ]] || { echo "stacks.sh: --kind needs fleet or client, got '${2:-}'" >&2; exit 2; }
      only_kind=$2 ;;
    --shard)
      if ! [[ ${2:-} =~ ^([0-9]+)/([1-9][0-9]*)$ ]] || ((BASH_REMATCH[1] >= BASH_REMATCH[2])); then
        echo "stacks.sh: --shard needs I/N with 0 <= I < N, got '${2:-}'" >&2
        exit 2
      fi
      shard=$2 ;;
  esac
  shift 2
done

files=()
if [[ ${1:-} == --changed-since ]]; then
  base=${2:?"--changed-since needs a revision"}
  mapfile -t changed < <(git diff --name-only "$base"...HEAD --)
  whole=false
  for path in "${changed[@]}"; do
    case $path in
      infra/* | policies/* | scripts/* | Pulumi.yaml | package.json | package-lock.json) whole=true ;;
    esac
  done
  if $whole; then
    files=(stacks/Pulumi.*.yaml)
  else
    changed_fleets=()
    for path in "${changed[@]}"; do
      [[ $path == stacks/Pulumi.*.yaml && -f $path ]] || continue
      files+=("$path")
      [[ $(kind_of "$path") == fleet ]] && changed_fleets+=("$(stack_of "$path")")
    done
    for fleet in "${changed_fleets[@]}"; do
      for f in stacks/Pulumi.*.yaml; do
        [[ $(fleet_of "$f") == "$fleet" ]] && files+=("$f")
      done
    done
  fi
elif (($# > 0)); then
  files=("$@")
else
  files=(stacks/Pulumi.*.yaml)
fi

declare -A seen=()
listed=0
for wanted in fleet client; do
  [[ -z $only_kind || $only_kind == "$wanted" ]] || continue
  for f in "${files[@]}"; do
    [[ -f $f ]] || { echo "stacks.sh: no stack config file $f" >&2; exit 2; }
    kind=$(kind_of "$f")
    [[ $kind == fleet || $kind == client ]] || { echo "stacks.sh: $f: dolibarr-backup:stackKind must be fleet or client" >&2; exit 2; }
    [[ $kind == "$wanted" ]] || continue
    name=$(stack_of "$f")
    [[ -n ${seen[$name]:-} ]] && continue
    seen[$name]=1
    if [[ -n $shard ]] && ((listed++ % ${shard#*/} != ${shard%/*})); then continue; fi
    echo "$kind $name"
  done
done

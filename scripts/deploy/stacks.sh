#!/usr/bin/env bash
# Lists stack names from stack config files, fleets first, for deploying in dependency order.
# Usage: stacks.sh [--changed-since REV] [STACK_FILE...]
#   no file:         every stack under stacks/
#   --changed-since: the stacks whose config changed since REV; every stack when the program,
#                    the policies or the scripts changed; a changed fleet brings its clients along.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
shopt -s nullglob

stack_of() { local f=${1##*/}; f=${f#Pulumi.}; echo "${f%.yaml}"; }
kind_of() { sed -n 's/^[[:space:]]*dolibarr-backup:stackKind:[[:space:]]*\([a-z]*\).*/\1/p' "$1" | head -n 1; }
fleet_of() { sed -n 's/^[[:space:]]*dolibarr-backup:fleetStack:[[:space:]]*\([A-Za-z0-9._-]*\).*/\1/p' "$1" | head -n 1; }

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
for wanted in fleet client; do
  for f in "${files[@]}"; do
    [[ -f $f ]] || { echo "stacks.sh: no stack config file $f" >&2; exit 2; }
    kind=$(kind_of "$f")
    [[ $kind == fleet || $kind == client ]] || { echo "stacks.sh: $f: dolibarr-backup:stackKind must be fleet or client" >&2; exit 2; }
    [[ $kind == "$wanted" ]] || continue
    name=$(stack_of "$f")
    [[ -n ${seen[$name]:-} ]] && continue
    seen[$name]=1
    echo "$kind $name"
  done
done

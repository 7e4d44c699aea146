#!/usr/bin/env bash
# Makes a fresh Debian 12 machine ready for the project: Debian packages, npm packages,
# the Pulumi engine (built once from Go modules, cached outside the repo) and the compiled TypeScript.
# Idempotent: a second run only checks. Called by `npm test`, `npm run lab` and .ci/run.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
start=$SECONDS
step() { printf '[setup %4ds] %s\n' "$((SECONDS - start))" "$*"; }

# --deploy: what the users' CI needs to preview and deploy (engine, npm packages, build),
# without the Debian packages of the test suite and the lab.
mode=all
case ${1:-} in
  "") ;;
  --deploy) mode=deploy ;;
  *) echo "setup.sh: unknown option '$1' (expected nothing or --deploy)" >&2; exit 2 ;;
esac

install_debian_packages() {
  local wanted=() missing=() pkg
  mapfile -t wanted < <(grep -hv '^\s*\(#\|$\)' scripts/ci/apt-packages.txt | sort -u)
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    step "Debian packages: all ${#wanted[@]} present"
    return
  fi
  step "Debian packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt (unattended-upgrades, a second checkout's setup) may hold dpkg's lock: wait for it
  # rather than fail at once.
  local lock_wait=(-o DPkg::Lock::Timeout=600)
  apt-get "${lock_wait[@]}" update -qq
  apt-get "${lock_wait[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_npm_packages() {
  local stamp=node_modules/.package-lock.sha256 sum
  sum=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$sum" ]]; then
    step "npm packages: up to date"
    return
  fi
  # The deploy (the users' CI) runs no install script of any package. It needs none: the lock
  # has two, protobufjs's (a version warning) and @pulumi/command's (it installs the command
  # plugin, which Pulumi acquires by itself where the deploy runs).
  local scripts=()
  [[ $mode == deploy ]] && scripts=(--ignore-scripts)
  step "npm packages: npm ci ${scripts[*]}"
  npm ci "${scripts[@]}" --no-audit --no-fund --loglevel=error
  echo "$sum" >"$stamp"
}

[[ $mode == deploy ]] || install_debian_packages
install_npm_packages
step "Pulumi engine"
bash scripts/engine/setup.sh
step "TypeScript build"
npm run -s build
step "done"

#!/usr/bin/env bash
# Environment for running the Pulumi engine that scripts/engine/setup.sh installed.
#
#   . scripts/engine/env.sh            export into the current shell (bash)
#   eval "$(scripts/engine/env.sh)"    same, from any POSIX shell
#   scripts/engine/env.sh              print the export lines
#
# Exports: PULUMI_SKIP_UPDATE_CHECK=true, PULUMI_BACKEND_URL (only if unset:
# file://$DOLIBARR_BACKUP_STATE, default <repo>/.state; the directory is created),
# DOLIBARR_BACKUP_ENGINE_DIR; and, for an engine built here: PATH (engine bin dir first),
# PULUMI_HOME (under the engine cache, where the plugins were installed),
# PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true and DOLIBARR_BACKUP_ENGINE_BIN. With the
# pinned CLI found on PATH by setup.sh, PATH and PULUMI_HOME are left alone (Pulumi acquires
# its plugins itself).
# No Pulumi Cloud is needed. Secrets: the caller sets PULUMI_CONFIG_PASSPHRASE(_FILE) itself.
#
# When sourced it leaves the caller's shell options alone (no set -e), and returns 1 with a
# message if the engine has not been set up.

_dolibarr_engine_env() {
  # shellcheck source=SCRIPTDIR/lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || return 1
  engine_init_paths || return 1
  local state
  state=$(engine_state_dir)
  _DOLIBARR_ENGINE_VARS=(
    "PULUMI_SKIP_UPDATE_CHECK=true"
    "PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$state}"
    "DOLIBARR_BACKUP_ENGINE_DIR=$ENGINE_ROOT"
  )
  if engine_is_external; then
    mkdir -p "$state" || return 1
    return 0
  fi
  if [ ! -x "$ENGINE_BIN/pulumi" ] || [ ! -x "$ENGINE_BIN/pulumi-language-nodejs" ]; then
    echo "env.sh: no engine in $ENGINE_BIN; run scripts/engine/setup.sh first" >&2
    return 1
  fi
  mkdir -p "$state" || return 1
  local path_now="${PATH:-}"
  case ":$path_now:" in
    *":$ENGINE_BIN:"*) ;;
    *) path_now="$ENGINE_BIN${path_now:+:$path_now}" ;;
  esac
  _DOLIBARR_ENGINE_VARS+=(
    "PATH=$path_now"
    "PULUMI_HOME=$ENGINE_PULUMI_HOME"
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
    "DOLIBARR_BACKUP_ENGINE_BIN=$ENGINE_BIN"
  )
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  # sourced
  if _dolibarr_engine_env; then
    for _dolibarr_kv in "${_DOLIBARR_ENGINE_VARS[@]}"; do
      export "${_dolibarr_kv?}"
    done
    unset _dolibarr_kv _DOLIBARR_ENGINE_VARS
    unset -f _dolibarr_engine_env
  else
    unset -f _dolibarr_engine_env
    return 1
  fi
else
  set -euo pipefail
  _dolibarr_engine_env || exit 1
  for kv in "${_DOLIBARR_ENGINE_VARS[@]}"; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
  done
fi

#!/usr/bin/env bash
# Environment for running the Pulumi engine that scripts/engine/setup.sh installed.
#
#   . scripts/engine/env.sh            export into the current shell (bash)
#   eval "$(scripts/engine/env.sh)"    same, from any POSIX shell
#   scripts/engine/env.sh              print the export lines
#
# Exports: PATH (engine bin dir first), PULUMI_HOME (under the engine cache, so plugins are
# found there), PULUMI_SKIP_UPDATE_CHECK=true, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true,
# PULUMI_BACKEND_URL (only if unset: file://$DOLIBARR_BACKUP_STATE, default <repo>/.state; the
# directory is created), DOLIBARR_BACKUP_ENGINE_DIR and DOLIBARR_BACKUP_ENGINE_BIN.
# No Pulumi Cloud is needed. Secrets: the caller sets PULUMI_CONFIG_PASSPHRASE(_FILE) itself.
#
# When sourced it leaves the caller's shell options alone (no set -e), and returns 1 with a
# message if the engine has not been set up.

_dolibarr_engine_env() {
  # shellcheck source=SCRIPTDIR/lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || return 1
  engine_init_paths || return 1
  if [ ! -x "$ENGINE_BIN/pulumi" ] || [ ! -x "$ENGINE_BIN/pulumi-language-nodejs" ]; then
    echo "env.sh: no engine in $ENGINE_BIN; run scripts/engine/setup.sh first" >&2
    return 1
  fi
  local state path_now="${PATH:-}"
  state=$(engine_state_dir)
  mkdir -p "$state" || return 1
  case ":$path_now:" in
    *":$ENGINE_BIN:"*) ;;
    *) path_now="$ENGINE_BIN${path_now:+:$path_now}" ;;
  esac
  _DOLIBARR_ENGINE_VARS=(
    "PATH=$path_now"
    "PULUMI_HOME=$ENGINE_PULUMI_HOME"
    "PULUMI_SKIP_UPDATE_CHECK=true"
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
    "PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$state}"
    "DOLIBARR_BACKUP_ENGINE_DIR=$ENGINE_ROOT"
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

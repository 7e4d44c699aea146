# shellcheck shell=bash disable=SC2034
# Shared path logic for scripts/engine/*.sh. Only defines variables and functions: it sets no
# shell options, so env.sh can source it into an interactive shell.

# engine_init_paths: reads versions.env and sets
#   ENGINE_SCRIPT_DIR  this directory            ENGINE_REPO_ROOT  the repository root
#   ENGINE_KEY         cache key (CLI version + hash of versions.env)
#   ENGINE_ROOT        ${DOLIBARR_BACKUP_CACHE:-$HOME/.cache/dolibarr-backup}/engine/$ENGINE_KEY
#   ENGINE_BIN         $ENGINE_ROOT/bin   (pulumi, pulumi-language-nodejs, launchers)
#   ENGINE_PULUMI_HOME $ENGINE_ROOT/home  (PULUMI_HOME: plugins live in its plugins/)
#   ENGINE_STATUS_DIR  $ENGINE_ROOT/status (one file per component: what was installed, or why not)
engine_init_paths() {
  ENGINE_SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  ENGINE_REPO_ROOT=$(cd "$ENGINE_SCRIPT_DIR/../.." && pwd)
  # shellcheck source=SCRIPTDIR/versions.env
  . "$ENGINE_SCRIPT_DIR/versions.env"
  local hash
  hash=$(sha256sum "$ENGINE_SCRIPT_DIR/versions.env" | cut -c1-12)
  ENGINE_KEY="pulumi-v${PULUMI_VERSION}-${hash}"
  ENGINE_ROOT="${DOLIBARR_BACKUP_CACHE:-$HOME/.cache/dolibarr-backup}/engine/${ENGINE_KEY}"
  ENGINE_BIN="$ENGINE_ROOT/bin"
  ENGINE_PULUMI_HOME="$ENGINE_ROOT/home"
  ENGINE_STATUS_DIR="$ENGINE_ROOT/status"
  ENGINE_THIRD_PARTY="${DOLIBARR_BACKUP_THIRD_PARTY:-$ENGINE_REPO_ROOT/../shared/third-party/pulumi}"
}

# engine_is_external: true when setup.sh found the pinned CLI already installed on PATH; then
# nothing is built, and Pulumi keeps its own PULUMI_HOME and acquires its plugins itself.
engine_is_external() {
  [ -f "$ENGINE_STATUS_DIR/cli" ] && head -n1 "$ENGINE_STATUS_DIR/cli" | grep -q '^ok .* from PATH: '
}

# engine_state_url: the file:// backend URL for $DOLIBARR_BACKUP_STATE (default <repo>/.state).
engine_state_dir() {
  local dir="${DOLIBARR_BACKUP_STATE:-$ENGINE_REPO_ROOT/.state}"
  case "$dir" in
    /*) ;;
    *) dir="$PWD/$dir" ;;
  esac
  printf '%s\n' "$dir"
}

#!/usr/bin/env bash
# Makes the real Pulumi engine available on this machine, offline except for the package
# registries: the `pulumi` CLI, the Node.js language host, the launcher scripts the CLI looks
# for beside itself, and the resource plugins `command` and `random` in PULUMI_HOME.
#
# Usage: scripts/engine/setup.sh [--strict] [--retry-failed] [--help]
#   --strict        exit 3 if a resource plugin could not be provided (default: warn, exit 0;
#                   also DOLIBARR_BACKUP_ENGINE_STRICT=1)
#   --retry-failed  ask the Go module proxy again for components whose download failed on an
#                   earlier run (by default a recorded failure is reported, not retried)
#
# Versions: scripts/engine/versions.env (the only place they are pinned).
# Cache:    ${DOLIBARR_BACKUP_CACHE:-$HOME/.cache/dolibarr-backup}/engine/<key>/ with bin/,
#           home/ (PULUMI_HOME), build/ (generated wrapper Go modules), logs/, status/.
#           A second run finds everything there and builds nothing.
# Plugin binaries obtained elsewhere can be installed with DOLIBARR_BACKUP_PLUGIN_COMMAND_BIN /
# DOLIBARR_BACKUP_PLUGIN_RANDOM_BIN=/path/to/pulumi-resource-NAME.
#
# Progress goes to stderr; at the end the environment to use is printed to stdout as export
# lines (the same as scripts/engine/env.sh prints), so `eval "$(scripts/engine/setup.sh)"` works.
set -Eeuo pipefail
trap 'rc=$?; echo "setup.sh: FAILED (exit $rc) at line $LINENO: $BASH_COMMAND" >&2; exit $rc' ERR

STRICT=${DOLIBARR_BACKUP_ENGINE_STRICT:-0}
RETRY_FAILED=0
for arg in "$@"; do
  case "$arg" in
    --strict) STRICT=1 ;;
    --retry-failed) RETRY_FAILED=1 ;;
    -h | --help)
      sed -n '2,/^set -Eeuo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
engine_init_paths

T0=$SECONDS
say() { printf '[engine %4ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

mkdir -p "$ENGINE_BIN" "$ENGINE_PULUMI_HOME" "$ENGINE_STATUS_DIR" "$ENGINE_ROOT/build" "$ENGINE_ROOT/logs"

# One setup at a time per cache key (other sessions may run it concurrently).
exec 9>"$ENGINE_ROOT/.lock"
if ! flock -n 9; then
  say "another setup.sh holds $ENGINE_ROOT/.lock; waiting"
  flock 9
fi

export PULUMI_HOME="$ENGINE_PULUMI_HOME"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

say "engine cache: $ENGINE_ROOT"
say "pinned: pulumi CLI v$PULUMI_CLI_VERSION, language host from $PULUMI_LANGUAGE_NODEJS_GO_MODULE@v$PULUMI_LANGUAGE_NODEJS_VERSION, command v$COMMAND_PLUGIN_VERSION, random v$RANDOM_PLUGIN_VERSION"

command -v node >/dev/null 2>&1 || say "WARNING: node is not on PATH; the language host and the launchers need it at run time"

status_set() { # component, then the status text (first line: "ok ..." or "failed ...")
  local component=$1
  shift
  printf '%s\n' "$@" >"$ENGINE_STATUS_DIR/$component"
}
status_ok() { [ -f "$ENGINE_STATUS_DIR/$1" ] && head -n1 "$ENGINE_STATUS_DIR/$1" | grep -q '^ok'; }

# run_step NAME LOG CMD...: runs CMD in the background with output in LOG, printing the elapsed
# time every 30 s; on failure prints the command and the end of LOG and returns its status.
run_step() {
  local name=$1 log=$2
  shift 2
  local t_start=$SECONDS next=30 pid rc=0
  say "step: $name (log: $log)"
  "$@" >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ $((SECONDS - t_start)) -ge "$next" ]; then
      say "  ... $name: $((SECONDS - t_start))s"
      next=$((next + 30))
    fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    say "FAILED: $name after $((SECONDS - t_start))s (exit $rc)"
    say "  command: $*"
    say "  last lines of $log:"
    tail -n 25 "$log" | sed 's/^/    | /' >&2
    if grep -q 'requires go >=' "$log"; then
      say "  hint: a newer Go is needed; the module proxy serves approved toolchains: export GOTOOLCHAIN=go1.27.3"
    fi
    return "$rc"
  fi
  say "done: $name in $((SECONDS - t_start))s"
}

# replace_directives GOMOD: prints the replace directives of a go.mod, one per line, as
# "old [version] => new [version]" (both the single-line and the block form).
replace_directives() {
  awk '
    /^replace[ \t]*\([ \t]*$/ { inblock = 1; next }
    inblock && /^[ \t]*\)/    { inblock = 0; next }
    inblock                   { sub(/\/\/.*/, ""); if (NF) { $1 = $1; print }; next }
    /^replace[ \t]/           { sub(/\/\/.*/, ""); sub(/^replace[ \t]+/, ""); $1 = $1; print }
  ' "$1"
}

# go_wrapper_build NAME MODULE VERSION PACKAGE OUTPUT VERSION_VAR
# Builds PACKAGE from MODULE@VERSION (VERSION with its leading v) through a generated wrapper
# module in $ENGINE_ROOT/build/NAME that requires MODULE and repeats MODULE's own replace
# directives; a replace onto a relative path (a sibling module of the same repository, e.g.
# pkg's `sdk/v3 => ../sdk`) becomes a requirement of that module at the same VERSION.
# The binary is stamped with -X VERSION_VAR=VERSION. Returns non-zero on failure (every
# command is checked explicitly: callers run this inside `if`, where set -e does not apply).
go_wrapper_build() {
  local name=$1 module=$2 version=$3 package=$4 output=$5 version_var=$6
  local dir="$ENGINE_ROOT/build/$name" logs="$ENGINE_ROOT/logs"
  command -v go >/dev/null 2>&1 || {
    say "go is not on PATH: needed to build $name (install Go >= the go line of $module's go.mod)"
    return 1
  }
  case " ${GOFLAGS:-} " in
    *" -buildvcs=false "*) ;;
    *) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" ;;
  esac
  rm -rf "$dir"
  mkdir -p "$dir" || return 1

  run_step "$name: download $module@$version" "$logs/$name-download.log" \
    go mod download -json "$module@$version" || return 1
  local gomod
  gomod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' "$logs/$name-download.log" | head -n1)
  if [ -z "$gomod" ] || [ ! -f "$gomod" ]; then
    say "no go.mod path in the output of: go mod download -json $module@$version"
    return 1
  fi

  local go_line replaces extra_requires="" line target old
  go_line=$(awk '$1 == "go" { print $2; exit }' "$gomod")
  replaces=$(replace_directives "$gomod") || return 1
  {
    echo "// Generated by dolibarr-backup scripts/engine/setup.sh to build $package"
    echo "// from the module proxy; lives only in the engine cache."
    echo "module dolibarr-backup.local/engine-build/$name"
    echo
    echo "go ${go_line:-1.21}"
    echo
    echo "require $module $version"
    while IFS= read -r line; do
      [ -n "$line" ] || continue
      old=${line%% *}
      target=${line#*=> }
      case "$target" in
        ./* | ../* | /*)
          echo "require $old $version // was: replace $line"
          extra_requires+=" $old"
          ;;
      esac
    done <<<"$replaces"
    echo
    while IFS= read -r line; do
      [ -n "$line" ] || continue
      target=${line#*=> }
      case "$target" in
        ./* | ../* | /*) ;;
        *) echo "replace $line" ;;
      esac
    done <<<"$replaces"
  } >"$dir/go.mod" || return 1
  say "$name: wrapper module $dir/go.mod (go ${go_line:-?}; replaces copied from $gomod${extra_requires:+; same-version requires:$extra_requires})"

  run_step "$name: resolve dependencies (go get $package@$version)" "$logs/$name-resolve.log" \
    env -C "$dir" go get "$package@$version" || return 1
  run_step "$name: compile (go build $package)" "$logs/$name-build.log" \
    env -C "$dir" go build -trimpath -ldflags "-X $version_var=$version" -o "$output.tmp" "$package" || return 1
  mv -f "$output.tmp" "$output" || return 1
}

pulumi_version_of() { PULUMI_HOME="$ENGINE_PULUMI_HOME" "$1" version 2>/dev/null || true; }

# --- 1. pulumi CLI ---------------------------------------------------------------------------
cli_want="v$PULUMI_CLI_VERSION"
if [ -x "$ENGINE_BIN/pulumi" ] && [ "$(pulumi_version_of "$ENGINE_BIN/pulumi")" = "$cli_want" ] && status_ok cli; then
  say "pulumi CLI $cli_want: cached ($(head -n1 "$ENGINE_STATUS_DIR/cli"))"
else
  external=""
  while IFS= read -r candidate; do
    [ -n "$candidate" ] || continue
    [ "$(dirname "$candidate")" = "$ENGINE_BIN" ] && continue
    if [ "$(pulumi_version_of "$candidate")" = "$cli_want" ]; then
      external=$(readlink -f "$candidate")
      break
    fi
  done < <(type -ap pulumi || true)
  if [ -n "$external" ]; then
    ln -sfn "$external" "$ENGINE_BIN/pulumi"
    status_set cli "ok $cli_want from PATH: $external"
    say "pulumi CLI $cli_want: using $external from PATH"
    ext_dir=$(dirname "$external")
    if [ -x "$ext_dir/pulumi-language-nodejs" ] && ! status_ok language-nodejs; then
      ln -sfn "$ext_dir/pulumi-language-nodejs" "$ENGINE_BIN/pulumi-language-nodejs"
      status_set language-nodejs "ok from beside the PATH pulumi: $ext_dir/pulumi-language-nodejs"
      say "pulumi-language-nodejs: using $ext_dir/pulumi-language-nodejs (ships with that CLI)"
    fi
  else
    say "pulumi CLI $cli_want: not on PATH; building from Go modules (several minutes on 2 cores)"
    if go_wrapper_build pulumi-cli github.com/pulumi/pulumi/pkg/v3 "$cli_want" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$ENGINE_BIN/pulumi" \
      github.com/pulumi/pulumi/sdk/v3/go/common/version.Version; then
      got=$(pulumi_version_of "$ENGINE_BIN/pulumi")
      [ "$got" = "$cli_want" ] || die "built pulumi reports version '$got', expected $cli_want"
      status_set cli "ok $cli_want built from github.com/pulumi/pulumi/pkg/v3@$cli_want (cmd/pulumi)"
    else
      status_set cli "failed: building github.com/pulumi/pulumi/pkg/v3@$cli_want (see $ENGINE_ROOT/logs/pulumi-cli-*.log)"
      die "could not build the pulumi CLI (see the failed step above)"
    fi
  fi
fi

# --- 2. Node.js language host ---------------------------------------------------------------
lh_want="v$PULUMI_LANGUAGE_NODEJS_VERSION"
if [ -x "$ENGINE_BIN/pulumi-language-nodejs" ] && status_ok language-nodejs; then
  say "pulumi-language-nodejs: cached ($(head -n1 "$ENGINE_STATUS_DIR/language-nodejs"))"
else
  say "pulumi-language-nodejs: building $PULUMI_LANGUAGE_NODEJS_GO_PACKAGE from $PULUMI_LANGUAGE_NODEJS_GO_MODULE@$lh_want"
  if go_wrapper_build pulumi-language-nodejs "$PULUMI_LANGUAGE_NODEJS_GO_MODULE" "$lh_want" \
    "$PULUMI_LANGUAGE_NODEJS_GO_PACKAGE" "$ENGINE_BIN/pulumi-language-nodejs" \
    github.com/pulumi/pulumi/sdk/v3/go/common/version.Version; then
    status_set language-nodejs "ok $lh_want built from $PULUMI_LANGUAGE_NODEJS_GO_MODULE@$lh_want ($PULUMI_LANGUAGE_NODEJS_GO_PACKAGE)"
  else
    status_set language-nodejs "failed: building $PULUMI_LANGUAGE_NODEJS_GO_PACKAGE@$lh_want (see $ENGINE_ROOT/logs/pulumi-language-nodejs-*.log)"
    die "could not build pulumi-language-nodejs (see the failed step above)"
  fi
fi

# --- 3. launcher scripts beside the CLI -------------------------------------------------------
for launcher in "$ENGINE_SCRIPT_DIR"/launchers/*; do
  dest="$ENGINE_BIN/$(basename "$launcher")"
  if [ -L "$dest" ]; then
    : # shipped with an external CLI distribution: keep it
  elif ! cmp -s "$launcher" "$dest"; then
    install -m 0755 "$launcher" "$dest"
    say "launcher installed: $dest"
  fi
done
status_set launchers "ok $(cd "$ENGINE_SCRIPT_DIR/launchers" && echo *)"

# --- 4. resource plugins ----------------------------------------------------------------------
plugins_missing=()
# install_plugin NAME VERSION GO_MODULE GO_PACKAGE VERSION_VAR BIN_OVERRIDE
install_plugin() {
  local name=$1 version=$2 module=$3 package=$4 version_var=$5 override=$6
  local component="plugin-$name" plugin_dir="$ENGINE_PULUMI_HOME/plugins/resource-$name-v$version"
  local binary="$ENGINE_ROOT/build/pulumi-resource-$name"
  if [ -x "$plugin_dir/pulumi-resource-$name" ] && status_ok "$component"; then
    say "plugin $name v$version: cached ($(head -n1 "$ENGINE_STATUS_DIR/$component"))"
    return 0
  fi
  local origin
  if [ -n "$override" ]; then
    [ -x "$override" ] || {
      say "plugin $name: $override (from DOLIBARR_BACKUP_PLUGIN_${name^^}_BIN) is not an executable file"
      status_set "$component" "failed: $override is not an executable file"
      return 1
    }
    binary=$override
    origin="binary $override"
  elif [ -f "$ENGINE_STATUS_DIR/$component" ] && [ "$RETRY_FAILED" = 0 ]; then
    say "plugin $name v$version: MISSING, recorded on an earlier run (not retried; --retry-failed asks again)"
    say "  $(head -n1 "$ENGINE_STATUS_DIR/$component") (details: $ENGINE_STATUS_DIR/$component)"
    return 1
  else
    say "plugin $name v$version: building $package from $module@v$version"
    if ! go_wrapper_build "pulumi-resource-$name" "$module" "v$version" "$package" "$binary" "$version_var"; then
      {
        echo "failed: cannot build $package from $module@v$version"
        echo "step logs: $ENGINE_ROOT/logs/pulumi-resource-$name-*.log"
        for log in "$ENGINE_ROOT/logs/pulumi-resource-$name-"*.log; do
          [ -f "$log" ] || continue
          echo "--- $(basename "$log"):"
          grep -v '^go: downloading' "$log" | tail -n 8
        done
      } >"$ENGINE_STATUS_DIR/$component"
      say "plugin $name v$version: MISSING (recorded in $ENGINE_STATUS_DIR/$component)"
      return 1
    fi
    origin="built from $module@v$version"
  fi
  run_step "plugin $name: pulumi plugin install resource $name $version --file $binary" \
    "$ENGINE_ROOT/logs/plugin-install-$name.log" \
    "$ENGINE_BIN/pulumi" plugin install resource "$name" "$version" --file "$binary" || {
    status_set "$component" "failed: pulumi plugin install resource $name $version --file $binary (see $ENGINE_ROOT/logs/plugin-install-$name.log)"
    return 1
  }
  [ -x "$plugin_dir/pulumi-resource-$name" ] || {
    say "plugin $name: installed, but $plugin_dir/pulumi-resource-$name does not exist"
    return 1
  }
  status_set "$component" "ok v$version $origin"
}
install_plugin command "$COMMAND_PLUGIN_VERSION" "$COMMAND_PROVIDER_GO_MODULE" "$COMMAND_PROVIDER_GO_PACKAGE" \
  "$COMMAND_PROVIDER_VERSION_VAR" "${DOLIBARR_BACKUP_PLUGIN_COMMAND_BIN:-}" || plugins_missing+=(command)
install_plugin random "$RANDOM_PLUGIN_VERSION" "$RANDOM_PROVIDER_GO_MODULE" "$RANDOM_PROVIDER_GO_PACKAGE" \
  "$RANDOM_PROVIDER_VERSION_VAR" "${DOLIBARR_BACKUP_PLUGIN_RANDOM_BIN:-}" || plugins_missing+=(random)

# --- summary ----------------------------------------------------------------------------------
say "summary ($ENGINE_ROOT):"
for component in cli language-nodejs launchers plugin-command plugin-random; do
  printf '    %-16s %s\n' "$component" "$(head -n1 "$ENGINE_STATUS_DIR/$component" 2>/dev/null || echo '?')" >&2
done
say "use it with:  . scripts/engine/env.sh   (or: eval \"\$(scripts/engine/env.sh)\")"
"$ENGINE_SCRIPT_DIR/env.sh"

if [ "${#plugins_missing[@]}" -gt 0 ]; then
  say "WARNING: resource plugin(s) not available: ${plugins_missing[*]} (details: $ENGINE_STATUS_DIR/plugin-*)"
  say "WARNING: programs using them cannot run; install a binary with DOLIBARR_BACKUP_PLUGIN_<NAME>_BIN=/path"
  if [ "$STRICT" = 1 ]; then
    say "strict mode: exiting 3"
    exit 3
  fi
fi
say "setup finished in $((SECONDS - T0))s"

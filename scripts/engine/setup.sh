#!/usr/bin/env bash
# Makes the real Pulumi engine available on this machine, offline except for the package
# registries: the `pulumi` CLI, the Node.js language host and the launcher scripts the CLI looks
# for beside itself. No resource plugin: the program's resources are dynamic providers of its own
# (infra/providers/ssh-command.ts, random.ts), run by the pulumi-resource-pulumi-nodejs launcher;
# the `command` and `random` plugins cannot be built here (see scripts/engine/README.md).
#
# Usage: scripts/engine/setup.sh [--help]
#
# Versions: scripts/engine/versions.env (the only place they are pinned).
# Cache:    ${DOLIBARR_BACKUP_CACHE:-$HOME/.cache/dolibarr-backup}/engine/<key>/ with bin/,
#           home/ (PULUMI_HOME), build/ (generated wrapper Go modules), logs/, status/.
#           A second run finds everything there and builds nothing. A CLI or language host
#           built under another key from the same module version is copied, not rebuilt.
#
# Progress goes to stderr; at the end the environment to use is printed to stdout as export
# lines (the same as scripts/engine/env.sh prints), so `eval "$(scripts/engine/setup.sh)"` works.
set -Eeuo pipefail
trap 'rc=$?; echo "setup.sh: FAILED (exit $rc) at line $LINENO: $BASH_COMMAND" >&2; exit $rc' ERR

for arg in "$@"; do
  case "$arg" in
    --strict | --retry-failed) ;; # accepted for old callers: they were about resource plugins, built no more
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
say "pinned: pulumi CLI v$PULUMI_CLI_VERSION, language host from $PULUMI_LANGUAGE_NODEJS_GO_MODULE@v$PULUMI_LANGUAGE_NODEJS_VERSION"

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
  # Go's own install location, for shells whose PATH lacks it (a CI runner's login environment)
  command -v go >/dev/null 2>&1 || [[ ! -x /usr/local/go/bin/go ]] || PATH=/usr/local/go/bin:$PATH
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

# reuse_built BINARY COMPONENT STATUS: copies bin/BINARY from another cache key's directory whose
# status/COMPONENT is exactly STATUS (same module, version and package: the same build), so that
# an edit of versions.env that does not touch a component does not rebuild it.
reuse_built() {
  local binary=$1 component=$2 want=$3 other
  for other in "$ENGINE_ROOT"/../*/; do
    other=$(cd "$other" 2>/dev/null && pwd) || continue
    if [ "$other" = "$ENGINE_ROOT" ] || [ ! -x "$other/bin/$binary" ] || [ -L "$other/bin/$binary" ]; then continue; fi
    [ "$(head -n1 "$other/status/$component" 2>/dev/null)" = "$want" ] || continue
    if ! install -m 0755 "$other/bin/$binary" "$ENGINE_BIN/$binary.tmp"; then continue; fi
    mv -f "$ENGINE_BIN/$binary.tmp" "$ENGINE_BIN/$binary"
    status_set "$component" "$want" "copied from $other/bin/$binary"
    say "$binary: copied from $other (same build: $want)"
    return 0
  done
  return 1
}

# --- 1. pulumi CLI ---------------------------------------------------------------------------
cli_want="v$PULUMI_CLI_VERSION"
cli_built="ok $cli_want built from github.com/pulumi/pulumi/pkg/v3@$cli_want (cmd/pulumi)"
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
  elif reuse_built pulumi cli "$cli_built" && [ "$(pulumi_version_of "$ENGINE_BIN/pulumi")" = "$cli_want" ]; then
    :
  else
    say "pulumi CLI $cli_want: not on PATH; building from Go modules (several minutes on 2 cores)"
    if go_wrapper_build pulumi-cli github.com/pulumi/pulumi/pkg/v3 "$cli_want" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$ENGINE_BIN/pulumi" \
      github.com/pulumi/pulumi/sdk/v3/go/common/version.Version; then
      got=$(pulumi_version_of "$ENGINE_BIN/pulumi")
      [ "$got" = "$cli_want" ] || die "built pulumi reports version '$got', expected $cli_want"
      status_set cli "$cli_built"
    else
      status_set cli "failed: building github.com/pulumi/pulumi/pkg/v3@$cli_want (see $ENGINE_ROOT/logs/pulumi-cli-*.log)"
      die "could not build the pulumi CLI (see the failed step above)"
    fi
  fi
fi

# --- 2. Node.js language host ---------------------------------------------------------------
lh_want="v$PULUMI_LANGUAGE_NODEJS_VERSION"
lh_built="ok $lh_want built from $PULUMI_LANGUAGE_NODEJS_GO_MODULE@$lh_want ($PULUMI_LANGUAGE_NODEJS_GO_PACKAGE)"
if [ -x "$ENGINE_BIN/pulumi-language-nodejs" ] && status_ok language-nodejs; then
  say "pulumi-language-nodejs: cached ($(head -n1 "$ENGINE_STATUS_DIR/language-nodejs"))"
elif reuse_built pulumi-language-nodejs language-nodejs "$lh_built"; then
  :
else
  say "pulumi-language-nodejs: building $PULUMI_LANGUAGE_NODEJS_GO_PACKAGE from $PULUMI_LANGUAGE_NODEJS_GO_MODULE@$lh_want"
  if go_wrapper_build pulumi-language-nodejs "$PULUMI_LANGUAGE_NODEJS_GO_MODULE" "$lh_want" \
    "$PULUMI_LANGUAGE_NODEJS_GO_PACKAGE" "$ENGINE_BIN/pulumi-language-nodejs" \
    github.com/pulumi/pulumi/sdk/v3/go/common/version.Version; then
    status_set language-nodejs "$lh_built"
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

# --- summary ----------------------------------------------------------------------------------
say "summary ($ENGINE_ROOT):"
for component in cli language-nodejs launchers; do
  printf '    %-16s %s\n' "$component" "$(head -n1 "$ENGINE_STATUS_DIR/$component" 2>/dev/null || echo '?')" >&2
done
say "use it with:  . scripts/engine/env.sh   (or: eval \"\$(scripts/engine/env.sh)\")"
"$ENGINE_SCRIPT_DIR/env.sh"

say "setup finished in $((SECONDS - T0))s"

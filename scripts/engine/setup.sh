#!/usr/bin/env bash
# Makes the real Pulumi engine available: the `pulumi` CLI, the Node.js language host and the
# `command` and `random` resource plugins, all of one pinned Pulumi release (versions.env).
#
#  - Where a `pulumi` of the pinned version is already on PATH (a user's machine, CI with the
#    official installer), nothing is built: that CLI is used as it is, with its own PULUMI_HOME,
#    and Pulumi acquires the plugins itself.
#  - Elsewhere (a machine that reaches only the package registries), everything is built once:
#    the CLI from the Go module proxy, the language host and both plugins from the untouched
#    upstream source in ${DOLIBARR_BACKUP_THIRD_PARTY:-<repo>/../shared/third-party/pulumi}
#    plus the Go module proxy; the plugins are installed into the engine's own PULUMI_HOME.
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

export PULUMI_SKIP_UPDATE_CHECK=true

say "engine cache: $ENGINE_ROOT"
say "pinned: pulumi v$PULUMI_VERSION (CLI and language host), command v$PULUMI_COMMAND_VERSION, random v$PULUMI_RANDOM_VERSION"

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

# go_ready NAME: go on PATH (also from Go's own install location, for shells whose PATH lacks it,
# e.g. a CI runner's login environment) and -buildvcs=false in GOFLAGS; else says why NAME cannot
# be built and returns non-zero.
go_ready() {
  command -v go >/dev/null 2>&1 || [[ ! -x /usr/local/go/bin/go ]] || PATH=/usr/local/go/bin:$PATH
  command -v go >/dev/null 2>&1 || {
    say "go is not on PATH: needed to build $1 (install Go >= the go line of its go.mod)"
    return 1
  }
  case " ${GOFLAGS:-} " in
    *" -buildvcs=false "*) ;;
    *) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" ;;
  esac
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
  go_ready "$name" || return 1
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
    env -C "$dir" CGO_ENABLED=0 go build -trimpath -ldflags "-X $version_var=$version" -o "$output.tmp" "$package" || return 1
  mv -f "$output.tmp" "$output" || return 1
}

pulumi_version_of() { PULUMI_HOME="$ENGINE_PULUMI_HOME" "$1" version 2>/dev/null || true; }

# reuse_built BINARY COMPONENT STATUS: copies BINARY (a path relative to the engine dir, e.g.
# bin/pulumi) from another cache key's directory whose status/COMPONENT is exactly STATUS (same
# source, version and package: the same build), so that an edit of versions.env that does not touch
# a component does not rebuild it.
reuse_built() {
  local binary=$1 component=$2 want=$3 other
  for other in "$ENGINE_ROOT"/../*/; do
    other=$(cd "$other" 2>/dev/null && pwd) || continue
    if [ "$other" = "$ENGINE_ROOT" ] || [ ! -x "$other/$binary" ] || [ -L "$other/$binary" ]; then continue; fi
    [ "$(head -n1 "$other/status/$component" 2>/dev/null)" = "$want" ] || continue
    mkdir -p "$(dirname "$ENGINE_ROOT/$binary")"
    if ! install -m 0755 "$other/$binary" "$ENGINE_ROOT/$binary.tmp"; then continue; fi
    mv -f "$ENGINE_ROOT/$binary.tmp" "$ENGINE_ROOT/$binary"
    status_set "$component" "$want" "copied from $other/$binary"
    say "$binary: copied from $other (same build: $want)"
    return 0
  done
  return 1
}


# go_source_build NAME SOURCE_DIR PACKAGE OUTPUT LDFLAGS [PREPARE_FUNCTION]: builds PACKAGE (a path
# relative to the module root) from a copy of the upstream module in SOURCE_DIR (the source itself
# stays untouched), after PREPARE_FUNCTION has run in the copy, with dependencies from the proxy.
go_source_build() {
  local name=$1 src=$2 package=$3 output=$4 ldflags=$5 prepare=${6:-}
  local dir="$ENGINE_ROOT/build/$name" logs="$ENGINE_ROOT/logs"
  go_ready "$name" || return 1
  [ -f "$src/go.mod" ] || {
    say "$name: no upstream source at $src (expected ${src#"$ENGINE_THIRD_PARTY"/} in $ENGINE_THIRD_PARTY; set DOLIBARR_BACKUP_THIRD_PARTY)"
    return 1
  }
  rm -rf "$dir"
  mkdir -p "$dir" || return 1
  cp -R "$src/." "$dir/" || return 1
  chmod -R u+w "$dir" || return 1
  if [ -n "$prepare" ]; then
    run_step "$name: prepare the module copy" "$logs/$name-prepare.log" env -C "$dir" bash -c "$prepare" || return 1
  fi
  run_step "$name: compile (go build $package)" "$logs/$name-build.log" \
    env -C "$dir" CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$output.tmp" "$package" || return 1
  mv -f "$output.tmp" "$output" || return 1
}

# build_component COMPONENT BINARY STATUS BUILD_COMMAND...: BINARY (relative to the engine dir)
# from the cache, else from another cache key with the same build, else built by BUILD_COMMAND;
# records STATUS.
build_component() {
  local component=$1 binary=$2 want=$3
  shift 3
  mkdir -p "$(dirname "$ENGINE_ROOT/$binary")"
  if [ -x "$ENGINE_ROOT/$binary" ] && [ "$(head -n1 "$ENGINE_STATUS_DIR/$component" 2>/dev/null)" = "$want" ]; then
    say "$binary: cached"
    return 0
  fi
  reuse_built "$binary" "$component" "$want" && return 0
  say "$binary: building"
  if "$@"; then
    status_set "$component" "$want"
  else
    status_set "$component" "failed: $want (see $ENGINE_ROOT/logs/$component-*.log)"
    die "could not build $binary (see the failed step above)"
  fi
}

version_ldflag() { printf -- '-X %s=%s' "$1" "$2"; }

# --- 1. pulumi CLI ---------------------------------------------------------------------------
cli_want="v$PULUMI_VERSION"
external=""
while IFS= read -r candidate; do
  [ -n "$candidate" ] || continue
  [ "$(dirname "$candidate")" = "$ENGINE_BIN" ] && continue
  if [ "$(PULUMI_HOME='' "$candidate" version 2>/dev/null || true)" = "$cli_want" ]; then
    external=$(readlink -f "$candidate")
    break
  fi
done < <(type -ap pulumi || true)

if [ -n "$external" ]; then
  # An installed release: it brings its language host, and acquires plugins by itself.
  rm -rf "$ENGINE_BIN"
  mkdir -p "$ENGINE_BIN"
  status_set cli "ok $cli_want from PATH: $external"
  say "pulumi $cli_want found on PATH ($external): nothing is built; Pulumi acquires the command and random plugins itself"
else
  export PULUMI_HOME="$ENGINE_PULUMI_HOME"
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  [ -d "$ENGINE_THIRD_PARTY" ] || die "no pulumi $cli_want on PATH, and no upstream source to build from at $ENGINE_THIRD_PARTY (install the pinned Pulumi CLI, or set DOLIBARR_BACKUP_THIRD_PARTY)"
  if engine_is_external; then rm -f "$ENGINE_STATUS_DIR/cli"; fi

  cli_status="ok $cli_want built from github.com/pulumi/pulumi/pkg/v3@$cli_want (cmd/pulumi)"
  build_cli() {
    go_wrapper_build pulumi-cli github.com/pulumi/pulumi/pkg/v3 "$cli_want" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$ENGINE_BIN/pulumi" \
      github.com/pulumi/pulumi/sdk/v3/go/common/version.Version || return 1
    local got
    got=$(pulumi_version_of "$ENGINE_BIN/pulumi")
    [ "$got" = "$cli_want" ] || { say "built pulumi reports version '$got', expected $cli_want"; return 1; }
  }
  build_component cli bin/pulumi "$cli_status" build_cli

  # --- 2. Node.js language host, same release --------------------------------------------------
  # Upstream's go.mod replaces pkg and sdk with the monorepo's own folders: require the released
  # modules at the same version instead.
  lh_status="ok $cli_want built from $THIRD_PARTY_LANGUAGE_NODEJS_DIR"
  build_language_host() {
    go_source_build language-nodejs "$ENGINE_THIRD_PARTY/$THIRD_PARTY_LANGUAGE_NODEJS_DIR" . \
      "$ENGINE_BIN/pulumi-language-nodejs" \
      "$(version_ldflag github.com/pulumi/pulumi/sdk/v3/go/common/version.Version "$cli_want")" \
      "go mod edit -dropreplace github.com/pulumi/pulumi/pkg/v3 -dropreplace github.com/pulumi/pulumi/sdk/v3 \
         -require github.com/pulumi/pulumi/pkg/v3@$cli_want -require github.com/pulumi/pulumi/sdk/v3@$cli_want && go mod tidy"
  }
  build_component language-nodejs bin/pulumi-language-nodejs "$lh_status" build_language_host

  # The dynamic-provider launcher ships in the sdk module (nodejs/dist/); the CLI looks beside itself.
  if [ ! -x "$ENGINE_BIN/pulumi-resource-pulumi-nodejs" ]; then
    sdk_dir=$(env -C "$ENGINE_ROOT/build/pulumi-cli" go list -m -f '{{.Dir}}' "github.com/pulumi/pulumi/sdk/v3" 2>/dev/null || true)
    if [ -n "$sdk_dir" ] && [ -f "$sdk_dir/nodejs/dist/pulumi-resource-pulumi-nodejs" ]; then
      install -m 0755 "$sdk_dir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$ENGINE_BIN/pulumi-resource-pulumi-nodejs"
    fi
  fi

  # --- 3. resource plugins -----------------------------------------------------------------------
  command_status="ok v$PULUMI_COMMAND_VERSION built from $THIRD_PARTY_COMMAND_DIR"
  build_command() {
    go_source_build command "$ENGINE_THIRD_PARTY/$THIRD_PARTY_COMMAND_DIR" ./cmd/pulumi-resource-command \
      "$ENGINE_ROOT/plugins/pulumi-resource-command" \
      "$(version_ldflag github.com/pulumi/pulumi-command/provider/pkg/version.Version "v$PULUMI_COMMAND_VERSION")"
  }
  # Plugins are built outside bin/ (which is on PATH): the CLI would warn that it uses a plugin
  # found on PATH instead of the one installed in PULUMI_HOME.
  build_component command plugins/pulumi-resource-command "$command_status" build_command

  # Upstream generates schema-embed.json (the schema stamped with the version) before building.
  random_status="ok v$PULUMI_RANDOM_VERSION built from $THIRD_PARTY_RANDOM_DIR"
  build_random() {
    go_source_build random "$ENGINE_THIRD_PARTY/$THIRD_PARTY_RANDOM_DIR" ./cmd/pulumi-resource-random \
      "$ENGINE_ROOT/plugins/pulumi-resource-random" \
      "$(version_ldflag github.com/pulumi/pulumi-random/provider/v4/pkg/version.Version "$PULUMI_RANDOM_VERSION")" \
      "node -e 'const f=\"cmd/pulumi-resource-random/\";const s=JSON.parse(require(\"fs\").readFileSync(f+\"schema.json\",\"utf8\"));s.version=process.argv[1];require(\"fs\").writeFileSync(f+\"schema-embed.json\",JSON.stringify(s))' $PULUMI_RANDOM_VERSION"
  }
  build_component random plugins/pulumi-resource-random "$random_status" build_random

  # Installed into the engine's PULUMI_HOME, where the CLI looks for plugins by name and version.
  install_plugin() { # NAME VERSION
    local name=$1 version=$2
    if [ -x "$ENGINE_PULUMI_HOME/plugins/resource-$name-v$version/pulumi-resource-$name" ] &&
      cmp -s "$ENGINE_ROOT/plugins/pulumi-resource-$name" "$ENGINE_PULUMI_HOME/plugins/resource-$name-v$version/pulumi-resource-$name"; then
      return 0
    fi
    "$ENGINE_BIN/pulumi" plugin install resource "$name" "$version" --file "$ENGINE_ROOT/plugins/pulumi-resource-$name" --reinstall >"$ENGINE_ROOT/logs/plugin-install-$name.log" 2>&1 ||
      die "pulumi plugin install resource $name $version failed: $(tail -n 5 "$ENGINE_ROOT/logs/plugin-install-$name.log")"
    say "plugin installed: resource $name v$version"
  }
  install_plugin command "$PULUMI_COMMAND_VERSION"
  install_plugin random "$PULUMI_RANDOM_VERSION"
fi

# --- summary ----------------------------------------------------------------------------------
say "summary ($ENGINE_ROOT):"
for component in cli language-nodejs command random; do
  [ -f "$ENGINE_STATUS_DIR/$component" ] || continue
  printf '    %-16s %s\n' "$component" "$(head -n1 "$ENGINE_STATUS_DIR/$component")" >&2
done
say "use it with:  . scripts/engine/env.sh   (or: eval \"\$(scripts/engine/env.sh)\")"
"$ENGINE_SCRIPT_DIR/env.sh"

say "setup finished in $((SECONDS - T0))s"

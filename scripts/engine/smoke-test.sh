#!/usr/bin/env bash
# End-to-end proof that the engine from scripts/engine/setup.sh works, without Pulumi Cloud:
# in a temporary directory, a tiny plain-JS Pulumi project with passphrase secrets and a local
# file backend is created, `pulumi up` creates a @pulumi/command local.Command and a
# @pulumi/random RandomPassword (the language host and both resource plugins), a second
# `pulumi up` changes nothing, `pulumi preview --policy-pack <directory>` runs a @pulumi/policy
# pack (an advisory and a mandatory policy), and `pulumi destroy` removes it all.
#
# Usage: scripts/engine/smoke-test.sh [--keep]
#   --keep                   keep the temporary directory (it is always kept on failure)
# Runs scripts/engine/setup.sh first (fast once cached) unless SMOKE_SKIP_SETUP=1.
# npm packages: <repo>/node_modules when it holds the pinned versions, otherwise they are
# installed once (npm install --no-save --ignore-scripts) into the engine cache.
# Ends with "smoke: N passed, N failed, N skipped"; exit 1 if anything failed.
set -Eeuo pipefail
trap 'rc=$?; echo "smoke-test.sh: FAILED (exit $rc) at line $LINENO: $BASH_COMMAND" >&2; exit $rc' ERR

KEEP=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    -h | --help)
      sed -n '2,/^set -Eeuo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "smoke-test.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
engine_init_paths

T0=$SECONDS
say() { printf '[smoke %4ds] %s\n' "$((SECONDS - T0))" "$*"; }

if [ "${SMOKE_SKIP_SETUP:-0}" != 1 ]; then
  mkdir -p "$ENGINE_ROOT"
  say "running scripts/engine/setup.sh (log: $ENGINE_ROOT/setup-from-smoke.log)"
  if ! "$ENGINE_SCRIPT_DIR/setup.sh" >/dev/null 2>"$ENGINE_ROOT/setup-from-smoke.log"; then
    cat "$ENGINE_ROOT/setup-from-smoke.log" >&2
    echo "smoke-test.sh: scripts/engine/setup.sh failed (output above)" >&2
    exit 1
  fi
  grep -E 'MISSING|WARNING|summary|^    ' "$ENGINE_ROOT/setup-from-smoke.log" || true
fi
eval "$("$ENGINE_SCRIPT_DIR/env.sh")"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dolibarr-engine-smoke.XXXXXX")
PASSED=0
FAILED=0
SKIPPED=0
cleanup() {
  if [ "$KEEP" = 1 ] || [ "$FAILED" -gt 0 ]; then
    echo "smoke: work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# The smoke stack lives in its own state dir, never in the project's.
export PULUMI_BACKEND_URL="file://$WORK/state"
export PULUMI_CONFIG_PASSPHRASE=dolibarr-smoke-passphrase
unset PULUMI_CONFIG_PASSPHRASE_FILE
mkdir -p "$WORK/state" "$WORK/logs"
SECRET_TOKEN="smoke-secret-$RANDOM$RANDOM"

# stage NAME FUNCTION: runs FUNCTION with its output in $WORK/logs/<n>.log; counts the result.
STAGE_NO=0
stage() {
  local name=$1 fn=$2 log t_start=$SECONDS
  STAGE_NO=$((STAGE_NO + 1))
  log="$WORK/logs/$(printf '%02d' "$STAGE_NO")-$fn.log"
  if "$fn" >"$log" 2>&1; then
    PASSED=$((PASSED + 1))
    say "PASS  $name ($((SECONDS - t_start))s)"
  else
    FAILED=$((FAILED + 1))
    say "FAIL  $name ($((SECONDS - t_start))s), log: $log"
    grep -v '^[[:space:]]*$' "$log" | tail -n 30 | sed 's/^/      | /'
  fi
}
skip() {
  SKIPPED=$((SKIPPED + 1))
  say "SKIP  $1"
}
pulumi_in() { # DIR ARGS...: pulumi in DIR, bounded in time, never interactive
  local dir=$1
  shift
  (cd "$dir" && timeout 600 pulumi "$@" --non-interactive)
}

# --- npm packages ------------------------------------------------------------------------------
npm_versions_ok() { # NODE_MODULES_DIR
  node - "$1" "$PULUMI_NODEJS_SDK_VERSION" "$PULUMI_POLICY_VERSION" "$PULUMI_COMMAND_VERSION" "$PULUMI_RANDOM_VERSION" <<'EOF'
const [dir, sdk, policy, command, random] = process.argv.slice(2);
const v = (p) => { try { return require(`${dir}/@pulumi/${p}/package.json`).version.replace(/^v/, ""); } catch { return null; } };
process.exit(v("pulumi") === sdk && v("policy") === policy && v("command") === command && v("random") === random ? 0 : 1);
EOF
}
NODE_MODULES="$ENGINE_REPO_ROOT/node_modules"
if ! npm_versions_ok "$NODE_MODULES"; then
  NODE_MODULES="$ENGINE_ROOT/smoke-npm/node_modules"
  if ! npm_versions_ok "$NODE_MODULES"; then
    say "installing the pinned npm packages into $ENGINE_ROOT/smoke-npm (once)"
    mkdir -p "$ENGINE_ROOT/smoke-npm"
    printf '{"name":"dolibarr-engine-smoke","private":true}\n' >"$ENGINE_ROOT/smoke-npm/package.json"
    (cd "$ENGINE_ROOT/smoke-npm" && npm install --no-save --no-audit --no-fund --ignore-scripts \
      "@pulumi/pulumi@$PULUMI_NODEJS_SDK_VERSION" "@pulumi/policy@$PULUMI_POLICY_VERSION" \
      "@pulumi/command@$PULUMI_COMMAND_VERSION" "@pulumi/random@$PULUMI_RANDOM_VERSION")
  fi
fi
say "npm packages from $NODE_MODULES"

# --- the project and the policy pack -------------------------------------------------------------
PROJ="$WORK/project"
PACK="$WORK/policy"
mkdir -p "$PROJ" "$PACK"
ln -s "$NODE_MODULES" "$PROJ/node_modules"
ln -s "$NODE_MODULES" "$PACK/node_modules"
cat >"$PROJ/Pulumi.yaml" <<'EOF'
name: engine-smoke
runtime: nodejs
main: index.js
description: dolibarr-backup engine smoke test (temporary)
EOF
printf '{"name":"engine-smoke","private":true,"main":"index.js"}\n' >"$PROJ/package.json"
cat >"$PROJ/index.js" <<'EOF'
"use strict";
const pulumi = require("@pulumi/pulumi");
const command = require("@pulumi/command");
const random = require("@pulumi/random");

const cfg = new pulumi.Config();
const token = cfg.requireSecret("token");

const doubled = new command.local.Command("doubled", { create: "echo $((21 * 2))" });
const password = new random.RandomPassword("password", { length: 24, special: false });
if (cfg.getBoolean("createForbidden")) {
  new command.local.Command("forbidden", { create: "true" });
}

exports.doubled = doubled.stdout.apply(Number);
exports.passwordLength = password.result.apply((p) => p.length);
exports.tokenLength = token.apply((t) => t.length);

EOF
cat >"$PACK/PulumiPolicy.yaml" <<'EOF'
runtime: nodejs
name: engine-smoke-policy
version: 0.0.1
description: dolibarr-backup engine smoke test policy pack (temporary)
EOF
printf '{"name":"engine-smoke-policy","version":"0.0.1","private":true,"main":"index.js"}\n' >"$PACK/package.json"
cat >"$PACK/index.js" <<'EOF'
"use strict";
const { PolicyPack } = require("@pulumi/policy");
new PolicyPack("engine-smoke-policy", {
  policies: [
    {
      name: "smoke-saw-resource",
      description: "Reports every resource it sees (advisory).",
      enforcementLevel: "advisory",
      validateResource: (args, reportViolation) => reportViolation(`SMOKE_POLICY_SAW ${args.type} ${args.name}`),
    },
    {
      name: "smoke-no-forbidden",
      description: "Rejects a resource named 'forbidden' (mandatory).",
      enforcementLevel: "mandatory",
      validateResource: (args, reportViolation) => {
        if (args.name === "forbidden") reportViolation("SMOKE_POLICY_REJECTED forbidden");
      },
    },
  ],
});
EOF

# --- stages --------------------------------------------------------------------------------------
st_engine() {
  local v about
  v=$(pulumi version)
  echo "pulumi version: $v (pinned v$PULUMI_VERSION); on PATH: $(command -v pulumi)"
  about=$(cd "$PROJ" && pulumi about --json 2>/dev/null) || { echo "pulumi about failed"; return 1; }
  node - "$about" "$PULUMI_VERSION" "$PULUMI_COMMAND_VERSION" "$PULUMI_RANDOM_VERSION" <<'EOF'
const [about, cli, command, random] = process.argv.slice(2);
const a = JSON.parse(about);
const plugins = Object.fromEntries((a.plugins || []).map((p) => [p.name, String(p.version).replace(/^v/, "")]));
console.log("pulumi about: plugins", JSON.stringify(plugins));
const want = { nodejs: cli, command, random };
const bad = Object.entries(want).filter(([n, ver]) => plugins[n] !== ver);
if (bad.length) { console.log(`FAIL: expected ${JSON.stringify(want)}`); process.exit(1); }
EOF
  [ "$v" = "v$PULUMI_VERSION" ]
}
st_stack_init() {
  pulumi_in "$PROJ" stack init smoke --secrets-provider passphrase &&
    pulumi_in "$PROJ" config set --secret token "$SECRET_TOKEN" &&
    grep -q 'secure:' "$PROJ/Pulumi.smoke.yaml" && ! grep -q "$SECRET_TOKEN" "$PROJ/Pulumi.smoke.yaml"
}
st_up() {
  pulumi_in "$PROJ" up --yes --skip-preview
}
st_up_again() {
  local out="$WORK/logs/up-again.out"
  pulumi_in "$PROJ" up --yes --skip-preview 2>&1 | tee "$out" || return 1
  grep -qE '^ +[0-9]+ unchanged' "$out" && ! grep -qE '(created|updated|deleted|replaced)$' "$out"
}
st_outputs() {
  pulumi_in "$PROJ" stack output --json --show-secrets >"$WORK/outputs.json"
  cat "$WORK/outputs.json"
  node - "$WORK/outputs.json" "${#SECRET_TOKEN}" <<'EOF'
const [file, tokenLength] = process.argv.slice(2);
const o = require(file);
const fail = (m) => { console.log(`FAIL: ${m}`); process.exit(1); };
if (o.doubled !== 42) fail(`doubled=${o.doubled}, want 42 (command plugin)`);
if (o.passwordLength !== 24) fail(`passwordLength=${o.passwordLength}, want 24 (random plugin)`);
if (o.tokenLength !== Number(tokenLength)) fail(`tokenLength=${o.tokenLength}, want ${tokenLength} (passphrase secret)`);
console.log("outputs as expected");
EOF
}
st_state_encrypted() {
  local files
  files=$(find "$WORK/state" -type f -name '*.json' | wc -l)
  echo "state files: $files"
  [ "$files" -gt 0 ] && ! grep -rqF "$SECRET_TOKEN" "$WORK/state"
}
st_policy_advisory() {
  local out="$WORK/logs/policy-preview.out" want
  pulumi_in "$PROJ" preview --policy-pack "$PACK" 2>&1 | tee "$out" || return 1
  want=("SMOKE_POLICY_SAW command:local:Command doubled" "SMOKE_POLICY_SAW random:index/randomPassword:RandomPassword password")
  local w
  for w in "${want[@]}"; do
    grep -qF "$w" "$out" || {
      echo "missing in preview output: $w"
      return 1
    }
  done
}
st_policy_mandatory() {
  local out="$WORK/logs/policy-mandatory.out" rc=0
  pulumi_in "$PROJ" config set createForbidden true
  pulumi_in "$PROJ" preview --policy-pack "$PACK" >"$out" 2>&1 || rc=$?
  cat "$out"
  pulumi_in "$PROJ" config rm createForbidden
  echo "preview exit status: $rc (want non-zero)"
  [ "$rc" -ne 0 ] && grep -qF "SMOKE_POLICY_REJECTED forbidden" "$out"
}
st_destroy() {
  pulumi_in "$PROJ" destroy --yes --skip-preview && pulumi_in "$PROJ" stack rm smoke --yes
}

say "work directory: $WORK"
stage "engine: pulumi v$PULUMI_VERSION; pulumi about lists nodejs, command and random at the pinned versions" st_engine
stage "stack init (file backend, passphrase secrets) + secret config" st_stack_init
stage "pulumi up: local.Command + RandomPassword + secret" st_up
stage "second pulumi up: no change" st_up_again
stage "stack outputs" st_outputs
stage "secret stored encrypted in the file backend" st_state_encrypted
stage "pulumi preview with a policy pack (advisory policy saw the resources)" st_policy_advisory
stage "pulumi preview with a policy pack (mandatory policy blocks)" st_policy_mandatory
stage "pulumi destroy + stack rm" st_destroy

say "done in $((SECONDS - T0))s"
echo "smoke: $PASSED passed, $FAILED failed, $SKIPPED skipped"
if [ "$FAILED" -gt 0 ]; then
  exit 1
fi

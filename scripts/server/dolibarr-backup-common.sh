# shellcheck shell=bash
# Shared helpers of the dolibarr-backup server jobs (dolibarr-dump, dolibarr-export,
# dolibarr-replicate, dolibarr-restore). Sourced, never executed.
# Installed as /usr/local/lib/dolibarr-backup/common.sh; the scripts also look for it
# beside themselves so they run straight from a checkout (tests).

# Where the per-instance config files live; tests point this at a temp dir.
DBK_CONF_DIR="${DOLIBARR_BACKUP_CONF_DIR:-/etc/dolibarr-backup}"
# shellcheck disable=SC2034 # used by the scripts that source this file
DBK_STATE_DIR="${DOLIBARR_BACKUP_STATE_DIR:-/var/lib/dolibarr-backup}"
DBK_LOCK_DIR="${DOLIBARR_BACKUP_LOCK_DIR:-/run/lock/dolibarr-backup}"

dbk_log() {
  printf '%s %s[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${DBK_PROG:-dolibarr-backup}" "${DBK_INSTANCE:--}" "$*" >&2
}

dbk_die() {
  dbk_log "ERROR: $*"
  exit 1
}

# Instance names are used in unit names, paths and users: keep them boring.
dbk_check_name() {
  local what="$1" value="$2"
  if ! [[ "$value" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || [[ "$value" == *..* ]]; then
    dbk_die "invalid $what name: '$value'"
  fi
}

# Loads <conf dir>/instances/<instance>.env (KEY=VALUE lines written by the renderer).
dbk_load_instance() {
  local instance="$1"
  dbk_check_name instance "$instance"
  local file="$DBK_CONF_DIR/instances/$instance.env"
  [[ -r "$file" ]] || dbk_die "no config for instance '$instance' ($file)"
  # shellcheck disable=SC1090
  source "$file"
  [[ "${INSTANCE:-}" == "$instance" ]] || dbk_die "$file declares INSTANCE='${INSTANCE:-}', expected '$instance'"
}

# JSON string escaping for the status files (no jq on the servers).
dbk_json_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  printf '"%s"' "$s"
}

# dbk_write_status FILE key=value... : values that look like integers are written as
# numbers, the rest as strings. Written to a temp file and renamed (readers never see half).
dbk_write_status() {
  local file="$1"
  shift
  local dir tmp first=1 kv key value
  dir="$(dirname "$file")"
  mkdir -p "$dir"
  tmp="$(mktemp "$dir/.status.XXXXXX")"
  {
    printf '{'
    for kv in "$@"; do
      key="${kv%%=*}"
      value="${kv#*=}"
      if [[ $first -eq 0 ]]; then printf ','; fi
      first=0
      printf '%s:' "$(dbk_json_str "$key")"
      if [[ "$value" =~ ^-?[0-9]+$ ]]; then
        printf '%s' "$value"
      else
        dbk_json_str "$value"
      fi
    done
    printf '}\n'
  } >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$file"
}

# dbk_lock NAME WAIT_SECONDS: takes an exclusive flock on <lock dir>/NAME.lock on fd 9,
# waiting at most WAIT_SECONDS; returns 1 when another run still holds it.
dbk_lock() {
  local name="$1" wait="$2"
  mkdir -p "$DBK_LOCK_DIR"
  exec 9>"$DBK_LOCK_DIR/$name.lock"
  flock -w "$wait" 9
}

dbk_now_epoch() { date -u +%s; }
dbk_now_iso() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# dbk_acquire_slot NAME SLOTS WAIT_SECONDS: a counting semaphore of SLOTS flock slots
# (<lock dir>/NAME.slot<i>.lock), held on fd 8 until the process exits. Polls every second
# for at most WAIT_SECONDS; returns 1 when no slot came free by then. Sets DBK_SLOT.
# A killed holder releases its slot with its file descriptor: no stale lock survives it.
dbk_acquire_slot() {
  local name="$1" slots="$2" wait="$3" deadline i
  [[ "$slots" =~ ^[1-9][0-9]*$ ]] || dbk_die "dbk_acquire_slot: SLOTS must be a positive integer, got '$slots'"
  deadline=$(($(dbk_now_epoch) + wait))
  mkdir -p "$DBK_LOCK_DIR"
  while :; do
    for ((i = 0; i < slots; i++)); do
      exec 8>"$DBK_LOCK_DIR/$name.slot$i.lock"
      if flock -n 8; then
        # shellcheck disable=SC2034 # read by the scripts that source this file
        DBK_SLOT=$i
        return 0
      fi
    done
    exec 8>&-
    if (($(dbk_now_epoch) >= deadline)); then return 1; fi
    sleep 1
  done
}

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

# Logs to stderr (the journal under systemd) and, during a job run, to the run's log file
# (its last lines go with a failure notification).
dbk_log() {
  local line now
  TZ=UTC0 printf -v now '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  line="$now ${DBK_PROG:-dolibarr-backup}[${DBK_INSTANCE:--}]: $*"
  printf '%s\n' "$line" >&2
  if [[ -n "${DBK_RUN_LOG:-}" ]]; then printf '%s\n' "$line" >>"$DBK_RUN_LOG" 2>/dev/null || true; fi
}

dbk_die() {
  dbk_log "ERROR: $*"
  # shellcheck disable=SC2034 # read by the scripts' EXIT traps
  DBK_LAST_ERROR="$*"
  exit 1
}

# Instance names are used in unit names, paths and users: keep them boring.
dbk_check_name() {
  local what="$1" value="$2"
  if ! [[ "$value" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || [[ "$value" == *..* ]]; then
    dbk_die "invalid $what name: '$value'"
  fi
}

# dbk_check_database WHAT NAME: dies when NAME is a system database of MariaDB (any case) or the
# project's heartbeat (infra/model/safe.ts SYSTEM_DATABASES, PROJECT_DATABASES): never an instance's.
dbk_check_database() {
  case "${2,,}" in
    mysql | sys | information_schema | performance_schema | dolibarr_backup_heartbeat)
      dbk_die "$1 '$2' is a system database of MariaDB (or the project's heartbeat): expected an instance's own database" ;;
  esac
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

# dbk_conf_db_settings FILE: Dolibarr's database settings in a conf/conf.php, NUL after each:
# host, port, name, user, pass, encrypted (1 when the password is kept encrypted), prefix
# (default llx_). PHP assignments at the start of a line, single- or double-quoted; the last
# one wins, as in PHP.
# shellcheck disable=SC2016 # perl code, not shell
dbk_conf_db_settings() {
  perl -0777 -ne '
    my %v;
    while (/^[ \t]*\$dolibarr_main_db_(host|port|name|user|pass|encrypted_pass|prefix)[ \t]*=[ \t]*(?:\x27((?:[^\x27\\]|\\.)*)\x27|"((?:[^"\\\$]|\\.)*)")[ \t]*;/mg) {
      my ($k, $sq, $dq) = ($1, $2, $3);
      if (defined $sq) { $sq =~ s/\\([\\\x27])/$1/g; $v{$k} = $sq; }
      else { my %e = (n => "\n", t => "\t", r => "\r"); $dq =~ s/\\(.)/exists $e{$1} ? $e{$1} : $1/ge; $v{$k} = $dq; }
    }
    my $enc = (($v{encrypted_pass} // "") ne "" || ($v{pass} // "") =~ /^(?:crypted|dolcrypt):/) ? 1 : 0;
    print join("\0", (map { $v{$_} // "" } qw(host port name user pass)), $enc, $v{prefix} // "llx_"), "\0";' -- "$1"
}

# JSON encoding (no jq on the servers; perl-base is Essential on Debian). Any byte string
# gives valid JSON: invalid UTF-8 sequences become U+FFFD, control characters (NUL cannot
# reach here: bash strings end at NUL) and DEL become \u00XX escapes.
# shellcheck disable=SC2016 # perl code, not shell
DBK_JSON_PL='
my $valid = qr/[\x00-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}/;
sub str { my $v = shift; $v =~ s/($valid)|./defined $1 ? $1 : "\xef\xbf\xbd"/gse; $v =~ s/(["\\])/\\$1/g; $v =~ s/([\x00-\x1f\x7f])/sprintf("\\u%04x", ord $1)/ge; return "\"$v\""; }
my $mode = shift @ARGV;
if ($mode eq "str") { print str($ARGV[0]); exit 0; }
if ($mode eq "text") {
  # stdin as mail text: valid UTF-8, control characters but tab and newline as \xNN, lines folded under 998 octets
  local $/; my $t = <STDIN>; $t = "" unless defined $t;
  $t =~ s/\r\n?/\n/g;
  $t =~ s/($valid)|./defined $1 ? $1 : "\xef\xbf\xbd"/gse;
  $t =~ s/([\x00-\x08\x0b-\x1f\x7f])/sprintf("\\x%02x", ord $1)/ge;
  $t =~ s/((?:$valid){900})(?=[^\n])/$1\n/g;
  print $t; exit 0;
}
my @out;
for my $kv (@ARGV) {
  my ($k, $v) = split /=/, $kv, 2; $v = "" unless defined $v;
  push @out, str($k) . ":" . ($v =~ /^-?(?:0|[1-9][0-9]{0,14})$/ ? $v : str($v));
}
print "{" . join(",", @out) . "}\n";
'

# dbk_json_str STRING: STRING as a JSON string literal. Printable ASCII without " or \ is its own
# literal (no perl started: the binlog pull writes a dozen strings every minute); the rest goes
# through DBK_JSON_PL's str.
dbk_json_str() {
  local LC_ALL=C
  if [[ "$1" =~ ^[\ -~]*$ && "$1" != *[\"\\]* ]]; then printf '"%s"' "$1"; else perl -e "$DBK_JSON_PL" str "$1"; fi
}

# dbk_mail_text <IN: any bytes as text for a mail body (see DBK_JSON_PL "text").
dbk_mail_text() {
  perl -e "$DBK_JSON_PL" text
}

# dbk_json_object key=value...: one JSON object on one line; values that are integers
# (JSON grammar, at most 15 digits) are written as numbers, the rest as strings.
dbk_json_object() {
  perl -e "$DBK_JSON_PL" object "$@"
}

# dbk_write_status FILE key=value... : the status file of a job run (see dbk_json_object),
# with server=<this server> added when known. Written to a temp file and renamed (readers
# never see half). During a job run (dbk_job_started) it also writes the run's metrics and
# sends its notifications (dbk_job_finished): never failing the job for them.
dbk_write_status() {
  local file="$1"
  shift
  local dir tmp kv has_server=0
  for kv in "$@"; do [[ "$kv" == server=* ]] && has_server=1; done
  if [[ $has_server -eq 0 && -n "${DBK_SERVER:-}" ]]; then set -- "$@" server="$DBK_SERVER"; fi
  dir="${file%/*}"
  dbk_ensure_dir "${dir:-/}"
  tmp="$(mktemp "$dir/.status.XXXXXX")"
  if ! dbk_json_object "$@" >"$tmp"; then
    rm -f -- "$tmp"
    return 1
  fi
  chmod 0644 "$tmp"
  mv -f "$tmp" "$file"
  if [[ -n "${DBK_JOB:-}" && -z "${DBK_JOB_REPORTED:-}" ]]; then dbk_job_finished "$@" || true; fi
}

# dbk_lock NAME WAIT_SECONDS: takes an exclusive flock on <lock dir>/NAME.lock on fd 9,
# waiting at most WAIT_SECONDS; returns 1 when another run still holds it.
dbk_lock() {
  local name="$1" wait="$2"
  dbk_ensure_dir "$DBK_LOCK_DIR"
  exec 9>"$DBK_LOCK_DIR/$name.lock"
  flock -w "$wait" 9
}

# dbk_ensure_dir DIR...: mkdir -p, run only for a directory that is missing.
dbk_ensure_dir() {
  local d missing=()
  for d in "$@"; do [[ -d "$d" ]] || missing+=("$d"); done
  [[ ${#missing[@]} -eq 0 ]] || mkdir -p -- "${missing[@]}"
}

# Times from bash's own strftime (printf %()T) rather than date(1): a job asks for the time a
# dozen times, and each date is a process (the dump bench counts them against the bare tools).
dbk_now_epoch() { printf '%(%s)T' -1; }
dbk_now_iso() { TZ=UTC0 printf '%(%Y-%m-%dT%H:%M:%SZ)T' -1; }
# YYYYMMDDTHHMMSSZ, the stamp of dumps and snapshots: now, or of an epoch.
dbk_now_stamp() { TZ=UTC0 printf '%(%Y%m%dT%H%M%SZ)T' -1; }
dbk_utc_stamp() { TZ=UTC0 printf '%(%Y%m%dT%H%M%SZ)T' "$1"; }

# dbk_parse_time OPTION VALUE: a point in time to the second with its time zone explicit
# ("2026-12-06 10:42:00 Europe/Paris", "2026-12-06 10:42:00 +01:00", "2026-12-06T09:42:00Z");
# sets DBK_TIME_EPOCH, or dies naming OPTION and what it expects. A local time that does not
# exist (clocks jumped forward) or happens twice (clocks went back) in an IANA zone is refused:
# its offset says which one is meant. Shared by dolibarr-binlog-replay --stop and
# dolibarr-restore --at (one parser, one set of formats).
# shellcheck disable=SC2034 # DBK_TIME_EPOCH is read by the scripts that source this file
dbk_parse_time() {
  local opt="$1" v="$2" day tod zone d
  if [[ "$v" =~ ^([0-9]{4}-[0-9]{2}-[0-9]{2})[T\ ]([0-9]{2}:[0-9]{2}:[0-9]{2})\ ?(Z|UTC|[+-][0-9]{2}:?[0-9]{2}|[A-Za-z_]+(/[A-Za-z0-9_+-]+)+)$ ]]; then
    day="${BASH_REMATCH[1]}" tod="${BASH_REMATCH[2]}" zone="${BASH_REMATCH[3]}"
  else
    dbk_die "$opt '$v': expected a date, a time to the second and an explicit time zone, e.g. \"2026-12-06 10:42:00 Europe/Paris\", \"2026-12-06 10:42:00 +01:00\" or \"2026-12-06T09:42:00Z\""
  fi
  case "$zone" in
    Z | UTC) DBK_TIME_EPOCH="$(TZ=UTC0 date -d "$day $tod" +%s 2>/dev/null)" || dbk_die "$opt '$v': not a valid time" ;;
    [+-]*) DBK_TIME_EPOCH="$(date -d "$day $tod $zone" +%s 2>/dev/null)" || dbk_die "$opt '$v': not a valid time" ;;
    *)
      [[ -f "/usr/share/zoneinfo/$zone" ]] || dbk_die "$opt '$v': unknown time zone '$zone' (expected an IANA name such as Europe/Paris)"
      # GNU date refuses a local time that does not exist (clocks jumped forward); the date must be valid
      TZ=UTC0 date -d "$day $tod" +%s >/dev/null 2>&1 || dbk_die "$opt '$v': not a valid date and time"
      DBK_TIME_EPOCH="$(TZ="$zone" date -d "$day $tod" +%s 2>/dev/null)" || dbk_die "$opt '$v': $day $tod does not exist in $zone (clocks jumped): give an offset instead (+01:00, +02:00)"
      [[ "$(TZ="$zone" date -d "@$DBK_TIME_EPOCH" '+%Y-%m-%d %H:%M:%S')" == "$day $tod" ]] || dbk_die "$opt '$v': $day $tod does not exist in $zone (clocks jumped): give an offset instead (+01:00, +02:00)"
      for d in -3600 3600; do
        if [[ "$(TZ="$zone" date -d "@$((DBK_TIME_EPOCH + d))" '+%Y-%m-%d %H:%M:%S')" == "$day $tod" ]]; then
          dbk_die "$opt '$v': $day $tod happens twice in $zone (clocks went back): give its offset instead (e.g. +02:00 or +01:00)"
        fi
      done ;;
  esac
  [[ "$DBK_TIME_EPOCH" =~ ^[0-9]+$ ]] || dbk_die "$opt '$v': not a valid time"
}
# "YYYY-MM-DD HH:MM:SS" in UTC of an epoch.
dbk_utc_time() { TZ=UTC0 printf '%(%Y-%m-%d %H:%M:%S)T' "$1"; }

# dbk_acquire_slot NAME SLOTS WAIT_SECONDS: a counting semaphore of SLOTS flock slots
# (<lock dir>/NAME.slot<i>.lock), held on fd 8 until the process exits. Polls every second
# for at most WAIT_SECONDS; returns 1 when no slot came free by then. Sets DBK_SLOT.
# A killed holder releases its slot with its file descriptor: no stale lock survives it.
dbk_acquire_slot() {
  local name="$1" slots="$2" wait="$3" deadline i
  [[ "$slots" =~ ^[1-9][0-9]*$ ]] || dbk_die "dbk_acquire_slot: SLOTS must be a positive integer, got '$slots'"
  deadline=$(($(dbk_now_epoch) + wait))
  dbk_ensure_dir "$DBK_LOCK_DIR"
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

# ---- job runs: metrics and notifications ---------------------------------------------------
# A job calls dbk_job_started JOB once it holds its lock, then writes its status file as
# before (dbk_write_status); the status file's result ends the run: the node_exporter
# textfile metrics are written and the notifications spooled. Nothing here fails or waits
# for a notifier: events are spooled (a rename) and delivered by dolibarr-notify deliver in
# another process (the dolibarr-notify.path unit under systemd; a detached process
# otherwise), with timeouts. See docs/server-jobs.md "Alerts and metrics".

# Loads <conf dir>/server.env (rendered by the fleet stack: SERVER_NAME, FLEET_STACK,
# METRICS_DIR, NOTIFY_*; never the notifiers' URLs, which only dolibarr-notify reads).
dbk_load_server() {
  local file="$DBK_CONF_DIR/server.env"
  if [[ -r "$file" ]]; then
    # shellcheck disable=SC1090
    source "$file"
  fi
  DBK_SERVER="${SERVER_NAME:-$(hostname -s 2>/dev/null || echo unknown)}"
  DBK_FLEET="${FLEET_STACK:-}"
}

# The dead-man's-switch check of a job: <instance>-<job>-<server>, lowercase, [a-z0-9_-].
dbk_check_slug() { # dbk_check_slug INSTANCE JOB SERVER
  local s="$1-$2-$3"
  s="${s,,}"
  printf '%s' "${s//[^a-z0-9_-]/-}"
}

dbk_notify_bin() {
  local here
  here="$(dirname -- "${BASH_SOURCE[0]}")"
  if [[ -n "${DOLIBARR_BACKUP_NOTIFY:-}" ]]; then printf '%s' "$DOLIBARR_BACKUP_NOTIFY"
  elif [[ -x "$here/dolibarr-notify" ]]; then printf '%s' "$here/dolibarr-notify"
  else printf '%s' /usr/local/sbin/dolibarr-notify; fi
}

# dbk_job_started JOB [--no-ping]: the run of JOB (dump, replicate, export) for DBK_INSTANCE
# begins: its log file is started and (unless --no-ping) the "start" ping is spooled.
dbk_job_started() {
  DBK_JOB="$1"
  DBK_JOB_PING=1
  if [[ "${2:-}" == --no-ping ]]; then DBK_JOB_PING=0; fi
  DBK_JOB_REPORTED=""
  dbk_load_server
  DBK_RUN_LOG=""
  if dbk_ensure_dir "$DBK_STATE_DIR/log" 2>/dev/null && : >"$DBK_STATE_DIR/log/$DBK_INSTANCE.$DBK_JOB.log" 2>/dev/null; then
    DBK_RUN_LOG="$DBK_STATE_DIR/log/$DBK_INSTANCE.$DBK_JOB.log"
  fi
  if [[ $DBK_JOB_PING -eq 1 ]]; then dbk_notify_event start "$DBK_JOB of $DBK_INSTANCE started" || true; fi
  return 0
}

# dbk_job_finished key=value... (the status file's pairs): metrics, then notifications.
dbk_job_finished() {
  DBK_JOB_REPORTED=1
  local kv result="" duration=0 bytes=0 message="" warnings=""
  for kv in "$@"; do
    case "$kv" in
      result=*) result="${kv#*=}" ;;
      durationSeconds=*) duration="${kv#*=}" ;;
      sizeBytes=* | bytesReceived=*) bytes="${kv#*=}" ;;
      message=*) message="${kv#*=}" ;;
      warnings=*) warnings="${kv#*=}" ;;
    esac
  done
  [[ "$duration" =~ ^[0-9]+$ ]] || duration=0
  [[ "$bytes" =~ ^[0-9]+$ ]] || bytes=0
  dbk_write_metrics "$result" "$duration" "$bytes" || dbk_log "WARNING: metrics of this run not written"
  if [[ "$result" == ok ]]; then
    if [[ $DBK_JOB_PING -eq 1 ]]; then dbk_notify_event success "$message${warnings:+ (warnings: $warnings)}" || true; fi
  else
    dbk_notify_event fail "$DBK_JOB of $DBK_INSTANCE on ${DBK_SERVER:-?}: ${result:-no result}: $message" || true
    # The OnFailure= notifier (dolibarr-notify unit-failed) then knows this run was reported.
    if [[ -n "${INVOCATION_ID:-}" && "$INVOCATION_ID" =~ ^[0-9a-f]{32}$ ]]; then
      { mkdir -p -- "$DBK_STATE_DIR/notify/reported" && : >"$DBK_STATE_DIR/notify/reported/$INVOCATION_ID"; } 2>/dev/null || true
    fi
  fi
  return 0
}

# dbk_alert SEVERITY MESSAGE: an alert outside the run's result (e.g. a suspicious change a
# job refused), by e-mail and webhook. Never fails.
dbk_alert() {
  local severity="$1" message="$2"
  if [[ -z "${DBK_SERVER:-}" ]]; then dbk_load_server; fi
  dbk_log "ALERT ($severity): $message"
  DBK_ALERT_SEVERITY="$severity" dbk_notify_event alert "$message" || true
  return 0
}

dbk_prom_label() { # a Prometheus label value: \ " and newline escaped
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  printf '"%s"' "$s"
}

# dbk_write_metrics RESULT DURATION BYTES: METRICS_DIR/dolibarr-backup-<job>-<instance>.prom
# (node_exporter textfile collector format), replaced atomically.
dbk_write_metrics() {
  local result="$1" duration="$2" bytes="$3"
  local dir="${METRICS_DIR:-/var/lib/prometheus/node-exporter}"
  local file="$dir/dolibarr-backup-$DBK_JOB-$DBK_INSTANCE.prom"
  local now last_success=0 ok=0 labels tmp
  now="$(dbk_now_epoch)"
  dbk_ensure_dir "$dir" || return 1
  if [[ -f "$file" ]]; then
    local line
    while IFS= read -r line; do
      if [[ "$line" =~ ^dolibarr_backup_last_success_timestamp_seconds\{.*\}\ ([0-9]+)$ ]]; then
        last_success="${BASH_REMATCH[1]}"
        break
      fi
    done <"$file"
  fi
  if [[ "$result" == ok ]]; then ok=1; last_success="$now"; fi
  labels="dolibarr_instance=$(dbk_prom_label "$DBK_INSTANCE"),backup_job=$(dbk_prom_label "$DBK_JOB"),server=$(dbk_prom_label "${DBK_SERVER:-}"),fleet=$(dbk_prom_label "${DBK_FLEET:-}")"
  tmp="$(mktemp "$dir/.dolibarr-backup-XXXXXX.tmp")" || return 1
  {
    printf '# HELP dolibarr_backup_last_run_timestamp_seconds End of the last run of the job (any result), Unix time.\n'
    printf '# TYPE dolibarr_backup_last_run_timestamp_seconds gauge\n'
    printf 'dolibarr_backup_last_run_timestamp_seconds{%s} %s\n' "$labels" "$now"
    printf '# HELP dolibarr_backup_last_success_timestamp_seconds End of the last successful run of the job, Unix time (0: none yet).\n'
    printf '# TYPE dolibarr_backup_last_success_timestamp_seconds gauge\n'
    printf 'dolibarr_backup_last_success_timestamp_seconds{%s} %s\n' "$labels" "$last_success"
    printf '# HELP dolibarr_backup_last_duration_seconds Duration of the last run of the job.\n'
    printf '# TYPE dolibarr_backup_last_duration_seconds gauge\n'
    printf 'dolibarr_backup_last_duration_seconds{%s} %s\n' "$labels" "$duration"
    printf '# HELP dolibarr_backup_last_bytes Bytes of the last run: dump size (dump), bytes received (replicate), 0 otherwise.\n'
    printf '# TYPE dolibarr_backup_last_bytes gauge\n'
    printf 'dolibarr_backup_last_bytes{%s} %s\n' "$labels" "$bytes"
    printf '# HELP dolibarr_backup_last_success 1 when the last run of the job succeeded, else 0.\n'
    printf '# TYPE dolibarr_backup_last_success gauge\n'
    printf 'dolibarr_backup_last_success{%s} %s\n' "$labels" "$ok"
    printf '# HELP dolibarr_backup_last_result The result of the last run of the job (label result).\n'
    printf '# TYPE dolibarr_backup_last_result gauge\n'
    printf 'dolibarr_backup_last_result{%s,result=%s} 1\n' "$labels" "$(dbk_prom_label "${result:-none}")"
  } >"$tmp" || { rm -f -- "$tmp"; return 1; }
  chmod 0644 -- "$tmp"
  mv -f -- "$tmp" "$file"
}

# dbk_notify_event KIND MESSAGE: spools one event (start, success, fail, alert) for
# dolibarr-notify deliver. A directory of one file per field, built aside and renamed into
# the spool (the deliverer never sees half an event). Only when a notifier is configured.
dbk_notify_event() {
  local kind="$1" message="$2"
  [[ "${NOTIFY_ENABLED:-0}" == 1 ]] || return 0
  local base="$DBK_STATE_DIR/notify" id tmp lines="${NOTIFY_LOG_LINES:-20}"
  id="$(date -u +%s%N)-$$-$RANDOM"
  { mkdir -p -- "$base/tmp" "$base/spool" && chmod 0700 -- "$base"; } 2>/dev/null || return 0
  tmp="$base/tmp/$id"
  mkdir -m 0700 -- "$tmp" || return 0
  {
    printf '%s' "$kind" >"$tmp/kind"
    printf '%s' "${DBK_JOB:-${DBK_PROG#dolibarr-}}" >"$tmp/job"
    printf '%s' "${DBK_INSTANCE:-}" >"$tmp/instance"
    printf '%s' "${DBK_SERVER:-}" >"$tmp/server"
    printf '%s' "${DBK_FLEET:-}" >"$tmp/fleet"
    printf '%s' "${DBK_JOB_PING:-0}" >"$tmp/ping"
    printf '%s' "${DBK_ALERT_SEVERITY:-}" >"$tmp/severity"
    printf '%s' "$(dbk_now_iso)" >"$tmp/time"
    printf '%s' "${INVOCATION_ID:-}" >"$tmp/invocation"
    printf '%s' "$message" >"$tmp/message"
    if [[ "$kind" != start && -n "${DBK_RUN_LOG:-}" && -f "$DBK_RUN_LOG" ]]; then
      tail -n "$lines" -- "$DBK_RUN_LOG" | tail -c 10000 >"$tmp/log"
    fi
  } 2>/dev/null || { rm -rf -- "$tmp"; return 0; }
  mv -T -- "$tmp" "$base/spool/$id" 2>/dev/null || { rm -rf -- "$tmp"; return 0; }
  # Under systemd dolibarr-notify.path starts the delivery (outside this unit, whose
  # processes systemd ends with it); elsewhere (a shell, the tests) a detached process.
  if [[ -z "${INVOCATION_ID:-}" && -z "${DBK_NOTIFY_NO_KICK:-}" ]]; then
    if [[ -f "$base/deliver.log" && $(stat -c %s -- "$base/deliver.log" 2>/dev/null || echo 0) -gt 1048576 ]]; then
      mv -f -- "$base/deliver.log" "$base/deliver.log.1" 2>/dev/null || true
    fi
    # Without the job's lock (fd 9) and dump slot (fd 8): a deliverer waiting on a dead receiver
    # must not hold them, or the next run would wait for it.
    setsid -f "$(dbk_notify_bin)" deliver 8>&- 9>&- </dev/null >>"$base/deliver.log" 2>&1 || true
  fi
  return 0
}

# --- exact FLOAT values (dolibarr-dump writes them, dolibarr-restore checks them) ----------------
# A dump's text holds a FLOAT with 6 significant digits; its exact value is the float widened to
# a DOUBLE, which MariaDB prints with round-trip precision. The same SQL on both sides:
# dbk_float_row_id IDS: a row's identity, the MD5 of each column of the comma list IDS (its bytes,
# or N for NULL); dbk_float_digest_sql TABLE FLOATS IDS [LABEL]: "rows<TAB>text digest<TAB>exact digest"
# of TABLE (after LABEL when given): sums of per-row hashes (a multiset: row order and duplicates count) over the identity
# and each FLOAT of the comma list FLOATS, as text (what the dump holds) and exact.
dbk_float_row_id() {
  local e="" c cs=()
  IFS=, read -r -a cs <<<"$1"
  for c in "${cs[@]}"; do e+="${e:+, }COALESCE(MD5(CAST(\`$c\` AS BINARY)), 'N')"; done
  printf "MD5(CONCAT_WS('|', %s))" "${e:-"''"}"
}
dbk_float_digest_sql() {
  local t="$1" txt="" ex="" c fs=() id
  IFS=, read -r -a fs <<<"$2"
  for c in "${fs[@]}"; do
    txt+=", COALESCE(CAST(\`$c\` AS CHAR), 'N')"
    ex+=", COALESCE(CAST(\`$c\` AS DOUBLE), 'N')"
  done
  id="$(dbk_float_row_id "$3")"
  # A 4th argument: the output starts with that label (several tables in one query batch).
  [[ -z "${4:-}" ]] || printf "SELECT '%s', " "${4//\'/\\\'}"
  [[ -n "${4:-}" ]] || printf "SELECT "
  printf "COUNT(*), COALESCE(SUM(CAST(CONV(LEFT(MD5(CONCAT_WS('|', %s%s)), 15), 16, 10) AS UNSIGNED)), 0), COALESCE(SUM(CAST(CONV(LEFT(MD5(CONCAT_WS('|', %s%s)), 15), 16, 10) AS UNSIGNED)), 0) FROM \`%s\`" \
    "$id" "$txt" "$id" "$ex" "$t"
}

# --- directories root changes: checked before anything touches them -------------------------------
# The jobs run as root and change an instance's directories (a recursive read ACL, a read-only bind
# mount exported to the backup servers, dumps written, trees restored). A directory reached through
# a path that someone else can change could be swapped, between two runs or during one, for a
# symbolic link to /root or /etc, or for another user's tree. The rule (docs/security.md):
#   - the path is absolute, without '//', '.' or '..' and, for an instance's configured directories,
#     below one of its allowed roots (PATH_ROOTS, the fleet's pathRoots);
#   - every directory from / down to the path's parent is owned by root or by the path's own owner,
#     and is writable by neither its group nor others (a root-owned sticky directory, /tmp, excepted:
#     there only an entry's owner can move it);
#   - the path itself is not a symbolic link; a symbolic link on the way must be owned by one of
#     those users, in such a directory, and lead (with everything after it) inside the allowed root;
#   - dumps: the directory itself is root's (owned by root, writable by neither group nor others);
#   - a directory still to be made (dumps, restore targets) is made in a directory of root or of
#     its owner that neither group nor others can write (sticky or not: they could make the entry first).
# Usage: perl -e "$DBK_PATH_PL" MODE ROOT PATH [PINNED]
#   MODE tree (must exist, any owner) | dump (root's own, may be missing) | target (may be missing);
#   ROOT the allowed root PATH must be and stay below ("/" for none); PINNED /proc/self/fd/N of the
#   directory opened beforehand: the one checked, and the one the job then works on.
# Prints "REAL<TAB>OWNER UID" (REAL: the real path of PATH, or of its nearest existing ancestor),
# or one line saying what is wrong, exit 1. Self-contained: dolibarr-restore runs it on its target.
# shellcheck disable=SC2016 # perl code, not shell
DBK_PATH_PL='
use strict; use warnings; use Cwd ();
my ($mode, $root, $p, $pinned) = @ARGV;
sub bad { print "$_[0]\n"; exit 1 }
sub who { my $u = shift; my $n = getpwuid $u; return defined $n ? "$n (uid $u)" : "uid $u" }
sub writers { my $m = shift; return join(" and ", ($m & 020 ? ("its group") : ()), ($m & 002 ? ("others") : ())) }
sub below { my ($a, $b, $strict) = @_; return $b eq "/" ? !($strict && $a eq "/") : ($a eq $b ? !$strict : index($a, "$b/") == 0) }
my $shape = qr{^(?:/(?!\.\.?(?:/|$))[^/\0]+)+$};
bad("expected an absolute path without \x27//\x27, \x27.\x27 or \x27..\x27 and no trailing \x27/\x27") unless defined $p && $p =~ $shape;
bad("its allowed root $root is not such a path") unless $root eq "/" || $root =~ $shape;
bad("not below the allowed root $root") unless below($p, $root, 1);
my @c = split m{/}, substr($p, 1);
my @pre = map { "/" . join("/", @c[0 .. $_]) } 0 .. $#c;
my $nr = $root eq "/" ? 0 : scalar(() = $root =~ m{/}g);
my $n = scalar @pre;
# every existing prefix, resolved
my (@real, @links, $m);
for ($m = 0; $m < $n; $m++) {
  my $q = $pre[$m];
  my @l = lstat $q or last;
  if (-l _) {
    my $to = readlink $q; $to = "?" unless defined $to;
    bad("$q is a symbolic link (to $to): expected the directory itself (declare its real path)") if $m == $n - 1;
    push @links, [$q, $to, $l[4]];
  }
  my $r = Cwd::abs_path($q);
  bad("$q leads nowhere (a symbolic link to something that does not exist)") unless defined $r && -e $r;
  bad("$q is not a directory") unless -d $r;
  $real[$m] = $r;
}
my $exists = $m == $n;
my $q = $m > 0 ? $real[$m - 1] : "/";
if (defined $pinned) {
  bad("$p was not opened") unless $exists;
  my $open = readlink $pinned;
  bad("$p was deleted while it was being checked") if !defined $open || $open =~ / \(deleted\)$/;
  my @a = stat $pinned; my @b = stat $q;
  bad("$p changed while it was being checked (it led to $q, the directory opened was $open)") unless $open eq $q && @a && @b && "$a[0]:$a[1]" eq "$b[0]:$b[1]";
}
my @qs = stat $q or bad("$q cannot be read: $!");
my $owner = $mode eq "dump" ? 0 : $qs[4];
my %trusted = (0 => 1, $owner => 1);
my $them = $owner == 0 ? "not by root" : "neither by root nor by " . who($owner) . ", the owner of $p";
if ($exists && $mode eq "dump") {
  bad("$p is owned by " . who($qs[4]) . ": the dumps are root\x27s, expected a directory owned by root (chown root: $p)") if $qs[4] != 0;
  bad(sprintf("%s is writable by %s (mode %04o): the dumps are root\x27s, expected chmod go-w %s", $p, writers($qs[2]), $qs[2] & 07777, $p)) if $qs[2] & 022;
}
if (!$exists) {
  bad("$q, where $pre[$m] would be made, is owned by " . who($qs[4]) . ", not by root") if !$trusted{$qs[4]};
  bad(sprintf("%s, where %s would be made, is writable by %s (mode %04o): another user could make it first", $q, $pre[$m], writers($qs[2]), $qs[2] & 07777)) if $qs[2] & 022;
}
# the declared place: the allowed root and everything from it down, resolved
if ($root ne "/") {
  if ($m >= $nr) {
    my $rr = $real[$nr - 1];
    my $as = $rr eq $root ? $root : "$root (that is $rr)";
    for my $k ($nr .. $m - 1) {
      bad("$pre[$k] leads to $real[$k], outside the allowed root $as") unless below($real[$k], $rr, $k == $n - 1);
    }
  } else {
    bad("$pre[$_] is a symbolic link above the allowed root $root, which does not exist yet") for grep { $real[$_] ne $pre[$_] } 0 .. $m - 1;
  }
}
bad("$pre[$m] does not exist") if !$exists && $mode eq "tree";
# every directory from / down: root or the owner, writable by neither group nor others
my %dirs = ("/" => 1);
for my $k (0 .. $m - 1) {
  next if $k == $m - 1;
  my $d = $real[$k];
  while (1) { $dirs{$d} = 1; last if $d eq "/"; $d =~ s{/[^/]+$}{}; $d = "/" if $d eq ""; }
}
{ my $d = $q; while ($d ne "/") { $d =~ s{/[^/]+$}{}; $d = "/" if $d eq ""; $dirs{$d} = 1; } }
for my $d (sort { length($a) <=> length($b) || $a cmp $b } keys %dirs) {
  my @s = stat $d or bad("$d cannot be read: $!");
  bad("$d is owned by " . who($s[4]) . ", $them: that user could swap $p") unless $trusted{$s[4]};
  next unless $s[2] & 022;
  next if ($s[2] & 01000) && $s[4] == 0;
  bad(sprintf("%s is writable by %s (mode %04o): another user could swap %s; expected chmod go-w %s", $d, writers($s[2]), $s[2] & 07777, $p, $d));
}
for my $l (@links) {
  bad("$l->[0] is a symbolic link (to $l->[1]) owned by " . who($l->[2]) . ", $them") unless $trusted{$l->[2]};
}
print "$q\t$owner\n";
'

# The allowed roots of an instance config rendered without PATH_ROOTS (infra/model/paths.ts
# DEFAULT_PATH_ROOTS, which a unit test holds in step).
DBK_DEFAULT_PATH_ROOTS="/var/www /srv /var/lib/dolibarr /usr/share/dolibarr /var/backups/dolibarr"

# dbk_root_of PATH: the allowed root (PATH_ROOTS of the instance, else DBK_DEFAULT_PATH_ROOTS)
# PATH is below, the narrowest when several are; returns 1 when none is.
dbk_root_of() {
  local r best=""
  for r in ${PATH_ROOTS:-$DBK_DEFAULT_PATH_ROOTS}; do
    if [[ "$1" == "$r"/* && ${#r} -gt ${#best} ]]; then best="$r"; fi
  done
  [[ -n "$best" ]] || return 1
  printf '%s' "$best"
}

# shellcheck disable=SC2034 # read by the scripts that source this file
DBK_PATH_PROBLEM=""
# dbk_check_dir KEY MODE PATH [FD]: may this job change PATH, the instance's config key KEY (MODE,
# FD: see DBK_PATH_PL; ROOT from PATH_ROOTS, or "/" for BINLOG_SOURCE_DIR, a fleet setting)?
# Returns 0, or 1 with DBK_PATH_PROBLEM: "instance I, KEY PATH: what is wrong".
dbk_check_dir() {
  local key="$1" mode="$2" path="$3" fd="${4:-}" root=/ out
  if [[ "$key" != BINLOG_SOURCE_DIR ]] && ! root="$(dbk_root_of "$path")"; then
    DBK_PATH_PROBLEM="instance ${DBK_INSTANCE:-?}, $key $path: not below an allowed root (${PATH_ROOTS:-$DBK_DEFAULT_PATH_ROOTS}; fleet key pathRoots): refused"
    return 1
  fi
  if ! out="$(perl -e "$DBK_PATH_PL" "$mode" "$root" "$path" ${fd:+"/proc/self/fd/$fd"} 2>&1)"; then
    DBK_PATH_PROBLEM="instance ${DBK_INSTANCE:-?}, $key $path refused: ${out:-the path check failed}"
    return 1
  fi
  return 0
}

# dbk_pin_dir VAR KEY MODE PATH: opens the directory PATH (a directory only: "PATH/."), checks it
# (dbk_check_dir) and sets VAR to its file descriptor: the job then works on that directory through
# /proc/self/fd/N (cd, mount), whatever happens to the path afterwards. Returns 1 (DBK_PATH_PROBLEM)
# when the path is no directory or is refused; nothing stays open then.
dbk_pin_dir() {
  local -n dbk_pin_fd="$1"
  local dbk_pin_key="$2" dbk_pin_mode="$3" dbk_pin_path="$4" dbk_pin_new
  # (the group's 2>/dev/null is the group's only: exec's own would silence the job for good)
  if ! { exec {dbk_pin_new}<"$dbk_pin_path/."; } 2>/dev/null; then
    if [[ -e "$dbk_pin_path" || -L "$dbk_pin_path" ]]; then
      DBK_PATH_PROBLEM="instance ${DBK_INSTANCE:-?}, $dbk_pin_key $dbk_pin_path is not a directory"
    else
      DBK_PATH_PROBLEM="instance ${DBK_INSTANCE:-?}, $dbk_pin_key $dbk_pin_path does not exist"
    fi
    return 1
  fi
  if ! dbk_check_dir "$dbk_pin_key" "$dbk_pin_mode" "$dbk_pin_path" "$dbk_pin_new"; then
    exec {dbk_pin_new}<&-
    return 1
  fi
  # shellcheck disable=SC2034 # the caller's variable (nameref)
  dbk_pin_fd="$dbk_pin_new"
}

# dbk_make_dump_dir KEY PATH: checks PATH as root's own directory (mode dump) and makes what is
# missing of it, one directory at a time (0755, the last 0750): nothing is made through a path
# another user can change. Returns 1 with DBK_PATH_PROBLEM.
# shellcheck disable=SC2034 # DBK_PATH_PROBLEM is read by the callers
dbk_make_dump_dir() {
  local key="$1" path="$2" d todo=()
  dbk_check_dir "$key" dump "$path" || return 1
  [[ -d "$path" ]] && return 0
  # what is missing of PATH, from the top (what exists above it was checked: root's only)
  d="$path"
  while [[ -n "$d" && ! -e "$d" && ! -L "$d" ]]; do
    todo=("$d" "${todo[@]}")
    d="${d%/*}"
  done
  for d in "${todo[@]}"; do
    if [[ "$d" == "$path" ]]; then mkdir -m 0750 -- "$d"; else mkdir -m 0755 -- "$d"; fi ||
      { DBK_PATH_PROBLEM="instance ${DBK_INSTANCE:-?}, $key $path: mkdir $d failed"; return 1; }
  done
  dbk_check_dir "$key" dump "$path"
}

# --- the received-hash manifest (dolibarr-replicate writes it, dolibarr-drill checks the copy) ---
# MIRROR/.sha256, beside .complete (never inside code/, documents/, dumps/: those are the client's
# data; rsync's filter '- /*' keeps it out of every transfer and from --delete). NUL-terminated
# records, sorted by path (bytes), any file name safe:
#   "#dolibarr-backup sha256 manifest 1" NUL
#   "SHA256HEX SIZE MTIME_NS PATH" NUL ...      PATH relative to the mirror (code/…, documents/…, dumps/…)
#   "#end COUNT" NUL                            (a cut file is told from a short one)
# One entry per regular file of code/, documents/ and dumps/. An entry is what the replication
# RECEIVED: dolibarr-replicate hashes only the files a run received (its itemize log) and drops
# those it replaced or deleted (its trash); every other entry is kept as it was, so a file changed
# in place on this server (same size and mtime: rsync does not see it) keeps the hash of what was
# received. The trees are walked only without a manifest to start from, or after a run that died.
# `tr '\0' '\n' <.sha256` reads it. Files of 1 MiB and more are hashed by openssl when installed
# (its SHA extensions: several times quicker), the others by perl's Digest::SHA in one process.
# shellcheck disable=SC2016 # perl code, not shell
DBK_MANIFEST_PL='
use strict; use warnings;
use Digest::SHA (); use POSIX ();
my $HEADER = "#dolibarr-backup sha256 manifest 1";
my $BIG = 1 << 20;
my $openssl;
sub openssl_path {
  return $openssl if defined $openssl;
  $openssl = "";
  for my $d (split /:/, $ENV{PATH} // "") { if ($d ne "" && -x "$d/openssl") { $openssl = "$d/openssl"; last; } }
  return $openssl;
}
# A path for a message: valid UTF-8 kept; control characters, C1, line/paragraph separators, bidi
# controls, backslash, double quote and invalid bytes as \xHH (one line, nothing a terminal obeys).
my $printable = qr/[\x20\x21\x23-\x5b\x5d-\x7e]|\xc2[\xa0-\xbf]|[\xc3-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|\xe2(?!\x80[\xa8-\xae]|\x81[\xa6-\xa9])[\x80-\xbf][\x80-\xbf]|[\xe1\xe3-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}/;
sub esc { my $s = shift; $s =~ s/($printable)|(.)/defined $1 ? $1 : sprintf("\\x%02x", ord $2)/gse; return "\"$s\""; }
# find %T@ ("SECONDS.NANOSECONDS0") as integer nanoseconds.
sub ns_of {
  my $t = shift;
  if ($t =~ /^(\d+)\.(\d+)\z/) { my $v = $1 . substr($2 . "000000000", 0, 9); $v =~ s/^0+(?=\d)//; return $v; }
  $t =~ s/\.//; return $t;
}
# A path of a tree, or not ("." or ".." parts, "//", a trailing "/"): cheap tests first.
sub bad_path { my $p = shift; return (index($p, "/.") >= 0 || index($p, "//") >= 0 || substr($p, -1) eq "/") && $p =~ m{/\.\.?(?:/|\z)|//|/\z}; }
# Records of find -printf "%s %T@ %p\0" (or %P) as { prefix . path => "size mtime_ns" }.
sub read_find {
  my ($p, $cut, $prefix, $out) = @_;
  local $/ = "\0";
  while (defined(my $r = <$p>)) {
    chomp $r;
    my $i = index($r, " ");
    my $j = index($r, " ", $i + 1);
    die "find printed an unexpected record\n" if $i < 1 || $j < 0;
    $out->{$prefix . substr($r, $j + 1 + $cut)} = substr($r, 0, $i) . " " . ns_of(substr($r, $i + 1, $j - $i - 1));
  }
}
# walk DIR PREFIX \%out: every regular file below DIR as "PREFIX/rel" => "size mtime_ns".
sub walk {
  my ($dir, $prefix, $out) = @_;
  return unless -d $dir;
  $dir = "./$dir" unless $dir =~ m{^/};
  open(my $p, "-|", "find", $dir, "-type", "f", "-printf", "%s %T\@ %P\\0") or die "find $dir: $!\n";
  read_find($p, 0, "$prefix/", $out);
  close $p or die "find $dir failed (exit " . ($? >> 8) . ")\n";
}
# stat_ns MIRROR \@paths: { path => "size mtime_ns" } of those that are regular files (one find).
sub stat_ns {
  my ($mirror, $paths) = @_;
  my %out;
  return \%out unless @$paths;
  require File::Temp;
  my $list = File::Temp->new(TEMPLATE => "dbk-manifest-XXXXXX", TMPDIR => 1);
  binmode $list;
  my $base = $mirror =~ m{^/} ? $mirror : "./$mirror";
  print $list "$base/$_\0" for @$paths;
  close $list or die "a temp file: $!\n";
  open(my $p, "-|", "find", "-files0-from", $list->filename, "-maxdepth", "0", "-type", "f", "-printf", "%s %T\@ %p\\0") or die "find: $!\n";
  read_find($p, length("$base/"), "", \%out);
  close $p; # (a file gone meanwhile: find says so and exits 1; it is left out)
  return \%out;
}
sub sha_of { # (hex, undef) or (undef, why)
  my ($path, $size) = @_;
  open(my $fh, "<:raw", $path) or return (undef, "$!");
  if ($size >= $BIG && openssl_path() ne "") {
    my $pid = open(my $o, "-|");
    if (defined $pid) {
      if (!$pid) { open(STDIN, "<&", $fh) or POSIX::_exit(127); exec($openssl, "dgst", "-sha256", "-r") or POSIX::_exit(127); }
      local $/ = "\n";
      my $line = <$o>;
      my $done = close $o;
      return ($1, undef) if $done && defined $line && $line =~ /^([0-9a-f]{64})[ \n]/;
      seek($fh, 0, 0) or return (undef, "seek: $!");
    }
  }
  my $d = Digest::SHA->new(256);
  eval { $d->addfile($fh); 1 } or return (undef, "read error: " . ($@ =~ s/\s+\z//r));
  return ($d->hexdigest, undef);
}
# An entry is the string "SHA256 SIZE MTIME_NS" (what the record holds before its path).
sub sha_e { substr($_[0], 0, 64) }
sub size_e { my $e = shift; substr($e, 65, index($e, " ", 65) - 65) }
sub stat_e { substr($_[0], 65) } # "SIZE MTIME_NS"
sub read_manifest { # (\%entries, undef) or (undef, why)
  my $file = shift;
  open(my $fh, "<:raw", $file) or return (undef, "cannot be read: $!");
  my $all = do { local $/; <$fh> };
  return (undef, "is empty") if !defined $all || $all eq "";
  return (undef, "does not start with its header") unless substr($all, 0, length($HEADER) + 1) eq "$HEADER\0";
  return (undef, "is cut (its last record has no NUL)") unless substr($all, -1) eq "\0";
  my @r = split /\0/, $all, -1;
  pop @r;
  shift @r;
  my $end = pop @r;
  return (undef, "is cut (no end record)") unless defined $end && $end =~ /^#end (\d+)\z/;
  my $n = $1;
  my %e;
  for my $r (@r) {
    return (undef, "has a malformed record") unless $r =~ /\A[0-9a-f]{64} [0-9]+ -?[0-9]+ (?:code|documents|dumps)\//;
    my $j = index($r, " ", index($r, " ", 65) + 1);
    my $p = substr($r, $j + 1);
    return (undef, "has a malformed record") if bad_path($p);
    return (undef, "lists " . esc($p) . " twice") if exists $e{$p};
    $e{$p} = substr($r, 0, $j);
  }
  return (undef, "says $n records but holds " . scalar(keys %e)) unless $n == keys %e;
  return (\%e, undef);
}
sub write_manifest {
  my ($out, $e) = @_;
  open(my $o, ">:raw", $out) or die "$out: $!\n";
  print $o join("\0", $HEADER, (map { "$e->{$_} $_" } sort keys %$e), "#end " . scalar(keys %$e)), "\0" or die "$out: $!\n";
  close $o or die "$out: $!\n";
}
my $mode = shift @ARGV // "";
if ($mode eq "update") {
  my $walk = 0;
  if (@ARGV && $ARGV[0] eq "--walk") { $walk = 1; shift @ARGV; }
  my ($mirror, $list, $out) = @ARGV;
  die "usage: update [--walk] MIRROR LIST OUT\n" unless defined $out;
  # LIST: "KIND PATH" NUL records. R: a file the run received ("R?": a candidate name, counted only
  # when it is a regular file); T: a file the run replaced or deleted (in its trash); D: a directory
  # the run created or changed.
  my (%recv, @trash, @dirs);
  {
    open(my $r, "<:raw", $list) or die "$list: $!\n";
    my $all = do { local $/; <$r> } // "";
    for my $rec (split /\0/, $all) {
      my ($k, $p) = $rec =~ /\A(R\??|T|D) (.+)\z/s or next;
      next if $p ne "." && bad_path($p);
      if ($k eq "D") { push @dirs, $p; next; }
      next unless $p =~ m{\A(?:code|documents|dumps)/};
      if ($k eq "T") { push @trash, $p; next; }
      if ($k eq "R?") { my @st = lstat("$mirror/$p"); next unless @st && -f _; }
      $recv{$p} = 1;
    }
  }
  my ($old, $state) = (undef, "created");
  if (-e "$mirror/.sha256" || -l "$mirror/.sha256") {
    my $why;
    ($old, $why) = read_manifest("$mirror/.sha256");
    $state = $old ? "updated" : "rebuilt: the previous manifest $why";
  }
  # No manifest to start from: every file of the trees is looked at.
  $walk = 1 unless $old;
  my %new;
  my ($hashed, $bytes, $kept) = (0, 0, 0);
  my @hash;
  if ($walk) {
    my %now;
    walk("$mirror/$_", $_, \%now) for qw(code documents dumps);
    for my $p (keys %now) {
      my $o = $old ? $old->{$p} : undef;
      if (defined $o && !$recv{$p} && stat_e($o) eq $now{$p}) { $new{$p} = $o; next; }
      push @hash, $p;
    }
  } else {
    %new = %$old;
    # what the run replaced or deleted: hashed again when a file is there now, else dropped
    for my $p (@trash) { delete $new{$p}; push @hash, $p; }
    push @hash, keys %recv;
    # a file in a directory the run changed that has no entry (a name its log did not give right)
    for my $d (@dirs) {
      next unless $d =~ m{\A(?:code|documents|dumps)(?:/|\z)};
      opendir(my $dh, "$mirror/$d") or next;
      for my $n (readdir $dh) {
        next if $n eq "." || $n eq "..";
        my $p = "$d/$n";
        next if exists $new{$p} || $recv{$p};
        my @st = lstat("$mirror/$p");
        push @hash, $p if @st && -f _;
      }
      closedir $dh;
    }
  }
  # The files to hash: their size and mtime first (one find), then their content (a file gone or
  # not a regular file has no entry; one that cannot be read fails the update).
  my %seen;
  @hash = grep { !$seen{$_}++ } @hash;
  my $st = stat_ns($mirror, \@hash);
  for my $p (sort @hash) {
    if (!defined $st->{$p}) { delete $new{$p}; next; }
    my ($size) = split / /, $st->{$p}, 2;
    my ($h, $err) = sha_of("$mirror/$p", $size);
    die "cannot read " . esc("$mirror/$p") . ": $err\n" unless defined $h;
    $new{$p} = "$h $st->{$p}";
    $hashed++;
    $bytes += $size;
  }
  $kept = keys(%new) - $hashed;
  my $dropped = $old ? scalar(grep { !exists $new{$_} } keys %$old) : 0;
  write_manifest($out, \%new);
  print "files\t" . scalar(keys %new) . "\nhashed\t$hashed\nhashedBytes\t$bytes\nkept\t$kept\ndropped\t$dropped\nstate\t$state\nwalked\t$walk\n";
} elsif ($mode eq "check") {
  my %opt = (percent => 1, min => 20);
  my (@files, @trees);
  while (@ARGV) {
    my $a = shift @ARGV;
    if ($a =~ /^--(previous|percent|min|seed|file)\z/) {
      die "--$1 needs a value\n" unless @ARGV;
      if ($1 eq "file") { push @files, shift @ARGV; } else { $opt{$1} = shift @ARGV; }
    } elsif ($a =~ /^-/) { die "unknown option $a\n"; }
    elsif (!defined $opt{manifest}) { $opt{manifest} = $a; }
    else { push @trees, $a; }
  }
  die "usage: check [--previous F] [--percent P] [--min N] [--seed N] [--file REL=PATH]... MANIFEST TREE=DIR...\n" unless defined $opt{manifest} && @trees;
  die "--percent takes a number from 0 to 100, got \x27$opt{percent}\x27\n" unless $opt{percent} =~ /^\d+(?:\.\d+)?\z/ && $opt{percent} <= 100;
  die "--min takes a whole number, got \x27$opt{min}\x27\n" unless $opt{min} =~ /^\d+\z/;
  my ($m, $why) = read_manifest($opt{manifest});
  if (!$m) { print "damaged\t$why\n"; exit 1; }
  my $prev;
  if (defined $opt{previous} && -e $opt{previous}) {
    my $pwhy;
    ($prev, $pwhy) = read_manifest($opt{previous});
    print "note\tthe last drill\x27s copy of the manifest $pwhy: no changed files to add\n" unless $prev;
  }
  my (%copy, %root);
  for my $t (@trees) {
    my ($name, $dir) = split /=/, $t, 2;
    die "a tree is code=DIR, documents=DIR or dumps=DIR, got \x27$t\x27\n" unless defined $dir && $name =~ /^(?:code|documents|dumps)\z/;
    die "$name: $dir is not a directory\n" unless -d $dir;
    $root{$name} = $dir;
    walk($dir, $name, \%copy);
  }
  my @universe = sort grep { m{^([^/]+)/} && exists $root{$1} } keys %$m;
  my (@missing, @changed, @statdiff, @rest);
  for my $p (@universe) {
    my ($c, $e) = ($copy{$p}, $m->{$p});
    if (!defined $c) { push @missing, $p; next; }
    if ($prev && (!defined $prev->{$p} || $prev->{$p} ne $e)) { push @changed, $p; }
    elsif ($c ne stat_e($e)) { push @statdiff, $p; }
    else { push @rest, $p; }
  }
  my @extra = sort grep { !exists $m->{$_} } keys %copy;
  my $n = @universe;
  my $k = POSIX::ceil($n * $opt{percent} / 100 - 1e-9);
  $k = $opt{min} if $k < $opt{min};
  $k = @rest if $k > @rest;
  srand($opt{seed}) if defined $opt{seed};
  for my $i (0 .. $k - 1) { my $j = $i + int(rand(@rest - $i)); @rest[$i, $j] = @rest[$j, $i]; }
  my @sample = sort @rest[0 .. $k - 1];
  my ($bad, $hashed, $bytes) = (0, 0, 0);
  my $copy_path = sub { my $p = shift; my ($t, $r) = split m{/}, $p, 2; return "$root{$t}/$r"; };
  for my $p (@changed, @statdiff, @sample) {
    my $size = (split / /, $copy{$p})[0];
    my ($h, $err) = sha_of($copy_path->($p), $size);
    $hashed++;
    $bytes += $size;
    if (!defined $h) { print "unreadable\t" . esc($p) . "\t$err\n"; $bad++; }
    elsif ($h ne sha_e($m->{$p})) { print "mismatch\t" . esc($p) . "\t" . sha_e($m->{$p}) . "\t$h\n"; $bad++; }
  }
  print "missing\t" . esc($_) . "\t" . sha_e($m->{$_}) . "\n" for @missing;
  print "extra\t" . esc($_) . "\n" for @extra;
  $bad += @missing + @extra;
  for my $f (@files) {
    my ($rel, $path) = split /=/, $f, 2;
    die "--file takes REL=PATH, got \x27$f\x27\n" unless defined $path;
    if (!defined $m->{$rel}) { print "unlisted\t" . esc($rel) . "\n"; $bad++; next; }
    my ($h, $err) = sha_of($path, -s $path // 0);
    if (!defined $h) { print "unreadable\t" . esc($rel) . "\t$err\n"; $bad++; }
    elsif ($h ne sha_e($m->{$rel})) { print "mismatch\t" . esc($rel) . "\t" . sha_e($m->{$rel}) . "\t$h\n"; $bad++; }
    else { print "file\t" . esc($rel) . "\n"; }
  }
  printf "files\t%d\nsampled\t%d\nchanged\t%d\nstatdiff\t%d\nhashed\t%d\nhashedBytes\t%d\nprevious\t%d\n", $n, $k, scalar(@changed), scalar(@statdiff), $hashed, $bytes, $prev ? 1 : 0;
  exit($bad ? 1 : 0);
} else { die "usage: update|check ...\n"; }
'

# dbk_manifest_update [--walk] MIRROR LIST OUT: the new manifest of MIRROR into OUT (MIRROR/.sha256
# is the old one). LIST: NUL-terminated "KIND PATH" records, PATH relative to the mirror: R a file
# the run received ("R?": a candidate name, counted only when it is a regular file), T a file it
# replaced or deleted (its trash), D a directory it created or changed. R files are hashed; T
# entries dropped, or hashed when a file stands there again; a regular file of a D directory without
# an entry is hashed; every other entry is kept. With --walk, or without a manifest to start from,
# the trees are walked instead: R files, files without an entry and files whose size or mtime
# differ from it are hashed, the others keep their entry, entries of files gone are dropped.
# Prints "KEY<TAB>VALUE" lines: files, hashed, hashedBytes, kept, dropped, walked (0 or 1), state
# (created, updated, or "rebuilt: <why>" when the old one was unreadable). Fails when a file cannot
# be read.
dbk_manifest_update() {
  perl -e "$DBK_MANIFEST_PL" update "$@"
}

# dbk_manifest_check [--previous FILE] [--percent P] [--min N] [--seed N] [--file REL=PATH]...
#                    MANIFEST TREE=DIR...
# Checks a copy (each TREE, code or documents, at DIR) against MANIFEST: the copy must hold exactly
# the manifest's files of those trees (a file missing or extra is a failure), and the SHA-256 of
# these files must equal the manifest's: every file whose entry differs from the one in --previous
# (the manifest of the last successful drill: the files received since), every file whose size or
# mtime in the copy differ from its entry, and a random sample of the others of
# max(ceil(P % of the trees' files), N) (default 1 % and 20), capped at all. Each --file REL=PATH:
# the file at PATH must equal the entry REL. Prints "KEY<TAB>VALUE" lines (files, sampled, changed,
# statdiff, hashed, hashedBytes, previous) and one line per failure (mismatch PATH EXPECTED FOUND,
# missing PATH EXPECTED, extra PATH, unlisted PATH, unreadable PATH WHY, damaged WHY; PATH quoted,
# escaped: one line, no control character); "file PATH" per --file that matched; "note TEXT".
# Exit 0 when all matched, 1 on a failure, 2 (perl's die: 255) on a usage error.
dbk_manifest_check() {
  perl -e "$DBK_MANIFEST_PL" check "$@"
}

# dbk_check_documents --label LABEL --work DIR [--manifest FILE] [--previous FILE] [--percent P]
#                     [--min N] [--seed N] [--dump-file REL=PATH]... TREE=DIR...
# The restore drill's check of a restored copy (each TREE: code=DIR, documents=DIR) against the
# received-hash manifest FILE of the copy it came from (LABEL: "snapshot S" or "the mirror"), with
# dbk_manifest_check; --previous is the manifest of the last successful drill. Sets:
#   DBK_CHECK_LINES   the drill's check lines ("documents: 37 of 3650 files (...) equal their
#                     SHA-256 as received", "dump: …"); without a manifest, the line saying it
#                     is skipped (a mirror older than the manifest: the next replication writes it)
#   DBK_CHECK_FIELDS  status fields: manifestFiles, sampledFiles, changedSinceDrillFiles,
#                     hashedFiles, hashedBytes, hashMs
#   DBK_CHECK_FAILURE the failure's message (one line: the first file, escaped, its expected and
#                     found hash, how many more), empty when none
# and returns 1 on a failure (every failure logged, up to 50). DIR (--work) holds its outputs.
# shellcheck disable=SC2034 # the DBK_CHECK_* results are read by dolibarr-drill
dbk_check_documents() {
  local label="" work="" manifest="" args=() trees=()
  DBK_CHECK_LINES=() DBK_CHECK_FIELDS=() DBK_CHECK_FAILURE=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --label) label="$2"; shift 2 ;;
      --work) work="$2"; shift 2 ;;
      --manifest) manifest="$2"; shift 2 ;;
      --previous | --percent | --min | --seed) args+=("$1" "$2"); shift 2 ;;
      --dump-file) args+=(--file "$2"); shift 2 ;;
      *) trees+=("$1"); shift ;;
    esac
  done
  [[ -n "$work" && -d "$work" ]] || { DBK_CHECK_FAILURE="dbk_check_documents: --work DIR is required"; return 1; }
  if [[ -z "$manifest" || ! -e "$manifest" ]]; then
    DBK_CHECK_LINES=("documents: no received-hash manifest yet (written by the next replication)")
    dbk_log "WARNING: ${label:-the copy} has no received-hash manifest (.sha256) yet: its files are not checked against what the replication received"
    return 0
  fi
  local out="$work/hashes.out" err="$work/hashes.err" rc=0 t0
  t0="${EPOCHREALTIME//[!0-9]/}"
  dbk_manifest_check "${args[@]}" "$manifest" "${trees[@]}" >"$out" 2>"$err" || rc=$?
  local kind a b c files=0 sampled=0 changed=0 statdiff=0 hashed=0 bytes=0 previous=0 dumps=() problems=()
  while IFS=$'\t' read -r kind a b c; do
    case "$kind" in
      files) files="$a" ;;
      sampled) sampled="$a" ;;
      changed) changed="$a" ;;
      statdiff) statdiff="$a" ;;
      hashed) hashed="$a" ;;
      hashedBytes) bytes="$a" ;;
      previous) previous="$a" ;;
      file) a="${a#\"}" a="${a%\"}"; dumps+=("${a#dumps/}") ;;
      note) dbk_log "WARNING: $a" ;;
      mismatch) problems+=("$a: SHA-256 expected $b (as received), found $c in the restored copy") ;;
      missing) problems+=("$a (SHA-256 $b as received) is missing from the restored copy") ;;
      extra) problems+=("$a is in the restored copy but not in the received-hash manifest (never received)") ;;
      unlisted) problems+=("$a is in $label but not in the received-hash manifest (never received)") ;;
      unreadable) problems+=("$a could not be read ($b)") ;;
      damaged) problems+=("the received-hash manifest of $label $a") ;;
    esac
  done <"$out"
  DBK_CHECK_FIELDS=(manifestFiles="$files" sampledFiles="$sampled" changedSinceDrillFiles="$changed" hashedFiles="$hashed" hashedBytes="$bytes"
    hashMs="$(((${EPOCHREALTIME//[!0-9]/} - t0) / 1000))")
  if [[ ${#problems[@]} -gt 0 ]]; then
    local p more=""
    for p in "${problems[@]:0:50}"; do dbk_log "DIFFERS: $p"; done
    [[ ${#problems[@]} -eq 1 ]] || more=" (and $((${#problems[@]} - 1)) more: see the drill's log)"
    DBK_CHECK_FAILURE="documents: ${problems[0]}$more: the copy on this backup server ($label) differs from what the replication received (bit rot, or a change made on this server)"
    return 1
  fi
  if [[ $rc -ne 0 ]]; then
    DBK_CHECK_FAILURE="the check of the restored files against the received-hash manifest failed (exit $rc): $(tail -n 2 "$err" | tr '\n' ' ')"
    return 1
  fi
  local why="sample $sampled + $changed changed since the last drill"
  [[ "$previous" == 1 ]] || why="sample $sampled; no earlier drill here to compare with"
  [[ "$statdiff" == 0 ]] || why+=" + $statdiff whose size or time differ from the manifest"
  DBK_CHECK_LINES=("documents: $hashed of $files files ($why) equal their SHA-256 as received")
  if [[ ${#dumps[@]} -eq 1 ]]; then
    DBK_CHECK_LINES+=("dump: ${dumps[0]} equals its SHA-256 as received")
  elif [[ ${#dumps[@]} -gt 1 ]]; then
    DBK_CHECK_LINES+=("dump: ${dumps[0]} and its $((${#dumps[@]} - 1)) companion file(s) equal their SHA-256 as received")
  fi
  return 0
}

# --- encryption at rest: the backup server's data directories on an encrypted volume ------------
# dbk_at_rest DIR...: for each DIR (or, when it does not exist yet, the nearest directory above it:
# where it would be made), one line "DIR<TAB>encrypted<TAB>HOW" or "DIR<TAB>plain<TAB>FSTYPE SOURCE"
# (or "DIR<TAB>unknown<TAB>WHY"). Encrypted: a file system of its own that encrypts (gocryptfs,
# ecryptfs, cryfs, encfs), an fscrypt directory (ext4/f2fs/ubifs: the 'E' attribute, inherited by
# everything made in it), ZFS native encryption, or a block device with a dm-crypt layer (LUKS,
# plain dm-crypt) anywhere below it: its device-mapper chain walked through sysfs (DBK_SYS_ROOT,
# /sys: the tests point it at a tree of their own; this kernel has no device mapper).
dbk_at_rest() {
  local sys="${DBK_SYS_ROOT:-/sys}" dir p majmin fstype source how
  for dir in "$@"; do
    p="$dir"
    while [[ ! -e "$p" && "$p" == /?* ]]; do p="${p%/*}"; p="${p:-/}"; done
    if ! p="$(realpath -e -- "$p" 2>/dev/null)"; then printf '%s\tunknown\t%s cannot be resolved\n' "$dir" "$p"; continue; fi
    read -r majmin fstype source < <(findmnt -n -o MAJ:MIN,FSTYPE,SOURCE -T "$p" 2>/dev/null | tail -n 1) || true
    if [[ -z "${fstype:-}" ]]; then printf '%s\tunknown\tno mount found for %s (findmnt)\n' "$dir" "$p"; continue; fi
    how=""
    case "$fstype" in
      fuse.gocryptfs | ecryptfs | fuse.cryfs | fuse.encfs) how="$fstype" ;;
      zfs)
        if command -v zfs >/dev/null 2>&1; then
          local enc
          enc="$(zfs get -H -o value encryption "$source" 2>/dev/null || true)"
          [[ -z "$enc" || "$enc" == off || "$enc" == - ]] || how="zfs native encryption ($enc, $source)"
        fi
        ;;
    esac
    if [[ -z "$how" ]] && lsattr -d -- "$p" 2>/dev/null | awk '{ exit !($1 ~ /E/) }'; then how="fscrypt ($fstype $source)"; fi
    if [[ -z "$how" ]]; then
      # a virtual device number (btrfs, 0:N): the source's own
      if [[ "$majmin" == 0:* && "$source" == /dev/* ]]; then
        local dev="${source%%\[*}" hex a b
        if hex="$(stat -L -c '%t %T' -- "$dev" 2>/dev/null)"; then read -r a b <<<"$hex"; majmin="$((16#$a)):$((16#$b))"; fi
      fi
      how="$(dbk_dm_crypt_below "$sys" "$majmin" 0)" || how=""
    fi
    if [[ -n "$how" ]]; then printf '%s\tencrypted\t%s\n' "$dir" "$how"; else printf '%s\tplain\t%s %s\n' "$dir" "$fstype" "${source:-?}"; fi
  done
}

# dbk_dm_crypt_below SYS MAJ:MIN DEPTH: prints "dm-crypt NAME" when the block device or one below
# it (its slaves, recursively) is a dm-crypt target (dm/uuid CRYPT-…); returns 1 when none is.
dbk_dm_crypt_below() {
  local sys="$1" majmin="$2" depth="$3" d uuid s slave_mm
  [[ $depth -lt 16 ]] || return 1
  d="$sys/dev/block/$majmin"
  [[ -e "$d" ]] || return 1
  if [[ -r "$d/dm/uuid" ]]; then
    uuid="$(<"$d/dm/uuid")"
    if [[ "$uuid" == CRYPT-* ]]; then printf 'dm-crypt %s' "$(cat -- "$d/dm/name" 2>/dev/null || echo "$majmin")"; return 0; fi
  fi
  for s in "$d"/slaves/*; do
    [[ -r "$s/dev" ]] || continue
    slave_mm="$(<"$s/dev")"
    dbk_dm_crypt_below "$sys" "$slave_mm" $((depth + 1)) && return 0
  done
  return 1
}

# dbk_at_rest_gate MODE WHAT DIR...: the fleet's encryptionAtRest (MODE: required, advisory, off)
# applied to the directories this job is about to write (WHAT names them in the messages).
# required: returns 1 with DBK_AT_REST_PROBLEM when one is not on an encrypted volume (or cannot be
# told), so the job stops before writing; advisory: logs a warning and returns 0; off: returns 0.
DBK_AT_REST_PROBLEM=""
# shellcheck disable=SC2034 # DBK_AT_REST_PROBLEM is read by the scripts that source this file
dbk_at_rest_gate() {
  local mode="${1:-advisory}" what="$2" dir state how bad=()
  shift 2
  DBK_AT_REST_PROBLEM=""
  case "$mode" in
    off) return 0 ;;
    required | advisory) ;;
    *) DBK_AT_REST_PROBLEM="AT_REST is '$mode': expected required, advisory or off"; return 1 ;;
  esac
  while IFS=$'\t' read -r dir state how; do
    [[ "$state" == encrypted ]] || bad+=("$dir ($state: $how)")
  done < <(dbk_at_rest "$@")
  [[ ${#bad[@]} -gt 0 ]] || return 0
  local list
  list="$(printf '%s, ' "${bad[@]}")"
  list="${list%, }"
  if [[ "$mode" == required ]]; then
    DBK_AT_REST_PROBLEM="$what not on an encrypted volume: $list; the fleet requires it (encryptionAtRest: required): nothing written (is the encrypted volume unlocked and mounted?)"
    return 1
  fi
  dbk_log "WARNING: $what not on an encrypted volume: $list (encryptionAtRest: advisory): the copies sit in plain text on this server's disks"
  return 0
}

# --- the minimum rsync (issue 22 point 6; model/rsync.ts is the same judgement in TypeScript) ---
# dbk_rsync_fact: this machine's rsync, one line "version\tV\tprotocol\tP\tpackage\tDEBVERSION"
# (package only when dpkg knows rsync), nothing when there is no rsync.
dbk_rsync_fact() {
  local first v p pkg=""
  first="$(rsync --version 2>/dev/null | head -n 1)" || true
  [[ "$first" =~ version\ +([0-9]+\.[0-9]+(\.[0-9]+)?[A-Za-z0-9]*)\ +protocol\ version\ +([0-9]+) ]] || return 0
  v="${BASH_REMATCH[1]}" p="${BASH_REMATCH[3]}"
  if command -v dpkg-query >/dev/null 2>&1; then pkg="$(dpkg-query -W -f '${Version}' rsync 2>/dev/null || true)"; fi
  [[ "$pkg" =~ ^[A-Za-z0-9.+~:-]+$ ]] || pkg=""
  printf 'version\t%s\tprotocol\t%s%s\n' "$v" "$p" "${pkg:+$'\t'package$'\t'$pkg}"
}

# dbk_upstream_ge A B: upstream version A at or above B (numbers compared one by one; a suffix such
# as "pre1" sorts before the release).
dbk_upstream_ge() {
  local a="$1" b="$2" i x y sa sb
  [[ "$a" =~ ^([0-9.]+)(.*)$ ]] || return 1
  local -a na nb
  IFS=. read -r -a na <<<"${BASH_REMATCH[1]}"; sa="${BASH_REMATCH[2]}"
  [[ "$b" =~ ^([0-9.]+)(.*)$ ]] || return 1
  IFS=. read -r -a nb <<<"${BASH_REMATCH[1]}"; sb="${BASH_REMATCH[2]}"
  for ((i = 0; i < ${#na[@]} || i < ${#nb[@]}; i++)); do
    x=$((10#${na[i]:-0})) y=$((10#${nb[i]:-0}))
    ((x == y)) || { ((x > y)); return; }
  done
  [[ "$sa" == "$sb" || -z "$sa" ]] && return 0
  [[ -n "$sb" && "$sa" > "$sb" ]]
}

# dbk_rsync_gate MIN_VERSION [MIN_PACKAGE...]: returns 1 with DBK_RSYNC_PROBLEM when this machine's
# rsync is older than MIN_VERSION upstream and its package is at or above none of the MIN_PACKAGEs
# of its line (the version without its trailing update number: 3.2.7-1+deb12u for 3.2.7-1+deb12u1;
# dpkg --compare-versions): distributions backport fixes without changing the upstream version.
DBK_RSYNC_PROBLEM=""
# shellcheck disable=SC2034 # DBK_RSYNC_PROBLEM is read by the scripts that source this file
dbk_rsync_gate() {
  local min="$1" fact v pkg m line
  shift
  DBK_RSYNC_PROBLEM=""
  fact="$(dbk_rsync_fact)"
  if [[ -z "$fact" ]]; then DBK_RSYNC_PROBLEM="rsync --version gives no version: no rsync to check against the fleet's minimum $min"; return 1; fi
  v="$(cut -f2 <<<"$fact")" pkg=""
  [[ "$fact" != *$'\t'package$'\t'* ]] || pkg="${fact##*$'\t'}"
  dbk_upstream_ge "$v" "$min" && return 0
  if [[ -n "$pkg" ]]; then
    for m in "$@"; do
      line="${m%"${m##*[!0-9.]}"}"
      [[ -n "$line" && "$pkg" == "$line"* ]] || continue
      if dpkg --compare-versions "$pkg" ge "$m" 2>/dev/null; then return 0; fi
    done
  fi
  local pkgs=""
  for m in "$@"; do pkgs+="${pkgs:+ or }$m"; done
  DBK_RSYNC_PROBLEM="rsync $v${pkg:+ (package $pkg)} is older than the fleet's minimum ($min upstream${pkgs:+, or a package at or above $pkgs of its line}): a compromised hosting server could attack this pull (CVE-2024-12084..12088 and later); nothing pulled: upgrade rsync"
  return 1
}

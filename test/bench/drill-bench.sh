#!/usr/bin/env bash
# The drill bench's work on one lab backup host (run inside it as root by test/bench/drill-bench.ts,
# with the project's server scripts in $BENCH/bin): an instance of about DOCS_MB of documents and
# DB_MB of database made on the host's own MariaDB, copied as a complete mirror (snapshots off),
# then, ROUNDS times each, the real drill (dolibarr-drill: private MariaDB, dolibarr-restore with
# its exact checks, PHP-FPM and nginx, the front page) and a bare restore of the same data
# (`zstd -dc dump | mariadb` into a fresh database of the running MariaDB and `cp -a` of the code
# and documents). Prints "drill MS" and "bare MS" lines, and the drill's phases.
#   drill-bench.sh prepare DOCS_MB DB_MB | round | clean
set -euo pipefail

BENCH=/srv/dbk-drill-bench
inst=drillbench
db=dolibarr_drillbench
src="$BENCH/src"
mirror="$BENCH/mirrors/$inst"
export DOLIBARR_BACKUP_CONF_DIR="$BENCH/etc" DOLIBARR_BACKUP_STATE_DIR="$BENCH/state" DOLIBARR_BACKUP_LOCK_DIR="$BENCH/lock"
now_ms() { printf '%s' "$((${EPOCHREALTIME//[!0-9]/} / 1000))"; }

case "${1:-}" in
  prepare)
    docs_mb="$2" db_mb="$3"
    rm -rf --one-file-system "$BENCH/src" "$BENCH/mirrors" "$BENCH/work" "$BENCH/state" "$BENCH/bare"
    mkdir -p "$BENCH/etc/instances" "$BENCH/state" "$BENCH/lock" "$BENCH/work"
    bash "$BENCH/seed-instance.sh" --force "$inst" "$src/htdocs" "$src/documents" "$db" >/dev/null
    # The documents: 1 MiB files of random bytes (incompressible, like scans and PDFs), 50 a directory.
    for ((i = 0; i < docs_mb; i++)); do
      d="$src/documents/bench/$((i / 50))"
      mkdir -p "$d"
      head -c 1048576 /dev/urandom >"$d/scan-$i.pdf"
    done
    chown -R www-data:www-data "$src/documents/bench"
    rows=$((db_mb * 1024))
    mariadb "$db" -e "CREATE TABLE llx_bench_blob (id INT PRIMARY KEY, label VARCHAR(64), note TEXT, payload BLOB) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
      INSERT INTO llx_bench_blob SELECT seq, CONCAT('ligne é ', seq), REPEAT(CONCAT(MD5(seq), ' facture été ☕ '), 11), RANDOM_BYTES(512) FROM seq_1_to_$rows; ANALYZE TABLE llx_bench_blob;" >/dev/null
    mkdir -p "$mirror/dumps"
    cp -a "$src/htdocs" "$mirror/code"
    cp -a "$src/documents" "$mirror/documents"
    mariadb-dump --single-transaction --quick --routines --triggers --events --hex-blob --default-character-set=utf8mb4 "$db" |
      zstd -q -3 >"$mirror/dumps/$db-$(date -u +%Y%m%dT%H%M%SZ).sql.zst"
    touch "$mirror/.complete"
    printf "INSTANCE='%s'\nCLIENT='bench'\nHOSTING_SERVER='bench'\nMIRROR_ROOT='%s'\nSNAPSHOTS='0'\n" "$inst" "$BENCH/mirrors" >"$BENCH/etc/instances/$inst.env"
    mariadb -N -e "SELECT ROUND(SUM(DATA_LENGTH + INDEX_LENGTH) / 1048576) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$db'" | sed 's/^/database_mb /'
    du -sm "$mirror/documents" | awk '{print "documents_mb", $1}'
    du -sm "$mirror/code" | awk '{print "code_mb", $1}'
    stat -c 'dump_mb %s' "$mirror"/dumps/*.sql.zst | awk '{print $1, int($2 / 1048576)}'
    # The source database is not needed any more (the drill has its own MariaDB; the bare restore makes its own database).
    mariadb -e "DROP DATABASE \`$db\`"
    ;;
  round)
    sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    t0="$(now_ms)"
    "$BENCH/bin/dolibarr-drill" --work-root "$BENCH/work" --max-minutes 120 "$inst" >/dev/null 2>"$BENCH/drill.err" || { cat "$BENCH/drill.err" >&2; exit 1; }
    echo "drill $(($(now_ms) - t0))"
    phases=""
    for k in restoreMs databaseMs filesMs serveMs firstPageMs rtoMs; do
      phases+=" $k $(grep -oE "\"$k\":[0-9]+" "$BENCH/state/status/$inst.drill.json" | cut -d: -f2)"
    done
    echo "phases${phases}"
    sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    rm -rf "$BENCH/bare"
    mkdir -p "$BENCH/bare"
    t0="$(now_ms)"
    mariadb -e "CREATE DATABASE bare_restore"
    zstd -dcq "$mirror"/dumps/*.sql.zst | mariadb --max-allowed-packet=1G bare_restore
    cp -a "$mirror/code" "$BENCH/bare/htdocs"
    cp -a "$mirror/documents" "$BENCH/bare/documents"
    echo "bare $(($(now_ms) - t0))"
    mariadb -e "DROP DATABASE bare_restore"
    rm -rf "$BENCH/bare"
    ;;
  clean)
    mariadb -e "DROP DATABASE IF EXISTS bare_restore; DROP DATABASE IF EXISTS \`$db\`; DROP USER IF EXISTS '$db'@'localhost'" || true
    rm -rf --one-file-system "$BENCH" /var/lib/dolibarr-lab/seeded/"$inst"
    ;;
  *) echo "usage: drill-bench.sh prepare DOCS_MB DB_MB | round | clean" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# lab.sh — the dolibarr-backup lab: real Debian 12 hosts on this machine, as
# privileged LXC containers with systemd as PID 1, on a private bridge.
#
#   scripts/lab/lab.sh up                 build/start everything (idempotent)
#   scripts/lab/lab.sh down               stop + destroy the hosts and the bridge (keeps the cached base)
#   scripts/lab/lab.sh status             each host, IP, role, state, ssh
#   scripts/lab/lab.sh ssh NAME [CMD...]  ssh root@host with the lab key and known_hosts
#   scripts/lab/lab.sh exec NAME CMD...   run CMD inside the container (lxc-attach, no ssh)
#
# Environment:
#   DOLIBARR_BACKUP_LAB_DIR     lab state (key pair, known_hosts, hosts.json)   default <repo>/.lab
#   DOLIBARR_BACKUP_CACHE       cache root (base rootfs, .deb cache)            default ~/.cache/dolibarr-backup
#   DOLIBARR_BACKUP_LAB_MIRROR / DOLIBARR_BACKUP_LAB_SECURITY_MIRROR   Debian archive used to build the base
#   DOLIBARR_BACKUP_LAB_BOOT_TIMEOUT  seconds to wait for each host (default 180)
#
# The containers and the bridge are machine-wide (one lab per machine); the lab
# dir is per checkout: `up` from another checkout adds that checkout's key to the
# running hosts and writes its own hosts.json / known_hosts.
set -Eeuo pipefail

# ---------------------------------------------------------------------------
# Lab topology — data. One line per host / per instance.
# ---------------------------------------------------------------------------
#  LXC name                 IP            role      (IPv6: fd00:77:: + the IPv4's last octet, ip6_for)
LAB_HOSTS=(
  "lab-host-ovh-rbx         10.77.0.11    hosting"   # OVH Roubaix
  "lab-host-ionos-fra       10.77.0.12    hosting"   # IONOS Frankfurt
  "lab-backup-ovh-waw       10.77.0.21    backup"    # OVH Warsaw
  "lab-backup-ionos-lhr     10.77.0.22    backup"    # IONOS London
  "lab-backup-ovh-gra       10.77.0.23    backup"    # OVH Gravelines (~80 km from Roubaix: the lab's "too close" site)
)
#  instance         host                 code root (htdocs)                documents dir                              database
LAB_INSTANCES=(
  "acme-erp         lab-host-ovh-rbx     /var/www/acme/htdocs              /var/lib/dolibarr/acme/documents           dolibarr_acme"
  "acme-formation   lab-host-ovh-rbx     /var/www/acme-formation/htdocs    /var/lib/dolibarr/acme-formation/documents dolibarr_acme_formation"
  "bistro-erp       lab-host-ionos-fra   /var/www/bistro/htdocs            /var/lib/dolibarr/bistro/documents         dolibarr_bistro"
)
BRIDGE=br-dbk
BRIDGE_IP=10.77.0.1
PREFIX_LEN=24
# IPv6 beside IPv4 on the same bridge (a unique local /64): every host answers on both, so a
# fleet can be declared by its IPv6 addresses and prove replication over IPv6.
BRIDGE_IP6=fd00:77::1
PREFIX6_LEN=64
HWADDR_PREFIX=02:db:6b:4c:00   # + last octet of the IP, in hex

# Base container: Debian 12. The cache key hashes the package list and
# prepare_base(); bump BASE_REV after changing build_base() in a way that matters.
SUITE=bookworm
BASE_REV=1
BASE_PACKAGES=(
  systemd-sysv dbus openssh-server rsync mariadb-server mariadb-client zstd
  util-linux ca-certificates sudo iproute2 procps less
  # what the fleet stack's base installation checks for (infra/render/server.ts SERVER_PACKAGES):
  # the containers have no route out, so it must already be there
  acl attr python3 perl openssh-client curl
  # the alert tests' receivers (HTTP in python3, SMTP sink) and the servers' sendmail (msmtp)
  python3-aiosmtpd msmtp
  # the restore drills on the backup hosts (SERVER_PACKAGES.backup): PHP-FPM and nginx
  php-fpm php-mysql nginx
)
HOST_PACKAGES=(lxc debootstrap bridge-utils openssh-client rsync iproute2 util-linux)

# ---------------------------------------------------------------------------
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
LAB_DIR=${DOLIBARR_BACKUP_LAB_DIR:-$REPO_ROOT/.lab}
CACHE_DIR=${DOLIBARR_BACKUP_CACHE:-${HOME:-/root}/.cache/dolibarr-backup}/lab
MIRROR=${DOLIBARR_BACKUP_LAB_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DOLIBARR_BACKUP_LAB_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
BOOT_TIMEOUT=${DOLIBARR_BACKUP_LAB_BOOT_TIMEOUT:-180}
LXC_PATH=/var/lib/lxc
LAB_MARKER=dolibarr-backup-lab        # file in $LXC_PATH/<name>/ marking a container as ours
LOCK_FILE=/tmp/dolibarr-backup-lab.lock
# A host kept running from an earlier deploy whose fleet manages SSH access (operators) reads only
# this file for root (infra/render/operators.ts): the lab key of another checkout goes there too,
# or that checkout could not reach the host (until the next fleet deploy rewrites the file).
MANAGED_ROOT_KEYS=/etc/ssh/dolibarr-backup/authorized_keys/root
KEY=$LAB_DIR/id_ed25519
KNOWN_HOSTS=$LAB_DIR/known_hosts
HOSTS_JSON=$LAB_DIR/hosts.json
SEED_SCRIPT=$SCRIPT_DIR/seed-instance.sh
PROG=lab.sh

# ---------------------------------------------------------------------------
# output, errors
# ---------------------------------------------------------------------------
now_us() { local t=$EPOCHREALTIME; echo "${t//[.,]/}"; }
T0=$(now_us)
elapsed() { local d=$(( ($(now_us) - T0) / 100000 )); printf '%d.%d' $((d / 10)) $((d % 10)); }
log() { printf '[%6ss] %s\n' "$(elapsed)" "$*"; }
warn() { printf '[%6ss] WARNING: %s\n' "$(elapsed)" "$*" >&2; }
DIE_RC=99   # exit status of die(); on_err stays quiet about it (already explained)
die() { printf '%s: ERROR: %s\n' "$PROG" "$*" >&2; exit "$DIE_RC"; }
on_err() {
  local rc=$? line=${BASH_LINENO[0]} cmd=${BASH_COMMAND%%$'\n'*}
  ((rc == DIE_RC)) && return
  printf '%s: ERROR: command failed (exit %s) at line %s: %s\n' "$PROG" "$rc" "$line" "$cmd" >&2
}
trap on_err ERR

# Mounts made while building the base; always undone on exit.
BUILD_MOUNTS=()
cleanup() {
  local i
  for ((i = ${#BUILD_MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${BUILD_MOUNTS[i]}" 2>/dev/null || umount -l "${BUILD_MOUNTS[i]}" 2>/dev/null || true
  done
  BUILD_MOUNTS=()
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
# data access
# ---------------------------------------------------------------------------
host_names() { local l; for l in "${LAB_HOSTS[@]}"; do read -r n _ <<<"$l"; echo "$n"; done; }
host_field() { # host_field NAME ip|role
  local l n ip role
  for l in "${LAB_HOSTS[@]}"; do
    read -r n ip role <<<"$l"
    if [[ $n == "$1" ]]; then
      case $2 in ip) echo "$ip" ;; role) echo "$role" ;; esac
      return 0
    fi
  done
  return 1
}
resolve_host() { # NAME or IP -> NAME
  local l n ip
  for l in "${LAB_HOSTS[@]}"; do
    read -r n ip _ <<<"$l"
    if [[ $1 == "$n" || $1 == "$ip" || $1 == "$(ip6_for "$ip")" ]]; then echo "$n"; return 0; fi
  done
  die "unknown lab host '$1' (known: $(host_names | paste -sd' '))"
}
hwaddr_for() { local o=${1##*.}; printf '%s:%02x' "$HWADDR_PREFIX" "$o"; }
ip6_for() { printf '%s%s' "${BRIDGE_IP6%1}" "${1##*.}"; }   # 10.77.0.11 -> fd00:77::11
our_containers() { # every container carrying our marker
  local d
  for d in "$LXC_PATH"/*/; do
    d=${d%/}
    [[ -f $d/$LAB_MARKER ]] && echo "${d##*/}"
  done
  return 0
}
state_of() { lxc-info -P "$LXC_PATH" -n "$1" -sH 2>/dev/null || echo ABSENT; }
exists() { [[ -f $LXC_PATH/$1/config ]]; }

ssh_opts() {
  printf '%s\n' -F none -i "$KEY" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$KNOWN_HOSTS" -o StrictHostKeyChecking=accept-new \
    -o ConnectTimeout=3 -o LogLevel=ERROR -o ServerAliveInterval=10
}
lab_ssh() { # lab_ssh IP CMD...
  local ip=$1; shift
  local opts; mapfile -t opts < <(ssh_opts)
  # shellcheck disable=SC2029  # the command is meant to run remotely as given
  ssh "${opts[@]}" "root@$ip" "$@"
}
attach() { # attach NAME CMD... (inside the container, clean env)
  local n=$1; shift
  lxc-attach -P "$LXC_PATH" -n "$n" --clear-env \
    --set-var PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --set-var HOME=/root --set-var LANG=C.UTF-8 --set-var TERM="${TERM:-dumb}" -- "$@"
}

# ---------------------------------------------------------------------------
# host prerequisites
# ---------------------------------------------------------------------------
need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (LXC containers, bridge, debootstrap)"; }

ensure_host_packages() {
  local p st missing=()
  for p in "${HOST_PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ $st == installed ]] || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then log "host packages: present"; return; fi
  log "host packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" >"$LAB_DIR/apt-host.log" 2>&1; then
    log "host packages: apt-get update, then retry"
    apt-get -o DPkg::Lock::Timeout=600 update >>"$LAB_DIR/apt-host.log" 2>&1 || die "apt-get update failed (see $LAB_DIR/apt-host.log)"
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" >>"$LAB_DIR/apt-host.log" 2>&1 \
      || die "apt-get install ${missing[*]} failed (see $LAB_DIR/apt-host.log)"
  fi
  log "host packages: installed"
}

ensure_lab_key() {
  if [[ ! -f $KEY || ! -f $KEY.pub ]]; then
    rm -f "$KEY" "$KEY.pub"
    ssh-keygen -q -t ed25519 -N '' -C "dolibarr-backup-lab" -f "$KEY" || die "ssh-keygen for the lab key failed"
    log "lab key: generated $KEY"
  fi
  chmod 600 "$KEY"
}

ensure_bridge() {
  if ! ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge || die "cannot create bridge $BRIDGE"
    log "bridge $BRIDGE: created"
  fi
  # `replace` adds the address or leaves it as it is: no "is it there?" test to race. (That test,
  # `ip addr show | grep -q`, failed under pipefail when grep quit before ip's last write: SIGPIPE.)
  ip -4 addr replace "$BRIDGE_IP/$PREFIX_LEN" dev "$BRIDGE" || die "cannot add $BRIDGE_IP/$PREFIX_LEN to $BRIDGE"
  if [[ $(sysctl -n net.ipv6.conf.all.disable_ipv6 2>/dev/null || echo 1) != 0 ]]; then
    die "IPv6 is disabled on this machine (sysctl net.ipv6.conf.all.disable_ipv6); the lab needs it on $BRIDGE"
  fi
  sysctl -qw "net.ipv6.conf.$BRIDGE.disable_ipv6=0" || die "cannot enable IPv6 on $BRIDGE"
  # nodad: the address is usable at once (no duplicate address detection on a private bridge)
  ip -6 addr replace "$BRIDGE_IP6/$PREFIX6_LEN" dev "$BRIDGE" nodad || die "cannot add $BRIDGE_IP6/$PREFIX6_LEN to $BRIDGE"
  ip link set "$BRIDGE" up || die "cannot bring $BRIDGE up"
}

# ---------------------------------------------------------------------------
# the base rootfs (cached outside the repo, never started: overlay lower layer)
# ---------------------------------------------------------------------------
# Runs on the host against the base rootfs $1 after the packages are in.
prepare_base() {
  local r=$1
  # distinct identity per clone: machine-id is generated on first boot and
  # committed by systemd-machine-id-commit; ssh host keys by ssh.service.
  : >"$r/etc/machine-id"
  rm -f "$r/var/lib/dbus/machine-id" "$r"/etc/ssh/ssh_host_* "$r/etc/hostname"
  mkdir -p "$r/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
    >"$r/etc/systemd/system/ssh.service.d/keygen.conf"
  printf '%s\n' '# dolibarr-backup lab' 'PermitRootLogin prohibit-password' 'PasswordAuthentication no' \
    'KbdInteractiveAuthentication no' 'HostKey /etc/ssh/ssh_host_ed25519_key' 'UseDNS no' \
    >"$r/etc/ssh/sshd_config.d/dolibarr-backup-lab.conf"
  install -d -m 700 "$r/root/.ssh"
  # no route out, no DNS: names of the lab hosts come from /etc/hosts (written by `up`)
  rm -f "$r/etc/resolv.conf"
  printf '# dolibarr-backup lab: no DNS, no route out; lab hosts are in /etc/hosts\n' >"$r/etc/resolv.conf"
  printf 'LANG=C.UTF-8\n' >"$r/etc/default/locale"
  mkdir -p "$r/etc/systemd/journald.conf.d"
  printf '[Journal]\nSystemMaxUse=32M\n' >"$r/etc/systemd/journald.conf.d/dolibarr-backup-lab.conf"
  if [[ -f $r/etc/network/interfaces ]]; then
    printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet manual\n' >"$r/etc/network/interfaces"
  fi
  # the drills start their own PHP-FPM and nginx: the packages' services stay off (no port 80)
  rm -f "$r"/etc/systemd/system/multi-user.target.wants/nginx.service "$r"/etc/systemd/system/multi-user.target.wants/php*-fpm.service
  rm -f "$r/usr/sbin/policy-rc.d"
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/log/*.log "$r"/root/.bash_history
}

base_key() {
  local h
  h=$(printf '%s\n' "$SUITE" "${BASE_PACKAGES[*]}" "$(declare -f prepare_base)" | sha256sum | cut -c1-10)
  echo "$SUITE-r$BASE_REV-$h"
}

chroot_run() { # chroot_run ROOT CMD...
  local r=$1; shift
  chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 HOME=/root "$@"
}

build_base() { # build_base KEY DIR
  local key=$1 final=$2 tmp="$2.building" debs="$CACHE_DIR/debs" r
  local apt_opts=(-o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false -o Dpkg::Use-Pty=0
    -o Dpkg::Options::=--force-unsafe-io)
  r=$tmp/rootfs
  if [[ -e $tmp ]]; then
    log "base: removing a partial build at $tmp"
    findmnt -rn -o TARGET | grep -F "$tmp/" >/dev/null && die "something is still mounted under $tmp; unmount it first"
    rm -rf --one-file-system "$tmp"
  fi
  mkdir -p "$r" "$debs/partial"
  local blog=$tmp/build.log
  log "base: debootstrap $SUITE (minbase) from $MIRROR (log: $blog)"
  debootstrap --variant=minbase --cache-dir="$debs" "$SUITE" "$r" "$MIRROR" >"$blog" 2>&1 \
    || die "debootstrap failed; last lines of $blog:$(printf '\n'; tail -n 15 "$blog")"
  log "base: debootstrap done"
  printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
    "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SECURITY_MIRROR" "$SUITE" >"$r/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"; chmod 755 "$r/usr/sbin/policy-rc.d"
  mount -t proc proc "$r/proc"; BUILD_MOUNTS+=("$r/proc")
  mount -t sysfs sysfs "$r/sys"; BUILD_MOUNTS+=("$r/sys")
  mount --bind "$debs" "$r/var/cache/apt/archives"; BUILD_MOUNTS+=("$r/var/cache/apt/archives")
  log "base: apt-get update + dist-upgrade + install ${BASE_PACKAGES[*]}"
  { chroot_run "$r" apt-get "${apt_opts[@]}" update &&
    chroot_run "$r" apt-get "${apt_opts[@]}" -y dist-upgrade &&
    chroot_run "$r" apt-get "${apt_opts[@]}" -y --no-install-recommends install "${BASE_PACKAGES[@]}"; } >>"$blog" 2>&1 \
    || die "installing packages into the base failed; last lines of $blog:$(printf '\n'; tail -n 15 "$blog")"
  # shellcheck disable=SC2016  # dpkg-query format, not shell
  chroot_run "$r" dpkg-query -W -f='${Package}=${Version}\n' >"$tmp/packages.txt"
  cleanup
  prepare_base "$r"
  [[ -x $r/usr/bin/rrsync ]] || die "base: /usr/bin/rrsync missing (rsync too old?)"
  printf 'key=%s\nbuilt=%s\nmirror=%s\n' "$key" "$(date -u +%FT%TZ)" "$MIRROR" >"$tmp/manifest"
  mv "$tmp" "$final"
  log "base: ready at $final ($(du -sh --one-file-system "$final" | cut -f1))"
}

ensure_base() { # sets BASE_DIR
  local key; key=$(base_key)
  BASE_DIR=$CACHE_DIR/base-$key
  if [[ -f $BASE_DIR/manifest && -d $BASE_DIR/rootfs ]]; then
    log "base: cached ($BASE_DIR)"
    return
  fi
  local t=$EPOCHREALTIME
  build_base "$key" "$BASE_DIR"
  log "base: built in $(awk -v a="${t/,/.}" -v b="${EPOCHREALTIME/,/.}" 'BEGIN{printf "%.1f", b-a}')s"
}

# ---------------------------------------------------------------------------
# hosts
# ---------------------------------------------------------------------------
write_config() { # write_config NAME IP ROLE LOWER
  local n=$1 ip=$2 role=$3 lower=$4 d="$LXC_PATH/$1"
  cat >"$d/config.tmp" <<EOF
# dolibarr-backup lab host ($role) — written by scripts/lab/lab.sh
lxc.include = /usr/share/lxc/config/common.conf
lxc.arch = amd64
lxc.uts.name = $n
lxc.rootfs.path = overlay:$lower:$d/delta0
lxc.apparmor.profile = unconfined
lxc.tty.max = 4
lxc.pty.max = 1024
lxc.start.auto = 0
lxc.net.0.type = veth
lxc.net.0.link = $BRIDGE
lxc.net.0.flags = up
lxc.net.0.name = eth0
lxc.net.0.hwaddr = $(hwaddr_for "$ip")
lxc.net.0.ipv4.address = $ip/$PREFIX_LEN
lxc.net.0.ipv6.address = $(ip6_for "$ip")/$PREFIX6_LEN
lxc.log.file = $d/lxc.log
lxc.log.level = WARN
lxc.console.logfile = $d/console.log
EOF
  mv "$d/config.tmp" "$d/config"
}

create_host() { # create_host NAME IP ROLE
  local n=$1 ip=$2 role=$3 d="$LXC_PATH/$1"
  mkdir -p "$d/delta0"
  write_config "$n" "$ip" "$role" "$BASE_DIR/rootfs"
  printf 'role=%s\nip=%s\nbase=%s\n' "$role" "$ip" "$BASE_DIR" >"$d/$LAB_MARKER"
  log "$n: created (overlay on $(basename "$BASE_DIR"), $ip, $(ip6_for "$ip"), $(hwaddr_for "$ip"))"
}

check_existing_host() { # refuse to reuse a container whose config disagrees with the data
  local n=$1 ip=$2 role=$3 d="$LXC_PATH/$1" lower
  [[ -f $d/$LAB_MARKER ]] || die "$n: a container with this name exists but was not made by $PROG ($d); remove it or rename the lab host"
  grep -qx "lxc.net.0.ipv4.address = $ip/$PREFIX_LEN" "$d/config" \
    || die "$n: existing container has another IP than $ip; run '$PROG down' then '$PROG up'"
  lower=$(sed -n 's/^lxc.rootfs.path = overlay:\([^:]*\):.*/\1/p' "$d/config")
  [[ -d $lower ]] || die "$n: its base layer $lower is gone (cache removed?); run '$PROG down' then '$PROG up'"
  if [[ $lower != "$BASE_DIR/rootfs" ]]; then
    warn "$n: runs on an older base ($lower); '$PROG down && $PROG up' to move to $(basename "$BASE_DIR")"
  fi
  # a stopped host gets this script's current config (same base layer, same upper layer)
  if [[ $(state_of "$n") != RUNNING ]]; then
    write_config "$n" "$ip" "$role" "$lower"
  elif ! grep -qx "lxc.net.0.ipv6.address = $(ip6_for "$ip")/$PREFIX6_LEN" "$d/config"; then
    # started by an older lab.sh, without IPv6: the address now, the config for the next start
    attach "$n" ip -6 addr replace "$(ip6_for "$ip")/$PREFIX6_LEN" dev eth0 nodad \
      || die "$n: cannot add $(ip6_for "$ip") to its eth0"
    write_config "$n" "$ip" "$role" "$lower"
    log "$n: IPv6 $(ip6_for "$ip") added"
  fi
}

start_host() {
  local n=$1
  ip neigh flush dev "$BRIDGE" 2>/dev/null || true
  lxc-start -P "$LXC_PATH" -n "$n" \
    || die "$n: lxc-start failed; see $LXC_PATH/$n/lxc.log and $LXC_PATH/$n/console.log"
  lxc-wait -P "$LXC_PATH" -n "$n" -s RUNNING -t 30 || die "$n: did not reach RUNNING in 30 s (see $LXC_PATH/$n/lxc.log)"
}

# Waits for systemd inside (via lxc-attach), then installs this checkout's
# key and the lab /etc/hosts, and prints the ed25519 host key.
wait_boot_and_configure() {
  local n=$1 deadline=$((SECONDS + BOOT_TIMEOUT)) st="" hosts_file
  while :; do
    st=$(attach "$n" systemctl is-system-running --wait 2>/dev/null || true)
    [[ $st == running || $st == degraded ]] && break
    ((SECONDS < deadline)) || die "$n: systemd did not finish booting within ${BOOT_TIMEOUT}s (state '$st'); see $LXC_PATH/$n/console.log"
    sleep 0.3
  done
  if [[ $st == degraded ]]; then
    # The lab is one per machine: units failed by an earlier run (a test killed mid-way) are not
    # this run's, whose tests and demo assert that they leave no failed unit. Said, then cleared.
    warn "$n: systemd is degraded; failed units left by an earlier run, reset: $(attach "$n" systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')"
    attach "$n" systemctl reset-failed || warn "$n: systemctl reset-failed failed"
  fi
  # shellcheck disable=SC2016  # expanded by the container's sh
  attach "$n" sh -c 'install -d -m 700 /root/.ssh && touch /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys &&
    { grep -qxF "$1" /root/.ssh/authorized_keys || printf "%s\n" "$1" >>/root/.ssh/authorized_keys; } &&
    { [ ! -f "$2" ] || grep -qxF "$1" "$2" || printf "%s\n" "$1" >>"$2"; }' sh "$(cat "$KEY.pub")" "$MANAGED_ROOT_KEYS" \
    || die "$n: cannot install the lab key into /root/.ssh/authorized_keys"
  hosts_file=$(lab_etc_hosts "$n")
  printf '%s' "$hosts_file" | attach "$n" sh -c 'cat >/etc/hosts.lab.tmp && mv /etc/hosts.lab.tmp /etc/hosts' \
    || die "$n: cannot write /etc/hosts"
  local i
  for ((i = 0; i < 100; i++)); do
    attach "$n" test -s /etc/ssh/ssh_host_ed25519_key.pub && break
    sleep 0.2
  done
  attach "$n" cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub || die "$n: no ssh host key (ssh.service failed?)"
}

lab_etc_hosts() {
  local l n ip
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n\n# dolibarr-backup lab hosts\n' "$1"
  printf '%s\t%s\n' "$BRIDGE_IP" "lab-gateway"
  for l in "${LAB_HOSTS[@]}"; do read -r n ip _ <<<"$l"; printf '%s\t%s\n' "$ip" "$n"; done
}

wait_ssh_and_services() {
  local n=$1 ip=$2 deadline=$((SECONDS + BOOT_TIMEOUT)) st
  until lab_ssh "$ip" true 2>/dev/null; do
    ((SECONDS < deadline)) || die "$n: 'ssh -i $KEY root@$ip true' still failing after ${BOOT_TIMEOUT}s: $(lab_ssh "$ip" true 2>&1 | tail -n1)"
    sleep 0.3
  done
  st=$(lab_ssh "$ip" systemctl is-system-running --wait || true)
  [[ $st == running || $st == degraded ]] || die "$n: systemctl is-system-running over ssh says '$st'"
  until lab_ssh "$(ip6_for "$ip")" true 2>/dev/null; do
    ((SECONDS < deadline)) || die "$n: ssh over IPv6 to $(ip6_for "$ip") still failing after ${BOOT_TIMEOUT}s: $(lab_ssh "$(ip6_for "$ip")" true 2>&1 | tail -n1)"
    sleep 0.3
  done
  until lab_ssh "$ip" mariadb-admin --silent ping >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$n: mariadb not answering (mariadb-admin ping) after ${BOOT_TIMEOUT}s; try '$PROG ssh $n systemctl status mariadb'"
    sleep 0.3
  done
  log "$n: ssh ok (IPv4 and IPv6), systemd $st, mariadb up"
}

seed_host() { # seed_host HOST: the host's instances, one after the other
  local l inst host code docs db out
  for l in "${LAB_INSTANCES[@]}"; do
    read -r inst host code docs db <<<"$l"
    [[ $host == "$1" ]] || continue
    out=$(attach "$host" bash -s -- "$inst" "$code" "$docs" "$db" <"$SEED_SCRIPT" 2>&1) \
      || die "$host: seeding instance $inst failed:$(printf '\n%s' "$out" | tail -n 20)"
    log "$host: $inst: ${out##*$'\n'}"
  done
}

in_parallel() { # in_parallel WHAT FUNC: FUNC NAME IP ROLE for every host at once; fails if any failed
  local what=$1 fn=$2 l n ip role p failed=0 pids=()
  for l in "${LAB_HOSTS[@]}"; do
    read -r n ip role <<<"$l"
    "$fn" "$n" "$ip" "$role" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
  ((failed == 0)) || die "$what failed on $failed host(s) (messages above)"
}

write_hosts_json() { # reads "name hostkey" lines on stdin
  local tmp=$HOSTS_JSON.tmp kh=$KNOWN_HOSTS.tmp first=1 n key ip role l inst host code docs db ifirst
  printf '[\n' >"$tmp"; : >"$kh"
  while read -r n key; do
    ip=$(host_field "$n" ip); role=$(host_field "$n" role)
    ((first)) || printf ',\n' >>"$tmp"
    first=0
    printf '  {"name": "%s", "ip": "%s", "ip6": "%s", "role": "%s", "sshUser": "root", "sshPort": 22, "hostKey": "%s", "instances": [' \
      "$n" "$ip" "$(ip6_for "$ip")" "$role" "$key" >>"$tmp"
    ifirst=1
    for l in "${LAB_INSTANCES[@]}"; do
      read -r inst host code docs db <<<"$l"
      [[ $host == "$n" ]] || continue
      ((ifirst)) || printf ', ' >>"$tmp"
      ifirst=0
      printf '{"name": "%s", "codeRoot": "%s", "documentsDir": "%s", "database": "%s"}' \
        "$inst" "$code" "$docs" "$db" >>"$tmp"
    done
    printf ']}' >>"$tmp"
    printf '%s,%s %s\n' "$ip" "$(ip6_for "$ip")" "$key" >>"$kh"
  done
  printf '\n]\n' >>"$tmp"
  mv "$tmp" "$HOSTS_JSON"; mv "$kh" "$KNOWN_HOSTS"
}

# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------
with_lock() {
  exec 9>"$LOCK_FILE"
  flock -w 900 9 || die "another '$PROG up/down' holds $LOCK_FILE"
}

cmd_up() {
  need_root
  mkdir -p "$LAB_DIR" "$CACHE_DIR"
  with_lock
  log "up: lab dir $LAB_DIR, cache $CACHE_DIR"
  ensure_host_packages
  ensure_lab_key
  ensure_base
  ensure_bridge
  log "bridge $BRIDGE: $BRIDGE_IP/$PREFIX_LEN up"

  local l n ip role st started=()
  for l in "${LAB_HOSTS[@]}"; do
    read -r n ip role <<<"$l"
    if exists "$n"; then check_existing_host "$n" "$ip" "$role"; else create_host "$n" "$ip" "$role"; fi
    st=$(state_of "$n")
    if [[ $st == RUNNING ]]; then
      log "$n: already running"
    else
      start_host "$n"; started+=("$n")
      log "$n: started"
    fi
  done

  local keys=""
  for l in "${LAB_HOSTS[@]}"; do
    read -r n ip role <<<"$l"
    keys+="$n $(wait_boot_and_configure "$n")"$'\n'
    log "$n: booted (systemd), lab key + /etc/hosts installed"
  done
  printf '%s' "$keys" | write_hosts_json
  log "wrote $HOSTS_JSON and $KNOWN_HOSTS"

  in_parallel "waiting for ssh/systemd/mariadb" wait_ssh_and_services
  in_parallel "seeding" seed_host
  log "up: done — ${#LAB_HOSTS[@]} hosts (${#started[@]} started now); '$0 ssh NAME' or: ssh -i $KEY -o UserKnownHostsFile=$KNOWN_HOSTS root@IP"
}

cmd_down() {
  need_root
  with_lock
  local n pids=() names=()
  command -v lxc-stop >/dev/null || { log "down: lxc not installed, nothing to do"; return; }
  mapfile -t names < <({ our_containers; host_names; } | sort -u)
  for n in "${names[@]}"; do
    exists "$n" || continue
    [[ -f $LXC_PATH/$n/$LAB_MARKER ]] || { warn "$n: exists but not made by $PROG; left alone"; continue; }
    if [[ $(state_of "$n") != STOPPED ]]; then
      lxc-stop -P "$LXC_PATH" -n "$n" -t 20 & pids+=($!)
    fi
  done
  ((${#pids[@]})) && log "down: stopping ${#pids[@]} host(s)"
  local p; for p in "${pids[@]}"; do wait "$p" || true; done
  for n in "${names[@]}"; do
    if ! exists "$n" || [[ ! -f $LXC_PATH/$n/$LAB_MARKER ]]; then continue; fi
    if [[ $(state_of "$n") != STOPPED ]]; then
      lxc-stop -P "$LXC_PATH" -n "$n" -k || die "$n: cannot stop it"
    fi
    # delete only our own directory (config, upper layer); the base (lower layer) is untouched
    [[ -n $n && -d $LXC_PATH/$n ]] && rm -rf --one-file-system "${LXC_PATH:?}/$n"
    log "$n: destroyed"
  done
  if ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    ip link del "$BRIDGE" || die "cannot delete bridge $BRIDGE"
    log "bridge $BRIDGE: deleted"
  fi
  rm -f "$HOSTS_JSON" "$KNOWN_HOSTS"
  log "down: done (cached base kept in $CACHE_DIR)"
}

cmd_status() {
  local l n ip role st sshst key a
  key=$(base_key)
  if [[ -f $CACHE_DIR/base-$key/manifest ]]; then echo "base:   $CACHE_DIR/base-$key (cached)"
  else echo "base:   $CACHE_DIR/base-$key (not built)"; fi
  if ip link show dev "$BRIDGE" >/dev/null 2>&1; then echo "bridge: $BRIDGE $(ip -br addr show dev "$BRIDGE" | awk '{$1=""; print}')"
  else echo "bridge: $BRIDGE absent"; fi
  echo "lab:    $LAB_DIR"
  printf '%-24s %-12s %-12s %-8s %-8s %s\n' NAME IP IPV6 ROLE STATE 'SSH v4/v6'
  for l in "${LAB_HOSTS[@]}"; do
    read -r n ip role <<<"$l"
    if command -v lxc-info >/dev/null; then st=$(state_of "$n"); else st=ABSENT; fi
    sshst=-
    if [[ $st == RUNNING && -f $KEY && -f $KNOWN_HOSTS ]]; then
      sshst=""
      for a in "$ip" "$(ip6_for "$ip")"; do
        if lab_ssh "$a" true 2>/dev/null; then sshst+="${sshst:+/}ok"; else sshst+="${sshst:+/}FAIL"; fi
      done
    fi
    printf '%-24s %-12s %-12s %-8s %-8s %s\n' "$n" "$ip" "$(ip6_for "$ip")" "$role" "$st" "$sshst"
  done
}

cmd_ssh() {
  (($# >= 1)) || die "usage: $PROG ssh NAME|IP [CMD...]"
  local n ip; n=$(resolve_host "$1"); shift; ip=$(host_field "$n" ip)
  [[ -f $KEY ]] || die "no lab key at $KEY; run '$PROG up' first"
  local opts; mapfile -t opts < <(ssh_opts)
  if (($# == 0)) && [[ -t 0 ]]; then opts+=(-t); fi
  exec ssh "${opts[@]}" "root@$ip" "$@"
}

cmd_exec() {
  (($# >= 2)) || die "usage: $PROG exec NAME|IP CMD..."
  local n; n=$(resolve_host "$1"); shift
  need_root
  [[ $(state_of "$n") == RUNNING ]] || die "$n is not running; run '$PROG up'"
  attach "$n" "$@"
}

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }

main() {
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    ssh) cmd_ssh "$@" ;;
    exec) cmd_exec "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}
main "$@"

#!/usr/bin/env bash
# Runs a command beside a real systemd-journald, in a private mount namespace
# (run me under `unshare -m --propagation private`): tmpfs on /run/systemd
# and /run/log, and a private /dev whose /dev/log is journald's syslog socket,
# so neither the host's journal nor its /dev is touched. The command runs
# until the journal holds a line matching PATTERN (or TIMEOUT seconds), then
# gets SIGTERM; the journal, as `journalctl -o json`, is written to OUT.
# usage: journald-sandbox.sh OUT PATTERN TIMEOUT COMMAND [ARGS...]
set -euo pipefail
out=$1 pattern=$2 timeout=$3
shift 3
saved=$(mktemp -d)
journald=
command=
finish() {
  [ -n "$command" ] && kill -TERM "$command" 2>/dev/null && wait "$command" 2>/dev/null || true
  journalctl -D /run/log/journal -o json --no-pager >"$out" 2>/dev/null || true
  [ -n "$journald" ] && kill "$journald" 2>/dev/null && wait "$journald" 2>/dev/null || true
}
trap finish EXIT

mkdir -p "$saved/dev" /run/systemd /run/log
mount --rbind /dev "$saved/dev"
mount -t tmpfs tmpfs /run/systemd
mount -t tmpfs tmpfs /run/log
mount -t tmpfs tmpfs /dev
for f in null zero random urandom full tty; do
  touch "/dev/$f"
  mount --bind "$saved/dev/$f" "/dev/$f"
done
mkdir /dev/pts /dev/shm
mount --rbind "$saved/dev/pts" /dev/pts
mount --rbind "$saved/dev/shm" /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /run/systemd/journal/dev-log /dev/log

/lib/systemd/systemd-journald &
journald=$!
for _ in $(seq 100); do [ -S /run/systemd/journal/stdout ] && break; sleep 0.05; done

"$@" &
command=$!
for _ in $(seq $((timeout * 10))); do
  journalctl -D /run/log/journal -o cat --no-pager 2>/dev/null | grep -q -- "$pattern" && break
  kill -0 "$command" 2>/dev/null || break
  sleep 0.1
done

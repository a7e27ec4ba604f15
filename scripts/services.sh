#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on localhost, starting the machine's own servers if they are down.
# Needs root (or the postgres/redis users' rights) only when something has to be started.
set -euo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

wait_for() {
  local what="$1" check="$2"
  for _ in $(seq 1 60); do
    "$check" && return 0
    sleep 0.5
  done
  echo "ERROR: $what did not come up" >&2
  return 1
}

if ! pg_up; then
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$version" ] || { echo "ERROR: PostgreSQL is down and not installed (no /etc/postgresql)" >&2; exit 1; }
  echo "==> Starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for PostgreSQL pg_up
fi

if ! redis_up; then
  command -v redis-server >/dev/null || { echo "ERROR: Redis is down and redis-server is not installed" >&2; exit 1; }
  echo "==> Starting Redis" >&2
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis_up
fi

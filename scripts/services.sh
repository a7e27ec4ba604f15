#!/usr/bin/env bash
# Make sure PostgreSQL, Redis and RabbitMQ answer on localhost, starting the machine's own servers if they are down
# (and installing Debian's rabbitmq-server first if it is missing). Needs root (or the postgres/redis/rabbitmq users'
# rights) only when something has to be installed or started.
set -euo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
# The AMQP port accepts connections only once the broker has booted.
rabbitmq_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

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

if ! rabbitmq_up; then
  if ! command -v rabbitmq-server >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> Installing rabbitmq-server" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server
  fi
  command -v rabbitmq-server >/dev/null || { echo "ERROR: RabbitMQ is down and rabbitmq-server is not installed" >&2; exit 1; }
  if ! rabbitmq_up; then  # installing it may have started it
    echo "==> Starting RabbitMQ" >&2
    rabbitmq-server -detached
    # Erlang takes a while to boot, the more so on a busy machine: up to 120 s.
    rabbitmqctl -q await_startup --timeout 120 >/dev/null
    wait_for RabbitMQ rabbitmq_up
  fi
fi

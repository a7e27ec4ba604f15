#!/usr/bin/env bash
# Install, migrate, seed and start Portico on this machine: the web server, a real Celery worker and beat, and the
# mail listener (SMTP) that files requests and comments from e-mail.
# With no DATABASE_URL/REDIS_URL this is the embedded default (SQLite + kombu's filesystem broker under var/),
# so nothing but Python 3.11 is needed. Ctrl-C (or SIGTERM) stops every process it started.
#
# Environment: PORTICO_HOST (127.0.0.1), PORTICO_PORT (8000; 0 picks a free port), PORTICO_MAIL_PORT (the mail
# listener's SMTP port, 8025; 0 picks a free one), PORTICO_SKIP_INSTALL=1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PORTICO_ROOT"

HOST="${PORTICO_HOST:-127.0.0.1}"
PORT="${PORTICO_PORT:-8000}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-portal.settings.base}"
export PYTHONUNBUFFERED=1

ensure_venv
ensure_installed

if [ "$PORT" = 0 ]; then
  PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
fi
export PORTAL_BASE_URL="${PORTAL_BASE_URL:-http://${HOST}:${PORT}}"
MAIL_PORT="${PORTICO_MAIL_PORT:-8025}"
if [ "$MAIL_PORT" = 0 ]; then
  MAIL_PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
fi

say "Migrating the database"
"$PY" manage.py migrate --noinput -v0
say "Seeding demo data (only into an empty database)"
"$PY" manage.py seed_demo --if-empty

pids=()
stopping=0
stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap - INT TERM
  say "Stopping Portico"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  # Celery finishes the task in hand (warm shutdown); give everything a moment, then insist.
  for _ in $(seq 1 30); do
    kill -0 "${pids[@]}" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap 'stop_all; exit 0' INT # Ctrl-C is the normal way to stop, not an error
trap 'stop_all; exit 143' TERM

# Each process's output, labelled. The labeller ignores Ctrl-C so it outlives the process it labels and the
# shutdown messages still get through.
prefix() {
  trap '' INT
  exec sed -u "s/^/$1 | /"
}

# `python -m` puts this checkout first on sys.path, whichever copy of Portico the venv was installed from.
"$PY" -m celery -A portal worker --loglevel=INFO --concurrency=2 --hostname="portico@%h" \
  > >(prefix "worker") 2>&1 &
pids+=($!)
"$PY" -m celery -A portal beat --loglevel=INFO > >(prefix "beat  ") 2>&1 &
pids+=($!)
"$PY" manage.py runserver --noreload "${HOST}:${PORT}" > >(prefix "web   ") 2>&1 &
pids+=($!)
"$PY" manage.py mail_listener --host "$HOST" --port "$MAIL_PORT" > >(prefix "mail  ") 2>&1 &
pids+=($!)

for _ in $(seq 1 120); do
  if "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "http://${HOST}:${PORT}/healthz" 2>/dev/null; then
    break
  fi
  kill -0 "${pids[@]}" 2>/dev/null || break
  sleep 0.5
done

cat >&2 <<BANNER

  Portico is running at http://${HOST}:${PORT}/
  (API http://${HOST}:${PORT}/api/v1/ · docs http://${HOST}:${PORT}/api/docs/ · admin http://${HOST}:${PORT}/admin/)

$("$PY" manage.py seed_demo --logins)

  Worker and beat are running too; e-mails are printed below ("worker |"). Mail to
  portico+punjab.troubleshooting.p2@localhost from a demo user's address (requester@portico.example), sent over
  SMTP to ${HOST}:${MAIL_PORT}, files a request ("mail  |"). Press Ctrl-C to stop.

BANNER

# If any process dies, take the rest down with it rather than leave a half-working portal.
set +e
wait -n "${pids[@]}"
status=$?
set -e
if [ "$stopping" = 0 ]; then
  say "A Portico process exited (status $status); stopping the others"
  stop_all
  exit "$status"
fi

#!/usr/bin/env bash
# Smoke-test the embedded default end to end: run scripts/run.sh (the same script as `make run`) from a
# throwaway copy of this checkout, so var/ starts empty and the developer's own var/ is untouched, on a free
# port; check the web, login, API and that the worker processes a task; then stop it with SIGTERM.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PORTICO_ROOT"

artifacts="${PORTICO_ROOT}/tests/artifacts/smoke"
rm -rf "$artifacts"
mkdir -p "$artifacts"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/portico-smoke.XXXXXX")"

say "Copying the checkout to $tmp"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$tmp" -xf -
else
  tar --exclude=./.venv --exclude=./var --exclude=./.git -cf - . | tar -C "$tmp" -xf -
fi
ln -s "$VENV" "$tmp/.venv"
port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mail_port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

say "Starting the embedded default on port $port"
(
  cd "$tmp"
  exec env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL -u DJANGO_SETTINGS_MODULE -u PORTAL_BASE_URL \
    PORTICO_PORT="$port" PORTICO_MAIL_PORT="$mail_port" PORTICO_SKIP_INSTALL=1 bash scripts/run.sh
) >"$artifacts/run.log" 2>&1 &
run_pid=$!

stopped=0
stop_portal() {
  [ "$stopped" = 1 ] && return 0
  stopped=1
  kill -TERM "$run_pid" 2>/dev/null || true
  local status=0
  wait "$run_pid" || status=$?
  # Anything still running from the copy escaped run.sh's clean-up: report it and end it by its id.
  local leftovers
  leftovers="$(pgrep -f "$tmp/" || true)"
  if [ -n "$leftovers" ]; then
    echo "FAILED: processes left behind after stopping: $leftovers" >&2
    kill -KILL $leftovers 2>/dev/null || true
    return 1
  fi
  [ "$status" = 143 ] || { echo "FAILED: run.sh exited with $status, expected 143 (SIGTERM)" >&2; return 1; }
  echo "ok     run.sh stopped worker, beat, web and the mail listener cleanly on SIGTERM"
}
cleanup() {
  stop_portal || true
  cp "$tmp/var/portico.sqlite3" "$artifacts/" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

if ! "$PY" scripts/smoke_check.py --base "http://127.0.0.1:$port" --root "$tmp" \
  --log "$artifacts/run.log" --out "$artifacts/summary.txt" --timeout 180 --mail-port "$mail_port"; then
  echo "---- last lines of the run log ----" >&2
  tail -n 60 "$artifacts/run.log" >&2
  exit 1
fi
stop_portal
say "Smoke run passed"

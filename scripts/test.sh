#!/usr/bin/env bash
# Install everything and run every check and test against PostgreSQL and Redis on localhost:
# ruff check, ruff format --check, manage.py check, makemigrations --check, mypy (with PORTICO_TYPECHECK=1, see
# below), pytest. Exits non-zero on any failure.
#
# DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/portico (pytest-django creates test_portico_gw0, …),
# REDIS_URL to redis://127.0.0.1:6379/15 (used as is by a run without xdist: `-n 0`); RabbitMQ is
# guest@127.0.0.1:5672, a virtual host per test. Extra arguments go to pytest (`make test PYTEST_ARGS="-k race"`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PORTICO_ROOT"

# The browser tests drive Debian's chromium through Playwright; promtool (Debian's prometheus package)
# checks the alert rules in deploy/prometheus; pdftoppm and pdftotext (poppler-utils) read the PDF report's pages.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null || missing+=(prometheus)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
# tests/test_db_roles.py runs the portal through a real PgBouncer in transaction mode.
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null || missing+=(pgbouncer)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  say "Installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

ensure_venv
ensure_installed "[dev]"
bash scripts/services.sh

export DJANGO_SETTINGS_MODULE=portal.settings.test
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portico}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/15}"
mkdir -p tests/artifacts

failed=()
step() {
  local name="$1"
  shift
  say "$name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

step "ruff check" "$VENV/bin/ruff" check .
step "ruff format --check" "$VENV/bin/ruff" format --check .
step "manage.py check" "$PY" manage.py check
step "makemigrations --check" "$PY" manage.py makemigrations --check --dry-run
step "import contracts (lint-imports)" "$VENV/bin/lint-imports"
step "mypy" "$VENV/bin/mypy"
# In parallel (pytest-xdist): PORTICO_TEST_WORKERS processes (default: one per core), each with its own test
# database (test_<name>_gw0, …) and its own redis-server on a free port (tests/support/brokers.py).
# Tests that share something else (the browser, a module's scratch database) carry an xdist_group mark and run on
# one process. PYTEST_ARGS="-n 0" runs everything in this process.
step "pytest" "$VENV/bin/pytest" -n "${PORTICO_TEST_WORKERS:-auto}" --dist loadgroup "$@"

if [ "${#failed[@]}" -gt 0 ]; then
  printf '\033[31mFAILED: %s\033[0m\n' "${failed[@]}" >&2
  exit 1
fi
say "All checks passed"

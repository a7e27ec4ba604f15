#!/usr/bin/env bash
# Regenerate the README's screenshots: run the browser walk (every page, every role, every pass) with
# PORTICO_UPDATE_SCREENSHOTS=1, so each pass that passes copies its README_SHOTS to docs/screenshots/.
# Needs what `make test` needs (Debian's chromium, PostgreSQL and Redis on localhost); extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PORTICO_ROOT"

[ -x /usr/bin/chromium ] || die "the walk needs Debian's chromium: apt-get install chromium"
ensure_venv
ensure_installed "[dev]"
bash scripts/services.sh

export DJANGO_SETTINGS_MODULE=portal.settings.test
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portico}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/15}"
mkdir -p docs/screenshots tests/artifacts
say "Walking every page to take the README's screenshots"
PORTICO_UPDATE_SCREENSHOTS=1 "$VENV/bin/pytest" -n 0 -p no:randomly \
  "tests/browser/test_walk_every_page.py::test_every_page_every_role_every_width" "$@"
say "docs/screenshots/ now holds the walk's pictures; commit them with the README"

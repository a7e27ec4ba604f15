# Shared helpers for the scripts in this folder; source it, don't run it.
# shellcheck shell=bash

PORTICO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PORTICO_ROOT}/.venv"
PY="${VENV}/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

# The interpreter to build .venv with: python3.11 if present, else any python3 that is 3.11 or newer.
find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else 1)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

ensure_venv() {
  if [ ! -x "$PY" ]; then
    local python
    python="$(find_python)" || die "Portico needs Python 3.11 (python3.11 or python3 >= 3.11 on PATH)."
    say "Creating .venv with $python"
    "$python" -m venv "$VENV"
    "$PY" -m pip install --quiet --upgrade pip
  fi
}

# pip install -e ".<extras>" unless pyproject.toml is unchanged since the last successful install, so a second
# `make run` starts in seconds and works offline.
ensure_installed() {
  local extras="${1:-}" stamp="${VENV}/.portico-installed${1:+-dev}" wanted
  wanted="$(cat "${PORTICO_ROOT}/pyproject.toml" | cksum)"
  if [ "${PORTICO_SKIP_INSTALL:-0}" = 1 ] || { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; }; then
    return 0
  fi
  say "Installing Portico${extras:+ with $extras} into .venv"
  (cd "$PORTICO_ROOT" && "$PY" -m pip install --quiet -e ".${extras}")
  printf '%s' "$wanted" >"$stamp"
}

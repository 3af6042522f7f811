# shellcheck shell=bash
# Sourced by scripts/demo.sh and scripts/test.sh: makes .venv and node_modules match the pins.
# Idempotent: each step re-runs only when its pin files changed (a hash stamp records the last install).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY_BOOT="${PYTHON:-python3}"

say() { printf '[bootstrap] %s\n' "$*" >&2; }

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

ensure_python() {
  if ! "$PY_BOOT" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    say "need Python 3.11 or newer as '$PY_BOOT' (set PYTHON=/path/to/python3.11)"; exit 2
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$PY_BOOT" -m venv "$VENV"
  fi
  local want have=""
  want="$(stamp_of "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" "$ROOT/constraints.txt")"
  [ -f "$VENV/.pins.sha256" ] && have="$(cat "$VENV/.pins.sha256")"
  if [ "$want" != "$have" ]; then
    say "installing pinned Python packages (first run takes a minute)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$ROOT/requirements-dev.txt" -c "$ROOT/constraints.txt" 2> >(grep -v "is ignored: it is neither" >&2)
    echo "$want" > "$VENV/.pins.sha256"
  fi
}

ensure_infra_tools() {
  # checkov and cfn-lint for the infra checks, in their own venv: their pins must not move the app's.
  local tools="$ROOT/.venv-infra" want have=""
  [ -x "$tools/bin/python" ] || { say "creating $tools"; "$PY_BOOT" -m venv "$tools"; }
  want="$(stamp_of "$ROOT/requirements-infra.txt" "$ROOT/constraints-infra.txt")"
  [ -f "$tools/.pins.sha256" ] && have="$(cat "$tools/.pins.sha256")"
  if [ "$want" != "$have" ]; then
    say "installing pinned infra checkers (checkov, cfn-lint; first run takes a minute)"
    "$tools/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$ROOT/requirements-infra.txt" -c "$ROOT/constraints-infra.txt" 2> >(grep -v "is ignored: it is neither" >&2)
    echo "$want" > "$tools/.pins.sha256"
  fi
  export AZMIGRATE_INFRA_VENV="$tools"
}

ensure_azurite() {
  command -v npm >/dev/null || { say "need Node.js 20+ and npm for Azurite (apt-get install nodejs npm)"; exit 2; }
  local want have=""
  want="$(stamp_of "$ROOT/package.json" "$ROOT/package-lock.json")"
  [ -f "$ROOT/node_modules/.pins.sha256" ] && have="$(cat "$ROOT/node_modules/.pins.sha256")"
  if [ "$want" != "$have" ] || [ ! -x "$ROOT/node_modules/.bin/azurite-table" ]; then
    say "installing Azurite from package-lock.json (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
    echo "$want" > "$ROOT/node_modules/.pins.sha256"
  fi
}

ensure_python
ensure_azurite
export PATH="$VENV/bin:$PATH"
cd "$ROOT"

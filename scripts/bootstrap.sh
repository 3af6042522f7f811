# shellcheck shell=bash
# Sourced by scripts/demo.sh and scripts/test.sh: makes .venv and node_modules match the pins.
# Idempotent: each step re-runs only when its pin files changed (a hash stamp records the last install).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY_BOOT="${PYTHON:-python3}"

say() { printf '[bootstrap] %s\n' "$*" >&2; }

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# install_pins VENV LABEL REQUIREMENTS CONSTRAINTS: the venv holds exactly these pins (hash stamp).
install_pins() {
  local venv="$1" label="$2" requirements="$3" constraints="$4" want have=""
  [ -x "$venv/bin/python" ] || { say "creating $venv"; "$PY_BOOT" -m venv "$venv"; }
  want="$(stamp_of "$requirements" "$constraints" "${@:5}")"
  [ -f "$venv/.pins.sha256" ] && have="$(cat "$venv/.pins.sha256")"
  if [ "$want" != "$have" ]; then
    say "installing pinned $label (first run takes a minute)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$requirements" -c "$constraints" 2> >(grep -v "is ignored: it is neither" >&2)
    echo "$want" > "$venv/.pins.sha256"
  fi
}

ensure_python() {
  if ! "$PY_BOOT" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    say "need Python 3.11 or newer as '$PY_BOOT' (set PYTHON=/path/to/python3.11)"; exit 2
  fi
  install_pins "$VENV" "Python packages" "$ROOT/requirements-dev.txt" "$ROOT/constraints.txt" \
    "$ROOT/requirements.txt"
  if [ ! -x "$VENV/bin/autopilot" ]; then  # the operator CLI as a console script (editable: no copy)
    say "installing the autopilot CLI (pip install -e .)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
      -e "$ROOT" 2> >(grep -v "is ignored: it is neither" >&2)
  fi
}

ensure_infra_tools() {
  # checkov and cfn-lint for the infra checks, in their own venv: their pins must not move the app's.
  install_pins "$ROOT/.venv-infra" "infra checkers (checkov, cfn-lint)" \
    "$ROOT/requirements-infra.txt" "$ROOT/constraints-infra.txt"
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

ensure_chromium() {
  # The dashboard's browser test drives Debian's Chromium (Playwright never downloads a browser here).
  command -v chromium >/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then
    say "need Debian's chromium for the dashboard test: sudo apt-get install -y chromium"; exit 2
  fi
  say "installing Debian's chromium (the dashboard's browser test)"
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium)
  "${apt[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && "${apt[@]}" >/dev/null; }
}

# The installs run side by side (on a clean machine they are most of the set-up time); any failing
# fails the whole. AZMIGRATE_BOOTSTRAP_INFRA=1 (the test command) adds the infra checkers and Chromium.
installs=()
ensure_azurite & installs+=("$!")
if [ "${AZMIGRATE_BOOTSTRAP_INFRA:-0}" = 1 ]; then
  ensure_infra_tools & installs+=("$!")
  ensure_chromium & installs+=("$!")
  export AZMIGRATE_INFRA_VENV="$ROOT/.venv-infra"
fi
ensure_python
for install in "${installs[@]}"; do wait "$install"; done
export PATH="$VENV/bin:$PATH"
cd "$ROOT"

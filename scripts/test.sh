#!/usr/bin/env bash
# The whole test suite: lint, types, import contracts, tests (the infra checks among them, with
# checkov and cfn-lint from .venv-infra); then proof that no process the tests started survives.
# Usage: bash scripts/test.sh [extra pytest args]
AZMIGRATE_BOOTSTRAP_INFRA=1 source "$(dirname "$0")/bootstrap.sh"

# Every process started below inherits this id; the leak check afterwards looks for it.
AZMIGRATE_TEST_RUN_ID="test-$$-$(date +%s%N)"
export AZMIGRATE_TEST_RUN_ID

echo "== ruff"; ruff check .; ruff format --check .
echo "== mypy"; mypy
echo "== import contracts (.importlinter)"; lint-imports --no-cache
echo "== pytest"
set +e
# Three workers on two cores: most tests wait on the stand-ins, not the CPU. A module's
# tests stay on one worker, with its fixtures; each worker starts its own Azurite and moto.
pytest -n "${AZMIGRATE_TEST_WORKERS:-3}" --dist loadfile "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: that is a failure, not a pass" >&2; rc=1; fi
echo "== leftover processes"
python -m local.leaks "$AZMIGRATE_TEST_RUN_ID" || rc=1
exit "$rc"

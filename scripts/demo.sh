#!/usr/bin/env bash
# The main job, locally: starts the stand-ins and runs the demo. Usage: bash scripts/demo.sh [--help for options]
source "$(dirname "$0")/bootstrap.sh"
exec python -m local.demo "$@"

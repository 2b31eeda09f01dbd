#!/usr/bin/env bash
# The test command: sets up everything (apt packages, venv, pip) and runs lint, type checks and the tests.
# Extra arguments go to pytest (e.g. scripts/test.sh -k counters).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check .
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/pytest -q -p no:cacheprovider "$@"

#!/usr/bin/env bash
# Idempotent first-use setup shared by `make run`, `make test` and CI:
# the system libraries WeasyPrint needs, a virtualenv under .venv with the project's packages,
# a local .env, the broker folders.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/system_libs.sh

PYTHON=${PYTHON:-python3}
STAMP=.venv/.installed
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating the virtualenv in .venv"
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "==> Installing packages (first run takes a minute)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch "$STAMP"
fi
.venv/bin/python scripts/ensure_env.py
mkdir -p var/broker/processed var/broker/control var/media var/static

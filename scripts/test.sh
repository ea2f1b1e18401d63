#!/usr/bin/env bash
# `make test`: ruff, makemigrations --check, then pytest. Uses Postgres/Redis when DATABASE_URL /
# CELERY_BROKER_URL are set, the embedded defaults otherwise. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> makemigrations --check"
.venv/bin/python manage.py makemigrations --check --dry-run
# Keep test tasks away from a `make run` worker that may be polling var/broker.
export CELERY_BROKER_DIR=${CELERY_BROKER_DIR:-var/test-broker}
echo "==> pytest (database: ${DATABASE_URL:-sqlite}, broker: ${CELERY_BROKER_URL:-filesystem://})"
exec .venv/bin/python -m pytest "$@"

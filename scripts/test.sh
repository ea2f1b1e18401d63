#!/usr/bin/env bash
# `make test`: ruff, makemigrations --check, mypy, check --deploy on production settings, then
# pytest in parallel (pytest-xdist, PYTEST_WORKERS processes; 0 = one process, serially). Uses
# Postgres/Redis when DATABASE_URL / CELERY_BROKER_URL are set, the embedded defaults otherwise.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> makemigrations --check"
.venv/bin/python manage.py makemigrations --check --dry-run
echo "==> mypy (every app; lenient, see [tool.mypy] in pyproject.toml)"
.venv/bin/mypy $(ls -d */apps.py | xargs -n1 dirname)
echo "==> manage.py check --deploy (production settings)"
env -u DJANGO_ALLOW_ASYNC_UNSAFE DEBUG=0 ALLOWED_HOSTS=recruitflow.example.com \
  SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(60))')" \
  CACHE_URL="${CACHE_URL:-redis://127.0.0.1:6379/15}" \
  .venv/bin/python manage.py check --deploy --fail-level WARNING
# Keep test tasks away from a `make run` worker that may be polling var/broker.
export CELERY_BROKER_DIR=${CELERY_BROKER_DIR:-var/test-broker}
# Each worker gets its own test database, broker and cache keys and broker folder
# (tests/parallel.py); tests marked xdist_group run on one worker. Many tests wait on browsers,
# sandbox servers and Celery workers, so there are more workers than cores.
WORKERS=${PYTEST_WORKERS:-3}
PARALLEL=()
if [ "$WORKERS" != 0 ]; then
  PARALLEL=(-n "$WORKERS" --dist loadgroup)
fi
echo "==> pytest (database: ${DATABASE_URL:-sqlite}, broker: ${CELERY_BROKER_URL:-filesystem://}, workers: ${WORKERS})"
exec .venv/bin/python -m pytest "${PARALLEL[@]}" "$@"

#!/usr/bin/env bash
# `make run`: migrate, seed the demo organization, then web + worker + beat under honcho.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
PY=.venv/bin/python
PORT=$(grep -E '^PORT=' .env 2>/dev/null | cut -d= -f2 || true)
export PORT=${PORT:-8000}
$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo
cat <<BANNER

  RecruitFlow is starting at  http://127.0.0.1:${PORT}/
  Demo login:                 $(grep -E '^DEMO_EMAIL=' .env | cut -d= -f2- || echo demo@recruitflow.test) / $(grep -E '^DEMO_PASSWORD=' .env | cut -d= -f2- || echo recruitflow-demo)
  API docs:                   http://127.0.0.1:${PORT}/api/v1/docs/
  Stop with Ctrl-C.

BANNER
exec .venv/bin/honcho start -f Procfile

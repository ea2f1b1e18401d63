#!/usr/bin/env bash
# `make run`: migrate, seed the demo organization, then web + worker + beat + the sandbox
# providers under honcho.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
PY=.venv/bin/python
# An exported PORT wins over .env; links we send (webhooks, invitations) follow it.
if [ -z "${PORT:-}" ]; then
  PORT=$(grep -E '^PORT=' .env 2>/dev/null | cut -d= -f2 || true)
else
  export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:${PORT}}
fi
export PORT=${PORT:-8000}
$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo
# The settings decide (SANDBOX_URL defaults to the local sandbox when DEBUG=1).
SANDBOX_URL=$($PY -c 'from recruitflow import settings; print(settings.SANDBOX_URL)' 2>/dev/null || true)
if [ -n "${SANDBOX_URL}" ]; then
  # In the background: wait for the sandbox and the web app, test the demo connection, request
  # the first sync and point the sandbox's webhook here. The banner does not wait for it.
  $PY manage.py seed_demo --wire-sandbox &
fi
cat <<BANNER

  RecruitFlow is starting at  http://127.0.0.1:${PORT}/
  Demo login:                 $($PY -c 'from recruitflow import settings as s; print(s.DEMO_EMAIL, "/", s.DEMO_PASSWORD)')
  API docs:                   http://127.0.0.1:${PORT}/api/v1/docs/
${SANDBOX_URL:+  Sandbox ATS (Greenhouse):   ${SANDBOX_URL}/greenhouse/_sandbox/  (move a candidate, watch it arrive)
}${SANDBOX_URL:+  Sandbox phones (Twilio):    ${SANDBOX_URL}/twilio/_sandbox/  (texts we send; reply or STOP as the candidate)
}  Stop with Ctrl-C.

BANNER
# honcho would let the .env file's PORT win over an exported one; the settings read .env
# themselves (real environment variables first), so honcho reads none and starts at our PORT.
exec .venv/bin/honcho start -f Procfile -e /dev/null -p "${PORT}"

#!/usr/bin/env bash
# `make bench`: every benchmark in bench/ on Postgres + Redis, one after the other.
#
#   BENCH_DATABASE_URL  Postgres database of the benchmarks (created if missing, migrated);
#                       default postgres://postgres@127.0.0.1:5432/recruitflow_bench
#   BENCH_BROKER_URL    Redis broker (default redis://127.0.0.1:6379/14)
#   BENCH_CACHE_URL     Redis cache (default redis://127.0.0.1:6379/15)
#   BENCH               which benchmarks, by name (default: all of them), e.g. BENCH="pages search"
#
# Each benchmark's output goes to var/bench/<name>.txt; its last line (the JSON figures, with its
# floor and ratio) is appended to var/bench/results.jsonl with the time and the machine. The
# targets and the last figures are in bench/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/recruitflow_bench}"
ALL="pages search availability analytics messaging engine sync webhooks writeback video faults"
NAMES="${BENCH:-$ALL}"
PY=.venv/bin/python

case "$DATABASE_URL" in
  postgres://*|postgresql://*) ;;
  *) echo "BENCH_DATABASE_URL must be a Postgres URL (postgres://user@host:5432/name)" >&2; exit 2 ;;
esac
if [[ " $NAMES " == *" pages "* ]] && ! command -v wrk >/dev/null 2>&1; then
  echo "bench/pages.py needs wrk: sudo apt-get install -y wrk (or leave pages out: BENCH=...)" >&2
  exit 2
fi

export DATABASE_URL
export CELERY_BROKER_URL="${BENCH_BROKER_URL:-redis://127.0.0.1:6379/14}"
export CACHE_URL="${BENCH_CACHE_URL:-redis://127.0.0.1:6379/15}"

echo "==> Database ${DATABASE_URL##*/}: created if missing, migrated"
"$PY" - "$DATABASE_URL" <<'PYEOF' || exit 1
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

url = urlsplit(sys.argv[1])
name = url.path.lstrip("/")
admin = urlunsplit(url._replace(path="/postgres"))
try:
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
except psycopg.Error as exc:
    sys.exit(f"Cannot reach Postgres at {url.hostname}:{url.port or 5432} to create {name}: {exc}")
PYEOF
"$PY" manage.py migrate -v0 || exit 1

mkdir -p var/bench
failed=()
for name in $NAMES; do
  if [ ! -f "bench/$name.py" ]; then
    echo "No benchmark bench/$name.py (known: $ALL)" >&2
    failed+=("$name")
    continue
  fi
  echo "==> bench/$name.py (output: var/bench/$name.txt)"
  if "$PY" "bench/$name.py" > "var/bench/$name.txt" 2> "var/bench/$name.err"; then
    tail -n 1 "var/bench/$name.txt" | "$PY" -c "
import datetime, json, os, platform, sys
figures = json.loads(sys.stdin.read())
print(json.dumps({'bench': '$name', 'at': datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds'),
                  'cores': os.cpu_count(), 'machine': platform.node(), 'figures': figures}))
" >> var/bench/results.jsonl || failed+=("$name")
    tail -n 1 "var/bench/$name.txt" | cut -c1-300
  else
    echo "    failed: see var/bench/$name.err" >&2
    failed+=("$name")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "Failed: ${failed[*]}" >&2
  exit 1
fi
echo "All figures: var/bench/results.jsonl"

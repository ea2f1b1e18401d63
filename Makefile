.PHONY: run test lint fmt bootstrap bench

# Start the product on a fresh clone: SQLite, filesystem broker, sandbox providers, demo login.
run:
	@scripts/run.sh

# Lint, migration check and the whole test suite (unit, integration, browser).
test:
	@scripts/test.sh

bootstrap:
	@scripts/bootstrap.sh

# Every benchmark on Postgres + Redis (BENCH_DATABASE_URL, BENCH_BROKER_URL, BENCH_CACHE_URL,
# BENCH="pages search" for some of them); figures in var/bench/, targets and last figures in
# bench/README.md.
bench:
	@scripts/bench.sh

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

fmt:
	@.venv/bin/ruff check --fix . && .venv/bin/ruff format .

.PHONY: run test lint fmt bootstrap

# Start the product on a fresh clone: SQLite, filesystem broker, sandbox providers, demo login.
run:
	@scripts/run.sh

# Lint, migration check and the whole test suite (unit, integration, browser).
test:
	@scripts/test.sh

bootstrap:
	@scripts/bootstrap.sh

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

fmt:
	@.venv/bin/ruff check --fix . && .venv/bin/ruff format .

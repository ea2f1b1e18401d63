"""The settings the throughput benchmarks run the product with: a deployment's (``DEBUG`` off, so
no query log kept and no debug cursor wrapped around every statement), over plain HTTP on
loopback. Set in a bench's environment before Django starts, so its own processes, the Celery
workers and the web server it starts all run with them; a local ``.env`` (``DEBUG=1`` for
``make run``) does not override the environment."""

from __future__ import annotations

import os

PRODUCTION = {
    "DEBUG": "0",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "STATIC_MANIFEST": "0",
}


def use_production_settings(**extra: str) -> dict[str, str]:
    """Put the production settings (and ``extra``) in this process's environment; returns them."""
    values = {**PRODUCTION, **extra}
    os.environ.update(values)
    return values

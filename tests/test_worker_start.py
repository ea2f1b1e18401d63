"""A Celery worker's start (``recruitflow/celery.py``): what its main process loads once, before
its pool forks, so no pool process spends its first task loading it."""

from __future__ import annotations

from tests.probes import python_json

PROBE = """
import json, sys
import django
django.setup()  # the worker's Django fixup does it first
from recruitflow.celery import app
from celery.signals import worker_init
from django.db import connections
from django.template import engines
from django.urls import get_resolver
from messaging.email_layout import LAYOUT_TEMPLATE

before = {
    "reverse_ready": bool(get_resolver()._populated),
    "twilio_api_loaded": "twilio.rest.api" in sys.modules,
}
app.loader.init_worker()  # the worker's main process: the task modules, then worker_init
worker_init.send(sender=None)
loaders = engines["django"].engine.template_loaders
print(json.dumps({
    "before": before,
    "reverse_ready": bool(get_resolver()._populated),
    "twilio_api_loaded": "twilio.rest.api" in sys.modules,
    "tasks_loaded": "messaging.tasks.message_deliver_batch" in app.tasks,
    "layout_compiled": any(
        LAYOUT_TEMPLATE in getattr(loader, "get_template_cache", {}) for loader in loaders
    ),
    "open_connections": [
        alias for alias in connections if connections[alias].connection is not None
    ],
}))
"""


def test_the_worker_loads_urls_sdk_modules_and_the_email_layout_before_forking():
    """A worker's first batch of texts and e-mails starts sending at once: the status callback
    URL is reversed without building the URLconf's lookups, Twilio's REST client without
    importing its API modules, the e-mail layout without compiling it; and the main process,
    whose memory its pool inherits, holds no database connection."""
    loaded = python_json(PROBE)
    assert loaded == {
        "before": {"reverse_ready": False, "twilio_api_loaded": True},
        "reverse_ready": True,
        "twilio_api_loaded": True,
        "tasks_loaded": True,
        "layout_compiled": True,
        "open_connections": [],
    }

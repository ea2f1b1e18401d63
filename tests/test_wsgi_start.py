"""The web process's start (``recruitflow/wsgi.py``, loaded once by gunicorn's master before it
forks its workers: ``preload_app`` in ``docker/gunicorn.conf.py``)."""

from __future__ import annotations

import os

from tests.probes import ROOT, python_json

PROBE = """
import json, sys
import recruitflow.wsgi
loaded_at_start = set(sys.modules)
from celery import current_app
from django.db import connections
from kombu.transport import TRANSPORT_ALIASES
from django.urls import get_resolver
resolver = get_resolver()
print(json.dumps({
    "urls_loaded": "recruitflow.urls" in sys.modules,
    "views_loaded": "candidates.webhooks" in sys.modules,
    "reverse_ready": bool(resolver._populated),
    "tasks_bound": current_app.finalized,
    "result_backend_loaded": type(current_app.backend).__module__ in loaded_at_start,
    "apply_task_known": "integrations.tasks.webhook_delivery_apply" in current_app.tasks,
    "broker_client_loaded": TRANSPORT_ALIASES[
        current_app.conf.broker_url.partition(":")[0]
    ].partition(":")[0] in sys.modules,
    "open_connections": [
        alias for alias in connections if connections[alias].connection is not None
    ],
}))
"""


def test_loading_the_app_loads_every_url_view_and_task_and_opens_no_connection():
    """A worker answers its first request without a second of imports first (the requests
    queued behind it would wait too): a webhook finds its apply task bound, and the task
    sender, the result backend and the broker's client loaded. The master that loads the app
    before forking holds no database connection its workers would share."""
    loaded = python_json(PROBE)
    assert loaded == {
        "urls_loaded": True,
        "views_loaded": True,
        "reverse_ready": True,
        "tasks_bound": True,
        "result_backend_loaded": True,
        "apply_task_known": True,
        "broker_client_loaded": True,
        "open_connections": [],
    }


def test_gunicorn_loads_the_app_before_forking_unless_told_not_to():
    settings = {}
    config = (ROOT / "docker/gunicorn.conf.py").read_text()
    exec(compile(config, "gunicorn.conf.py", "exec"), settings)  # noqa: S102
    assert settings["preload_app"] is True
    settings = {}
    os.environ["GUNICORN_PRELOAD"] = "0"
    try:
        exec(compile(config, "gunicorn.conf.py", "exec"), settings)  # noqa: S102
    finally:
        del os.environ["GUNICORN_PRELOAD"]
    assert settings["preload_app"] is False


FORK_PROBE = """
import gc, json, os, runpy
import recruitflow.wsgi
loaded = len(gc.get_objects())
settings = runpy.run_path("docker/gunicorn.conf.py")
settings["pre_fork"](None, None)
read, write = os.pipe()
child = os.fork()
if child == 0:
    # A worker: a full collection walks only what it made itself, the loaded app is not in it.
    os.close(read)
    garbage = [[n] for n in range(1000)]
    tracked = len(gc.get_objects())
    gc.collect()
    os.write(write, json.dumps({"tracked_in_worker": tracked}).encode())
    os._exit(0)
os.close(write)
worker = json.loads(os.read(read, 4096))
os.waitpid(child, 0)
print(json.dumps({"loaded": loaded, "frozen": gc.get_freeze_count(), **worker}))
"""


def test_a_worker_forked_by_gunicorn_leaves_the_loaded_app_out_of_its_collections():
    """The master moves what it loaded out of the collector's reach just before each fork: a
    worker's full collection walks only its own objects, not the whole app (a pause of a
    quarter second, and every shared page copied into the worker, when it did)."""
    seen = python_json(FORK_PROBE)
    assert seen["loaded"] > 100_000
    assert seen["frozen"] >= seen["loaded"]
    assert seen["tracked_in_worker"] < seen["loaded"] / 20

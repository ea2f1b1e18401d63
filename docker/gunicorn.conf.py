"""Gunicorn settings of the web process, used by the Dockerfile and by bench/pages.py.

Every value can be overridden by the environment (GUNICORN_*), e.g. on a bigger box.
How these defaults were chosen is written in docker/README.md.
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Workers are recycled now and then (with jitter, so not all at once) to bound slow leaks.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "500"))
# The app (Django, the URLconf and its views: recruitflow/wsgi.py) is loaded once by the master,
# before it forks: every worker, a recycled one too, starts ready to answer, and the workers
# share the loaded code's memory. It opens no database or cache connection, so no socket is
# shared between processes.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1").lower() in ("1", "true", "yes", "on")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None


def pre_fork(server, worker):
    """Just before the master forks a worker: move everything the master has loaded (the app,
    with ``preload_app``) out of the garbage collector's reach. A worker's full collection then
    walks only what the worker itself made: it walked the whole loaded app, 0.2–0.25 s in which
    that worker answered nothing (twice in a burst of 1,000 webhooks over four workers), and
    touched every shared page, copying it into the worker."""
    gc.freeze()

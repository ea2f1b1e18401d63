import os

from celery import Celery
from celery.signals import task_prerun, worker_init
from django.db import close_old_connections
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")

# The embedded broker writes each message file whole before a worker can see it.
TRANSPORT_ALIASES["filesystem"] = "recruitflow.broker:Transport"

app = Celery("recruitflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _database_connections_checked(task=None, **kwargs) -> None:
    """What Django does as each request starts, as each task starts: a connection that failed
    and no longer answers, or is older than ``CONN_MAX_AGE``, is closed, and one kept is
    health-checked before its first query (``CELERY_DB_REUSE_MAX`` keeps Celery from closing
    every connection around every task). Tasks run in process (eager) share the caller's."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()


@worker_init.connect
def _loaded_before_the_first_task(**kwargs) -> None:
    """What each worker process's first task would otherwise load, loaded once by the worker's
    main process before its pool forks (the pool's processes inherit it; Celery imported the
    task modules just before): the URLconf and its reverse lookups (status callback and e-mail
    links), and the e-mail layout template compiled. Nothing here opens a connection."""
    from django.template.loader import get_template
    from django.urls import get_resolver

    from messaging.email_layout import LAYOUT_TEMPLATE

    get_resolver().reverse_dict  # noqa: B018
    get_template(LAYOUT_TEMPLATE)

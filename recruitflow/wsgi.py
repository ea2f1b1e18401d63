import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from recruitflow.celery import app as celery_app

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")
application = get_wsgi_application()

# What a worker's first request would otherwise load, and the requests queued behind it wait
# for, is loaded here while the process starts: the URLconf, every view module it names and
# its reverse lookups (about a second of imports), the Celery app's task modules and tasks
# (found by name when a view queues a task), its task sender, its result backend (built for
# this thread, the one a sync worker serves requests on) and the broker's client library.
# Nothing here opens a connection, so gunicorn's preload (docker/gunicorn.conf.py) can do it
# once before forking the workers.
get_resolver().reverse_dict  # noqa: B018
celery_app.loader.import_default_modules()
celery_app.finalize()
celery_app.amqp.send_task_message  # noqa: B018
celery_app.backend  # noqa: B018
celery_app.connection_for_write().get_transport_cls()

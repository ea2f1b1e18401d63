import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")

# The embedded broker writes each message file whole before a worker can see it.
TRANSPORT_ALIASES["filesystem"] = "recruitflow.broker:Transport"

app = Celery("recruitflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

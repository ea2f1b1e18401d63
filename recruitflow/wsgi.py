import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")
application = get_wsgi_application()

# The URLconf, every view module it names and its reverse lookups are loaded here, while the
# process starts, not by its first request: that request would wait for them (about a second
# of imports), and so would the requests queued behind it. Nothing here opens a connection, so
# gunicorn's preload (docker/gunicorn.conf.py) can do it once before forking the workers.
get_resolver().reverse_dict  # noqa: B018

"""The product's URLs plus ``/_bench/floor/`` (a response with no database query and no
template) and ``/_bench/floor/webhook/`` (a POST answered once its body is read)."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from recruitflow.urls import handler403, handler404, handler500
from recruitflow.urls import urlpatterns as product

FLOOR_BODY = b"<!doctype html><title>floor</title><p>ok</p>"


def floor(request):
    return HttpResponse(FLOOR_BODY, content_type="text/html; charset=utf-8")


@csrf_exempt
@require_POST
def floor_webhook(request):
    """A POST answered after reading its body: what the same gunicorn and middleware cost a
    webhook when the endpoint itself costs nothing (``bench/webhooks.py --burst``'s floor)."""
    request.body  # noqa: B018
    return HttpResponse("OK")


urlpatterns = [
    path("_bench/floor/", floor),
    path("_bench/floor/webhook/", floor_webhook),
    *product,
]
__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]

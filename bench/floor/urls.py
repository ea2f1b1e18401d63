"""The product's URLs plus ``/_bench/floor/``: a response with no database query and no template."""

from django.http import HttpResponse
from django.urls import path

from recruitflow.urls import handler403, handler404, handler500
from recruitflow.urls import urlpatterns as product

FLOOR_BODY = b"<!doctype html><title>floor</title><p>ok</p>"


def floor(request):
    return HttpResponse(FLOOR_BODY, content_type="text/html; charset=utf-8")


urlpatterns = [path("_bench/floor/", floor), *product]
__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]

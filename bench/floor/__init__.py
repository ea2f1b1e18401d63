"""The pages benchmark's floor: the product's settings and URLs plus one view that touches
neither the database nor a template, so `bench/pages.py` can measure what the same gunicorn and
middleware serve when the page itself costs nothing. Used only by the benchmark (gunicorn is
started with ``DJANGO_SETTINGS_MODULE=bench.floor.settings``); the product never imports it."""

"""The benchmarks' floors: the product's settings and URLs plus a page that touches neither the
database nor a template, so `bench/pages.py` can measure what the same gunicorn and middleware
serve when the page itself costs nothing, and a POST that only reads its body, the webhook
burst's (`bench/webhooks.py --burst`). Used only by the benchmark (gunicorn is
started with ``DJANGO_SETTINGS_MODULE=bench.floor.settings``); the product never imports it."""

import threading

import pytest
from playwright.sync_api import expect

# What a user sees may take a few seconds to come on a CI machine that runs three test workers,
# their Celery workers, Postgres and a browser each on two cores: one request stalled past
# Playwright's 5 s default once. A page that never shows it still fails, after 15 s.
expect.set_options(timeout=15_000)


@pytest.fixture
def csp_violations(page):
    """Collects Content-Security-Policy violations reported by the browser."""
    violations = []

    def on_console(message):
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    return violations


@pytest.fixture(autouse=True)
def browser_errors(request):
    """Every browser test fails on a JavaScript error, a console error (a failed resource, a
    CSP violation) on any page it visited, in any tab of its context. A test that provokes one on
    purpose takes the list and empties it."""
    if "page" not in request.fixturenames:
        yield []
        return
    page = request.getfixturevalue("page")
    errors: list[str] = []

    def watch(tab):
        tab.on("pageerror", lambda exc: errors.append(f"{tab.url}: {exc}"))
        tab.on(
            "console",
            lambda message: (
                errors.append(f"{tab.url}: {message.text}") if message.type == "error" else None
            ),
        )

    watch(page)
    page.context.on("page", watch)
    yield errors
    assert not errors, "The browser reported errors:\n" + "\n".join(errors)


@pytest.fixture
def one_request_at_a_time(live_server):
    """Requests to the live server take turns. On SQLite the live server's threads share one
    in-memory connection, while the sandboxes call the site back (webhooks, delivery reports,
    replies) and its pages poll: no two requests may use the connection at once. A test that
    reads the database while the site is busy takes the same turn (the fixture's lock)."""
    httpd = live_server.thread.httpd
    app = httpd.get_app()
    lock = threading.Lock()

    def serial(environ, start_response):
        with lock:
            result = app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        return [body]

    httpd.set_app(serial)
    yield lock
    httpd.set_app(app)


@pytest.fixture
def celery_in_process(settings, monkeypatch):
    """Celery work (webhook processing, matching, steps, sends, replies, processing) runs
    eagerly inside the web request that queues it, so the browser sees its outcome; tasks sent
    by name are run in process too (Celery's eager mode does not apply to ``send_task``). The
    real-worker path is covered by the engine's and the worker drills' own tests."""
    from recruitflow.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    app.loader.import_default_modules()  # every app's tasks, as a worker would register them

    def send_task_in_process(name, args=None, kwargs=None, **options):
        return app.tasks[name].apply(args=args, kwargs=kwargs)

    monkeypatch.setattr(app, "send_task", send_task_in_process)
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous

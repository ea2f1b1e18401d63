import os
import shutil
from dataclasses import dataclass

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from the
# same thread are safe here because the live server runs in its own thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_MISSING = (
    f"Browser tests skipped: {CHROMIUM} not found. Install Debian's browser with "
    "`sudo apt-get install -y chromium` (never `playwright install`)."
)


def pytest_configure(config):
    # Under xdist each worker must take its tests in collection order, where pytest-django puts
    # the tests that flush the database (transactional) after those that read rows the
    # migrations wrote (the beat schedule). xdist would otherwise start the largest
    # xdist_group (the drills, which flush) first.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config, specs):
    """Under ``-n``: each worker its own broker keys, cache keys and broker folder, in its
    environment before its Django settings load (see tests/parallel.py)."""
    from tests.parallel import worker_environment

    for spec in specs:
        spec.env.update(worker_environment(spec.id))


# The longest tests (minutes each), started first under xdist so that the run does not wait on
# them at its end. All use the plain `django_db`, like the tests they overtake (pytest-django runs
# those before transactional ones).
LONGEST_FIRST = ("tests/test_outsider_walk.py::", "tests/test_api_schema.py::")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))
    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return
    skip = pytest.mark.skip(reason=CHROMIUM_MISSING)
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Tests never run collectstatic; hashed static names would 500 with DEBUG=0.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SECURE_SSL_REDIRECT = False
    # Throttle counters live in the cache; ids repeat across tests, so start each test clean
    # (this xdist worker's keys only).
    from tests.parallel import clear_cache

    clear_cache()
    # Hashing with the production hasher costs ~0.3 s per user; tests make hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _greenhouse_pacers_forgotten():
    """Greenhouse v1 pacers live per key for the process; the suite's fakes reuse addresses
    and keys, so each test starts with none (a window run out by the test before would
    otherwise hold this one's first call)."""
    from integrations.greenhouse.client import pacers_forget

    pacers_forget()


@pytest.fixture(autouse=True)
def _recent_webhook_jobs_forgotten():
    """The jobs webhooks described live per process for a minute; a test's database starts
    afresh (its organizations may even reuse an earlier test's ids)."""
    from candidates.services.webhook_events import recent_jobs_forget

    recent_jobs_forget()


@pytest.fixture(autouse=True)
def _intake_waiting_marks_of_this_test(monkeypatch):
    """The intake's waiting marks (``intake.queue_apply``) live a minute in the shared cache and
    name an organization by id; ids repeat from test to test on SQLite, and most tests leave
    their apply task unrun: each test has marks of its own."""
    import uuid

    from integrations import intake

    named = intake._waiting_mark
    own = uuid.uuid4().hex[:12]

    def waiting_mark(organization_id: int, provider: str) -> str | None:
        mark = named(organization_id, provider)
        return f"{mark}:{own}" if mark else None

    monkeypatch.setattr(intake, "_waiting_mark", waiting_mark)


@pytest.fixture(scope="session")
def _celery_baseline():
    """Celery's eager flags as the settings give them, read before any test overrides them
    (Celery reads Django's settings once, when its configuration is first touched: a test that
    sets ``CELERY_TASK_ALWAYS_EAGER`` before that would make eager the baseline for the rest of
    the worker's tests)."""
    from recruitflow.celery import app

    return app.conf.task_always_eager, app.conf.task_eager_propagates


@pytest.fixture(autouse=True)
def _celery_not_left_eager(_celery_baseline):
    """Every test starts and ends with Celery's eager flags at their baseline, whatever a test
    or fixture before it switched on and did not put back."""
    from recruitflow.celery import app

    app.conf.task_always_eager, app.conf.task_eager_propagates = _celery_baseline
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = _celery_baseline


@pytest.fixture(autouse=True)
def _provider_addresses_allow_loopback(settings):
    """The suite's fakes (sandbox servers, pytest-httpserver) listen on loopback at random
    ports: allow custom provider addresses and allow-list loopback, as `make run` allow-lists
    its sandbox. SSRF tests use ``strict_provider_addresses`` to take loopback off the list."""
    settings.PROVIDER_CUSTOM_URLS = True
    settings.PROVIDER_URL_ALLOWLIST = ["http://127.0.0.1:*", "http://localhost:*"]


@pytest.fixture
def strict_provider_addresses(settings):
    """Custom provider addresses allowed, but nothing allow-listed: loopback is refused."""
    settings.PROVIDER_CUSTOM_URLS = True
    settings.PROVIDER_URL_ALLOWLIST = []
    return settings


@pytest.fixture
def page_cache_on(settings):
    """Pages and API answers kept until a write (`recruitflow.page_cache`), as with Redis."""
    settings.PAGE_CACHE = True


@pytest.fixture
def page_cache_off(settings):
    """Every page and API answer rendered: what answering costs, not a kept answer."""
    settings.PAGE_CACHE = False


@pytest.fixture
def api_rate(settings):
    """Set the partner API's rate limit for the test (``api_rate("3/min")``), from an empty
    cache; the configured one is back afterwards."""
    from rest_framework.settings import api_settings

    from accounts.api_auth import OrganizationRateThrottle
    from tests.parallel import clear_cache

    configured = OrganizationRateThrottle.THROTTLE_RATES

    def set_rate(rate: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"organization": rate},
        }
        api_settings.reload()
        OrganizationRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        clear_cache()

    yield set_rate
    OrganizationRateThrottle.THROTTLE_RATES = configured
    clear_cache()


@dataclass
class Persona:
    user: object
    organization: object
    membership: object


@pytest.fixture
def alice(db):
    """Owner of Acme."""
    from tests.factories import make_org_with_owner

    org, user, membership = make_org_with_owner(name="Acme Talent", email="alice@acme.test")
    return Persona(user, org, membership)


@pytest.fixture
def bob(alice):
    """A recruiter in Alice's organization."""
    from tests.factories import add_member

    membership = add_member(organization=alice.organization, email="bob@acme.test")
    return Persona(membership.user, alice.organization, membership)


@pytest.fixture
def mallory(db):
    """Owner of another organization: an outsider to Acme."""
    from tests.factories import make_org_with_owner

    org, user, membership = make_org_with_owner(
        name="Mallory Staffing", email="mallory@evil.test", first_name="Mallory"
    )
    return Persona(user, org, membership)


@pytest.fixture
def client_for(client):
    def login(persona):
        client.force_login(persona.user)
        return client

    return login

import pytest

from candidates.models import Candidate
from integrations import tasks as intake_tasks
from integrations.sandbox.server import SandboxServer
from integrations.twilio.models import TwilioSettings
from integrations.twilio.sandbox import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, SANDBOX_SERVICE_SID
from messaging.tasks import message_deliver
from recruitflow.tenancy import tenant_scope

LONDON_MOBILE = "+447700900123"
NEW_YORK_MOBILE = "+12125550123"
# Nothing listens on the discard port: callbacks are refused at once but the sandbox still
# records what it would have posted, which the tests replay through the parsers.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=10) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_sandbox(sandbox, settings):
    sandbox.twilio.reset()
    sandbox.twilio.configure(sent_delay=0.01, delivery_delay=0.02, inbound_url=NOWHERE + "/in")
    settings.PUBLIC_BASE_URL = NOWHERE
    settings.SANDBOX_URL = ""
    settings.SANDBOX_SHORTCUTS = True  # as in development (DEBUG): the sandbox tests' setting
    settings.MESSAGING_PROVIDER_MAX_ATTEMPTS = 1
    yield
    sandbox.twilio.wait_idle(2)


@pytest.fixture
def org(alice):
    return alice.organization


@pytest.fixture
def twilio_settings(org, sandbox):
    with tenant_scope(org):
        return TwilioSettings.objects.create(
            organization=org,
            account_sid=SANDBOX_ACCOUNT_SID,
            auth_token=SANDBOX_AUTH_TOKEN,
            messaging_service_sid=SANDBOX_SERVICE_SID,
            base_url=f"{sandbox.url}/twilio",
        )


@pytest.fixture
def make_candidate(org):
    counter = iter(range(1, 1000))

    def make(*, mobile_phone=LONDON_MOBILE, email="sam@example.com", organization=None, **kw):
        organization = organization or org
        with tenant_scope(organization):
            return Candidate.objects.create(
                organization=organization,
                provider="greenhouse",
                external_id=f"c{next(counter)}",
                first_name="Sam",
                last_name="Okafor",
                mobile_phone=mobile_phone,
                primary_email=email,
                **kw,
            )

    return make


@pytest.fixture
def candidate(make_candidate):
    return make_candidate()


@pytest.fixture
def scoped(org):
    with tenant_scope(org):
        yield org


@pytest.fixture(autouse=True)
def _midday(time_machine):
    """Daytime in London and New York, so only the quiet-hours tests meet quiet hours."""
    from datetime import UTC, datetime

    time_machine.move_to(datetime(2025, 1, 15, 15, 0, tzinfo=UTC), tick=True)


@pytest.fixture
def callbacks_commit(client, django_capture_on_commit_callbacks, monkeypatch):
    """Callbacks posted with the test client arrive as a provider's do: each request commits
    (the callback views run outside a transaction), so what follows the commit (queueing the
    webhook intake's apply task, applying the callback inline) happens before the answer. No
    worker runs here: the inline apply is what applies them."""
    post = client.post

    def committed_post(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return post(*args, **kwargs)

    monkeypatch.setattr(client, "post", committed_post)
    monkeypatch.setattr(intake_tasks.webhook_delivery_apply, "delay", lambda *args: None)
    return client


@pytest.fixture
def requeued(monkeypatch) -> list:
    """The single-message tasks a batch queues again, as (args, countdown, options)."""
    queued: list = []
    monkeypatch.setattr(
        message_deliver,
        "apply_async",
        lambda args, countdown, **options: queued.append((args, countdown, options)),
    )
    return queued

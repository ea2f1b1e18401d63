"""Partner webhooks end to end over a socket: events read from committed domain rows, signed by
Standard Webhooks, retried until the receiver is back (in order where asked), refused for
loopback/private addresses, both secrets signing during a rotation."""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.models import Role
from candidates import services as candidate_services
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.server import SandboxServer
from partners import delivery, services, snippets, transport
from partners.models import Delivery, DeliveryStatus, Event, Subscription
from recruitflow.tenancy import scopes_disabled, tenant_scope
from tests.factories import add_member
from tests.partners.conftest import collect, send_due
from tests.partners.receiver import Receiver

pytestmark = pytest.mark.django_db


def verify(secret: str, received) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=12, webhook_retry_scale=0) as server:
        yield server


def test_stage_change_in_sandbox_greenhouse_is_delivered_with_a_verifiable_signature(
    alice, sandbox, receiver, subscribe
):
    sandbox.greenhouse.reset()
    org = alice.organization
    with tenant_scope(org):
        GreenhouseConnection.objects.create(
            organization=org,
            base_url=f"{sandbox.url}/greenhouse",
            api_version="v1",
            api_key="sandbox-harvest-key",
            status=ConnectionStatus.CONNECTED,
        )
        first = candidate_services.sync_request(organization=org, enqueue=False)
        assert candidate_services.sync_execute(sync_run=first).status == "succeeded"
    subscription = subscribe(["candidate.stage_changed"])

    co = sandbox.greenhouse.co
    app = min((a for a in co.applications.values() if a["status"] == "active"),
              key=lambda a: a["id"])  # fmt: skip
    to_stage = next(s for s in co.job(app["job_id"])["stage_ids"] if s != app["stage_id"])
    sandbox.greenhouse.move_application(app["id"], to_stage)
    with tenant_scope(org):
        poll = candidate_services.sync_request(organization=org, enqueue=False)
        candidate_services.sync_execute(sync_run=poll)
    collect(org)
    send_due()

    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    payload = verify(subscription.secret, got)
    assert payload["type"] == "candidate.stage_changed"
    assert payload["data"]["application"]["external_id"] == str(app["id"])
    assert payload["data"]["to_stage"] != payload["data"]["from_stage"]
    assert got.headers["webhook-id"].startswith("evt_")
    with pytest.raises(WebhookVerificationError):
        Webhook(services.new_secret()).verify(got.body, got.headers)
    with tenant_scope(org):
        sent = Delivery.objects.get()
        attempt = sent.attempt_log.get()
    assert sent.status == DeliveryStatus.DELIVERED and sent.attempts == 1
    assert attempt.response_status == 204 and attempt.request_headers["webhook-id"]


def test_receiver_down_for_a_while_gets_every_event_in_order_after_it_returns(
    alice, ats, receiver, subscribe, settings
):
    ordered = subscribe(["candidate.stage_changed"], ordered=True)
    org = alice.organization
    candidate = ats.candidate()
    application = ats.apply(candidate, stage="Application Review")
    receiver.stop()  # the receiver is down
    stages = ["Phone Interview", "Onsite Interview", "Offer", "Phone Interview", "Offer"]
    for stage in stages:
        ats.move(application, stage)
    collect(org)
    send_due()
    with tenant_scope(org):
        waiting = list(Delivery.objects.order_by("pk"))
    assert len(waiting) == 5
    # In order: only the first was tried; the later ones wait behind it.
    assert [d.attempts for d in waiting] == [1, 0, 0, 0, 0]
    assert waiting[0].status == DeliveryStatus.PENDING and "connect" in waiting[0].last_error

    receiver.start()  # back on the same port
    with scopes_disabled():  # the retry's time comes
        Delivery.unscoped.filter(attempts__gt=0).update(next_attempt_at=timezone.now())
    send_due()

    bodies = [json.loads(r.body) for r in receiver.delivered()]
    assert [b["data"]["to_stage"] for b in bodies] == stages
    for r in receiver.delivered():
        verify(ordered.secret, r)
    with tenant_scope(org):
        assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_unordered_subscription_delivers_later_events_while_an_earlier_one_waits(
    alice, ats, receiver, subscribe, settings
):
    settings.PARTNER_WEBHOOK_RETRY_BASE_SECONDS = 3600
    subscribe(["candidate.stage_changed"])
    candidate = ats.candidate()
    application = ats.apply(candidate, stage="Application Review")
    receiver.status = 503
    ats.move(application, "Phone Interview")
    collect(alice.organization)
    send_due()
    receiver.status = 204
    ats.move(application, "Offer")
    collect(alice.organization)
    send_due()

    assert [json.loads(r.body)["data"]["to_stage"] for r in receiver.delivered()] == ["Offer"]
    with tenant_scope(alice.organization):
        first = Delivery.objects.order_by("pk").first()
    assert first.retrying and first.last_status_code == 503
    # Backoff: about an hour (equal jitter: between half and all of base·2^0).
    wait = (first.next_attempt_at - timezone.now()).total_seconds()
    assert 1700 < wait <= 3600


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:192.168.0.1]/hook",
        "https://localhost/hook",
        "http://example.com/hook",
    ],
)
def test_loopback_private_metadata_and_plain_http_urls_are_refused_at_save(alice, settings, url):
    settings.PARTNER_WEBHOOK_HTTP_HOSTS = []
    with tenant_scope(alice.organization), pytest.raises(ValidationError) as refused:
        services.subscription_create(
            organization=alice.organization, url=url, event_types=["message.sent"]
        )
    assert "url" in refused.value.message_dict
    with tenant_scope(alice.organization):
        assert not Subscription.objects.exists()


def test_host_that_resolves_to_a_private_address_at_send_is_refused_and_nothing_is_sent(
    alice, ats, receiver, settings, monkeypatch
):
    """DNS rebinding: public when saved, loopback when sent. The connection is never made."""
    real = socket.getaddrinfo
    answers = {"hooks.partner.test": "93.184.216.34"}

    def fake(host, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    settings.PARTNER_WEBHOOK_HTTP_HOSTS = []
    org = alice.organization
    with tenant_scope(org):
        subscription = services.subscription_create(
            organization=org,
            url=f"https://hooks.partner.test:{receiver.port}/hook",
            event_types=["candidate.stage_changed"],
        )
        services.cursors_start(organization=org)
    answers["hooks.partner.test"] = "127.0.0.1"  # the name now points at this server
    ats.move(ats.apply(ats.candidate()), "Offer")
    collect(org)
    send_due()

    assert receiver.requests == []
    with tenant_scope(org):
        attempt = Delivery.objects.get(subscription=subscription).attempt_log.get()
    assert attempt.response_status is None
    assert attempt.error.startswith("Refused") and "loopback" in attempt.error


def test_host_that_changes_its_address_between_the_check_and_the_connection_is_refused(
    alice, ats, receiver, settings, monkeypatch
):
    """DNS rebinding within one send: the name resolves to a public address when the URL is
    checked, then to loopback. The address connected to is resolved and checked again at
    connect time, so the loopback receiver is never reached."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, *args, **kwargs):
        if host != "rebind.partner.test":
            return real(host, *args, **kwargs)
        lookups.append(host)
        address = "93.184.216.34" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    settings.PARTNER_WEBHOOK_HTTP_HOSTS = []
    org = alice.organization
    with tenant_scope(org):
        subscription = services.subscription_create(
            organization=org,
            url=f"https://rebind.partner.test:{receiver.port}/hook",
            event_types=["candidate.stage_changed"],
        )
        services.cursors_start(organization=org)
    ats.move(ats.apply(ats.candidate()), "Offer")
    collect(org)
    lookups.clear()  # saved; at the send the first answer is public again, then loopback
    send_due()

    assert len(lookups) >= 2  # checked, then resolved again to connect
    assert receiver.requests == []
    with tenant_scope(org):
        attempt = Delivery.objects.get(subscription=subscription).attempt_log.get()
    assert attempt.response_status is None
    assert attempt.error.startswith("Refused") and "loopback" in attempt.error


def test_no_event_for_a_change_that_rolled_back(alice, ats, receiver, subscribe):
    subscribe(["candidate.stage_changed"])
    application = ats.apply(ats.candidate())
    with pytest.raises(RuntimeError), transaction.atomic():
        ats.move(application, "Offer")
        raise RuntimeError("the sync failed after writing the transition")
    ats.move(application, "Onsite Interview")
    collect(alice.organization)
    send_due()

    stages = [json.loads(r.body)["data"]["to_stage"] for r in receiver.delivered()]
    assert stages == ["Onsite Interview"]


def test_collecting_twice_makes_one_event_and_one_delivery(alice, ats, receiver, subscribe):
    subscribe(["candidate.stage_changed"])
    ats.move(ats.apply(ats.candidate()), "Offer")
    first = collect(alice.organization)
    second = collect(alice.organization)
    send_due()
    assert (first.events, second.events) == (1, 0)
    assert len(receiver.requests) == 1


def test_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new_one(
    alice, ats, receiver, subscribe
):
    subscription = subscribe(["candidate.stage_changed"])
    old_secret = subscription.secret
    with tenant_scope(alice.organization):
        rotation = services.subscription_rotate_secret(subscription=subscription)
    application = ats.apply(ats.candidate())
    ats.move(application, "Offer")
    collect(alice.organization)
    send_due()
    during = receiver.requests[-1]
    assert verify(old_secret, during)["type"] == "candidate.stage_changed"
    assert verify(rotation.secret, during)["type"] == "candidate.stage_changed"
    assert len(during.headers["webhook-signature"].split(" ")) == 2

    with scopes_disabled():
        Subscription.unscoped.filter(pk=subscription.pk).update(
            previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
        )
    ats.move(application, "Onsite Interview")
    collect(alice.organization)
    send_due()
    after = receiver.requests[-1]
    assert verify(rotation.secret, after)["data"]["to_stage"] == "Onsite Interview"
    with pytest.raises(WebhookVerificationError):
        verify(old_secret, after)


def test_failure_clock_starts_at_the_first_failure_and_a_success_stops_it(
    alice, ats, receiver, subscribe
):
    subscription = subscribe(["candidate.stage_changed"])
    receiver.status = 500
    application = ats.apply(ats.candidate())
    ats.move(application, "Offer")
    collect(alice.organization)
    send_due()
    subscription.refresh_from_db()
    assert subscription.enabled and subscription.failing_since is not None
    assert mail.outbox == []  # failing for seconds, not 3 days

    receiver.status = 204
    ats.move(application, "Onsite Interview")
    collect(alice.organization)
    send_due()
    subscription.refresh_from_db()
    assert subscription.enabled and subscription.failing_since is None


def test_subscription_failing_for_3_days_is_switched_off_and_admins_are_emailed(
    alice, bob, ats, receiver, subscribe
):
    admin = add_member(organization=alice.organization, email="ada@acme.test", role=Role.ADMIN)
    subscription = subscribe(["candidate.stage_changed"])
    receiver.status = 500
    with scopes_disabled():
        Subscription.unscoped.filter(pk=subscription.pk).update(
            failing_since=timezone.now() - timedelta(days=3, minutes=1)
        )
    ats.move(ats.apply(ats.candidate()), "Offer")
    collect(alice.organization)
    send_due()

    subscription.refresh_from_db()
    assert not subscription.enabled and "3 days" in subscription.disabled_reason
    # Owners and admins, not the recruiter (bob).
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted([alice.user.email, admin.user.email])
    assert subscription.url in mail.outbox[0].body
    # Switched off, it is sent nothing more.
    ats.move(ats.apply(ats.candidate()), "Onsite Interview")
    collect(alice.organization)
    before = len(receiver.requests)
    send_due()
    assert len(receiver.requests) == before


def test_delivery_older_than_its_retry_window_is_given_up_after_its_last_failure(
    alice, ats, receiver, subscribe
):
    subscribe(["candidate.stage_changed"])
    receiver.status = 502
    ats.move(ats.apply(ats.candidate()), "Offer")
    collect(alice.organization)
    with scopes_disabled():
        Delivery.unscoped.update(window_started_at=timezone.now() - timedelta(days=3))
    send_due()
    with tenant_scope(alice.organization):
        given_up = Delivery.objects.get()
    assert given_up.status == DeliveryStatus.FAILED and given_up.last_status_code == 502


def test_response_body_is_read_only_up_to_64_kb(alice, ats, receiver, subscribe):
    subscribe(["candidate.stage_changed"])
    receiver.status = 200
    receiver.answer = b"x" * (200 * 1024)
    ats.move(ats.apply(ats.candidate()), "Offer")
    collect(alice.organization)
    send_due()
    with tenant_scope(alice.organization):
        attempt = Delivery.objects.get().attempt_log.get()
    assert attempt.response_status == 200 and len(attempt.response_body) == 64 * 1024


@pytest.mark.parametrize("status", [302, 307, 308])
def test_redirect_is_not_followed_and_counts_as_a_failure(alice, ats, receiver, subscribe, status):
    subscribe(["candidate.stage_changed"])
    with Receiver() as elsewhere:
        receiver.status = status
        receiver.headers = {"Location": elsewhere.url}
        ats.move(ats.apply(ats.candidate()), "Offer")
        collect(alice.organization)
        send_due()
        assert elsewhere.requests == []  # the address it pointed to was never asked
    with tenant_scope(alice.organization):
        sent = Delivery.objects.get()
    assert sent.retrying and "redirect" in sent.last_error
    assert len(receiver.requests) == 1


def test_claimed_delivery_whose_worker_died_is_sent_again_when_its_lease_runs_out(
    alice, ats, receiver, subscribe
):
    subscribe(["candidate.stage_changed"])
    ats.move(ats.apply(ats.candidate()), "Offer")
    collect(alice.organization)
    claimed = delivery.deliveries_claim()
    assert len(claimed) == 1 and delivery.deliveries_claim() == []  # leased
    later = timezone.now() + delivery.LEASE + timedelta(seconds=1)
    assert delivery.deliveries_claim(now=later) == claimed  # the worker died: claimed again
    delivery.delivery_send(delivery_id=claimed[0])
    assert len(receiver.delivered()) == 1


def test_events_of_another_organization_never_reach_a_subscription(
    alice, mallory, ats, receiver, subscribe
):
    subscribe(["candidate.stage_changed"], organization=mallory.organization)
    ats.move(ats.apply(ats.candidate()), "Offer")
    collect(alice.organization)
    collect(mallory.organization)
    send_due()
    assert receiver.requests == []
    with scopes_disabled():
        assert not Event.unscoped.filter(organization=mallory.organization).exists()


def test_receiver_that_does_not_answer_in_time_is_retried_later(
    alice, ats, receiver, subscribe, monkeypatch
):
    assert transport.TIMEOUT_SECONDS == 10
    monkeypatch.setattr(transport, "TIMEOUT_SECONDS", 0.5)  # 10 s, shortened for the test
    subscribe(["candidate.stage_changed"])
    receiver.delay = 2
    ats.move(ats.apply(ats.candidate()), "Offer")
    collect(alice.organization)
    started = time.monotonic()
    send_due()
    assert time.monotonic() - started < 1.9  # it did not wait for the answer
    with tenant_scope(alice.organization):
        waiting = Delivery.objects.get()
        attempt = waiting.attempt_log.get()
    assert waiting.retrying and waiting.next_attempt_at > timezone.now()
    assert attempt.response_status is None and attempt.error == "No answer within 0.5 s."


def test_python_snippet_of_the_settings_page_accepts_a_delivery_and_refuses_a_forgery(
    alice, ats, receiver, subscribe, monkeypatch
):
    subscription = subscribe(["candidate.stage_changed"])
    ats.move(ats.apply(ats.candidate()), "Offer")
    collect(alice.organization)
    send_due()
    [got] = receiver.delivered()
    monkeypatch.setenv("RECRUITFLOW_WEBHOOK_SECRET", subscription.secret)
    handled = []
    namespace = {
        "HttpResponse": lambda status: status,
        "handle": lambda *args: handled.append(args),
    }
    exec(snippets.PYTHON, namespace)  # noqa: S102 - the page's own snippet, run as shown

    def request(body: bytes):
        return SimpleNamespace(body=body, headers=got.headers)

    assert namespace["receive"](request(got.body)) == 204
    assert handled[0][0] == got.headers["webhook-id"] and handled[0][1] == "candidate.stage_changed"
    assert namespace["receive"](request(got.body.replace(b"Offer", b"Hired"))) == 400
    assert len(handled) == 1

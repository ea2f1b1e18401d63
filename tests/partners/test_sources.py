"""Every event type is read from the row its domain commits: messages and their delivery
history, opt-outs, timeline entries of journeys and scheduling, finished journey runs, failed
syncs, ATS writes written or given up, and connections that need attention — each once."""

from __future__ import annotations

import functools
import json
from datetime import timedelta

import jsonschema
import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from candidates.models import StageTransition, SyncRun, TimelineEvent
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from journeys import services as journey_services
from journeys import timeline_kinds as journey_kinds
from journeys.models import JourneyRun, RunStatus
from messaging.models import Message, MessageEvent, OptOutEntry
from partners import collector, event_types, retention, services
from partners.models import Delivery, DeliveryAttempt, Event
from recruitflow.tenancy import scopes_disabled, tenant_scope
from scheduling import timeline_kinds as scheduling_kinds
from tests.partners.conftest import collect, send_due
from writeback import services as writeback_services
from writeback.models import ActivityWrite, WriteStatus

pytestmark = pytest.mark.django_db

ALL = [t.name for t in event_types.all_types() if t.name != event_types.TEST_EVENT]


@functools.cache
def documented_payloads() -> dict[str, jsonschema.Draft202012Validator]:
    """The payload schema of each event type, as the OpenAPI schema's `webhooks` document it."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        name: jsonschema.Draft202012Validator(
            item["post"]["requestBody"]["content"]["application/json"]["schema"]
        )
        for name, item in schema["webhooks"].items()
    }


def received(receiver) -> list[dict]:
    """The bodies delivered, each checked against the payload the schema documents for it."""
    bodies = [json.loads(r.body) for r in receiver.delivered()]
    for body in bodies:
        documented_payloads()[body["type"]].validate(body)
    return bodies


def by_type(receiver) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for body in received(receiver):
        out.setdefault(body["type"], []).append(body["data"])
    return out


def test_message_history_gives_sent_delivered_failed_and_received_once_per_message(
    alice, ats, receiver, subscribe
):
    subscribe(ALL)
    org = alice.organization
    candidate = ats.candidate()
    now = timezone.now()
    with tenant_scope(org):
        out = Message.objects.create(organization=org, candidate=candidate, channel="sms",
                                     direction="outbound", to_address="+12125550123",
                                     body="Hi Sam", status="delivered")  # fmt: skip
        bounced = Message.objects.create(organization=org, candidate=candidate, channel="email",
                                         direction="outbound", to_address="sam@example.com",
                                         subject="Interview", status="failed")  # fmt: skip
        reply = Message.objects.create(organization=org, candidate=candidate, channel="sms",
                                       direction="inbound", to_address="+15555550100",
                                       from_address="+12125550123", body="Thursday works",
                                       status="received")  # fmt: skip
        for message, status in [(out, "sent"), (out, "sent"), (out, "delivered"),
                                (bounced, "bounced"), (reply, "received"), (out, "queued")]:  # fmt: skip
            MessageEvent.objects.create(organization=org, message=message, status=status,
                                        occurred_at=now, error_code="550" if status == "bounced" else "")  # fmt: skip
    collect(org)
    send_due()
    got = by_type(receiver)
    assert [d["message"]["id"] for d in got["message.sent"]] == [out.pk]
    assert [d["message"]["id"] for d in got["message.delivered"]] == [out.pk]
    assert got["message.failed"][0]["error_code"] == "550"
    assert got["message.received"][0]["message"]["body"] == "Thursday works"
    assert got["message.received"][0]["candidate"]["first_name"] == "Sam"


def test_opt_out_and_back_in_are_two_events(alice, receiver, subscribe):
    subscribe(["opt_out.changed"])
    org = alice.organization
    with tenant_scope(org):
        for locked, action in [(True, "lock"), (False, "unlock")]:
            OptOutEntry.objects.create(organization=org, phone="+12125550123", locked=locked,
                                       action=action, source="keyword", keyword="STOP")  # fmt: skip
    collect(org)
    send_due()
    changes = by_type(receiver)["opt_out.changed"]
    assert [(c["address"], c["opted_out"]) for c in changes] == [
        ("+12125550123", True),
        ("+12125550123", False),
    ]
    assert changes[0]["channel"] == "sms"


def test_journey_start_and_finish_with_exit_reason_and_scheduling_timeline(
    alice, ats, receiver, subscribe
):
    subscribe(ALL)
    org = alice.organization
    application = ats.apply(ats.candidate(), stage="Application Review")
    transition = ats.move(application, "Onsite Interview")
    with tenant_scope(org):
        journey = journey_services.journey_create(organization=org, name="Onsite invitation")
        run = JourneyRun.objects.create(organization=org, journey=journey,
                                        version=journey.current_version, transition=transition,
                                        application=application,
                                        candidate=application.candidate,
                                        started_at=timezone.now())  # fmt: skip
        common = {"organization": org, "candidate": application.candidate,
                  "application": application, "occurred_at": timezone.now()}  # fmt: skip
        TimelineEvent.objects.create(kind=journey_kinds.JOURNEY_ENTERED, summary="Entered",
                                     data={"journey_id": journey.pk, "journey": journey.name,
                                           "run_id": run.pk, "version": 1,
                                           "trigger": "entered_stage"}, **common)  # fmt: skip
        TimelineEvent.objects.create(kind=journey_kinds.BOOKED, summary="Booked Onsite",
                                     data={"booking_id": 5, "request_id": 9,
                                           "start": "2026-03-05T15:00:00+00:00"}, **common)  # fmt: skip
        TimelineEvent.objects.create(kind=scheduling_kinds.SCHEDULING_REQUEST_EXPIRED,
                                     summary="Expired", data={"request_id": 10}, **common)  # fmt: skip
        TimelineEvent.objects.create(kind="message_held", summary="Held", **common)
    collect(org)
    with tenant_scope(org):
        JourneyRun.objects.filter(pk=run.pk).update(
            status=RunStatus.EXITED, reason="the candidate replied", exit_rule="replied",
            finished_at=timezone.now(),
        )  # fmt: skip
    collect(org)
    send_due()

    got = by_type(receiver)
    assert got["journey.run_started"][0]["run_id"] == run.pk
    finished = got["journey.run_finished"][0]
    assert finished["exit_reason"] == "the candidate replied" and finished["status"] == "exited"
    assert got["booking.created"][0]["booking"]["id"] == 5
    assert got["scheduling_request.expired"][0]["scheduling_request"]["id"] == 10
    assert got["candidate.stage_changed"][0]["to_stage"] == "Onsite Interview"
    assert "message_held" not in json.dumps(got)


def test_failed_sync_and_connection_needing_attention_are_events_once(alice, receiver, subscribe):
    subscribe(["sync.failed", "connection.needs_attention"])
    org = alice.organization
    with tenant_scope(org):
        connection = GreenhouseConnection.objects.create(
            organization=org, base_url="https://harvest.greenhouse.io", api_key="k",
            status=ConnectionStatus.CONNECTED,
        )  # fmt: skip
    collect(org)
    now = timezone.now()
    with tenant_scope(org):
        SyncRun.objects.create(organization=org, provider="greenhouse", kind="incremental",
                               status="failed", started_at=now, finished_at=now,
                               error="The ATS rejected the credentials (401).")  # fmt: skip
        connection.status = ConnectionStatus.ERROR
        connection.last_error = "The ATS rejected the credentials (401)."
        connection.save()
    collect(org)
    with tenant_scope(org):
        connection.last_checked_at = timezone.now()  # saved again, still failing
        connection.save()
    collect(org)
    send_due()
    got = by_type(receiver)
    assert got["sync.failed"][0]["error"].endswith("(401).")
    assert len(got["connection.needs_attention"]) == 1
    attention = got["connection.needs_attention"][0]
    assert attention["connection"]["kind"] == "ats" and attention["connection"]["id"]


def test_row_committed_late_below_the_cursor_is_still_read_within_the_settle_window(
    alice, ats, receiver, subscribe
):
    """A transaction that took its id early but committed after a later one was read."""
    subscribe(["candidate.stage_changed"])
    org = alice.organization
    application = ats.apply(ats.candidate())
    early = ats.move(application, "Offer")
    late = ats.move(application, "Onsite Interview")
    with scopes_disabled():
        StageTransition.unscoped.filter(pk=early.pk).delete()  # not committed yet
    collect(org)
    with scopes_disabled():
        early.save(force_insert=True)  # now it commits, with its early id
    collect(org)
    send_due()
    stages = [d["to_stage"] for d in by_type(receiver)["candidate.stage_changed"]]
    assert stages == ["Onsite Interview", "Offer"] and late.pk > early.pk


def test_log_older_than_30_days_is_purged(alice, subscribe, receiver):
    subscription = subscribe(["message.sent"])
    with tenant_scope(alice.organization):
        services.test_event_send(subscription=subscription)
    send_due()
    old = timezone.now() - timedelta(days=31)
    with scopes_disabled():
        Event.unscoped.update(created_at=old)
        Delivery.unscoped.update(created_at=old)
        DeliveryAttempt.unscoped.update(started_at=old)
    assert retention.purge_old() == 3
    with scopes_disabled():
        assert not Event.unscoped.exists() and not DeliveryAttempt.unscoped.exists()


def test_collector_starts_at_the_present_so_history_is_not_sent(alice, ats, receiver):
    ats.move(ats.apply(ats.candidate()), "Offer")  # before any subscription

    with tenant_scope(alice.organization):
        services.subscription_create(organization=alice.organization, url=receiver.url,
                                     event_types=["candidate.stage_changed"])  # fmt: skip
    services.cursors_start(organization=alice.organization)
    collect(alice.organization)
    send_due()
    assert receiver.requests == []
    assert collector.settle_window() == timedelta(seconds=60)


def test_ats_writes_written_and_given_up_are_events_once_each(alice, ats, receiver, subscribe):
    subscribe(["activity.written", "activity.failed"])
    org = alice.organization
    candidate = ats.candidate()
    with tenant_scope(org):
        email, note, paused = (
            ActivityWrite.objects.create(
                organization=org,
                candidate=candidate,
                kind=kind,
                dedupe_key=f"{kind}:1",
                marker=f"rf-{kind}",
                subject=subject,
                body="…",
                occurred_at=timezone.now(),
            )  # fmt: skip
            for kind, subject in [
                ("email", "Phone screen on Thursday"),
                ("reply", ""),
                ("booking", ""),
            ]  # fmt: skip
        )
    collect(org)  # waiting in the outbox: nothing yet
    with tenant_scope(org):
        # What the write-back worker records for each outcome.
        ActivityWrite.objects.filter(pk=email.pk).update(
            status=WriteStatus.WRITTEN, external_id="3318827", written_at=timezone.now(),
            attempts=1,
        )  # fmt: skip
        ActivityWrite.objects.filter(pk=note.pk).update(
            status=WriteStatus.FAILED, attempts=1,
            reason="the ATS refused it: the acting user may not add notes",
        )  # fmt: skip
        ActivityWrite.objects.filter(pk=paused.pk).update(status=WriteStatus.PAUSED)
    collect(org)
    with tenant_scope(org):  # a team member retries the failed one; it fails again
        writeback_services.write_retry(organization=org, write_id=note.pk)
        ActivityWrite.objects.filter(pk=note.pk).update(
            status=WriteStatus.FAILED, attempts=1, reason="refused again"
        )
    collect(org)
    send_due()

    got = by_type(receiver)
    assert sorted(got) == ["activity.failed", "activity.written"]
    [written] = got["activity.written"]
    assert written["activity"] == {
        "id": email.pk, "kind": "email", "subject": "Phone screen on Thursday",
        "external_id": "3318827",
    }  # fmt: skip
    assert written["candidate"]["id"] == candidate.pk and written["written_at"]
    [failed] = got["activity.failed"]  # once per write, not once per retry
    assert failed["activity"]["id"] == note.pk and "may not add notes" in failed["reason"]

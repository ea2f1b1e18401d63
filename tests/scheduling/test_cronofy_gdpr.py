"""Cronofy's ``gdpr_requested`` notification: the calendar account's owner asked Cronofy to
delete their data, so RecruitFlow forgets what it holds of that account (tokens, channel, the
account's and calendar's ids, names and address), over the real webhook endpoint and intake,
with a connection made through the sandbox Cronofy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations import tasks as intake_tasks
from integrations.calendars import CalendarErasureRequested
from integrations.cronofy.models import CalendarConnection, CalendarConnectionStatus
from integrations.cronofy.webhooks import parse_stored
from integrations.models import WebhookDelivery
from recruitflow.tenancy import tenant_scope
from scheduling.calendars import calendar_statuses
from tests.scheduling import test_cronofy_push as push

ANA, BEN = push.ANA, push.BEN
# The sandbox Cronofy and a member's connection through it, as the push tests make them.
sandbox, _fresh_cronofy = push.sandbox, push._fresh_cronofy
cronofy_settings, connect = push.cronofy_settings, push.connect
notification_body, _post_notification = push.notification_body, push._post_notification


def test_a_gdpr_request_is_read_as_an_erasure_request_of_its_channel():
    records = parse_stored(
        notification_body("chn_morgan", kind="gdpr_requested").decode(),
        url="https://recruitflow.example/webhooks/cronofy/t/",
        received_at=datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert records == [CalendarErasureRequested(channel_id="chn_morgan")]


@pytest.mark.django_db
def test_a_gdpr_request_forgets_that_calendar_account_and_only_that_one(
    client, sched_org, interviewers, connect, monkeypatch, django_capture_on_commit_callbacks
):
    task = intake_tasks.webhook_delivery_apply
    monkeypatch.setattr(task, "delay", lambda *args: task(*args))
    morgan, sam = interviewers
    erased = connect(morgan, ANA)
    kept = connect(sam, BEN)
    with tenant_scope(sched_org):
        CalendarConnection.objects.filter(pk=erased.pk).update(channel_id="chn_morgan")
        CalendarConnection.objects.filter(pk=kept.pk).update(channel_id="chn_sam")
    assert erased.refresh_token and erased.email == ANA

    with django_capture_on_commit_callbacks(execute=True):
        response = _post_notification(
            client, sched_org, notification_body("chn_morgan", kind="gdpr_requested")
        )

    assert response.status_code == 200
    with tenant_scope(sched_org):
        erased.refresh_from_db()
        kept.refresh_from_db()
        stored = WebhookDelivery.objects.get(kind="gdpr_requested")
        statuses = calendar_statuses(organization=sched_org, users=[morgan, sam])
    assert stored.state == "processed"
    assert erased.status == CalendarConnectionStatus.DISCONNECTED
    assert (erased.access_token, erased.refresh_token, erased.token_expires_at) == ("", "", None)
    assert (erased.email, erased.sub, erased.profile_id, erased.profile_name) == ("", "", "", "")
    assert (erased.calendar_id, erased.calendar_name, erased.channel_id) == ("", "", "")
    assert "asked the calendar service to delete their data" in erased.last_error
    assert "Connect a calendar again" in erased.last_error
    # Morgan is offered from the built-in calendar again; Sam's calendar is untouched.
    assert not statuses[morgan.pk].uses_service
    assert kept.status == CalendarConnectionStatus.CONNECTED
    assert (kept.email, kept.channel_id) == (BEN, "chn_sam") and kept.refresh_token


@pytest.mark.django_db
def test_a_gdpr_request_for_an_unknown_channel_is_ignored_with_the_reason(
    client, sched_org, cronofy_settings, monkeypatch, django_capture_on_commit_callbacks
):
    task = intake_tasks.webhook_delivery_apply
    monkeypatch.setattr(task, "delay", lambda *args: task(*args))

    with django_capture_on_commit_callbacks(execute=True):
        response = _post_notification(
            client, sched_org, notification_body("chn_nobody", kind="gdpr_requested")
        )

    assert response.status_code == 200
    with tenant_scope(sched_org):
        stored = WebhookDelivery.objects.get(kind="gdpr_requested")
    assert (stored.state, stored.error) == (
        "ignored",
        "No calendar connection has the channel chn_nobody.",
    )

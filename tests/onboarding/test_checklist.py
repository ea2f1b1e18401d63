"""The dashboard's setup checklist follows the real state: each item flips when the row that
proves it appears, the next undone one is highlighted, and it folds away once all are done."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services
from candidates.models import SyncRun, SyncStatus
from integrations.cronofy.models import CalendarConnection, CalendarConnectionStatus
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from integrations.sendgrid.models import SendGridSettings
from integrations.twilio.models import TwilioSettings
from journeys import editing
from journeys.models import TriggerKind
from onboarding.checklist import setup_checklist
from recruitflow.tenancy import tenant_scope
from scheduling import calendar_services

pytestmark = pytest.mark.django_db

ORDER = ["ats", "sync", "webhooks", "messaging", "calendar", "journey"]


def _state(client) -> dict[str, str]:
    page = client.get(reverse("dashboard")).content.decode()
    steps = page.split('id="setup-steps"', 1)[1].split("</ol>", 1)[0]
    return dict(re.findall(r'data-item="(\w+)" data-done="(yes|no)"', steps))


def _next(client) -> str | None:
    page = client.get(reverse("dashboard")).content.decode()
    found = re.search(r'data-item="(\w+)" data-done="no" aria-current="step"', page)
    return found.group(1) if found else None


def _connect_ats(org, **fields):
    with tenant_scope(org):
        return GreenhouseConnection.objects.create(
            organization=org,
            base_url="https://harvest.greenhouse.io",
            api_version="v1",
            api_key="k",
            **fields,
        )


def test_a_new_organization_sees_six_steps_in_order_none_done_and_the_first_highlighted(
    alice, client_for
):
    client = client_for(alice)
    state = _state(client)
    assert list(state) == ORDER
    assert set(state.values()) == {"no"}
    assert _next(client) == "ats"
    page = client.get(reverse("dashboard")).content.decode()
    assert "0 of 6 done" in page
    # Each item says why and links to the page that does it.
    assert reverse("integrations:index") in page
    assert f"{reverse('messaging_settings:index')}?tab=texting" in page
    assert reverse("scheduling:calendar") in page
    assert reverse("onboarding:starters") in page
    assert "Also recommended" in page


def test_the_ats_item_needs_a_tested_connection_not_just_saved_credentials(alice, client_for):
    client = client_for(alice)
    connection = _connect_ats(alice.organization)
    assert _state(client)["ats"] == "no"
    assert "saved but not tested" in client.get("/").content.decode()
    with tenant_scope(alice.organization):
        connection.status = ConnectionStatus.ERROR
        connection.last_error = "Missing permissions: GET Candidates"
        connection.last_checked_at = timezone.now()
        connection.save()
    assert (
        "Needs attention: Missing permissions: GET Candidates" in client.get("/").content.decode()
    )
    with tenant_scope(alice.organization):
        connection.status = ConnectionStatus.CONNECTED
        connection.last_error = ""
        connection.save()
    assert _state(client)["ats"] == "yes"
    assert _next(client) == "sync"


def test_the_sync_item_flips_when_a_sync_succeeds_and_says_when_one_failed(alice, client_for):
    client = client_for(alice)
    _connect_ats(
        alice.organization, status=ConnectionStatus.CONNECTED, last_checked_at=timezone.now()
    )
    with tenant_scope(alice.organization):
        run = SyncRun.objects.create(
            organization=alice.organization,
            provider="greenhouse",
            kind="full",
            started_at=timezone.now(),
            status=SyncStatus.FAILED,
            finished_at=timezone.now(),
        )
    assert _state(client)["sync"] == "no"
    assert "The last sync failed" in client.get("/").content.decode()
    with tenant_scope(alice.organization):
        SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.SUCCEEDED)
    assert _state(client)["sync"] == "yes"


def test_the_webhook_item_flips_on_the_first_stored_webhook_and_warns_when_quiet(alice, client_for):
    client = client_for(alice)
    connection = _connect_ats(alice.organization, status=ConnectionStatus.CONNECTED)
    assert _state(client)["webhooks"] == "no"
    with tenant_scope(alice.organization):
        type(connection).objects.filter(pk=connection.pk).update(
            last_webhook_at=timezone.now() - timedelta(minutes=3)
        )
    assert _state(client)["webhooks"] == "yes"
    assert "the last webhook arrived on" in client.get("/").content.decode()
    with tenant_scope(alice.organization):
        type(connection).objects.filter(pk=connection.pk).update(
            last_webhook_at=timezone.now() - timedelta(days=9)
        )
    page = client.get("/").content.decode()
    assert "Quiet for over a week" in page
    assert _state(client)["webhooks"] == "yes"


def test_texting_and_email_is_done_only_when_both_are_connected(alice, client_for):
    client = client_for(alice)
    with tenant_scope(alice.organization):
        TwilioSettings.objects.create(
            organization=alice.organization,
            account_sid="AC" + "1" * 32,
            auth_token="token",
            messaging_service_sid="MG" + "1" * 32,
        )
    assert _state(client)["messaging"] == "no"
    page = client.get("/").content.decode()
    assert "Connect e-mail" in page
    # The button opens the E-mail provider tab of Settings → Messaging.
    messaging = page.split('data-item="messaging"', 1)[1].split("</li>", 1)[0]
    assert f'href="{reverse("messaging_settings:index")}?tab=email"' in messaging
    with tenant_scope(alice.organization):
        SendGridSettings.objects.create(
            organization=alice.organization, api_key="SG.key", from_email="talent@acme.test"
        )
    assert _state(client)["messaging"] == "yes"
    assert (
        "Texts go out through Twilio, e-mails through SendGrid." in client.get("/").content.decode()
    )


def test_a_sub_account_inherits_texting_and_email_from_its_parent(alice, client_for):
    with tenant_scope(alice.organization):
        TwilioSettings.objects.create(
            organization=alice.organization,
            account_sid="AC" + "1" * 32,
            auth_token="token",
            messaging_service_sid="MG" + "1" * 32,
        )
        SendGridSettings.objects.create(
            organization=alice.organization, api_key="SG.key", from_email="talent@acme.test"
        )
    child = services.organization_create(
        name="Acme East", owner=alice.user, parent=alice.organization
    )
    with tenant_scope(child):
        checklist = setup_checklist(organization=child)
    assert {item.key: item.done for item in checklist.items}["messaging"] is True


def test_the_calendar_item_flips_on_a_connected_calendar_or_the_built_in_one_in_use(
    alice, bob, client_for
):
    client = client_for(alice)
    org = alice.organization
    with tenant_scope(org):
        calendar_services.member_calendar_get(organization=org, user=bob.user)  # only looked at
    assert _state(client)["calendar"] == "no"
    with tenant_scope(org):
        calendar_services.working_hours_save(
            organization=org,
            user=bob.user,
            time_zone="Europe/London",
            windows=[{"weekday": 0, "start": "08:00", "end": "12:00"}],
        )
    assert _state(client)["calendar"] == "yes"


def test_a_pending_calendar_connection_is_not_enough_but_a_connected_one_is(alice, client_for):
    client = client_for(alice)
    with tenant_scope(alice.organization):
        connection = CalendarConnection.objects.create(
            organization=alice.organization,
            user=alice.user,
            status=CalendarConnectionStatus.PENDING,
        )
    assert _state(client)["calendar"] == "no"
    with tenant_scope(alice.organization):
        CalendarConnection.objects.filter(pk=connection.pk).update(
            status=CalendarConnectionStatus.CONNECTED
        )
    assert _state(client)["calendar"] == "yes"


def test_busy_time_in_the_built_in_calendar_counts_as_using_it(alice, client_for):
    client = client_for(alice)
    start = timezone.now() + timedelta(days=1)
    with tenant_scope(alice.organization):
        calendar_services.busy_block_add(
            organization=alice.organization,
            user=alice.user,
            title="Dentist",
            start=start,
            end=start + timedelta(hours=1),
        )
    assert _state(client)["calendar"] == "yes"


def test_the_journey_item_flips_when_a_journey_is_live_and_links_the_gallery_until_then(
    alice, client_for
):
    client = client_for(alice)
    with tenant_scope(alice.organization):
        journey = editing.journey_start(
            organization=alice.organization, name="Hello", trigger=TriggerKind.REJECTED
        )
    page = client.get("/").content.decode()
    assert "all paused or drafts" in page
    assert _state(client)["journey"] == "no"
    with tenant_scope(alice.organization):
        type(journey).objects.filter(pk=journey.pk).update(is_active=True)
    assert _state(client)["journey"] == "yes"


def test_when_everything_is_done_the_checklist_folds_away_and_can_be_opened_again(
    alice, client_for
):
    client = client_for(alice)
    org = alice.organization
    _connect_ats(
        org,
        status=ConnectionStatus.CONNECTED,
        last_checked_at=timezone.now(),
        last_webhook_at=timezone.now(),
    )
    start = timezone.now() + timedelta(days=1)
    with tenant_scope(org):
        SyncRun.objects.create(
            organization=org,
            provider="greenhouse",
            kind="full",
            started_at=timezone.now(),
            finished_at=timezone.now(),
            status=SyncStatus.SUCCEEDED,
        )
        TwilioSettings.objects.create(
            organization=org,
            account_sid="AC" + "1" * 32,
            auth_token="token",
            messaging_service_sid="MG" + "1" * 32,
        )
        SendGridSettings.objects.create(
            organization=org, api_key="SG.key", from_email="talent@acme.test"
        )
        calendar_services.busy_block_add(
            organization=org, user=alice.user, title="", start=start, end=start + timedelta(hours=1)
        )
        journey = editing.journey_start(
            organization=org, name="Hello", trigger=TriggerKind.REJECTED
        )
        type(journey).objects.filter(pk=journey.pk).update(is_active=True)
    page = client.get("/").content.decode()
    assert '<details class="card setup-done" id="setup-checklist">' in page
    assert "Setup complete" in page
    assert "Show the checklist" in page
    assert set(_state(client).values()) == {"yes"}
    assert _next(client) is None


def test_the_sandbox_button_posts_to_the_sandbox_page_for_admins_only(alice, bob, client_for):
    page = client_for(alice).get("/").content.decode()
    assert f'action="{reverse("use_sandbox")}"' in page
    assert "Use the sandbox" in page
    page = client_for(bob).get("/").content.decode()
    assert "Use the sandbox" not in page


def test_the_dashboard_does_not_show_another_organizations_state(alice, mallory, client_for):
    _connect_ats(
        mallory.organization, status=ConnectionStatus.CONNECTED, last_checked_at=timezone.now()
    )
    assert _state(client_for(alice))["ats"] == "no"


def test_a_recruiter_is_told_an_admin_sets_up_the_ats_and_can_start_a_journey_themselves(
    bob, client_for
):
    page = client_for(bob).get("/").content.decode()
    ats = page.split('data-item="ats"', 1)[1].split("</li>", 1)[0]
    assert "An owner or admin does this" in ats
    journey = page.split('data-item="journey"', 1)[1].split("</li>", 1)[0]
    assert "Start from a template" in journey


def test_the_checklist_costs_the_same_few_queries_however_many_rows_prove_it(alice, bob):
    org = alice.organization
    _connect_ats(org, status=ConnectionStatus.CONNECTED, last_checked_at=timezone.now())

    def queries() -> int:
        with tenant_scope(org), CaptureQueriesContext(connection) as ctx:
            setup_checklist(organization=org)
        return len(ctx.captured_queries)

    few = queries()
    start = timezone.now() + timedelta(days=1)
    with tenant_scope(org):
        for n in range(15):
            editing.journey_start(organization=org, name=f"J{n}", trigger=TriggerKind.REJECTED)
            for user in (alice.user, bob.user):
                calendar_services.busy_block_add(
                    organization=org,
                    user=user,
                    title="",
                    start=start + timedelta(hours=n),
                    end=start + timedelta(hours=n, minutes=30),
                )
    assert queries() == few
    # The ATS overview (read here when the dashboard does not hand it in), the texting and
    # e-mail settings, and one query for the rest.
    assert few <= 12, few

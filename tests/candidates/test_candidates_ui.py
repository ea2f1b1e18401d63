"""The candidates pages and Settings → Integrations, through the Django test client."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from candidates.models import (
    Application,
    Candidate,
    Department,
    Job,
    Office,
    Stage,
    StageTransition,
    SyncRun,
    TimelineEvent,
)
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.server import SandboxServer
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=30) as server:
        yield server


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------


class Mirror:
    """A small ATS mirror for one organization: two jobs, their stages, offices, departments."""

    def __init__(self, org):
        self.org = org
        self.n = 0
        with tenant_scope(org):
            self.nyc = Office.objects.create(provider="greenhouse", external_id="o1", name="NYC")
            self.berlin = Office.objects.create(
                provider="greenhouse", external_id="o2", name="Berlin"
            )
            self.sales = Department.objects.create(
                provider="greenhouse", external_id="d1", name="Sales"
            )
            self.eng = Department.objects.create(
                provider="greenhouse", external_id="d2", name="Engineering"
            )
            self.sales_rep = self._job("j1", "Sales Rep", self.nyc, self.sales)
            self.engineer = self._job("j2", "Backend Engineer", self.berlin, self.eng)

    def _job(self, ext, name, office, department):
        job = Job.objects.create(provider="greenhouse", external_id=ext, name=name, status="open")
        job.offices.add(office)
        job.departments.add(department)
        for position, stage in enumerate(
            ["Application Review", "Phone Screen", "Onsite Interview"]
        ):
            Stage.objects.create(
                provider="greenhouse",
                external_id=f"{ext}-s{position}",
                job=job,
                name=stage,
                position=position,
            )
        return job

    def stage(self, job, name):
        with tenant_scope(self.org):
            return Stage.objects.get(job=job, name=name)

    def candidate(self, first, last, job, stage_name, status="active", email=None):
        self.n += 1
        with tenant_scope(self.org):
            candidate = Candidate.objects.create(
                provider="greenhouse",
                external_id=f"c{self.n}",
                first_name=first,
                last_name=last,
                primary_email=email or f"{first.lower()}@example.com",
                emails=[{"value": email or f"{first.lower()}@example.com", "type": "personal"}],
                phones=[{"value": "(212) 555-0100", "type": "mobile"}],
                mobile_phone="+12125550100",
                tags=["Referral"],
            )
            application = Application.objects.create(
                provider="greenhouse",
                external_id=f"a{self.n}",
                candidate=candidate,
                job=job,
                stage=self.stage(job, stage_name),
                stage_name=stage_name,
                status=status,
                last_activity_at=timezone.now(),
                stage_entered_at=timezone.now() - timedelta(days=2),
            )
        return candidate, application


@pytest.fixture
def mirror(alice):
    return Mirror(alice.organization)


def _text(response) -> str:
    """The page as a reader sees it: no tags, entities decoded, whitespace collapsed."""
    without_tags = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(without_tags))


def _names(response) -> set[str]:
    body = response.content.decode()
    return {
        name
        for name in ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Linus Torvalds")
        if name in body
    }


# ---------------------------------------------------------------------------------------------
# candidates
# ---------------------------------------------------------------------------------------------


def test_filters_narrow_the_candidate_list_when_chosen(alice, mirror, client_for):
    mirror.candidate("Ada", "Lovelace", mirror.sales_rep, "Phone Screen")
    mirror.candidate("Grace", "Hopper", mirror.sales_rep, "Onsite Interview")
    mirror.candidate("Alan", "Turing", mirror.engineer, "Phone Screen", status="rejected")
    mirror.candidate("Linus", "Torvalds", mirror.engineer, "Onsite Interview", email="lt@k.org")
    client = client_for(alice)
    url = reverse("candidates:list")

    everyone = client.get(url)
    assert _names(everyone) == {"Ada Lovelace", "Grace Hopper", "Alan Turing", "Linus Torvalds"}
    assert "4 candidates" in everyone.content.decode()

    assert _names(client.get(url, {"job": mirror.sales_rep.pk})) == {"Ada Lovelace", "Grace Hopper"}
    assert _names(client.get(url, {"stage": "Phone Screen"})) == {"Ada Lovelace", "Alan Turing"}
    assert _names(client.get(url, {"job": mirror.engineer.pk, "stage": "Phone Screen"})) == {
        "Alan Turing"
    }
    assert _names(client.get(url, {"office": mirror.berlin.pk})) == {
        "Alan Turing",
        "Linus Torvalds",
    }
    assert _names(client.get(url, {"department": mirror.sales.pk})) == {
        "Ada Lovelace",
        "Grace Hopper",
    }
    assert _names(client.get(url, {"status": "rejected"})) == {"Alan Turing"}
    assert _names(client.get(url, {"q": "lt@k"})) == {"Linus Torvalds"}
    assert _names(client.get(url, {"q": "grace"})) == {"Grace Hopper"}
    narrowed = client.get(url, {"job": mirror.sales_rep.pk, "status": "hired"})
    assert _names(narrowed) == set()
    assert "No candidates match these filters" in narrowed.content.decode()


def test_stage_choices_follow_the_chosen_job(alice, mirror, client_for):
    with tenant_scope(alice.organization):
        Stage.objects.create(
            provider="greenhouse", external_id="x", job=mirror.engineer, name="Take-home"
        )
    mirror.candidate("Ada", "Lovelace", mirror.sales_rep, "Phone Screen")
    client = client_for(alice)
    body = client.get(reverse("candidates:list"), {"job": mirror.sales_rep.pk}).content.decode()
    assert ">Onsite Interview</option>" in body
    assert "Take-home" not in body
    assert "Take-home" in client.get(reverse("candidates:list")).content.decode()


def test_candidate_list_paginates_with_a_constant_number_of_queries(alice, mirror, client_for):
    client = client_for(alice)
    url = reverse("candidates:list")
    mirror.candidate("Ada", "Lovelace", mirror.sales_rep, "Phone Screen")
    client.get(url)  # warm caches (content types, session)
    with CaptureQueriesContext(db_connection) as few:
        client.get(url)
    for i in range(60):
        mirror.candidate(f"Person{i}", "Example", mirror.engineer, "Onsite Interview")
    with CaptureQueriesContext(db_connection) as many:
        response = client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)
    assert "Page 1 of 2" in response.content.decode()
    assert "61 candidates" in response.content.decode()


def test_candidate_page_shows_contact_applications_and_timeline_with_the_transition(
    alice, mirror, client_for
):
    candidate, application = mirror.candidate(
        "Ada", "Lovelace", mirror.sales_rep, "Onsite Interview"
    )
    org = alice.organization
    with tenant_scope(org):
        StageTransition.objects.create(
            provider="greenhouse",
            application=application,
            candidate=candidate,
            job=mirror.sales_rep,
            from_stage=mirror.stage(mirror.sales_rep, "Phone Screen"),
            to_stage=mirror.stage(mirror.sales_rep, "Onsite Interview"),
            from_stage_name="Phone Screen",
            to_stage_name="Onsite Interview",
            from_status="active",
            to_status="active",
            observed_at=timezone.now() - timedelta(minutes=5),
            source="webhook",
            provider_event_id="evt-1",
        )
        TimelineEvent.objects.create(
            candidate=candidate,
            kind="message_sent",
            summary="Text sent: Your onsite is confirmed",
            occurred_at=timezone.now(),
        )
    body = client_for(alice).get(reverse("candidates:detail", args=[candidate.pk])).content
    text = html.unescape(body.decode())
    assert "Moved from Phone Screen to Onsite Interview · Sales Rep · via webhook" in text
    # Newest first: the text came after the move.
    assert text.index("Text sent: Your onsite is confirmed") < text.index("Moved from Phone")
    assert org.time_zone in text
    assert "+12125550100" in text and "ada@example.com" in text and "Referral" in text
    assert "since" in text  # time in stage


def test_candidate_of_another_organization_is_not_found(alice, mallory, mirror, client_for):
    candidate, _ = mirror.candidate("Ada", "Lovelace", mirror.sales_rep, "Phone Screen")
    response = client_for(mallory).get(reverse("candidates:detail", args=[candidate.pk]))
    assert response.status_code == 404
    assert "Lovelace" not in response.content.decode()


def test_empty_candidate_list_sends_admins_to_integrations_when_no_ats_is_connected(
    alice, bob, client_for
):
    body = client_for(alice).get(reverse("candidates:list")).content.decode()
    assert "Connect your ATS to see candidates" in body
    assert reverse("integrations:index") in body
    body = client_for(bob).get(reverse("candidates:list")).content.decode()
    assert "owner or admin" in body


def test_empty_candidate_list_shows_the_first_sync_progress_when_it_is_running(alice, client_for):
    org = alice.organization
    with tenant_scope(org):
        GreenhouseConnection.objects.create(
            base_url="https://harvest.greenhouse.io", status=ConnectionStatus.CONNECTED
        )
        run = SyncRun.objects.create(
            provider="greenhouse",
            kind="full",
            started_at=timezone.now(),
            progress_done=40,
            progress_total=160,
            phase="applications",
        )
    body = client_for(alice).get(reverse("candidates:list")).content.decode()
    assert "First sync running" in body
    assert 'hx-trigger="every 1s"' in body
    assert reverse("integrations:sync_progress", args=[run.pk]) in body
    assert "25%" in body and "40 of 160" in body


def test_progress_partial_stops_polling_and_refreshes_the_page_when_the_sync_finishes(
    alice, client_for
):
    with tenant_scope(alice.organization):
        run = SyncRun.objects.create(
            provider="greenhouse", kind="full", started_at=timezone.now(), progress_total=10
        )
    client = client_for(alice)
    url = reverse("integrations:sync_progress", args=[run.pk]) + "?refresh=1"
    running = client.get(url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in running.content.decode()
    assert "HX-Refresh" not in running
    SyncRun.unscoped.filter(pk=run.pk).update(
        status="succeeded", finished_at=timezone.now(), progress_done=10
    )
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in done.content.decode()
    assert "100%" in done.content.decode() and "Done" in done.content.decode()
    assert done["HX-Refresh"] == "true"


# ---------------------------------------------------------------------------------------------
# Settings → Integrations
# ---------------------------------------------------------------------------------------------


def test_integrations_page_never_shows_a_stored_api_key_or_client_secret(alice, client_for):
    with tenant_scope(alice.organization):
        GreenhouseConnection.objects.create(
            base_url="https://harvest.greenhouse.io",
            api_version="v3",
            client_id="client-abc",
            client_secret="very-secret-client-value-9876",
            api_key="legacy-harvest-key-value-5555",
            acting_user_id="4080",
            status=ConnectionStatus.CONNECTED,
        )
    body = client_for(alice).get(reverse("integrations:index")).content.decode()
    assert "very-secret-client-value" not in body
    assert "legacy-harvest-key-value" not in body
    assert "••••9876" in body and "••••5555" in body
    assert "Leave empty to keep it" in body


def test_saving_with_an_empty_secret_keeps_the_stored_one(alice, client_for, sandbox):
    with tenant_scope(alice.organization):
        GreenhouseConnection.objects.create(
            base_url=f"{sandbox.url}/greenhouse",
            api_version="v3",
            client_id="sandbox-client-id",
            client_secret="sandbox-client-secret",
            acting_user_id="100001",
        )
    response = client_for(alice).post(
        reverse("integrations:greenhouse"),
        {
            "api_version": "v3",
            "base_url": f"{sandbox.url}/greenhouse",
            "client_id": "sandbox-client-id",
            "client_secret": "",
            "acting_user_id": "100001",
            "poll_interval_minutes": "5",
        },
        follow=True,
    )
    assert "Greenhouse is connected" in response.content.decode()
    with tenant_scope(alice.organization):
        connection = GreenhouseConnection.objects.get()
    assert connection.client_secret == "sandbox-client-secret"
    assert connection.poll_interval_minutes == 5
    assert connection.status == ConnectionStatus.CONNECTED


def test_non_admin_gets_403_on_integrations_settings(bob, client_for):
    client = client_for(bob)
    for name in ("integrations:index", "integrations:syncs"):
        assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse("integrations:greenhouse"), {}).status_code == 403
    assert client.post(reverse("integrations:sync"), {"full": "1"}).status_code == 403


def test_connect_form_names_each_missing_permission_when_the_key_is_limited(
    alice, client_for, sandbox
):
    response = client_for(alice).post(
        reverse("integrations:greenhouse"),
        {
            "api_version": "v1",
            "base_url": f"{sandbox.url}/greenhouse",
            "api_key": "sandbox-harvest-limited",
            "acting_user_id": "100001",
            "poll_interval_minutes": "15",
        },
        follow=True,
    )
    text = _text(response)
    assert "2 permissions missing" in text
    assert "Applications → GET: List Applications (missing)" in text
    assert "Candidates → POST: Add Note (missing)" in text
    assert "Candidates → GET: List Candidates (granted)" in text
    assert "Configure → Dev Center → API Credential Management" in text
    assert "sandbox-harvest-limited" not in text
    with tenant_scope(alice.organization):
        assert GreenhouseConnection.objects.get().status == ConnectionStatus.ERROR


def test_wrong_credentials_show_the_adapters_message(alice, client_for, sandbox):
    response = client_for(alice).post(
        reverse("integrations:greenhouse"),
        {
            "api_version": "v3",
            "base_url": f"{sandbox.url}/greenhouse",
            "client_id": "sandbox-client-id",
            "client_secret": "wrong",
            "acting_user_id": "100001",
            "poll_interval_minutes": "15",
        },
        follow=True,
    )
    with tenant_scope(alice.organization):
        error = GreenhouseConnection.objects.get().last_error
    assert error
    assert html.escape(error) in response.content.decode()
    assert "could not be reached" in response.content.decode()


def test_connect_form_shows_errors_next_to_the_fields(alice, client_for):
    response = client_for(alice).post(
        reverse("integrations:greenhouse"),
        {
            "api_version": "v3",
            "base_url": "https://harvest.greenhouse.io",
            "acting_user_id": "ops@acme.test",
            "poll_interval_minutes": "90",
        },
    )
    body = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Harvest v3 needs the client ID" in body
    assert "Harvest v3 needs the client secret" in body
    assert "numeric Greenhouse user ID" in body
    assert "less than or equal to 60" in body
    with tenant_scope(alice.organization):
        assert not GreenhouseConnection.objects.exists()


def test_webhook_panel_shows_the_url_and_secret_to_paste_into_greenhouse(alice, client_for):
    with tenant_scope(alice.organization):
        connection = GreenhouseConnection.objects.create(
            base_url="https://harvest.greenhouse.io",
            client_id="x",
            client_secret="y" * 20,
            acting_user_id="1",
            status=ConnectionStatus.CONNECTED,
        )
    body = html.unescape(client_for(alice).get(reverse("integrations:index")).content.decode())
    assert reverse("webhooks:greenhouse", args=[connection.endpoint_token]) in body
    assert connection.webhook_secret in body
    assert "Candidate has changed stage" in body and "Delete candidate" in body


def test_sync_now_shows_the_refusal_when_a_sync_is_already_running(alice, client_for):
    with tenant_scope(alice.organization):
        GreenhouseConnection.objects.create(
            base_url="https://harvest.greenhouse.io", status=ConnectionStatus.CONNECTED
        )
        SyncRun.objects.create(
            provider="greenhouse",
            kind="full",
            started_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
    response = client_for(alice).post(reverse("integrations:sync"), {"full": "0"}, follow=True)
    body = response.content.decode()
    assert "already running" in body
    assert 'id="sync-runs"' in body
    assert SyncRun.unscoped.count() == 1


def test_disconnect_forgets_the_credentials(alice, client_for):
    with tenant_scope(alice.organization):
        GreenhouseConnection.objects.create(
            base_url="https://harvest.greenhouse.io",
            client_id="x",
            client_secret="secret-value-1234",
            status=ConnectionStatus.CONNECTED,
        )
    client_for(alice).post(reverse("integrations:greenhouse_disconnect"))
    with tenant_scope(alice.organization):
        connection = GreenhouseConnection.objects.get()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert connection.client_secret == ""


def test_lever_oauth_callback_refuses_a_state_it_did_not_issue(alice, client_for, settings):
    settings.LEVER_CLIENT_ID = "sandbox-lever-client"
    response = client_for(alice).get(
        reverse("integrations:lever_oauth_callback"),
        {"code": "abc", "state": "forged"},
        follow=True,
    )
    assert "could not be matched" in response.content.decode()
    from integrations.lever.models import LeverConnection

    with tenant_scope(alice.organization):
        assert not LeverConnection.objects.exists()


def test_lever_oauth_connects_through_the_sandbox(alice, client_for, settings, sandbox):
    settings.LEVER_CLIENT_ID = "sandbox-lever-client"
    settings.LEVER_CLIENT_SECRET = "sandbox-lever-secret"
    settings.LEVER_AUTH_BASE = f"{sandbox.url}/lever"
    settings.SANDBOX_URL = sandbox.url
    client = client_for(alice)
    start = client.post(reverse("integrations:lever_oauth_start"))
    assert start.status_code == 302
    assert start["Location"].startswith(f"{sandbox.url}/lever/authorize?")
    assert "audience=" in start["Location"] and "state=" in start["Location"]
    import requests

    consent = requests.get(start["Location"], allow_redirects=False, timeout=5)
    callback = consent.headers["Location"]
    parts = urlsplit(callback)
    response = client.get(f"{parts.path}?{parts.query}", follow=True)
    from integrations.lever.models import LeverAuth, LeverConnection

    with tenant_scope(alice.organization):
        connection = LeverConnection.objects.get()
    assert connection.auth_method == LeverAuth.OAUTH
    assert connection.access_token and connection.refresh_token
    assert connection.access_token not in response.content.decode()
    client.post(reverse("integrations:lever_disconnect"))
    with tenant_scope(alice.organization):
        connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert connection.access_token == "" and connection.refresh_token == ""


def test_seed_demo_connects_the_demo_organization_to_the_sandbox_once(settings):
    from django.core.management import call_command

    from recruitflow.tenancy import scopes_disabled

    settings.SANDBOX_URL = "http://127.0.0.1:8100"
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent
    with scopes_disabled():
        connections = list(GreenhouseConnection.objects.select_related("organization"))
    assert len(connections) == 1
    connection = connections[0]
    assert connection.organization.is_demo
    assert connection.base_url == "http://127.0.0.1:8100/greenhouse"
    assert connection.api_version == "v3" and connection.client_id == "sandbox-client-id"
    assert connection.acting_user_id.isdigit()

"""The partner API for scheduling: templates (CRUD), scheduling links for a candidate and
bookings (read), with another organization's objects answering 404."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounts import services as account_services
from recruitflow.tenancy import tenant_scope
from scheduling import services
from scheduling.models import (
    RequestStatus,
    SchedulingRequest,
    SchedulingTemplate,
    SchedulingTemplateMember,
)
from tests.scheduling.conftest import LONDON

pytestmark = pytest.mark.django_db

TUESDAY_9 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def key_for(persona, scope="write") -> dict:
    with tenant_scope(persona.organization):
        _, raw = account_services.api_key_create(
            actor=persona.membership, name=f"{scope} key", scope=scope
        )
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


class Api:
    def __init__(self, client, auth):
        self.client, self.auth = client, auth

    def get(self, path, **params):
        return self.client.get(f"/api/v1/{path}", params, **self.auth)

    def post(self, path, data=None):
        return self.client.post(
            f"/api/v1/{path}", data or {}, content_type="application/json", **self.auth
        )

    def patch(self, path, data):
        return self.client.patch(
            f"/api/v1/{path}", data, content_type="application/json", **self.auth
        )

    def delete(self, path):
        return self.client.delete(f"/api/v1/{path}", **self.auth)


@pytest.fixture
def api(client, alice, sched_org):
    return Api(client, key_for(alice))


@pytest.fixture
def outsider(client, mallory):
    return Api(client, key_for(mallory))


def new_template(interviewers, library_messages, **fields) -> dict:
    morgan, sam = interviewers
    body = {
        "name": "Phone screen",
        "event_title": "Phone screen · {{ candidate.full_name }}",
        "duration_minutes": 30,
        "required_member_ids": [morgan.pk],
        "optional_member_ids": [sam.pk],
        "messages": {
            "request": {"email": library_messages["request_email"].pk, "sms": None},
            "invitation": {
                "email": library_messages["invitation_email"].pk,
                "sms": library_messages["invitation_sms"].pk,
            },
        },
    }
    body.update(fields)
    return body


def stored(organization) -> list[SchedulingTemplate]:
    with tenant_scope(organization):
        return list(SchedulingTemplate.objects.order_by("id"))


# --- Templates -----------------------------------------------------------------------------------


def test_create_fills_in_the_defaults_and_reads_back(
    api, sched_org, interviewers, library_messages
):
    response = api.post("scheduling-templates/", new_template(interviewers, library_messages))
    assert response.status_code == 201, response.json()
    body = response.json()
    (template,) = stored(sched_org)
    assert body["id"] == template.pk and body["name"] == "Phone screen"
    assert body["time_zone"] == LONDON  # the organization's zone
    assert body["windows"] == [
        {"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)
    ]
    assert (body["minimum_notice_hours"], body["horizon_days"]) == (24, 14)
    assert body["slot_interval_minutes"] == 30 and body["duration_minutes"] == 30
    assert body["members"] == [
        {
            "id": interviewers[0].pk,
            "name": "Morgan Lee",
            "email": "morgan.lee@acme.test",
            "required": True,
        },
        {
            "id": interviewers[1].pk,
            "name": "Sam Patel",
            "email": "sam.patel@acme.test",
            "required": False,
        },
    ]
    assert body["messages"]["request"] == {
        "email": library_messages["request_email"].pk,
        "sms": None,
    }
    assert body["messages"]["cancellation"] == {"email": None, "sms": None}
    assert body["public_link_enabled"] is False and body["public_link"] is None
    assert body["created_at"].endswith("Z")
    assert api.get(f"scheduling-templates/{template.pk}/").json() == body
    assert api.get("scheduling-templates/").json()["results"] == [body]


def test_create_names_what_is_wrong(api, sched_org, interviewers, library_messages):
    body = new_template(
        interviewers,
        library_messages,
        event_title="Screen · {{ candidate.frist_name }}",
        windows=[{"weekday": 1, "start": "17:00", "end": "09:00"}],
    )
    response = api.post("scheduling-templates/", body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["windows"] == [
        "Tuesday: the window ends (09:00) before it starts (17:00). Make the end later than "
        "the start."
    ]
    assert "Unknown merge field {{ candidate.frist_name }}" in errors["event_title"][0]
    assert stored(sched_org) == []

    morgan = interviewers[0]
    both = new_template(interviewers, library_messages, optional_member_ids=[morgan.pk])
    response = api.post("scheduling-templates/", both)
    assert response.status_code == 400
    assert response.json()["errors"]["optional_member_ids"] == [
        "Morgan Lee is both required and optional. Choose one."
    ]


def test_create_without_a_request_message_or_interviewer_is_refused(
    api, sched_org, interviewers, library_messages
):
    body = new_template(interviewers, library_messages)
    body["messages"]["request"] = {"email": None, "sms": None}
    response = api.post("scheduling-templates/", body)
    assert response.status_code == 400
    assert response.json()["errors"]["messages.request"][0].startswith(
        "Choose the Request to Schedule e-mail or text message"
    )
    body = new_template(interviewers, library_messages, required_member_ids=[])
    assert api.post("scheduling-templates/", body).status_code == 400
    assert stored(sched_org) == []


def test_unknown_ids_in_the_body_are_404_and_a_taken_name_is_409(
    api, sched_org, interviewers, library_messages, mallory, scheduling_template
):
    body = new_template(interviewers, library_messages, required_member_ids=[mallory.user.pk])
    response = api.post("scheduling-templates/", body)
    assert response.status_code == 404
    assert "No team member with user id" in response.json()["detail"]

    with tenant_scope(mallory.organization):
        from library.models import MessageTemplate

        theirs = MessageTemplate.objects.create(
            organization=mallory.organization,
            name="Theirs",
            channel="sms",
            text_body="Hi",
        )
    body = new_template(interviewers, library_messages)
    body["messages"]["request"]["sms"] = theirs.pk
    assert api.post("scheduling-templates/", body).status_code == 404

    body = new_template(interviewers, library_messages, name="onsite INTERVIEW")
    response = api.post("scheduling-templates/", body)
    assert response.status_code == 409
    assert response.json()["errors"]["name"] == [
        "Another scheduling template is already called “onsite INTERVIEW”."
    ]
    assert len(stored(sched_org)) == 1


def test_patch_changes_only_what_is_sent(api, sched_org, scheduling_template, library_messages):
    url = f"scheduling-templates/{scheduling_template.pk}/"
    response = api.patch(
        url,
        {
            "duration_minutes": 60,
            "public_link_enabled": True,
            "messages": {"reminder": {"sms": None}},
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["duration_minutes"] == 60 and body["name"] == "Onsite interview"
    assert body["messages"]["reminder"] == {
        "email": library_messages["reminder_email"].pk,
        "sms": None,
    }
    assert body["public_link"].startswith("http") and "/s/p/" in body["public_link"]
    (template,) = stored(sched_org)
    assert template.duration_minutes == 60 and template.reminder_sms_id is None
    assert template.request_sms_id == library_messages["request_sms"].pk
    with tenant_scope(sched_org):
        assert SchedulingTemplateMember.objects.filter(template=template).count() == 2


def test_delete_is_409_while_requests_use_it_and_204_when_unused(
    api, sched_org, scheduling_template, make_template, make_request, monday_morning
):
    make_request(send=False)
    response = api.delete(f"scheduling-templates/{scheduling_template.pk}/")
    assert response.status_code == 409
    assert "1 scheduling request (1 waiting for the candidate)" in response.json()["detail"]
    unused = make_template(name="Unused")
    assert api.delete(f"scheduling-templates/{unused.pk}/").status_code == 204
    assert [t.pk for t in stored(sched_org)] == [scheduling_template.pk]


def test_a_read_only_key_cannot_change_templates(
    client, alice, sched_org, scheduling_template, interviewers, library_messages
):
    reader = Api(client, key_for(alice, scope="read"))
    assert reader.get("scheduling-templates/").status_code == 200
    assert (
        reader.post("scheduling-templates/", new_template(interviewers, library_messages))
    ).status_code == 403
    response = reader.patch(f"scheduling-templates/{scheduling_template.pk}/", {"name": "X"})
    assert response.status_code == 403
    assert stored(sched_org)[0].name == "Onsite interview"


# --- Scheduling links ----------------------------------------------------------------------------


def test_link_for_a_candidate_sends_the_request_to_schedule(
    api, sched_org, scheduling_template, candidate, outbox, monday_morning
):
    with tenant_scope(sched_org):
        application = candidate.applications.get()
    response = api.post(
        f"scheduling-templates/{scheduling_template.pk}/links/",
        {"candidate_id": candidate.pk, "application_id": application.pk},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    with tenant_scope(sched_org):
        request = SchedulingRequest.objects.get(pk=body["id"])
    assert request.source == "api" and request.status == RequestStatus.PENDING
    assert body == {
        "id": request.pk,
        "url": services.request_link(request),
        "status": "pending",
        "expires_at": "2026-03-16T09:00:00Z",
    }
    email, text = outbox(candidate)
    assert body["url"] in email.html and body["url"] in text.body


def test_link_without_sending_and_refusals(
    api, sched_org, make_template, scheduling_template, candidate, outbox, mallory, monday_morning
):
    response = api.post(
        f"scheduling-templates/{scheduling_template.pk}/links/",
        {"candidate_id": candidate.pk, "send": False},
    )
    assert response.status_code == 201 and outbox(candidate) == []

    nobody = make_template(name="Nobody", required=[])
    response = api.post(f"scheduling-templates/{nobody.pk}/links/", {"candidate_id": candidate.pk})
    assert response.status_code == 422
    assert response.json()["detail"]

    from candidates.models import Candidate

    with tenant_scope(mallory.organization):
        theirs = Candidate.objects.create(
            organization=mallory.organization,
            provider="greenhouse",
            external_id="m1",
            first_name="Eve",
            primary_email="eve@example.com",
        )
    response = api.post(
        f"scheduling-templates/{scheduling_template.pk}/links/", {"candidate_id": theirs.pk}
    )
    assert response.status_code == 404
    with tenant_scope(sched_org):
        assert SchedulingRequest.objects.count() == 1


# --- Bookings ------------------------------------------------------------------------------------


def test_bookings_read_with_candidate_times_in_utc_and_attendees(
    api, sched_org, scheduling_template, candidate, make_request, interviewers, monday_morning
):
    request = make_request(send=False)
    with tenant_scope(sched_org):
        booking = services.booking_book(
            organization=sched_org, request=request, start=TUESDAY_9, time_zone="America/New_York"
        )
    response = api.get("bookings/")
    assert response.status_code == 200
    (body,) = response.json()["results"]
    assert body["id"] == booking.pk and body["request_id"] == request.pk
    assert body["start"] == "2026-03-03T09:00:00Z" and body["end"] == "2026-03-03T09:45:00Z"
    assert body["status"] == "confirmed"
    assert body["candidate"] == {
        "id": candidate.pk,
        "name": "Jordan Rivera",
        "email": "jordan@example.com",
    }
    assert body["template"] == {"id": scheduling_template.pk, "name": "Onsite interview"}
    assert body["candidate_time_zone"] == "America/New_York"
    assert [(a["name"], a["required"]) for a in body["attendees"]] == [
        ("Morgan Lee", True),
        ("Sam Patel", True),
    ]
    assert api.get(f"bookings/{booking.pk}/").json() == body
    assert api.get("bookings/", status="cancelled").json()["results"] == []
    assert api.get("bookings/", candidate=candidate.pk).json()["results"] == [body]
    assert api.get("bookings/", status="maybe").status_code == 400


def test_another_organization_gets_404_for_templates_links_and_bookings(
    outsider, sched_org, scheduling_template, candidate, make_request, monday_morning
):
    request = make_request(send=False)
    with tenant_scope(sched_org):
        booking = services.booking_book(
            organization=sched_org, request=request, start=TUESDAY_9, time_zone=LONDON
        )
    url = f"scheduling-templates/{scheduling_template.pk}/"
    assert outsider.get(url).status_code == 404
    assert outsider.patch(url, {"name": "Mine now"}).status_code == 404
    assert outsider.delete(url).status_code == 404
    response = outsider.post(f"{url}links/", {"candidate_id": candidate.pk})
    assert response.status_code == 404
    assert outsider.get(f"bookings/{booking.pk}/").status_code == 404
    assert outsider.get("bookings/").json()["results"] == []
    assert outsider.get("scheduling-templates/").json()["results"] == []
    assert stored(sched_org)[0].name == "Onsite interview"
    with tenant_scope(sched_org):
        assert SchedulingRequest.objects.count() == 1

# ruff: noqa: F811 (pytest fixtures imported from tests.interviews.core_helpers)
"""The partner API of video interviews: templates (create, list, read, change, with the
editor's checks) and interviews (send to a candidate, list with filters, read with each
answer's state), another organization's ids being 404."""

from __future__ import annotations

import pytest

from accounts import services as account_services
from interviews.models import Answer, AnswerStatus, VideoInterview
from recruitflow.tenancy import tenant_scope
from tests.interviews.core_helpers import (  # noqa: F401 (fixtures)
    QUESTIONS,
    candidate,
    delivery_queued,
    make_candidate,
    make_messages,
    monday_morning,
    org,
    outbox,
    video_messages,
    video_template,
)

pytestmark = pytest.mark.django_db


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

    def post(self, path, body):
        return self.client.post(
            f"/api/v1/{path}", body, content_type="application/json", **self.auth
        )

    def patch(self, path, body):
        return self.client.patch(
            f"/api/v1/{path}", body, content_type="application/json", **self.auth
        )


@pytest.fixture
def api(client, alice):
    return Api(client, key_for(alice))


def test_a_template_is_created_read_and_changed(api, bob, org, video_messages):
    body = {
        "name": "Sales screen",
        "intro": "Three short questions.",
        "questions": QUESTIONS,
        "reviewer_ids": [bob.user.pk],
        "messages": {
            "invitation": {"email": video_messages["invitation_email"].pk},
            "reminder": {"sms": video_messages["reminder_sms"].pk},
        },
    }
    created = api.post("video-templates/", body)
    assert created.status_code == 201, created.json()
    template = created.json()
    assert [q["text"] for q in template["questions"]] == [q["text"] for q in QUESTIONS]
    assert template["messages"] == {
        "invitation": {"email": video_messages["invitation_email"].pk, "sms": None},
        "reminder": {"email": None, "sms": video_messages["reminder_sms"].pk},
        "completion": {"email": None, "sms": None},
    }
    assert template["reviewer_ids"] == [bob.user.pk]
    assert (template["expiry_days"], template["reminder_after_hours"]) == (7, 48)

    changed = api.patch(f"video-templates/{template['id']}/", {"expiry_days": 3})
    assert changed.status_code == 200
    assert changed.json()["expiry_days"] == 3 and len(changed.json()["questions"]) == 3
    assert api.get("video-templates/").json()["results"][0]["id"] == template["id"]
    assert api.get(f"video-templates/{template['id']}/").json()["expiry_days"] == 3
    assert api.post("video-templates/", body).status_code == 409  # the name is taken


def test_a_template_without_invitation_is_refused_naming_the_field(api, video_messages):
    response = api.post(
        "video-templates/",
        {"name": "No invitation", "questions": QUESTIONS, "messages": {}},
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["messages.invitation"] == [
        "Choose the Video Interview Invitation e-mail or text message (or both): without it "
        "candidates never get their link."
    ]


def test_an_interview_is_sent_listed_and_read_with_its_answers(
    api, org, video_template, candidate, make_candidate, outbox
):
    sent = api.post(
        "video-interviews/", {"template_id": video_template.pk, "candidate_id": candidate.pk}
    )
    assert sent.status_code == 201, sent.json()
    interview = sent.json()
    assert interview["status"] == "invited" and interview["source"] == "api"
    assert len(outbox(candidate)) == 2
    assert interview["recorder_url"] in outbox(candidate)[1].body
    assert [a["status"] for a in interview["answers"]] == ["not_recorded"] * 3

    with tenant_scope(org):
        row = VideoInterview.objects.get(pk=interview["id"])
        Answer.objects.create(
            organization=org,
            interview=row,
            question_index=0,
            status=AnswerStatus.READY,
            is_final=True,
            duration_seconds=42.5,
        )
    read = api.get(f"video-interviews/{interview['id']}/").json()
    assert read["answers"][0] == {
        "question_index": 0,
        "question": "Tell us about yourself.",
        "status": "ready",
        "takes": 1,
        "duration_seconds": 42.5,
    }
    other = make_candidate(first_name="Sam", email="sam@example.com")
    api.post("video-interviews/", {"template_id": video_template.pk, "candidate_id": other.pk})
    mine = api.get("video-interviews/", candidate=candidate.pk).json()["results"]
    assert [i["id"] for i in mine] == [interview["id"]]
    assert len(api.get("video-interviews/", status="invited").json()["results"]) == 2
    assert api.get("video-interviews/", status="completed").json()["results"] == []
    assert len(api.get("video-interviews/", job=row.job_id).json()["results"]) == 2
    assert api.get("video-interviews/", status="nonsense").status_code == 400


def test_an_interview_that_cannot_reach_the_candidate_is_422_with_the_reason(
    api, video_template, make_candidate
):
    nobody = make_candidate(email="", mobile="")
    response = api.post(
        "video-interviews/", {"template_id": video_template.pk, "candidate_id": nobody.pk}
    )
    assert response.status_code == 422
    assert "The Video Interview Invitation can't reach Jordan Rivera" in response.json()["detail"]


def test_another_organizations_ids_are_not_found(client, mallory, video_template, candidate):
    theirs = Api(client, key_for(mallory))
    assert theirs.get(f"video-templates/{video_template.pk}/").status_code == 404
    assert theirs.get("video-templates/").json()["results"] == []
    sent = theirs.post(
        "video-interviews/", {"template_id": video_template.pk, "candidate_id": candidate.pk}
    )
    assert sent.status_code == 404
    with tenant_scope(mallory.organization):
        mine = make_messages(mallory.organization)
    sent = theirs.post(
        "video-templates/",
        {
            "name": "Borrowed",
            "questions": QUESTIONS,
            "messages": {"invitation": {"email": video_template.invitation_email_id}},
        },
    )
    assert sent.status_code == 400
    assert "no message template" in str(sent.json()["errors"])
    assert mine  # their own Library works for them


def test_a_read_only_key_cannot_send(client, alice, video_template, candidate):
    reader = Api(client, key_for(alice, scope="read"))
    assert reader.get("video-templates/").status_code == 200
    sent = reader.post(
        "video-interviews/", {"template_id": video_template.pk, "candidate_id": candidate.pk}
    )
    assert sent.status_code == 403

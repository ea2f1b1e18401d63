"""The "Video Interview" candidate custom field over a real socket to the sandbox Greenhouse: the
adapter finds it among the candidate custom fields and fills it On-Behalf-Of the acting user, says
exactly how to create it when it is missing, deleted or of the wrong type, names the permission a
403 lacks, and refuses (in words) over Harvest v3 and on Lever; Settings → Integrations shows the
check (OK / missing / 403) on the Greenhouse card."""

from __future__ import annotations

import html

import pytest
import requests
from django.urls import reverse

from integrations.base import VIDEO_INTERVIEW_FIELD, NotSupported
from integrations.greenhouse.models import GreenhouseConnection
from integrations.greenhouse.provider import GreenhouseProvider
from integrations.http import PermissionDenied, ValidationFailed
from integrations.lever.provider import LeverProvider
from integrations.models import ConnectionStatus
from integrations.sandbox.greenhouse import ALL_V1_PERMISSIONS
from integrations.sandbox.server import SandboxServer
from recruitflow.tenancy import tenant_scope

KEY = ("sandbox-harvest-key", "")
NO_FIELDS_KEY = "harvest-no-custom-fields"
NO_EDIT_KEY = "harvest-no-edit"
VALUE = "https://rf.test/interviews/7/\nSales screen · completed 15 Jan 2025 11:00 EST"
HOW_TO = "Configure → Custom Options → Candidates, click Add field, name it “Video Interview”"


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=5, greenhouse_rate_limit=None) as server:
        yield server


@pytest.fixture
def gh(sandbox):
    sandbox.greenhouse.reset()
    sandbox.greenhouse.add_v1_key(
        NO_FIELDS_KEY, [p for p in ALL_V1_PERMISSIONS if p != "GET: Get custom fields"]
    )
    sandbox.greenhouse.add_v1_key(
        NO_EDIT_KEY, [p for p in ALL_V1_PERMISSIONS if p != "PATCH: Edit Candidate"]
    )
    return sandbox.greenhouse


def _base(sandbox) -> str:
    return f"{sandbox.url}/greenhouse"


def _acting(sandbox) -> str:
    return str(requests.get(f"{_base(sandbox)}/v1/users", auth=KEY).json()[0]["id"])


def _v1(sandbox, key: str = "sandbox-harvest-key") -> GreenhouseProvider:
    return GreenhouseProvider(
        {
            "api_version": "v1",
            "api_key": key,
            "base_url": _base(sandbox),
            "acting_user_id": _acting(sandbox),
        },
        max_attempts=1,
    )


def _candidate(gh) -> int:
    return sorted(gh.co.candidates)[0]


def _delete_field(sandbox) -> None:
    requests.post(
        f"{_base(sandbox)}/_sandbox/api/custom_fields/video_interview", json={"active": False}
    )


# -- the adapter ---------------------------------------------------------------------------


def test_check_finds_the_long_text_field_by_name(sandbox, gh):
    check = _v1(sandbox).candidate_link_field_check(VIDEO_INTERVIEW_FIELD)

    assert check.ok is True
    assert check.field_id == "501" and check.field_key == "video_interview"
    assert "Long text" in check.detail


def test_write_fills_the_field_on_behalf_of_the_acting_user(sandbox, gh):
    cid = _candidate(gh)

    field_id = _v1(sandbox).write_candidate_link_field(str(cid), VIDEO_INTERVIEW_FIELD, VALUE)

    assert field_id == "501"
    candidate = requests.get(f"{_base(sandbox)}/v1/candidates/{cid}", auth=KEY).json()
    assert candidate["keyed_custom_fields"]["video_interview"]["value"] == VALUE
    patch = [w for w in gh.writes if w["kind"] == "patch_candidate"]
    assert len(patch) == 1
    assert patch[0]["args"]["user_id"] == int(_acting(sandbox))
    assert patch[0]["args"]["custom_fields"] == [{"id": 501, "value": VALUE}]


def test_deleted_field_is_reported_with_how_to_create_it_and_nothing_is_written(sandbox, gh):
    _delete_field(sandbox)
    provider = _v1(sandbox)

    check = provider.candidate_link_field_check(VIDEO_INTERVIEW_FIELD)
    with pytest.raises(ValidationFailed) as failed:
        provider.write_candidate_link_field(str(_candidate(gh)), VIDEO_INTERVIEW_FIELD, VALUE)

    assert check.ok is False
    assert "was deleted in Greenhouse" in check.detail
    assert HOW_TO in check.detail and "Long text" in check.detail
    assert failed.value.message == check.detail
    assert failed.value.permanent
    assert not any(w["kind"] == "patch_candidate" for w in gh.writes)


def test_a_field_never_made_and_a_field_of_the_wrong_type_say_what_to_do(sandbox, gh):
    provider = _v1(sandbox)

    never = provider.candidate_link_field_check("Interview Recording")
    short = provider.candidate_link_field_check("Desired Salary")

    assert never.ok is False
    assert never.detail.startswith("Greenhouse has no candidate custom field named")
    assert "name it “Interview Recording”, choose the type Long text" in never.detail
    assert short.ok is False
    assert "“Desired Salary” is a Short text field; the link needs Long text" in short.detail


def test_a_key_that_may_not_read_custom_fields_is_told_which_permission_to_tick(sandbox, gh):
    provider = _v1(sandbox, NO_FIELDS_KEY)

    check = provider.candidate_link_field_check(VIDEO_INTERVIEW_FIELD)
    with pytest.raises(PermissionDenied) as denied:
        provider.write_candidate_link_field(str(_candidate(gh)), VIDEO_INTERVIEW_FIELD, VALUE)

    assert check.ok is False
    assert "tick “Custom Fields → GET: Get custom fields”" in check.detail
    assert "Candidates → PATCH: Edit Candidate" in check.detail
    assert denied.value.message == check.detail


def test_a_key_that_may_not_edit_candidates_is_told_which_permission_to_tick(sandbox, gh):
    with pytest.raises(PermissionDenied) as denied:
        _v1(sandbox, NO_EDIT_KEY).write_candidate_link_field(
            str(_candidate(gh)), VIDEO_INTERVIEW_FIELD, VALUE
        )

    assert "Candidates → PATCH: Edit Candidate" in denied.value.message
    assert not any(w["kind"] == "patch_candidate" for w in gh.writes)


def test_harvest_v3_and_lever_refuse_the_field_in_words(sandbox, gh):
    v3 = GreenhouseProvider(
        {
            "api_version": "v3",
            "client_id": "sandbox-client-id",
            "client_secret": "sandbox-client-secret",
            "base_url": _base(sandbox),
            "acting_user_id": _acting(sandbox),
        }
    )
    lever = LeverProvider({"api_key": "k", "base_url": f"{sandbox.url}/lever/v1"})

    check = v3.candidate_link_field_check(VIDEO_INTERVIEW_FIELD)
    with pytest.raises(NotSupported):
        v3.write_candidate_link_field("1", VIDEO_INTERVIEW_FIELD, VALUE)
    with pytest.raises(NotSupported):
        lever.write_candidate_link_field("o1", VIDEO_INTERVIEW_FIELD, VALUE)

    assert check.ok is None
    assert check.detail == v3.candidate_link_field_refusal()
    assert "only in a note" in check.detail and "Harvest v1 API key" in check.detail
    assert "written in a note on the opportunity" in lever.candidate_link_field_refusal()
    assert _v1(sandbox).candidate_link_field_refusal() == ""
    assert not any(w["kind"] == "patch_candidate" for w in gh.writes)


# -- Settings → Integrations ---------------------------------------------------------------


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def _connect(org, sandbox, **fields) -> GreenhouseConnection:
    values = {
        "api_version": "v1",
        "api_key": "sandbox-harvest-key",
        "acting_user_id": _acting(sandbox),
        "status": ConnectionStatus.CONNECTED,
        **fields,
    }
    with tenant_scope(org):
        return GreenhouseConnection.objects.create(
            organization=org, base_url=_base(sandbox), **values
        )


def _check(client) -> str:
    url = reverse("integrations:provider_action", args=["greenhouse", "video-field"])
    return page_text(client.post(url, follow=True))


@pytest.mark.django_db
def test_settings_shows_the_field_ready(alice, client_for, sandbox, gh):
    _connect(alice.organization, sandbox)

    text = _check(client_for(alice))

    assert "The “Video Interview” custom field is ready." in text
    assert "OK: the field is ready" in text
    assert "Found “Video Interview” (Long text, immutable field key video_interview)" in text


@pytest.mark.django_db
def test_settings_says_exactly_how_to_create_a_missing_field(alice, client_for, sandbox, gh):
    _connect(alice.organization, sandbox)
    _delete_field(sandbox)

    text = _check(client_for(alice))

    assert "The “Video Interview” custom field is not ready" in text
    assert "Not ready" in text
    assert HOW_TO in text
    assert "choose the type Long text and save" in text
    assert "“Custom Fields → GET: Get custom fields”" in text
    assert "“Candidates → PATCH: Edit Candidate”" in text


@pytest.mark.django_db
def test_settings_names_the_missing_permission_on_a_403(alice, client_for, sandbox, gh):
    _connect(alice.organization, sandbox, api_key=NO_FIELDS_KEY)

    text = _check(client_for(alice))

    assert "The Greenhouse API key may not read custom fields" in text
    assert "tick “Custom Fields → GET: Get custom fields”" in text


@pytest.mark.django_db
def test_test_connection_checks_the_field_too_and_v3_says_it_is_only_a_note(
    alice, client_for, sandbox, gh
):
    _connect(
        alice.organization,
        sandbox,
        api_version="v3",
        api_key="",
        client_id="sandbox-client-id",
        client_secret="sandbox-client-secret",
    )
    client = client_for(alice)

    url = reverse("integrations:provider_action", args=["greenhouse", "test"])
    text = page_text(client.post(url, follow=True))

    assert "Not written over this connection" in text
    assert "only in a note on the candidate" in text
    assert "Harvest v1 API key" in text


@pytest.mark.django_db
def test_the_check_needs_a_connection(alice, client_for, gh):
    text = _check(client_for(alice))

    assert "Connect Greenhouse first." in text

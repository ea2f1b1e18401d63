"""The one-time "this conversation is recorded in our ATS" notice: the organization's option in
Settings → ATS activity, the e-mail sent once per candidate when their first activity is about
to be written (through messaging: the Inbox thread, e-mail consent, the opt-out ledger), and the
public page behind its signed link whose button pauses write-back for the candidate."""

from __future__ import annotations

import re
import threading
from html import unescape

import pytest
from django.core import signing
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from accounts.models import Organization
from candidates.models import AtsUser, Candidate, TimelineEvent
from messaging.email_consent import email_opt_out_lock, unsubscribe_token
from messaging.models import Channel, Conversation, EmailOptOutSource, Message
from recruitflow.tenancy import tenant_scope
from writeback import notice, selectors, services, timeline_kinds
from writeback.models import (
    NoticeOutcome,
    PauseSource,
    RecordingNotice,
    WritebackPause,
    WriteKind,
    WriteStatus,
)

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^\s\"<>]+/ats-notice/[^\s\"<>/]+/")


@pytest.fixture
def org(alice):
    return alice.organization


@pytest.fixture
def ats_user(org):
    with tenant_scope(org):
        return AtsUser.objects.create(
            organization=org, provider="greenhouse", external_id="4080",
            name="Rita Recruiter", email="rita@acme.test",
        )  # fmt: skip


def _candidate(org, first="Sam", email="sam@example.com", **fields) -> Candidate:
    with tenant_scope(org):
        return Candidate.objects.create(
            organization=org, provider="greenhouse", external_id=f"c-{first}",
            first_name=first, last_name="Okafor", mobile_phone="+12125550123",
            primary_email=email, **fields,
        )  # fmt: skip


@pytest.fixture
def candidate(org):
    return _candidate(org)


def _rules(org, *, notice_on: bool = True, **changes):
    with tenant_scope(org):
        return services.rules_update(
            organization=org, acting_user_email="rita@acme.test", enabled=True,
            candidate_notice=notice_on, **changes,
        )  # fmt: skip


def _activity(org, candidate, *, status=WriteStatus.PENDING, summary="Interview booked"):
    """What the reader does for a booking: the event and its outbox row."""
    with tenant_scope(org):
        event = TimelineEvent.objects.create(
            organization=org, candidate=candidate, kind="booked", summary=summary,
            occurred_at=timezone.now(),
        )  # fmt: skip
        row, _ = services.write_enqueue(
            organization=org, candidate_id=candidate.pk, kind=WriteKind.BOOKING,
            dedupe_key=f"event:{event.pk}", occurred_at=event.occurred_at, events=[event.pk],
            body=summary, status=status, reason="" if status == WriteStatus.PENDING else "off",
        )  # fmt: skip
    return row


def _notices(org, candidate) -> list[Message]:
    with tenant_scope(org):
        return list(
            Message.objects.filter(candidate=candidate, source=notice.NOTICE_SOURCE).order_by("pk")
        )


def _link(message: Message) -> str:
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(0)


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


# --------------------------------------------------------------------------------------------
# The option in Settings → ATS activity
# --------------------------------------------------------------------------------------------


def test_the_option_is_off_by_default_explained_on_the_settings_page_and_saved(
    client, alice, ats_user
):
    client.force_login(alice.user)
    label = "Tell each candidate once that their conversation is recorded in the ATS"

    before = client.get("/settings/ats-activity/").content.decode()
    response = client.post(
        "/settings/ats-activity/",
        {
            "enabled": "on", "outbound_emails": "on", "candidate_notice": "on",
            "note_visibility": "private", "text_batch_minutes": "15",
            "transcript_quiet_hours": "12", "acting_user_email": "rita@acme.test",
        },
    )  # fmt: skip
    after = client.get("/settings/ats-activity/").content.decode()

    assert label in before
    assert "about to be written to the ATS" in before  # when it goes, in the help text
    assert re.search(r'<input type="checkbox" name="candidate_notice"[^>]*>', before)
    assert not re.search(r'name="candidate_notice"[^>]*checked', before)
    assert response.status_code == 302
    assert re.search(r'name="candidate_notice"[^>]*checked', after)
    with tenant_scope(alice.organization):
        assert selectors.rules_for(alice.organization).rules.candidate_notice is True


def test_a_sub_account_follows_its_parents_notice_option(org, ats_user):
    child = Organization.objects.create(name="Acme West", parent=org)
    _rules(org)
    cand = _candidate(child, first="Noa", email="noa@example.com")

    _activity(child, cand)

    assert len(_notices(child, cand)) == 1


# --------------------------------------------------------------------------------------------
# The e-mail
# --------------------------------------------------------------------------------------------


def test_without_the_option_the_first_write_sends_no_notice(org, ats_user, candidate):
    _rules(org, notice_on=False)

    _activity(org, candidate)

    assert _notices(org, candidate) == []


def test_the_first_write_sends_one_notice_into_the_candidates_inbox_thread(
    client, alice, org, ats_user, candidate
):
    _rules(org)

    _activity(org, candidate, summary="Interview booked")
    _activity(org, candidate, summary="Interview moved")
    sent = _notices(org, candidate)
    client.force_login(alice.user)
    with tenant_scope(org):
        conversation = Conversation.objects.get(candidate=candidate)
        row = RecordingNotice.objects.get(candidate=candidate)
    thread = client.get(f"/inbox/{conversation.pk}/").content.decode()

    assert len(sent) == 1
    message = sent[0]
    assert message.channel == Channel.EMAIL and message.to_address == "sam@example.com"
    assert message.conversation_id == conversation.pk
    assert message.subject == (
        "Your conversation with Acme Talent is recorded in our applicant tracking system"
    )
    assert message.body.startswith("Hi Sam,")
    assert "Stop recording this conversation in Acme Talent's ATS" in unescape(message.html)
    assert _link(message) in message.html
    assert row.outcome == NoticeOutcome.SENT and row.message_id == message.pk
    assert "is recorded in our applicant tracking system" in thread


def test_a_write_kept_as_rule_off_or_paused_sends_no_notice(org, ats_user, candidate):
    _rules(org)
    paused = _candidate(org, first="Ada", email="ada@example.com")
    with tenant_scope(org):
        services.candidate_pause(
            organization=org, candidate=paused, source=PauseSource.CANDIDATE_PAGE
        )

    _activity(org, candidate, status=WriteStatus.RULE_OFF)
    row = _activity(org, paused)

    assert row.status == WriteStatus.PAUSED
    assert _notices(org, candidate) == [] and _notices(org, paused) == []


def test_no_notice_to_a_candidate_the_ats_says_not_to_email_nor_to_an_unsubscribed_address(
    org, ats_user
):
    _rules(org)
    forbidden = _candidate(org, first="Ada", email="ada@example.com", can_email=False)
    unsubscribed = _candidate(org, first="Lin", email="lin@example.com")
    with tenant_scope(org):
        email_opt_out_lock(
            organization=org, email="lin@example.com", source=EmailOptOutSource.UNSUBSCRIBE_LINK
        )

    for cand in (forbidden, unsubscribed):
        _activity(org, cand)
        _activity(org, cand, summary="Interview moved")  # not tried again
    with tenant_scope(org):
        rows = {r.candidate_id: r for r in RecordingNotice.objects.all()}
        skipped = list(
            TimelineEvent.objects.filter(kind="message_skipped").values_list(
                "candidate_id", "summary"
            )
        )

    assert _notices(org, forbidden) == [] and _notices(org, unsubscribed) == []
    with tenant_scope(org):
        assert not Message.objects.exists()
    assert rows[forbidden.pk].outcome == NoticeOutcome.NOT_SENT
    assert rows[unsubscribed.pk].outcome == NoticeOutcome.NOT_SENT
    assert "unsubscribed" in rows[unsubscribed.pk].reason.lower()
    assert len(skipped) == 2  # one "E-mail not sent: …" entry each, not one per write
    assert {candidate_id for candidate_id, _ in skipped} == {forbidden.pk, unsubscribed.pk}


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_notice(alice):
    org = alice.organization
    with tenant_scope(org):
        AtsUser.objects.create(
            organization=org, provider="greenhouse", external_id="4080",
            name="Rita Recruiter", email="rita@acme.test",
        )  # fmt: skip
    _rules(org)
    cand = _candidate(org)
    start = threading.Barrier(4)
    results: list = []
    errors: list = []

    def worker(n: int):
        try:
            with tenant_scope(org):
                start.wait(5)
                row, _ = services.write_enqueue(
                    organization=org, candidate_id=cand.pk, kind=WriteKind.BOOKING,
                    dedupe_key=f"race:{n}", occurred_at=timezone.now(), body="Booked",
                )  # fmt: skip
                results.append(row.status)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert errors == []
    assert results == [WriteStatus.PENDING] * 4
    assert len(_notices(org, cand)) == 1
    with tenant_scope(org):
        assert RecordingNotice.objects.count() == 1


# --------------------------------------------------------------------------------------------
# The page behind the link
# --------------------------------------------------------------------------------------------


def test_opening_the_link_explains_and_changes_nothing(client, org, ats_user, candidate):
    _rules(org)
    _activity(org, candidate)
    path = _path(_link(_notices(org, candidate)[0]))

    pages = [client.get(path), client.get(path), client.head(path)]
    body = pages[0].content.decode()

    assert [p.status_code for p in pages] == [200, 200, 200]
    assert "Your conversation with Acme Talent" in body and "Hi Sam" in body
    assert (
        '<button type="submit" class="btn">Stop recording this conversation in Acme Talent\'s ATS'
        in unescape(body)
    )
    assert 'name="viewport"' in body  # laid out for a phone
    assert "<script>" not in body and "style=" not in body  # nothing the CSP would block
    with tenant_scope(org):
        assert not WritebackPause.objects.exists()


def test_the_button_pauses_the_candidate_and_a_second_visit_says_so(
    client, alice, org, ats_user, candidate
):
    _rules(org)
    _activity(org, candidate)
    waiting = _activity(org, candidate, summary="Interview moved")
    path = _path(_link(_notices(org, candidate)[0]))

    response = client.post(path)
    done = client.get(response["Location"]).content.decode()
    again = client.post(path)
    second = client.get(path).content.decode()
    waiting.refresh_from_db()
    with tenant_scope(org):
        pause = WritebackPause.objects.get(candidate=candidate)
        told = list(
            TimelineEvent.objects.filter(
                candidate=candidate, kind=timeline_kinds.RECORDING_STOPPED_BY_CANDIDATE
            )
        )
    client.force_login(alice.user)
    candidate_page = client.get(f"/candidates/{candidate.pk}/").content.decode()

    assert response.status_code == 302 and again.status_code == 302
    assert "We no longer record this conversation in Acme Talent's ATS" in unescape(done)
    assert "already not recorded in Acme Talent's ATS" in unescape(second)
    assert "<button" not in second
    assert pause.source == PauseSource.CANDIDATE_LINK and pause.paused_by is None
    assert waiting.status == WriteStatus.PAUSED
    assert len(told) == 1  # the second press tells nothing new
    assert "ATS recording paused by the candidate" in candidate_page
    assert "The candidate stopped the recording of this conversation in the ATS" in candidate_page


def test_a_recruiter_resumes_what_the_candidate_paused(client, alice, org, ats_user, candidate):
    _rules(org)
    _activity(org, candidate)
    client.post(_path(_link(_notices(org, candidate)[0])))
    client.force_login(alice.user)

    client.post(f"/candidates/{candidate.pk}/ats-activity/resume/")
    later = _activity(org, candidate, summary="Interview moved")

    with tenant_scope(org):
        assert not selectors.is_paused(organization=org, candidate_id=candidate.pk)
    assert later.status == WriteStatus.PENDING
    assert len(_notices(org, candidate)) == 1  # the notice is not sent again


def test_a_tampered_or_foreign_link_gets_a_friendly_404_naming_nobody(
    client, org, mallory, ats_user, candidate
):
    _rules(org)
    _activity(org, candidate)
    good = _link(_notices(org, candidate)[0]).rstrip("/").rsplit("/", 1)[1]
    forged = signing.dumps({"o": org.pk, "c": candidate.pk}, salt="another.salt")
    with override_settings(SECRET_KEY="not-our-secret"):
        foreign_key = notice.notice_token(organization=org, candidate_id=candidate.pk)
    tokens = {
        "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "other salt": forged,
        "unsubscribe token": unsubscribe_token(organization=org, email="sam@example.com"),
        "other secret": foreign_key,
        "other organization": notice.notice_token(
            organization=mallory.organization, candidate_id=candidate.pk
        ),
        "not a token": "hello",
    }

    for what, token in tokens.items():
        for method in (client.get, client.post):
            response = method(f"/ats-notice/{token}/")
            body = response.content.decode()
            assert response.status_code == 404, what
            assert "We couldn't find this link" in unescape(body), what
            assert "Acme Talent" not in body and "Sam" not in body, what
    with tenant_scope(org):
        assert not WritebackPause.objects.exists()


def test_the_link_of_a_deleted_candidate_is_not_found(client, org, ats_user, candidate):
    _rules(org)
    _activity(org, candidate)
    path = _path(_link(_notices(org, candidate)[0]))
    with tenant_scope(org):
        Candidate.objects.filter(pk=candidate.pk).update(deleted_at=timezone.now())

    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404

"""Simulation over real transitions and the dry run for one candidate: what would have happened,
and nothing sent or written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from candidates.models import TimelineEvent
from journeys import simulation
from journeys.dry_run import dry_run
from journeys.models import JourneyRun, JourneyVersion, StepRun
from messaging import services as messaging
from messaging.models import Message, OptOutSource
from recruitflow.tenancy import tenant_scope
from tests.journeys.conftest import LONDON_MOBILE, NEW_YORK_MOBILE

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)
ONE_HOUR = {"mode": "duration", "days": 0, "hours": 1, "minutes": 0}
TWO_DAYS = {"mode": "duration", "days": 2, "hours": 0, "minutes": 0}


def at(moment, time_machine):
    time_machine.move_to(moment, tick=False)


def writes(org) -> tuple[int, int, int, int]:
    with tenant_scope(org):
        return (
            Message.objects.count(),
            JourneyRun.objects.count(),
            StepRun.objects.count(),
            TimelineEvent.objects.count(),
        )


@pytest.fixture
def onsite(make_journey, sms_template, email_template):
    return make_journey(
        steps=[("wait", ONE_HOUR), ("send_sms", sms_template), ("wait", TWO_DAYS),
               ("send_email", email_template)],
        active=False,
    )  # fmt: skip


def test_simulation_lists_who_would_have_entered_when_each_step_goes_out_and_sends_nothing(
    ats, onsite, texting, time_machine
):
    at(datetime(2025, 1, 5, 14, 0, tzinfo=UTC), time_machine)
    ats.move(ats.apply(ats.candidate(first_name="Hal")), "Onsite Interview")  # too long ago
    at(datetime(2025, 1, 10, 14, 0, tzinfo=UTC), time_machine)  # 09:00 New York
    ats.move(ats.apply(ats.candidate(first_name="Ada")), "Onsite Interview")
    ats.move(ats.apply(ats.candidate(first_name="Cy"), "Account Executive"), "Onsite Interview")
    ats.move(ats.apply(ats.candidate(first_name="Dee", mobile="")), "Onsite Interview")
    at(datetime(2025, 1, 9, 12, 0, tzinfo=UTC), time_machine)
    with tenant_scope(ats.organization):
        messaging.opt_out_lock(organization=ats.organization, phone=LONDON_MOBILE,
                               source=OptOutSource.KEYWORD, keyword="STOP")  # fmt: skip
    at(datetime(2025, 1, 10, 14, 0, tzinfo=UTC), time_machine)
    ats.move(ats.apply(ats.candidate(first_name="Eve", mobile=LONDON_MOBILE)), "Onsite Interview")
    fay = ats.apply(ats.candidate(first_name="Fay"))
    ats.move(fay, "Onsite Interview")
    at(datetime(2025, 1, 10, 14, 30, tzinfo=UTC), time_machine)
    ats.move(fay, "Offer")
    at(datetime(2025, 1, 12, 3, 0, tzinfo=UTC), time_machine)  # 22:00 New York, the 11th
    ats.move(ats.apply(ats.candidate(first_name="Bo")), "Onsite Interview")
    at(NOW, time_machine)
    before = writes(ats.organization)

    with tenant_scope(ats.organization):
        report = simulation.simulate(version=onsite.current_version, days=7)

    by_name = {e.candidate_name.split()[0]: e for e in report.entries}
    assert [e.candidate_name.split()[0] for e in report.entries] == [
        "Ada",
        "Dee",
        "Eve",
        "Fay",
        "Bo",
    ]
    ada, bo, dee, eve, fay = (by_name[n] for n in ("Ada", "Bo", "Dee", "Eve", "Fay"))
    assert (ada.job_name, ada.stage_name, ada.entered_at) == (
        "Sales Rep", "Onsite Interview", datetime(2025, 1, 10, 14, 0, tzinfo=UTC)
    )  # fmt: skip
    assert ada.why == "moved to Onsite Interview (Sales Rep)"
    assert [(s.outcome, s.at) for s in ada.steps] == [
        ("wait", datetime(2025, 1, 10, 15, 0, tzinfo=UTC)),
        ("send", datetime(2025, 1, 10, 15, 0, tzinfo=UTC)),
        ("wait", datetime(2025, 1, 12, 15, 0, tzinfo=UTC)),
        ("send", datetime(2025, 1, 12, 15, 0, tzinfo=UTC)),
    ]
    assert ada.steps[1].note == "Fri 10 Jan 10:00 (America/New_York)"
    # Bo entered at night: the text waits for 08:00 New York, the e-mail counts from then.
    assert (bo.steps[1].outcome, bo.steps[1].at) == ("held", datetime(2025, 1, 12, 13, tzinfo=UTC))
    assert bo.steps[1].note == "held for quiet hours until Sun 12 Jan 08:00 (America/New_York)"
    assert (bo.steps[3].at, bo.steps[3].in_future) == (datetime(2025, 1, 14, 13, tzinfo=UTC), False)
    assert [(s.outcome, s.note) for s in dee.steps if s.channel] == [
        ("skip", "No mobile number"),
        ("send", "Sun 12 Jan 10:00 (America/New_York)"),
    ]
    assert eve.steps[1].note == f"{LONDON_MOBILE} opted out of texts"
    assert eve.zone == "Europe/London" and not eve.skipped
    assert fay.skipped and fay.skipped_reason == (
        "Exited before step 2: moved from Onsite Interview to Offer (exit rule)"
    )
    assert [s.outcome for s in fay.steps] == ["wait", "not_reached", "not_reached", "not_reached"]
    assert [e.candidate_name.split()[0] for e in report.skipped] == ["Fay"]
    assert report.messages == 2 + 2 + 1 + 1
    assert writes(ats.organization) == before
    assert texting.twilio.phones() == []


def test_simulation_reads_a_fixed_number_of_queries_whatever_the_number_of_candidates(
    ats, onsite, time_machine
):
    def simulate_with(n: int) -> int:
        at(datetime(2025, 1, 10, 14, 0, tzinfo=UTC), time_machine)
        for i in range(n):
            ats.move(ats.apply(ats.candidate(first_name=f"P{i}")), "Onsite Interview")
        at(NOW, time_machine)
        with tenant_scope(ats.organization):
            version = JourneyVersion.objects.get(pk=onsite.current_version_id)
            with CaptureQueriesContext(connection) as queries:
                report = simulation.simulate(version=version, days=7)
        assert len(report.entries) >= n
        return len(queries)

    assert simulate_with(3) == simulate_with(30)


def test_simulation_of_a_stale_journey_lists_who_sat_in_the_stage_for_n_days(
    ats, make_journey, email_template, time_machine
):
    journey = make_journey("Still waiting", steps=[("send_email", email_template)],
                           trigger="stale_in_stage", stale_days=3,
                           stage_names=["Phone Interview"], active=False)  # fmt: skip
    at(datetime(2025, 1, 8, 14, 0, tzinfo=UTC), time_machine)
    ats.move(ats.apply(ats.candidate(first_name="Sat"), stage="Application Review"),
             "Phone Interview")  # fmt: skip
    moved = ats.apply(ats.candidate(first_name="Moved"), stage="Application Review")
    ats.move(moved, "Phone Interview")
    at(datetime(2025, 1, 9, 14, 0, tzinfo=UTC), time_machine)
    ats.move(moved, "Onsite Interview")
    at(NOW, time_machine)

    with tenant_scope(ats.organization):
        report = simulation.simulate(version=journey.current_version, days=7)

    (entry,) = report.entries
    assert entry.candidate_name == "Sat Okafor"
    assert entry.entered_at == datetime(2025, 1, 11, 14, 0, tzinfo=UTC)
    assert entry.why == "in Phone Interview (Sales Rep) for 3 days"


def test_dry_run_renders_every_message_with_the_candidates_data_and_sends_nothing(
    ats, onsite, texting
):
    candidate = ats.candidate(first_name="Jordan")
    ats.move(ats.apply(candidate), "Onsite Interview")
    before = writes(ats.organization)

    with tenant_scope(ats.organization):
        steps = dry_run(version=onsite.current_version, candidate=candidate)

    assert [s.label for s in steps] == [
        "Wait 1 hour",
        "Send text message “Onsite invite (text)”",
        "Wait 2 days",
        "Send e-mail “Onsite invite (e-mail)”",
    ]
    text, email = steps[1], steps[3]
    assert (text.to_address, text.text, text.segments, text.encoding) == (
        NEW_YORK_MOBILE, "Hi Jordan, see you at the Onsite Interview!", 1, "GSM-7"
    )  # fmt: skip
    assert email.subject == "Your Sales Rep interview"
    assert email.html == "<p>Hi Jordan, welcome to Acme Talent.</p>"
    assert email.text == "Hi Jordan, welcome to Acme Talent." and email.error == ""
    assert writes(ats.organization) == before
    assert texting.twilio.phones() == []


def test_dry_run_shows_a_broken_template_and_why_a_text_would_not_reach_them(
    ats, make_journey, sms_template
):
    with tenant_scope(ats.organization):
        sms_template.text_body = "Hi {{ candidate.nickname }}"
        sms_template.save()
    journey = make_journey(steps=[("send_sms", sms_template)], active=False)
    candidate = ats.candidate(mobile="")

    with tenant_scope(ats.organization):
        (step,) = dry_run(version=journey.current_version, candidate=candidate)

    assert step.error.startswith(
        "Text message, line 1: unknown merge field {{ candidate.nickname }}"
    )
    assert step.note == "No mobile number: this text would be skipped."


def test_simulation_refuses_a_period_it_cannot_read(ats, onsite):
    with tenant_scope(ats.organization), pytest.raises(ValueError, match="between 1 and 365"):
        simulation.simulate(version=onsite.current_version, days=0)


def test_simulation_starts_from_the_journeys_criteria_not_every_transition(
    ats, onsite, time_machine
):
    at(datetime(2025, 1, 10, 14, 0, tzinfo=UTC), time_machine)
    ats.move(ats.apply(ats.candidate(first_name="Phone")), "Phone Interview")
    at(NOW - timedelta(minutes=1), time_machine)

    with tenant_scope(ats.organization):
        report = simulation.simulate(version=onsite.current_version, days=7, now=NOW)

    assert report.entries == [] and report.transitions_considered == 0

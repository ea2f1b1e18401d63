"""Every figure of the Analytics cards against a hand-counted story.

The story's day D (ten days ago, New York time), everything written out:

Messages — m1 text to Ada by the journey, delivered; m2 text to Ben by the journey, delivered
then reported failed (30003); m3 e-mail to Eve by Bob, delivered; m4 text to Cy by Alice,
undelivered (30007); m5 e-mail to Cy held for quiet hours (never handed over); m6 text to Dee
refused before it was handed over (21211). Replies: Ada texts back (her conversation is Bob's),
Eve e-mails back. Ben texts STOP after m2. One more text five days before the period (the
previous period).
  → sent 4, delivered 2, failed 3 (30003, 30007, 21211), replied 2, reply rate 50 %, opt-outs 1
    (texts, journey "Onsite invitation").

Runs of "Onsite invitation" — Ada: webhook, ATS change 1 s before the start and 2 s before her
text went out, every step done, booked, completed. Ben: webhook, 3 s and 5 s, exited when he
opted out. Cy: poll, 30 s, her text held for quiet hours. Dee: poll, 60 s, her text skipped
(opted out), exited when she left the stage.
  → started 4; reached step 1: 4, step 2: 1, step 3: 1; completed 1, exited (opted out) 1,
    exited (left the stage) 1; booked 1; held 1; skipped (opted out) 1.

Scheduling — q1 (Ada's journey step) sent 10:01, booked 12:01 (2 h), interview on D+2 with
Alice and Bob; q2 (Eve, by Alice) sent 09:00, booked 15:00 (6 h), rescheduled by Eve at 16:00
and cancelled by her at 18:00; q3 (Cy, sent five days earlier, in the previous period) expired unbooked at 08:00 on D.
  → requests sent 2, booked 2, time to schedule median 2 h and 90th percentile 6 h,
    reschedules 1, cancellations 1 (by the candidate), expired 1; interviews on D+2: Alice 1,
    Bob 1.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics import freshness, services
from analytics.models import DailyFigure, RolledDay
from analytics.page import analytics_page
from analytics.selectors import Filters, figure_set
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db

HOUR = 3600


@pytest.fixture
def story(world, alice, bob):
    s = world
    with tenant_scope(s.organization):
        s.candidate("Ada", "Sales Rep", "+12125550001")
        s.candidate("Ben", "Sales Rep", "+12125550002")
        s.candidate("Cy", "Sales Rep", "+12125550003")
        s.candidate("Dee", "Sales Rep", "+12125550004")
        s.candidate("Eve", "Engineer", "+442079460005")
        s.candidates["Ada"].conversations.update(assigned_to=bob.user)

        m1 = s.message("Ada", status="delivered", at=s.at(10, 0, 0))
        m2 = s.message(
            "Ben",
            status="failed",
            at=s.at(10, 0, 5),
            code="30003",
            explanation="The phone was switched off or out of coverage",
        )
        s.message("Eve", channel="email", status="delivered", at=s.at(11), by=bob.user)
        s.message(
            "Cy",
            status="undelivered",
            at=s.at(13),
            code="30007",
            explanation="Filtered by the carrier as spam",
            by=alice.user,
        )
        held = s.message("Cy", channel="email", status="held", at=s.at(22), sent=False)
        s.message(
            "Dee",
            status="failed",
            at=s.at(14),
            sent=False,
            code="21211",
            explanation="The phone number is not valid.",
        )
        s.message("Ada", direction="inbound", status="received", at=s.at(10, 30))
        s.message("Eve", channel="email", direction="inbound", status="received", at=s.at(12))
        s.opt_out("Ben", s.at(10, 20))
        s.message("Ada", status="delivered", at=s.at(9, days=-5))  # the previous period

        ada = s.run(
            "Ada",
            source="webhook",
            observed=s.at(9, 59, 58),
            started=s.at(9, 59, 59),
            status="completed",
        )
        s.step(ada, 1, "done", due=s.at(9, 59, 59), message=m1)
        s.step(ada, 2, "done", due=s.at(10, 0, 30))
        ada_request_step = s.step(ada, 3, "done", due=s.at(10, 1))
        ben = s.run(
            "Ben",
            source="webhook",
            observed=s.at(10, 0, 0),
            started=s.at(10, 0, 3),
            status="exited",
            exit_rule="opted_out",
        )
        s.step(ben, 1, "done", due=s.at(10, 0, 3), message=m2)
        s.step(ben, 2, "canceled", due=s.at(10, 5))
        cy = s.run("Cy", source="poll", observed=s.at(11, 0, 0), started=s.at(11, 0, 30))
        s.step(cy, 1, "held", due=s.at(11, 0, 30), message=held, held_until=s.at(8, days=1))
        dee = s.run(
            "Dee",
            source="poll",
            observed=s.at(11, 59),
            started=s.at(12),
            status="exited",
            exit_rule="left_stage",
        )
        s.step(
            dee,
            1,
            "skipped",
            due=s.at(12),
            reason="+12125550004 opted out on 2026-01-01 by texting STOP; they get no texts.",
        )

        q1 = s.request("Ada", created=s.at(10, 1), status="booked", step_run=ada_request_step)
        s.booking(q1, created=s.at(12, 1), start=s.at(10, days=2), attendees=[alice.user, bob.user])
        q2 = s.request("Eve", created=s.at(9), status="cancelled", by=alice.user)
        b2 = s.booking(
            q2,
            created=s.at(15),
            start=s.at(14, days=3),
            status="cancelled",
            cancelled_at=s.at(18),
            cancelled_by="candidate",
        )
        s.timeline("Eve", "rescheduled", s.at(16), booking_id=b2.pk)
        s.request("Cy", created=s.at(9, days=-5), status="expired", expires=s.at(8))
    return s


def page_for(story, *, days_before=3, days_after=2, **filters):
    with tenant_scope(story.organization):
        services.rollup_organization(organization=story.organization)
        return analytics_page(
            organization=story.organization,
            filters=Filters(
                start=story.day - timedelta(days=days_before),
                end=story.day + timedelta(days=days_after),
                **filters,
            ),
        )


def stats(page, card: str) -> dict:
    return {stat.label: stat.value for stat in page.card(card).stats}


def table(page, card: str, slug: str) -> list:
    return page.card(card).table(slug).rows


def test_messaging_figures_match_the_hand_count(story):
    page = page_for(story)
    assert stats(page, "messaging") == {
        "Sent": 4,
        "Delivered": 2,
        "Failed": 3,
        "Replied": 2,
        "Reply rate": 50.0,
        "Opt-outs": 1,
    }
    assert table(page, "messaging", "error-codes") == [
        ["21211", "The phone number is not valid.", 1],
        ["30003", "The phone was switched off or out of coverage", 1],
        ["30007", "Filtered by the carrier as spam", 1],
    ]
    assert table(page, "messaging", "opt-outs-by-channel") == [["Texts", 3, 1], ["E-mails", 1, 0]]
    assert table(page, "messaging", "opt-outs-by-journey") == [["Onsite invitation", 1]]
    previous = {stat.label: stat.previous for stat in page.card("messaging").stats}
    assert previous["Sent"] == 1 and previous["Delivered"] == 1


def test_a_text_delivered_then_reported_failed_counts_as_failed_only(story):
    page = page_for(story, journey_id=story.journey.pk)
    figures = stats(page, "messaging")
    # The journey sent m1 (delivered) and m2 (delivered, then failed): one of each.
    assert (figures["Sent"], figures["Delivered"], figures["Failed"]) == (2, 1, 1)


def test_messages_per_day_put_each_message_on_its_new_york_day(story):
    page = page_for(story)
    chart = page.card("messaging").charts[0]
    day = chart.labels.index(story.day.isoformat())
    series = dict(chart.series)
    assert series["Sent"][day] == 4 and sum(series["Sent"]) == 4
    assert series["Failed"][day] == 3 and series["Replied"][day] == 2


def test_filters_narrow_the_messaging_figures(story, bob):
    texts = stats(page_for(story, channel="sms"), "messaging")
    assert (texts["Sent"], texts["Delivered"], texts["Failed"], texts["Replied"]) == (3, 1, 3, 1)
    bobs = stats(page_for(story, member_id=bob.user.pk), "messaging")
    assert (bobs["Sent"], bobs["Replied"]) == (1, 1)  # his e-mail; Ada's reply in his conversation
    engineer = stats(page_for(story, job_id=story.jobs["Engineer"].pk), "messaging")
    assert (engineer["Sent"], engineer["Replied"]) == (1, 1)
    with tenant_scope(story.organization):
        london_id = story.jobs["Engineer"].offices.get().pk
        sales_id = story.jobs["Sales Rep"].departments.get().pk
    london = stats(page_for(story, office_id=london_id), "messaging")
    assert london == engineer
    sales = stats(page_for(story, department_id=sales_id), "messaging")
    assert (sales["Sent"], sales["Failed"], sales["Opt-outs"]) == (3, 3, 1)


def test_journey_funnel_and_run_figures_match_the_hand_count(story):
    page = page_for(story)
    assert stats(page, "journeys") == {
        "Runs started": 4,
        "Booked": 1,
        "Held by quiet hours": 1,
        "Skipped (opted out)": 1,
        "Failed runs": 0,
    }
    funnel = table(page, "journeys", "funnel")
    assert funnel[:4] == [
        ["Onsite invitation", "Entered", 4],
        ["Onsite invitation", "Reached step 1 · Send text message", 4],
        ["Onsite invitation", "Reached step 2 · Wait", 1],
        ["Onsite invitation", "Reached step 3 · Send scheduling request", 1],
    ]
    assert sorted(funnel[4:7]) == sorted(
        [
            ["Onsite invitation", "Completed every step", 1],
            ["Onsite invitation", "Exited: candidate opted out of texts", 1],
            ["Onsite invitation", "Exited: candidate left the stage", 1],
        ]
    )
    assert funnel[7] == ["Onsite invitation", "Booked an interview", 1]


def test_scheduling_figures_match_the_hand_count(story, alice, bob):
    page = page_for(story)
    figures = stats(page, "scheduling")
    assert figures["Requests sent"] == 2
    assert {stat.label: stat.previous for stat in page.card("scheduling").stats}[
        "Requests sent"
    ] == 1
    assert figures["Booked"] == 2
    assert figures["Time to schedule (median)"] == pytest.approx(2 * HOUR, rel=0.03)
    assert figures["Time to schedule (90th percentile)"] == pytest.approx(6 * HOUR, rel=0.03)
    assert (figures["Reschedules"], figures["Cancellations"], figures["Expired unbooked"]) == (
        1,
        1,
        1,
    )
    assert table(page, "scheduling", "changes") == [
        ["Rescheduled", "The candidate", 1],
        ["Cancelled", "The candidate", 1],
        ["Cancelled", "A team member", 0],
        ["Cancelled", "An interviewer deleted the calendar event", 0],
        ["Cancelled", "The candidate's data was erased", 0],
    ]
    per_member = page.card("scheduling").table("interviews-per-member")
    interview_day = (story.day + timedelta(days=2)).isoformat()
    row = next(row for row in per_member.rows if row[0] == interview_day)
    names = per_member.columns[1:]
    assert (
        dict(zip(names, row[1:], strict=True)) == {"Alice": 1, "bob@acme.test": 1}
        or sum(row[1:]) == 2
    )


def test_trigger_latency_by_source(story):
    page = page_for(story)
    rows = {(row[0], row[1]): row[2:] for row in table(page, "responsiveness", "latency-by-source")}
    start_webhook = rows[("ATS webhook", "ATS change → run started")]
    assert start_webhook[0] == pytest.approx(1, rel=0.03)  # p50 of 1 s and 3 s
    assert start_webhook[2] == pytest.approx(3, rel=0.03)  # p99
    assert start_webhook[3] == 2
    first_webhook = rows[("ATS webhook", "ATS change → first message handed to the provider")]
    assert first_webhook[0] == pytest.approx(2, rel=0.03) and first_webhook[2] == pytest.approx(
        5, rel=0.03
    )
    start_poll = rows[("ATS poll", "ATS change → run started")]
    assert start_poll[0] == pytest.approx(30, rel=0.03) and start_poll[2] == pytest.approx(
        60, rel=0.03
    )
    # Neither polled run has a message handed to the provider yet.
    assert rows[("ATS poll", "ATS change → first message handed to the provider")][3] == 0


def test_the_rollup_is_idempotent(story):
    with tenant_scope(story.organization):
        services.rollup_day(organization=story.organization, day=story.day)
        first = sorted(
            DailyFigure.objects.filter(day=story.day).values_list(
                "grain", "metric", "key", "job_id", "journey_id", "channel", "member_id", "value"
            ),
            key=str,
        )
        services.rollup_day(organization=story.organization, day=story.day)
        again = sorted(
            DailyFigure.objects.filter(day=story.day).values_list(
                "grain", "metric", "key", "job_id", "journey_id", "channel", "member_id", "value"
            ),
            key=str,
        )
        assert first == again and len(first) > 10
        assert RolledDay.objects.filter(day=story.day).count() == 1


def test_stored_days_and_todays_live_count_agree(story):
    """Today is computed from the raw rows: the same figures the rollup stores for a day."""
    with tenant_scope(story.organization):
        services.rollup_day(organization=story.organization, day=story.day)
        stored = page_for(story, days_before=0, days_after=0)
        DailyFigure.objects.all().delete()
        live = figure_set(
            organization=story.organization,
            filters=Filters(start=story.day, end=story.day),
            now=story.at(23, 59),
        )
    assert stored.figures.total("sent") == live.total("sent") == 4
    assert stored.figures.total("runs_entered") == live.total("runs_entered") == 4


@pytest.mark.parametrize("cache_seconds", [0, 30])
def test_the_page_makes_the_same_number_of_queries_whatever_the_period(
    story, settings, cache_seconds
):
    settings.ANALYTICS_TODAY_CACHE_SECONDS = cache_seconds  # today computed every time, or once
    with tenant_scope(story.organization):
        services.rollup_organization(organization=story.organization)

        def count(days: int, *, stored_cached: bool = False, **filters) -> int:
            if not stored_cached:  # a rollup since: the stored days are read again
                freshness.stored_changed(story.organization.pk)
            end = story.day + timedelta(days=10)
            with CaptureQueriesContext(connection) as queries:
                page = analytics_page(
                    organization=story.organization,
                    filters=Filters(start=end - timedelta(days=days - 1), end=end, **filters),
                )
                assert page.cards  # built from the figures (read when first needed)
            return len(queries)

        count(7)  # warm (today's figures cached when the cache is on)
        week, year = count(7), count(365)
        year_again = count(365, stored_cached=True)
        filtered = count(90, job_id=story.jobs["Sales Rep"].pk, channel="sms")
    assert week == year
    assert filtered <= week + 1  # the job filter reads the job's id once
    # Until the next rollup, the stored days (the monthly rows, the last stored day) come from
    # the cache: two queries fewer.
    assert year_again == year - 2


def test_todays_figures_are_recounted_by_one_request_a_little_before_they_go_stale(
    story, settings, time_machine
):
    """A page showing today's figures is kept only until they are recounted: counted again a
    little before that (by one request), the pages made then are kept for a whole period, instead
    of every request of the figures' last second rendering a page that is not kept."""
    from django.utils import timezone

    from analytics.selectors import today_figures
    from tests.parallel import clear_cache

    settings.ANALYTICS_TODAY_CACHE_SECONDS = 8  # recounted in its last 2 seconds
    clear_cache()
    time_machine.move_to(timezone.now(), tick=False)
    with tenant_scope(story.organization):
        first, _ = today_figures(story.organization, story.day)
        time_machine.shift(5)
        assert today_figures(story.organization, story.day)[0] == first  # 3 s left
        time_machine.shift(1.5)
        recounted, _ = today_figures(story.organization, story.day)  # 1.5 s left
        assert recounted != first
        time_machine.shift(0.1)
        assert today_figures(story.organization, story.day)[0] == recounted

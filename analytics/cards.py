"""The four cards RecruitFlow starts with: Messaging, Journeys, Scheduling, Responsiveness."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from journeys.models import ExitRule, RunStatus
from scheduling.models import CancelledBy

from . import figures as m
from .histogram import percentile
from .registry import Card, CardData, Chart, Stat, Table, register
from .selectors import FigureSet

TOP_ERROR_CODES = 5
FUNNEL_JOURNEYS = 6
CHANNEL_NAMES = {"sms": "Texts", "email": "E-mails"}
ENDINGS = {
    **{rule.value: f"Exited: {rule.label.lower()}" for rule in ExitRule},
    "condition": "Exited: a “Continue only if” step did not hold",
    RunStatus.COMPLETED.value: "Completed every step",
    RunStatus.FAILED.value: "Failed",
    RunStatus.CANCELED.value: "Canceled",
    RunStatus.EXITED.value: "Exited",
}
SOURCES = {"webhook": "ATS webhook", "poll": "ATS poll"}


@dataclass
class Names:
    """Names for the ids in the figures (one query each, made by the page)."""

    journeys: dict[int, str] = field(default_factory=dict)
    members: dict[int, str] = field(default_factory=dict)
    steps: dict[int, dict[int, str]] = field(default_factory=dict)

    def journey(self, pk) -> str:
        if pk is None:
            return "Not from a journey"
        return self.journeys.get(pk, f"Journey #{pk} (deleted)")

    def member(self, pk) -> str:
        if pk is None:
            return "No team member"
        return self.members.get(pk, f"Member #{pk} (left)")


def _labels(figures: FigureSet) -> list[str]:
    return [day.isoformat() for day in figures.period_days()]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole * 100, 1) if whole else None


def messaging(figures: FigureSet, names: Names) -> CardData:
    total = figures.total
    sent, previous_sent = total(m.SENT), total(m.SENT, previous=True)
    replied, previous_replied = total(m.REPLIED), total(m.REPLIED, previous=True)
    card = CardData(slug="messaging", title="Messaging")
    card.stats = [
        Stat("Sent", sent, previous_sent, hint="Texts and e-mails handed to the provider."),
        Stat("Delivered", total(m.DELIVERED), total(m.DELIVERED, previous=True)),
        Stat(
            "Failed",
            total(m.FAILED),
            total(m.FAILED, previous=True),
            hint="Not delivered or refused, by their latest status.",
        ),
        Stat("Replied", replied, previous_replied, hint="Texts and e-mails candidates sent."),
        Stat(
            "Reply rate",
            _rate(replied, sent),
            _rate(previous_replied, previous_sent),
            unit="percent",
            hint="Replies for every 100 messages sent.",
        ),
        Stat("Opt-outs", total(m.OPT_OUTS), total(m.OPT_OUTS, previous=True)),
    ]
    card.charts = [
        Chart(
            "messages-over-time",
            "Messages per day",
            "line",
            _labels(figures),
            [
                ("Sent", figures.by_day(m.SENT)),
                ("Delivered", figures.by_day(m.DELIVERED)),
                ("Failed", figures.by_day(m.FAILED)),
                ("Replied", figures.by_day(m.REPLIED)),
            ],
        )
    ]
    codes = sorted(figures.by(m.FAILED, 2).items(), key=lambda item: (-item[1], item[0]))
    explanations = figures.labels(m.FAILED)
    opt_outs_by_journey = sorted(
        figures.by(m.OPT_OUTS, 4).items(), key=lambda item: (-item[1], names.journey(item[0]))
    )
    sent_by_channel = figures.by(m.SENT, 6)
    opt_outs_by_channel = figures.by(m.OPT_OUTS, 6)
    card.tables = [
        Table(
            "error-codes",
            "Top error codes",
            ["Code", "What it means", "Messages"],
            [
                [code or "—", explanations.get(code, "No reason given by the provider."), count]
                for code, count in codes[:TOP_ERROR_CODES]
            ],
            empty="No failed messages in this period.",
        ),
        Table(
            "opt-outs-by-channel",
            "Opt-outs per channel",
            ["Channel", "Sent", "Opt-outs"],
            [
                [label, sent_by_channel.get(channel, 0), opt_outs_by_channel.get(channel, 0)]
                for channel, label in CHANNEL_NAMES.items()
            ],
        ),
        Table(
            "opt-outs-by-journey",
            "Opt-outs per journey",
            ["Journey", "Opt-outs"],
            [[names.journey(pk), count] for pk, count in opt_outs_by_journey],
            empty="Nobody opted out in this period.",
        ),
    ]
    card.notes = [
        "Opt-outs are the candidates who texted STOP (or were marked opted out); e-mail has "
        "no opt-out ledger, so the team-member filter leaves them whole."
    ]
    return card


def journeys(figures: FigureSet, names: Names) -> CardData:
    total = figures.total
    card = CardData(slug="journeys", title="Journeys")
    card.stats = [
        Stat("Runs started", total(m.RUNS_ENTERED), total(m.RUNS_ENTERED, previous=True)),
        Stat(
            "Booked",
            total(m.RUNS_BOOKED),
            total(m.RUNS_BOOKED, previous=True),
            hint="Runs whose scheduling request the candidate booked.",
        ),
        Stat(
            "Held by quiet hours",
            total(m.STEPS_HELD),
            total(m.STEPS_HELD, previous=True),
            hint="Steps that waited for the sending window.",
        ),
        Stat(
            "Skipped (opted out)",
            total(m.STEPS_SKIPPED_OPT_OUT),
            total(m.STEPS_SKIPPED_OPT_OUT, previous=True),
        ),
        Stat("Failed runs", total(m.RUNS_FAILED), total(m.RUNS_FAILED, previous=True)),
    ]
    card.charts = [
        Chart(
            "runs-per-day",
            "Runs per day",
            "bar",
            _labels(figures),
            [
                ("Started", figures.by_day(m.RUNS_ENTERED)),
                ("Held by quiet hours", figures.by_day(m.STEPS_HELD)),
                ("Skipped (opted out)", figures.by_day(m.STEPS_SKIPPED_OPT_OUT)),
            ],
        )
    ]
    entered = figures.by(m.RUNS_ENTERED, 4)
    reached: dict[int, dict[str, int]] = {}
    for row in figures.rows(m.STEP_REACHED):
        reached.setdefault(row[4], {}).setdefault(row[2], 0)
        reached[row[4]][row[2]] += row[7]
    ended: dict[int, dict[str, int]] = {}
    for row in figures.rows(m.RUNS_ENDED):
        ended.setdefault(row[4], {}).setdefault(row[2], 0)
        ended[row[4]][row[2]] += row[7]
    booked = figures.by(m.RUNS_BOOKED, 4)
    rows = []
    top = sorted(entered, key=lambda pk: (-entered[pk], names.journey(pk)))[:FUNNEL_JOURNEYS]
    for pk in top:
        journey = names.journey(pk)
        rows.append([journey, "Entered", entered[pk]])
        steps = names.steps.get(pk, {})
        for position in sorted(reached.get(pk, {}), key=int):
            label = steps.get(int(position), "")
            stage = f"Reached step {position}" + (f" · {label}" if label else "")
            rows.append([journey, stage, reached[pk][position]])
        for reason, count in sorted(ended.get(pk, {}).items(), key=lambda item: -item[1]):
            rows.append([journey, ENDINGS.get(reason, f"Ended: {reason}"), count])
        rows.append([journey, "Booked an interview", booked.get(pk, 0)])
    card.tables = [
        Table(
            "funnel",
            "Funnel per journey",
            ["Journey", "Stage", "Runs"],
            rows,
            empty="No journey started a run in this period.",
        )
    ]
    card.charts.extend(
        Chart(
            f"funnel-{pk}",
            f"Funnel · {names.journey(pk)}",
            "bar",
            [row[1] for row in rows if row[0] == names.journey(pk)],
            [("Runs", [row[2] for row in rows if row[0] == names.journey(pk)])],
            first_column="Stage",
        )
        for pk in top[:3]
    )
    card.notes = [
        "A run counts on the day it started, with how far it got since; the channel and "
        "team-member filters do not apply to runs."
    ]
    return card


def scheduling(figures: FigureSet, names: Names) -> CardData:
    total = figures.total

    def waited(fraction: float, previous: bool = False) -> float | None:
        histogram = figures.by(m.TIME_TO_SCHEDULE, 2, previous=previous)
        return percentile(((int(key), count) for key, count in histogram.items()), fraction)

    card = CardData(slug="scheduling", title="Scheduling")
    card.stats = [
        Stat("Requests sent", total(m.REQUESTS_SENT), total(m.REQUESTS_SENT, previous=True)),
        Stat("Booked", total(m.BOOKED), total(m.BOOKED, previous=True)),
        Stat(
            "Time to schedule (median)",
            waited(0.5),
            waited(0.5, True),
            unit="seconds",
            hint="From the request to the booking.",
        ),
        Stat("Time to schedule (90th percentile)", waited(0.9), waited(0.9, True), "seconds"),
        Stat("Reschedules", total(m.RESCHEDULES), total(m.RESCHEDULES, previous=True)),
        Stat("Cancellations", total(m.CANCELLATIONS), total(m.CANCELLATIONS, previous=True)),
        Stat(
            "Expired unbooked",
            total(m.EXPIRED),
            total(m.EXPIRED, previous=True),
            hint="Links that expired without a booking.",
        ),
    ]
    interviews: dict = {}
    for row in figures.rows(m.INTERVIEWS):
        interviews.setdefault(row[5], {}).setdefault(row[0], 0)
        interviews[row[5]][row[0]] += row[7]
    members = sorted(interviews, key=lambda pk: names.member(pk))
    days = figures.period_days()
    card.charts = [
        Chart(
            "requests-per-day",
            "Requests and bookings per day",
            "line",
            _labels(figures),
            [
                ("Requests sent", figures.by_day(m.REQUESTS_SENT)),
                ("Booked", figures.by_day(m.BOOKED)),
            ],
        ),
        Chart(
            "interviews-per-member",
            "Interviews per day per team member",
            "bar",
            _labels(figures),
            [(names.member(pk), [interviews[pk].get(day, 0) for day in days]) for pk in members]
            or [("Interviews", [0 for _ in days])],
        ),
    ]
    cancellations = figures.by(m.CANCELLATIONS, 2)
    card.tables = [
        Table(
            "changes",
            "Reschedules and cancellations",
            ["Change", "Who", "Interviews"],
            [
                ["Rescheduled", "The candidate", total(m.RESCHEDULES)],
                *(
                    ["Cancelled", choice.label, cancellations.get(choice.value, 0)]
                    for choice in CancelledBy
                ),
            ],
        )
    ]
    card.notes = [
        "Interviews count once per attendee on the day they take place; the channel filter "
        "does not apply to scheduling."
    ]
    return card


def responsiveness(figures: FigureSet, names: Names) -> CardData:
    card = CardData(slug="responsiveness", title="Responsiveness")
    rows: list[list[Any]] = []
    series: dict[str, list[float | None]] = {}
    measures = (
        (m.LATENCY_START, "ATS change → run started"),
        (m.LATENCY_FIRST_MESSAGE, "ATS change → first message handed to the provider"),
    )
    for metric, measure in measures:
        histograms: dict[str, list[tuple[int, int]]] = {}
        for key, count in figures.by(metric, 2).items():
            source, _, bucket = key.partition(":")
            histograms.setdefault(source, []).append((int(bucket), count))
        for source in SOURCES:
            histogram = histograms.get(source, [])
            quantiles = [percentile(histogram, q) for q in (0.5, 0.95, 0.99)]
            runs = sum(count for _, count in histogram)
            rows.append([SOURCES[source], measure, *quantiles, runs])
            series.setdefault(f"{SOURCES[source]} · p50", []).append(quantiles[0])
            series.setdefault(f"{SOURCES[source]} · p95", []).append(quantiles[1])
    webhook_first = next(
        (row for row in rows if row[0] == SOURCES["webhook"] and row[1] == measures[1][1]), None
    )
    card.stats = [
        Stat(
            "Stage change → first message (webhook, median)",
            webhook_first[2] if webhook_first else None,
            unit="seconds",
        ),
        Stat(
            "Stage change → first message (webhook, p99)",
            webhook_first[4] if webhook_first else None,
            unit="seconds",
        ),
    ]
    card.charts = [
        Chart(
            "latency",
            "Trigger latency (seconds)",
            "bar",
            [measure for _, measure in measures],
            [(name, values) for name, values in series.items()],
            first_column="Measure",
            unit="seconds",
        )
    ]
    card.tables = [
        Table(
            "latency-by-source",
            "Trigger latency by source (seconds)",
            ["Source", "Measure", "p50", "p95", "p99", "Runs"],
            [
                [*row[:2], *(None if q is None else round(q, 3) for q in row[2:5]), row[5]]
                for row in rows
            ],
        )
    ]
    card.notes = [
        "Measured from the moment RecruitFlow saw the ATS change; percentiles are read from "
        "rolled-up histograms (within about 3 %)."
    ]
    return card


register(Card("messaging", "Messaging", messaging))
register(Card("journeys", "Journeys", journeys))
register(Card("scheduling", "Scheduling", scheduling))
register(Card("responsiveness", "Responsiveness", responsiveness))

"""The demo history's stage changes (see :mod:`analytics.demo`): each application's moves of the
last ``days`` days, consistent with where it is now. Its path ends at its current stage (and, for
a rejected or hired application, with that status change at that stage); an application that
applied inside the period starts with its "application created" change at its ``applied_at``.
Moves happen when recruiters work: weekdays far more than weekends, office hours in the
organization's zone, a few early or in the evening. Seen by webhook (seconds after the move) or
by the poll (up to 15 minutes later), as the real sync records them."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from candidates.models import Application, StageTransition

# How likely a recruiter moves a candidate on each weekday (Monday first).
WEEKDAY_WEIGHTS = (1.0, 1.0, 0.95, 0.9, 0.75, 0.06, 0.03)
OFFICE_START, OFFICE_END = 8 * 60 + 30, 18 * 60  # minutes after midnight, local
EVENING_END, EARLY_START = 21 * 60 + 30, 7 * 60 + 15
# How many moves of an application that applied before the period fall inside it.
MOVES_IN_PERIOD = (0, 1, 1, 1, 2, 2, 3)
ACTIVE, REJECTED, HIRED = "active", "rejected", "hired"


def office_moment(rng: random.Random, zone: ZoneInfo, lo: datetime, hi: datetime):
    """A moment strictly between ``lo`` and ``hi`` when a recruiter works (weekdays heavier,
    office hours in ``zone``), or None when the span has no such moment."""
    if hi <= lo:
        return None
    first, last = lo.astimezone(zone).date(), hi.astimezone(zone).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    weights = [WEEKDAY_WEIGHTS[d.weekday()] for d in days]
    for _ in range(12):
        day: date = rng.choices(days, weights)[0]
        pick = rng.random()
        if pick < 0.86:
            minute = rng.randint(OFFICE_START, OFFICE_END)
        elif pick < 0.96:
            minute = rng.randint(OFFICE_END, EVENING_END)
        else:
            minute = rng.randint(EARLY_START, OFFICE_START)
        local = datetime.combine(day, time(minute // 60, minute % 60, rng.randint(0, 59)))
        moment = local.replace(tzinfo=zone)
        if lo < moment < hi:
            return moment
    return None


def _moments(rng, zone, lo: datetime, hi: datetime, count: int) -> list[datetime] | None:
    """``count`` distinct working moments in order, or None when they do not fit."""
    found: set[datetime] = set()
    for _ in range(count * 3):
        moment = office_moment(rng, zone, lo, hi)
        if moment is not None:
            found.add(moment)
        if len(found) == count:
            return sorted(found)
    return None


def stage_changes(
    *,
    organization,
    applications: list[Application],
    paths: dict[int, list],
    now: datetime,
    days: int,
    rng: random.Random,
    zone: ZoneInfo,
    tag: str,
) -> list[StageTransition]:
    """The transitions of ``applications`` in the last ``days`` days, oldest first per
    application. ``paths``: each job's stages in order (Stage rows)."""
    since = now - timedelta(days=days)
    latest = now - timedelta(minutes=20)
    transitions: list[StageTransition] = []
    for n, application in enumerate(applications):
        stages = paths.get(application.job_id or 0) or []
        names = [s.name for s in stages]
        if application.stage_name not in names:
            continue
        final = names.index(application.stage_name)
        applied = application.applied_at
        start = applied if applied is not None and since < applied < latest else None
        new = start is not None
        first = 0 if new else final - min(final, rng.choice(MOVES_IN_PERIOD))
        status = application.status if application.status in (REJECTED, HIRED) else ACTIVE
        count = final - first + (status != ACTIVE)
        moments = _moments(rng, zone, start or since, latest, count) if count else []
        if moments is None:
            continue
        if status != ACTIVE and len(moments) > 1 and rng.random() < 0.4:
            # A quick decision: rejected (or hired) within the day of the last move.
            prev = moments[-2]
            quick = office_moment(rng, zone, prev + timedelta(hours=1), prev + timedelta(hours=20))
            if quick is not None and quick < latest:
                moments[-1] = quick
        rows: list[tuple] = []  # (from, to, from_status, to_status, moment, is_new)
        if new:
            rows.append((None, stages[0], "", ACTIVE, start, True))
        for i in range(first, final):
            rows.append((stages[i], stages[i + 1], ACTIVE, ACTIVE, moments[i - first], False))
        if status != ACTIVE:
            rows.append((stages[final], stages[final], ACTIVE, status, moments[-1], False))
        for step, (from_stage, to_stage, from_status, to_status, moved, is_new) in enumerate(rows):
            webhook = rng.random() < 0.8
            seen = moved + (
                timedelta(seconds=rng.uniform(0.5, 4))
                if webhook
                else timedelta(seconds=rng.uniform(20, 900))
            )
            transitions.append(
                StageTransition(
                    organization=organization,
                    provider=application.provider,
                    application=application,
                    candidate=application.candidate,
                    job=application.job,
                    from_stage=from_stage,
                    to_stage=to_stage,
                    from_stage_name=from_stage.name if from_stage else "",
                    to_stage_name=to_stage.name,
                    from_status=from_status,
                    to_status=to_status,
                    is_new_application=is_new,
                    observed_at=min(seen, now - timedelta(seconds=1)),
                    source="webhook" if webhook else "poll",
                    provider_event_id=f"{tag}-{n}-{step}",
                )
            )
    return transitions


def mirror_stage(rng: random.Random, stages: list[str]) -> tuple[int, str]:
    """Where an application of the demo's own mirror is now: its stage index and status."""
    final = rng.choices(range(len(stages)), (0.3, 0.25, 0.3, 0.15)[: len(stages)])[0]
    status = ACTIVE
    if rng.random() < 0.18:
        status = REJECTED
    elif final == len(stages) - 1 and rng.random() < 0.3:
        status = HIRED
    return final, status

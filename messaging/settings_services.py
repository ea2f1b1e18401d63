"""Writes behind Settings → Messaging: quiet hours and automatic texts. The texting and e-mail
vendors' settings, their saves and connection tests are the vendors' own
(``integrations/<vendor>/screen.py``).

Every function is keyword-only and atomic.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from messaging import selectors
from messaging.models import MessagingPreferences

PREFERENCE_FIELDS = frozenset(
    {
        "sms_window_start",
        "sms_window_end",
        "sms_days",
        "email_window_start",
        "email_window_end",
        "email_days",
        "help_reply",
        "opt_out_footer",
    }
)


# --------------------------------------------------------------------------------------------
# Quiet hours and automatic texts
# --------------------------------------------------------------------------------------------


def window_problems(
    *, start: time | None, end: time | None, days: list[int], prefix: str, what: str
) -> dict[str, str]:
    """What is wrong with a sending window, by form field name (empty when nothing is)."""
    problems: dict[str, str] = {}
    if start is not None and end is not None and start == end:
        problems[f"{prefix}_window_end"] = (
            f"{what} would never go out: the window starts and ends at {start:%H:%M}. "
            "Pick an end time after the start (a window may run past midnight, e.g. "
            "22:00 until 02:00)."
        )
    if not days:
        problems[f"{prefix}_days"] = (
            f"Pick at least one day. With no days, {what.lower()} would be held forever."
        )
    elif any(not isinstance(day, int) or not 0 <= day <= 6 for day in days):
        problems[f"{prefix}_days"] = "Days are numbers from 0 (Monday) to 6 (Sunday)."
    return problems


@transaction.atomic
def messaging_preferences_update(*, organization, **changes: Any) -> MessagingPreferences:
    """Set some of the organization's messaging preferences (creating the row on first use)."""
    unknown = set(changes) - PREFERENCE_FIELDS
    if unknown:
        raise TypeError(f"Not a messaging preference: {', '.join(sorted(unknown))}")
    prefs = (
        MessagingPreferences.objects.select_for_update().filter(organization=organization).first()
    )
    if prefs is None:
        prefs = MessagingPreferences(organization=organization)
    for name, value in changes.items():
        setattr(prefs, name, value)
    problems = window_problems(
        start=prefs.sms_window_start,
        end=prefs.sms_window_end,
        days=list(prefs.sms_days),
        prefix="sms",
        what="Texts",
    )
    if bool(prefs.email_window_start) != bool(prefs.email_window_end):
        problems["email_window_end"] = "Set both ends of the e-mail window, or neither."
    elif prefs.email_window_start:
        problems.update(
            window_problems(
                start=prefs.email_window_start,
                end=prefs.email_window_end,
                days=list(prefs.email_days),
                prefix="email",
                what="E-mails",
            )
        )
    if "help_reply" in changes and not (prefs.help_reply or "").strip():
        problems["help_reply"] = "Write the reply candidates get when they text HELP."
    if problems:
        raise ValidationError(problems)
    prefs.save()
    return prefs


def preferences_ensure(*, organization) -> MessagingPreferences:
    """The preferences row (it carries the organization's webhook address)."""
    return selectors.preferences_for(organization=organization)

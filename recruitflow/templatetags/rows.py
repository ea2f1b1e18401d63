"""What a page shows for each of many rows, built for a fraction of what Django's generic tags
cost: ``{{ when|org_date:"M j, Y H:i T" }}`` and ``{% row_url "candidates:detail" pk %}``.

A list of 50 rows with two dates and two links each spent more of its request in
``{% url %}`` (the resolver's namespaces, candidates and check, ~25 µs a link) and in the ``date``
filter (localization lookups and a formatter object, 15–35 µs a date) than in anything else.
These give the same text: a date is converted to the zone the page renders in (the
organization's) and formatted from a format compiled once per process; an address is built by
:func:`recruitflow.row_urls.row_url`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import cache
from typing import Any

from django import template
from django.template.defaultfilters import date as django_date
from django.utils import dates, timezone, translation

from recruitflow.row_urls import row_url

register = template.Library()

_Piece = Callable[[Any], str]


@cache
def _names(language: str) -> dict[str, tuple[str, ...]]:
    """Month and weekday names as Django's ``date`` filter shows them, per language."""
    return {
        "M": tuple(str(dates.MONTHS_3.get(n, "")).title() for n in range(13)),
        "F": tuple(str(dates.MONTHS.get(n, "")) for n in range(13)),
        "D": tuple(str(dates.WEEKDAYS_ABBR[n]) for n in range(7)),
        "l": tuple(str(dates.WEEKDAYS[n]) for n in range(7)),
    }


def _zone_name(value: datetime.datetime) -> str:
    # As Django's "T": no name for a wall time a zone change makes ambiguous or imaginary.
    zone = value.tzinfo
    if zone is None or zone.utcoffset(value.replace(fold=not value.fold)) != zone.utcoffset(value):
        return ""
    return str(zone.tzname(value))


# The format characters this formatter knows (a subset of Django's: those the pages use), each
# as the text Django's ``date`` filter gives for it.
_PIECES: dict[str, _Piece] = {
    "Y": lambda v: f"{v.year:04d}",
    "m": lambda v: f"{v.month:02d}",
    "d": lambda v: f"{v.day:02d}",
    "j": lambda v: str(v.day),
    "H": lambda v: f"{v.hour:02d}",
    "i": lambda v: f"{v.minute:02d}",
    "s": lambda v: f"{v.second:02d}",
    "c": lambda v: v.isoformat(),
    "T": _zone_name,
    "M": lambda v: _names(translation.get_language())["M"][v.month],
    "F": lambda v: _names(translation.get_language())["F"][v.month],
    "D": lambda v: _names(translation.get_language())["D"][v.weekday()],
    "l": lambda v: _names(translation.get_language())["l"][v.weekday()],
}
_TIME_CHARACTERS = set("HisT")


@cache
def _compiled(format_string: str) -> tuple[str | _Piece, ...] | None:
    """The format as literal text and formatting functions, or None when it uses a character
    this formatter does not know (Django's filter formats it then)."""
    pieces: list[str | _Piece] = []
    for character in format_string:
        if character in _PIECES:
            pieces.append(_PIECES[character])
        elif character.isalpha() or character == "\\":
            return None
        elif pieces and isinstance(pieces[-1], str):
            pieces[-1] += character
        else:
            pieces.append(character)
    return tuple(pieces)


@register.filter
def org_date(value, format_string: str) -> str:
    """Django's ``date`` filter's text for a date or an aware datetime, in the zone the page is
    rendered in (see ``candidates.views.render_in_org_time``); anything else (a naive datetime,
    a format character not known here) is left to Django's filter."""
    if value in (None, ""):
        return ""
    pieces = _compiled(format_string)
    if isinstance(value, datetime.datetime):
        fast = value.utcoffset() is not None
        if fast:
            value = value.astimezone(timezone.get_current_timezone())
    else:
        fast = isinstance(value, datetime.date) and not _TIME_CHARACTERS & set(format_string)
    if pieces is None or not fast:
        return django_date(value, format_string)
    return "".join(piece if isinstance(piece, str) else piece(value) for piece in pieces)


register.simple_tag(row_url, name="row_url")

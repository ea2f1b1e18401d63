"""The rows' tags give exactly the text of Django's ``date`` filter and ``{% url %}``."""

import datetime
import zoneinfo

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = datetime.UTC
# Every format the templates give the date filter.
FORMATS = [
    "M j, Y H:i T", "c", "Y-m-d", "M j, H:i T", "D j M", "M j, Y", "M j, Y H:i:s T", "H:i",
    "D j M Y H:i", "j M Y H:i", "M j", "l j F", "M j, H:i:s", "D j M H:i", "l j F Y, H:i",
    "j M, H:i", "Ymd", "l j F Y", "j M Y, H:i", "M j, H:i:s T", "H:i:s", "H:i:s T", "H:i T",
    "F j, Y", "D j M, H:i", "D j M Y",
    "N j, Y, P", r"\a\t H:i",  # characters only Django's filter knows
]  # fmt: skip
VALUES = [
    datetime.datetime(2026, 1, 5, 3, 7, 9, tzinfo=UTC),  # the day before in New York
    datetime.datetime(2026, 7, 31, 23, 59, 1, 123456, tzinfo=UTC),
    datetime.datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # New York springs forward
    datetime.datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 in New York, ambiguous
    datetime.datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # 01:30 again, after the change
    datetime.datetime(2026, 2, 1, 9, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Kolkata")),
    datetime.date(2026, 12, 24),
    datetime.datetime(2026, 4, 2, 8, 15),  # naive
    None,
    "",
]


def _render(source: str, **context) -> str:
    return Template("{% load rows %}" + source).render(Context(context))


@pytest.mark.parametrize("zone", [NEW_YORK, UTC, zoneinfo.ZoneInfo("Asia/Kolkata")])
@pytest.mark.parametrize("format_string", FORMATS)
def test_org_date_is_the_date_filter(zone, format_string):
    with timezone.override(zone):
        for value in VALUES:
            is_day = isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)
            if is_day and set(format_string) & set("HisTPc"):
                continue  # Django refuses time characters for a date
            expected = _render("{{ value|date:f }}", value=value, f=format_string)
            assert _render("{{ value|org_date:f }}", value=value, f=format_string) == expected


def test_row_url_is_the_url_tag():
    template = (
        "{% row_url 'candidates:detail' pk %}|{% url 'candidates:detail' pk %}|"
        "{% row_url 'journeys:run' journey run %}|{% url 'journeys:run' journey run %}|"
        "{% row_url 'dashboard' %}|{% url 'dashboard' %}"
    )
    for pk, journey, run in [(1, 2, 3), (987654, 12, 9), (7, 7, 7)]:
        ours, django, our_run, django_run, our_page, django_page = _render(
            template, pk=pk, journey=journey, run=run
        ).split("|")
        assert (ours, our_run, our_page) == (django, django_run, django_page)
    assert _render("{% row_url 'candidates:detail' 5 %}") == reverse("candidates:detail", args=[5])


def test_row_url_fails_as_the_url_tag_does():
    with pytest.raises(NoReverseMatch):
        _render("{% row_url 'dashboard' 5 %}")

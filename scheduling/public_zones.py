"""Time zones as a candidate reads them: current IANA names only (``zone_data``: the zones of
``zone.tab``, no obsolete links such as ``US/Pacific`` or ``Asia/Calcutta``, no ``Etc/...``),
grouped by region, labelled with the city, the country and the current UTC offset; the clock
(12- or 24-hour) a zone's country usually reads."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from functools import lru_cache

from .zone_data import ALIASES, COUNTRIES, ZONES

UTC_NAME = "UTC"
ZONE_COUNTRY: dict[str, str] = dict(ZONES)
OFFERED = frozenset(ZONE_COUNTRY) | {UTC_NAME}
KNOWN = frozenset(zoneinfo.available_timezones())

NORTH_AMERICA = {"US", "CA", "MX", "GL", "PM", "BM"}
SOUTH_AMERICA = {"AR", "BO", "BR", "CL", "CO", "EC", "FK", "GF", "GY", "PY", "PE", "SR", "UY", "VE"}
REGIONS = (
    "Africa",
    "North America",
    "Central America and the Caribbean",
    "South America",
    "Asia",
    "Atlantic Ocean",
    "Australia",
    "Europe",
    "Indian Ocean",
    "Pacific",
    "Universal time",
)
# Countries whose people mostly read a 12-hour clock; elsewhere a 24-hour one.
TWELVE_HOUR_COUNTRIES = {
    "US", "CA", "AU", "NZ", "IN", "PH", "PK", "BD", "EG", "SA", "MY", "CO", "HN", "SV", "NI",
    "JO", "PR", "AS", "GU", "MP", "UM", "VI", "KR", "TW", "OM", "QA", "KW", "BH", "AE", "IE",
}  # fmt: skip


def current_name(name: str) -> str | None:
    """The current name of ``name``: itself when current, the zone an obsolete link stands for
    (``US/Pacific`` → ``America/Los_Angeles``), ``None`` when it is no time zone at all. A real
    zone outside the offered list (``EST5EDT``) is kept as it is."""
    name = (name or "").strip()
    if name in OFFERED:
        return name
    if name in ALIASES:
        return ALIASES[name]
    return name if name in KNOWN else None


def region_of(name: str) -> str:
    if name == UTC_NAME:
        return "Universal time"
    area = name.split("/", 1)[0]
    country = ZONE_COUNTRY.get(name, "")
    if area == "America":
        if country in NORTH_AMERICA:
            return "North America"
        if country in SOUTH_AMERICA:
            return "South America"
        return "Central America and the Caribbean"
    if area == "Arctic":
        return "Europe"
    return {"Atlantic": "Atlantic Ocean", "Indian": "Indian Ocean"}.get(area, area)


def offset_words(name: str, now: datetime) -> str:
    """``UTC+05:30``, ``UTC-03:00``, ``UTC+00:00`` at ``now``."""
    offset = now.astimezone(zoneinfo.ZoneInfo(name)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def city_words(name: str) -> str:
    """``Buenos Aires, Argentina``, ``Knox (Indiana), United States``, ``London, United Kingdom``."""
    if name == UTC_NAME:
        return "Coordinated Universal Time"
    parts = [part.replace("_", " ") for part in name.split("/")[1:]] or [name]
    city = parts[-1]
    if len(parts) > 1 and parts[0] != "Argentina":
        city = f"{city} ({', '.join(parts[:-1])})"
    country = COUNTRIES.get(ZONE_COUNTRY.get(name, ""), "")
    return f"{city}, {country}" if country and country != city else city


def zone_label(name: str, now: datetime) -> str:
    """``London, United Kingdom (UTC+00:00)``; the raw name for a zone not on the list."""
    if name not in OFFERED:
        return f"{name} ({offset_words(name, now)})"
    return f"{city_words(name)} ({offset_words(name, now)})"


@lru_cache(maxsize=1)
def _aliases_of() -> dict[str, str]:
    found: dict[str, list[str]] = {}
    for old, new in ALIASES.items():
        found.setdefault(new, []).append(old)
    return {name: " ".join(sorted(olds)) for name, olds in found.items()}


def zone_groups(selected: str, now: datetime) -> list[dict]:
    """The zone picker's groups, in ``REGIONS`` order, cities alphabetical: ``{"region",
    "zones": [{"value", "label", "selected", "also"}]}``; ``also`` lists the obsolete names a
    browser may still report for the zone (booking.js uses it to put the detected zone first).
    A selected zone that is not on the list gets a group of its own, first."""
    aliases = _aliases_of()
    by_region: dict[str, list[dict]] = {region: [] for region in REGIONS}
    for name in OFFERED:
        by_region[region_of(name)].append(
            {
                "value": name,
                "label": zone_label(name, now),
                "selected": name == selected,
                "also": aliases.get(name, ""),
            }
        )
    groups: list[dict] = [
        {"region": region, "zones": sorted(zones, key=lambda zone: str(zone["label"]))}
        for region, zones in by_region.items()
        if zones
    ]
    if selected and selected not in OFFERED:
        extra = {"value": selected, "label": zone_label(selected, now), "selected": True}
        groups.insert(0, {"region": "Your time zone", "zones": [{**extra, "also": ""}]})
    return groups


def default_clock(zone: str) -> str:
    """``"12"`` or ``"24"``: the clock people in ``zone``'s country usually read."""
    name = current_name(zone) or UTC_NAME
    return "12" if ZONE_COUNTRY.get(name, "") in TWELVE_HOUR_COUNTRIES else "24"

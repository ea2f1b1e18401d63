"""Quiet hours in the candidate's time zone: pure functions, no database.

The zone comes from the best evidence we have, in this order: the phone number (its country,
and for +1 numbers its area code), the job's office location, the organization's time zone.
Every answer carries an evidence string so the UI can say *why* a text was held.
(``phonenumbers.timezone`` is not in the lite build, hence the small tables here.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

# Countries with one zone (or one that covers nearly everyone).
REGION_ZONES: dict[str, str] = {
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "FR": "Europe/Paris",
    "DE": "Europe/Berlin",
    "NL": "Europe/Amsterdam",
    "BE": "Europe/Brussels",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "IT": "Europe/Rome",
    "CH": "Europe/Zurich",
    "AT": "Europe/Vienna",
    "SE": "Europe/Stockholm",
    "NO": "Europe/Oslo",
    "DK": "Europe/Copenhagen",
    "FI": "Europe/Helsinki",
    "PL": "Europe/Warsaw",
    "CZ": "Europe/Prague",
    "GR": "Europe/Athens",
    "RO": "Europe/Bucharest",
    "IL": "Asia/Jerusalem",
    "AE": "Asia/Dubai",
    "IN": "Asia/Kolkata",
    "SG": "Asia/Singapore",
    "HK": "Asia/Hong_Kong",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "CN": "Asia/Shanghai",
    "PH": "Asia/Manila",
    "NZ": "Pacific/Auckland",
    "ZA": "Africa/Johannesburg",
    "NG": "Africa/Lagos",
    "KE": "Africa/Nairobi",
    "AR": "America/Argentina/Buenos_Aires",
    "CO": "America/Bogota",
    "PE": "America/Lima",
    "CL": "America/Santiago",
    "PR": "America/Puerto_Rico",
}

_EASTERN, _CENTRAL, _MOUNTAIN, _PACIFIC = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
)
# Major North American area codes (+1). Unknown codes fall through to the next evidence.
AREA_CODE_ZONES: dict[str, str] = {
    **dict.fromkeys(
        (
            "201",
            "202",
            "203",
            "212",
            "215",
            "216",
            "267",
            "305",
            "313",
            "332",
            "347",
            "404",
            "407",
            "412",
            "416",
            "437",
            "475",
            "513",
            "514",
            "516",
            "518",
            "585",
            "609",
            "610",
            "613",
            "614",
            "617",
            "631",
            "646",
            "647",
            "678",
            "704",
            "718",
            "732",
            "757",
            "770",
            "786",
            "804",
            "813",
            "857",
            "862",
            "904",
            "914",
            "917",
            "919",
            "929",
            "954",
            "973",
        ),
        _EASTERN,
    ),  # fmt: skip
    **dict.fromkeys(
        (
            "204",
            "210",
            "214",
            "224",
            "262",
            "281",
            "312",
            "314",
            "316",
            "331",
            "346",
            "402",
            "414",
            "469",
            "504",
            "512",
            "612",
            "615",
            "630",
            "651",
            "713",
            "773",
            "816",
            "817",
            "832",
            "847",
            "901",
            "952",
            "972",
        ),
        _CENTRAL,
    ),  # fmt: skip
    **dict.fromkeys(("303", "385", "403", "505", "720", "780", "801", "970"), _MOUNTAIN),
    "602": "America/Phoenix",
    "480": "America/Phoenix",
    "520": "America/Phoenix",
    **dict.fromkeys(
        (
            "206",
            "213",
            "310",
            "323",
            "360",
            "408",
            "415",
            "424",
            "425",
            "503",
            "510",
            "530",
            "604",
            "619",
            "626",
            "650",
            "661",
            "669",
            "702",
            "707",
            "714",
            "725",
            "778",
            "818",
            "858",
            "909",
            "916",
            "949",
            "971",
        ),
        _PACIFIC,
    ),  # fmt: skip
    "808": "Pacific/Honolulu",
    "907": "America/Anchorage",
}

# Office locations are free text from the ATS ("London, UK", "Remote - New York"): look for
# a known city name in them.
CITY_ZONES: dict[str, str] = {
    "london": "Europe/London",
    "manchester": "Europe/London",
    "edinburgh": "Europe/London",
    "dublin": "Europe/Dublin",
    "paris": "Europe/Paris",
    "berlin": "Europe/Berlin",
    "munich": "Europe/Berlin",
    "amsterdam": "Europe/Amsterdam",
    "madrid": "Europe/Madrid",
    "barcelona": "Europe/Madrid",
    "lisbon": "Europe/Lisbon",
    "stockholm": "Europe/Stockholm",
    "zurich": "Europe/Zurich",
    "warsaw": "Europe/Warsaw",
    "tel aviv": "Asia/Jerusalem",
    "dubai": "Asia/Dubai",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "singapore": "Asia/Singapore",
    "tokyo": "Asia/Tokyo",
    "sydney": "Australia/Sydney",
    "melbourne": "Australia/Melbourne",
    "auckland": "Pacific/Auckland",
    "toronto": _EASTERN,
    "montreal": "America/Toronto",
    "vancouver": "America/Vancouver",
    "new york": _EASTERN,
    "nyc": _EASTERN,
    "boston": _EASTERN,
    "washington": _EASTERN,
    "atlanta": _EASTERN,
    "miami": _EASTERN,
    "philadelphia": _EASTERN,
    "chicago": _CENTRAL,
    "austin": _CENTRAL,
    "dallas": _CENTRAL,
    "houston": _CENTRAL,
    "minneapolis": _CENTRAL,
    "denver": _MOUNTAIN,
    "salt lake city": _MOUNTAIN,
    "phoenix": "America/Phoenix",
    "san francisco": _PACIFIC,
    "los angeles": _PACIFIC,
    "seattle": _PACIFIC,
    "portland": _PACIFIC,
    "san diego": _PACIFIC,
    "san jose": _PACIFIC,
    "mexico city": "America/Mexico_City",
    "sao paulo": "America/Sao_Paulo",
    "são paulo": "America/Sao_Paulo",
}


@dataclass(frozen=True)
class ZoneGuess:
    zone: str
    evidence: str

    def __iter__(self):  # lets callers write `zone, evidence = guess`
        return iter((self.zone, self.evidence))


def zone_from_phone(phone: str | None) -> ZoneGuess | None:
    """The zone a phone number points to, or None when it does not say."""
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(
        number
    ) or phonenumbers.region_code_for_country_code(number.country_code)
    if number.country_code == 1:
        area = str(number.national_number)[:3]
        zone = AREA_CODE_ZONES.get(area)
        if zone:
            return ZoneGuess(zone, f"{zone}, from the phone number's area code {area}")
        return None
    zone = REGION_ZONES.get(region or "")
    if zone:
        return ZoneGuess(
            zone, f"{zone}, from the phone number's country (+{number.country_code}, {region})"
        )
    return None


def zone_from_location(location: str | None) -> ZoneGuess | None:
    """The zone of an office location that names a city we know, or None."""
    text = (location or "").lower()
    if not text:
        return None
    for city, zone in CITY_ZONES.items():
        if city in text:
            return ZoneGuess(zone, f"{zone}, from the job's office location ({location})")
    return None


def candidate_zone(
    *,
    phone: str | None,
    office_locations: Iterable[str] = (),
    organization_zone: str,
    explicit_zone: str = "",
    explicit_source: str = "",
) -> ZoneGuess:
    """The candidate's most likely zone and why we think so: an explicit value (set by a team
    member or chosen on a booking page), else the phone number's region, else the job's office,
    else the organization's zone."""
    if explicit_zone:
        try:
            ZoneInfo(explicit_zone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return ZoneGuess(
                explicit_zone, f"{explicit_zone}, {explicit_source or 'set explicitly'}"
            )
    guess = zone_from_phone(phone)
    if guess:
        return guess
    for location in office_locations:
        guess = zone_from_location(location)
        if guess:
            return guess
    zone = organization_zone or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = "UTC"
    return ZoneGuess(zone, f"{zone}, the organization's time zone (no better evidence)")


def _in_window(local: datetime, start: time, end: time, days: Iterable[int]) -> bool:
    if local.weekday() not in set(days):
        return False
    now = local.time()
    if start <= end:
        return start <= now < end
    return now >= start or now < end  # a window across midnight, e.g. 22:00–02:00


def next_window_opening(
    *, now: datetime, zone: str, start: time, end: time, days: Iterable[int]
) -> datetime | None:
    """None when ``now`` is inside the sending window in ``zone``; otherwise the next moment
    (UTC) the window opens. ``days`` are weekdays (Monday = 0) on which the window exists."""
    days = list(days)
    if not days:
        raise ValueError("The sending window has no days.")
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    if _in_window(local, start, end, days):
        return None
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        opening = datetime.combine(day, start, tzinfo=tz)
        # Normalise through UTC so a DST gap lands on a real instant.
        opening_utc = opening.astimezone(UTC)
        if opening_utc > now:
            return opening_utc
    raise AssertionError("unreachable: a window with days opens within a week")

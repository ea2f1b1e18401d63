"""Walk every URL pattern of the project as an outsider and report what leaked or changed.

The walk is driven by the URL resolver, so a URL added anywhere is covered without editing a test.
Path parameters are filled with the victim organization's own identifiers (primary keys of every
tenant row, and its unique tokens), so a view that forgets the organization scope is caught
reading or writing the victim's data.

Outsiders: an anonymous visitor, a signed-in owner of another organization, and an API key of
another organization. For each request the walk checks:
- the status is a refusal (3xx, 400, 401, 403, 404, 405) whenever the URL names a victim object, and
  for anonymous visitors on any view that is not marked public;
- the body contains none of the victim's identifying strings;
- nothing the victim organization owns changed (a snapshot of its rows before and after).

Given a hiring manager of the victim organization who is on no job's hiring team, the walk also
runs as them: every URL without parameters, and every URL filled with an identifier of a row
about one of the victim's candidates (the candidate, applications, timeline, conversations,
messages, runs, bookings: `recruitflow.tenancy.candidate_scoped_models`) must refuse, and no
response may show those candidates' markers. For that, the ids of those rows must not also be
ids of rows the hiring manager may see: `start_candidate_rows_at` moves their sequences apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from accounts.models import Organization
from recruitflow.tenancy import TenantModel, candidate_scoped_models, scopes_disabled

REFUSALS = {301, 302, 303, 400, 401, 403, 404, 405}
METHODS_WITH_PARAMS = ("get", "post", "patch", "delete")
METHODS_WITHOUT_PARAMS = ("get", "post")


@dataclass
class Problem:
    persona: str
    method: str
    url: str
    what: str

    def __str__(self) -> str:
        return f"{self.persona} {self.method.upper()} {self.url}: {self.what}"


@dataclass
class WalkReport:
    problems: list[Problem] = field(default_factory=list)
    walked_patterns: set[str] = field(default_factory=set)
    unwalked_patterns: set[str] = field(default_factory=set)
    requests: int = 0
    # URLs the hiring manager requested with a hidden row's identifier in them.
    hiring_manager_object_urls: set[str] = field(default_factory=set)
    hiring_manager_requests: int = 0


def iter_patterns(resolvers=None, prefix: str = ""):
    """Yield (route, URLPattern) for every leaf pattern, with the route's regex text."""
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        regex = entry.pattern.regex.pattern.lstrip("^").rstrip("$").replace("\\Z", "")
        if isinstance(entry, URLResolver):
            yield from iter_patterns(entry.url_patterns, prefix + regex)
        elif isinstance(entry, URLPattern):
            yield prefix + regex, entry


_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>(?:[^()]|\([^()]*\))*)\)")


def _fill(route: str, values: dict[str, str]) -> str:
    def replace(match):
        # A group that starts with a literal folder (e.g. `logos/.*`) keeps it.
        literal = re.match(r"[A-Za-z0-9_-]*/", match.group("body"))
        return (literal.group() if literal else "") + values[match.group("name")]

    filled = _GROUP.sub(replace, route)
    # Drop regex syntax that remains in literal parts of a route.
    return "/" + filled.replace("\\", "").replace("^", "").replace("$", "").replace("?", "")


def victim_snapshot(organization: Organization, *, insider=None) -> dict:
    """Every row the victim owns (and its people), as plain data, for before/after comparison.
    The `insider`'s own rows (their calendar, working hours, busy time: a `user` foreign key to
    them) are theirs to change and left out; their membership is not."""
    from accounts.models import Membership

    snapshot = {}
    with scopes_disabled():
        snapshot["organization"] = list(Organization.objects.filter(pk=organization.pk).values())
        for model in apps.get_models():
            if issubclass(model, TenantModel):
                rows = model.unscoped.filter(organization=organization)
                owned = any(f.name == "user" and f.many_to_one for f in model._meta.fields)
                if insider is not None and owned and model is not Membership:
                    rows = rows.exclude(user=insider)
                snapshot[model._meta.label] = sorted(rows.values_list(), key=repr)

        user_ids = Membership.unscoped.filter(organization=organization).values("user_id")
        # Without `last_login`: the insider signs in for every request.
        columns = [
            f.attname for f in get_user_model()._meta.concrete_fields if f.name != "last_login"
        ]
        snapshot["users"] = sorted(
            get_user_model().objects.filter(pk__in=user_ids).values_list(*columns), key=repr
        )
    return snapshot


def victim_values(organization: Organization) -> tuple[set[str], set[str], set[str]]:
    """(integer ids, string tokens, markers) of the victim organization."""
    ints, strings, markers = {str(organization.pk)}, {organization.slug}, {organization.name}
    with scopes_disabled():
        for model in apps.get_models():
            if not issubclass(model, TenantModel):
                continue
            unique_text = [
                f.attname
                for f in model._meta.concrete_fields
                if f.unique
                and isinstance(f, (models.CharField, models.SlugField))
                and not f.primary_key
            ]
            for row in model.unscoped.filter(organization=organization).values("pk", *unique_text):
                ints.add(str(row["pk"]))
                for name in unique_text:
                    if row[name]:
                        strings.add(str(row[name]))
        from accounts.models import Invitation, Membership

        for membership in Membership.unscoped.filter(organization=organization).select_related(
            "user"
        ):
            markers.add(membership.user.email)
        for invitation in Invitation.unscoped.filter(organization=organization):
            markers.add(invitation.email)
    return ints, strings, markers


def start_candidate_rows_at(first_id: int = 700_000) -> None:
    """Make the next rows of every candidate-scoped table take ids from `first_id` on, so those
    ids name no row of any other table. All these tables share the range: the candidate, its
    conversation, message and booking are then mostly the same few numbers, which keeps the
    number of values the walk tries (and its time) as it was."""
    for model in candidate_scoped_models():
        table, value = model._meta.db_table, first_id
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), %s, false)",
                    [table, model._meta.pk.column, value],
                )
            elif connection.vendor == "sqlite":
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
                cursor.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, value - 1]
                )
            else:
                raise NotImplementedError(f"Set the id sequence of {table} on {connection.vendor}.")


def hidden_values(organization: Organization) -> tuple[set[str], set[str]]:
    """(integer ids, string tokens) of the organization's candidate-scoped rows that name no
    other row of it: what a hiring manager on no hiring team must not reach."""
    scoped = set(candidate_scoped_models())
    ints, strings, other_ints = set(), set(), {str(organization.pk)}
    with scopes_disabled():
        for model in apps.get_models():
            if not issubclass(model, TenantModel):
                continue
            rows = model.unscoped.filter(organization=organization)
            if model not in scoped:
                other_ints |= {str(pk) for pk in rows.values_list("pk", flat=True)}
                continue
            unique_text = [
                f.attname
                for f in model._meta.concrete_fields
                if f.unique
                and isinstance(f, (models.CharField, models.SlugField))
                and not f.primary_key
            ]
            for row in rows.values("pk", *unique_text):
                ints.add(str(row["pk"]))
                strings |= {str(row[name]) for name in unique_text if row[name]}
    return ints - other_ints, strings


def _candidate_values(route: str, ints: set[str], strings: set[str]) -> list[dict[str, str]]:
    names = [m.group("name") for m in _GROUP.finditer(route)]
    if not names:
        return [{}]
    fixed = {"app_label": "accounts"}  # the admin's per-app index
    return [
        {name: fixed.get(name, value) for name in names} for value in sorted(ints) + sorted(strings)
    ]


def _is_public(callback) -> bool:
    return bool(getattr(callback, "recruitflow_public", False))


def _is_third_party_auth(pattern: URLPattern) -> bool:
    """Sign-in, sign-up and token pages of allauth and the admin's login: open to anyone by
    nature. They are still checked for leaks and side effects."""
    callback = pattern.callback
    view_class = getattr(callback, "view_class", None)
    module = (view_class or callback).__module__ or ""
    return module.startswith("allauth.") or (
        module.startswith("django.contrib.admin") and pattern.name == "login"
    )


GENERIC_PAYLOAD = {
    "name": "outsider was here",
    "email": "outsider@evil.test",
    "role": "viewer",
    "scope": "write",
    "time_zone": "UTC",
    "brand_color": "#000000",
}


def walk(
    *,
    victim: Organization,
    outsider_user,
    outsider_api_key: str,
    skip_prefixes: tuple[str, ...] = ("/static/",),
    extra_markers: tuple[str, ...] = (),
    hiring_manager=None,
    hidden_markers: tuple[str, ...] = (),
    candidate_tokens: tuple[str, ...] = (),
    only_routes: tuple[str, ...] = (),
) -> WalkReport:
    """Walk as the outsiders and, when `hiring_manager` (a user with that role in the victim
    organization, on no hiring team) is given, as them too, checking that no response shows
    `hidden_markers` or the hidden rows' tokens.

    `candidate_tokens`: identifiers of the victim's candidates' rows that no column stores
    (signed tokens, such as a recording's playback token), tried like the victim's own tokens
    by every persona, the hiring manager included. `only_routes`: walk only the routes that
    start with one of these (e.g. "interviews/media/"), for a test of one area."""
    report = WalkReport()
    ints, strings, markers = victim_values(victim)
    markers |= set(extra_markers)
    strings |= set(candidate_tokens)
    hidden_ints, hidden_strings = hidden_values(victim) if hiring_manager else (set(), set())
    hidden_strings |= set(candidate_tokens) if hiring_manager else set()
    hidden = hidden_ints | hidden_strings
    insider_markers = set(hidden_markers) | hidden_strings
    # An id that also names one of the outsider's own rows (another table, same number) proves
    # nothing either way: leave it out rather than report the outsider seeing their own object.
    from accounts.models import Membership

    with scopes_disabled():
        outsider_orgs = list(
            Membership.unscoped.filter(user=outsider_user).values_list("organization", flat=True)
        )
    for organization in Organization.objects.filter(pk__in=outsider_orgs):
        ints -= victim_values(organization)[0]
    payload = {**GENERIC_PAYLOAD, "organization": str(victim.pk)}

    personas = {
        "anonymous": lambda: Client(raise_request_exception=False),
        "outsider": lambda: _logged_in(outsider_user),
        "outsider-api-key": lambda: Client(
            raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {outsider_api_key}"
        ),
    }

    for route, pattern in iter_patterns():
        if only_routes and not route.startswith(only_routes):
            continue
        combos = _candidate_values(route, ints, strings)
        if route.startswith("admin/"):
            # The admin refuses every non-staff visitor before it looks at the object; two
            # identifiers are enough to prove that for each admin URL.
            combos = combos[:2]
        urls = []
        for combo in combos:
            url = _fill(route, combo)
            if url.startswith(skip_prefixes):
                continue
            try:
                match = resolve(url)
            except Resolver404:
                continue
            if match.func is not pattern.callback:
                continue
            # The hiring manager tries only the hidden rows' identifiers (every other one of
            # the organization may be theirs to open), and not the admin, which refuses every
            # non-staff user up front (the outsiders prove it).
            as_insider = (
                hiring_manager is not None
                and not route.startswith("admin/")
                and (not combo or set(combo.values()) <= hidden)
            )
            urls.append((url, bool(combo), as_insider))
        if not urls:
            report.unwalked_patterns.add(route)
            continue
        report.walked_patterns.add(route)
        before = victim_snapshot(victim, insider=hiring_manager)
        for url, names_victim_object, as_insider in urls:
            methods = METHODS_WITH_PARAMS if names_victim_object else METHODS_WITHOUT_PARAMS
            url_personas = dict(personas)
            if as_insider:
                url_personas["hiring-manager"] = lambda: _logged_in(hiring_manager)
                if names_victim_object:
                    report.hiring_manager_object_urls.add(url)
            for persona, make_client in url_personas.items():
                for method in methods:
                    client = make_client()
                    kwargs = {}
                    if method in ("post", "patch"):
                        if url.startswith("/api/"):
                            kwargs = {
                                "data": json.dumps(payload),
                                "content_type": "application/json",
                            }
                        elif method == "post":
                            kwargs = {"data": payload}
                    response = getattr(client, method)(url, **kwargs)
                    report.requests += 1
                    report.hiring_manager_requests += persona == "hiring-manager"
                    _check(
                        report,
                        persona,
                        method,
                        url,
                        pattern,
                        response,
                        insider_markers if persona == "hiring-manager" else markers,
                        names_victim_object,
                    )
        after = victim_snapshot(victim, insider=hiring_manager)
        if before != after:
            changed = [key for key in before if before[key] != after.get(key)]
            report.problems.append(
                Problem("any", "*", route, f"changed the victim's data: {', '.join(changed)}")
            )
    return report


def _logged_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _check(report, persona, method, url, pattern, response, markers, names_victim_object):
    status = response.status_code
    if status >= 500:
        report.problems.append(Problem(persona, method, url, f"server error {status}"))
        return
    body = b"".join(response) if getattr(response, "streaming", False) else response.content
    text = body.decode("utf-8", "replace")
    leaked = sorted(marker for marker in markers if marker and marker in text)
    if leaked:
        report.problems.append(Problem(persona, method, url, f"leaked {', '.join(leaked)}"))
    open_to_anyone = _is_public(pattern.callback) or _is_third_party_auth(pattern)
    if names_victim_object and not open_to_anyone and status not in REFUSALS:
        report.problems.append(
            Problem(
                persona,
                method,
                url,
                f"answered {status} for "
                + (
                    "a candidate's row they may not see"
                    if persona == "hiring-manager"
                    else "another organization's object"
                ),
            )
        )
    if persona == "anonymous" and not open_to_anyone and status not in REFUSALS:
        report.problems.append(
            Problem(persona, method, url, f"answered {status} to an anonymous visitor")
        )

"""Signed-in pages are served from the shared cache until their organization's data changes
(`recruitflow.page_cache`, `recruitflow.changes`): a page served again renders nothing, and every
kind of committed write (the ORM, a bulk update, raw SQL, another process's connection, work
across organizations) shows on the very next page. One person's page is never another's, the CSP
nonce is new on every answer, and a flash message is shown once.

These tests commit (`transaction=True`): what moves a generation is a commit."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Role
from candidates.models import Candidate
from recruitflow import changes
from recruitflow.tenancy import scopes_disabled, tenant_scope
from tests.factories import add_member

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("page_cache_on")]


def _candidate(organization, first_name: str) -> Candidate:
    with tenant_scope(organization):
        return Candidate.objects.create(
            organization=organization,
            provider="greenhouse",
            external_id=first_name.lower(),
            first_name=first_name,
            last_name="Page",
        )


def _get(client, url: str) -> tuple[str, int]:
    """The page's HTML and how many queries answering it took."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def _warm(client, url: str) -> str:
    """Load the page until it is kept: the first answer gives the browser its CSRF cookie (a page
    made before the browser has one is never kept), the second is rendered and kept."""
    client.get(url)
    page, _ = _get(client, url)
    return page


def test_a_page_served_again_renders_nothing(alice, client_for):
    _candidate(alice.organization, "Ann")
    client = client_for(alice)
    rendered = _warm(client, "/candidates/")
    with CaptureQueriesContext(connection) as rendering:
        client.get("/candidates/?unkept=1")
        client.get("/candidates/?unkept=1")
    again, queries = _get(client, "/candidates/")
    assert "Ann" in again
    # Nothing is read from the database: the signed-in user and their memberships are kept too.
    assert queries == 0 < len(rendering.captured_queries) // 2
    assert re.sub(r'nonce="[^"]+"', "", again) == re.sub(r'nonce="[^"]+"', "", rendered)


def _rename_with_orm(organization, candidate):
    with tenant_scope(organization):
        candidate.first_name = "Renamed"
        candidate.save(update_fields=["first_name"])


def _rename_in_bulk(organization, candidate):
    with tenant_scope(organization):
        Candidate.objects.filter(pk=candidate.pk).update(first_name="Renamed")


def _rename_in_a_transaction(organization, candidate):
    with tenant_scope(organization), transaction.atomic():
        Candidate.objects.filter(pk=candidate.pk).update(first_name="Renamed")
        with transaction.atomic():
            Candidate.objects.filter(pk=candidate.pk).update(last_name="Page")


def _rename_with_raw_sql(organization, candidate):
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Candidate._meta.db_table} SET first_name = %s WHERE id = %s",
            ["Renamed", candidate.pk],
        )


def _rename_with_a_common_table_expression(organization, candidate):
    table = Candidate._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH renamed AS (SELECT %s AS name) UPDATE {table} SET first_name = "
            f"(SELECT name FROM renamed) WHERE id = %s",
            ["Renamed", candidate.pk],
        )


def _rename_across_organizations(organization, candidate):
    with scopes_disabled():
        Candidate.objects.filter(pk=candidate.pk).update(first_name="Renamed")


def _rename_from_another_connection(organization, candidate):
    """As a worker does: another thread, so another database connection."""
    failures = []

    def work():
        try:
            _rename_in_a_transaction(organization, candidate)
        except Exception as error:  # reported below, in the test's thread
            failures.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert not failures


@pytest.mark.parametrize(
    "rename",
    [
        _rename_with_orm,
        _rename_in_bulk,
        _rename_in_a_transaction,
        _rename_with_raw_sql,
        _rename_with_a_common_table_expression,
        _rename_across_organizations,
        _rename_from_another_connection,
    ],
)
@pytest.mark.parametrize("url", ["/candidates/", "/candidates/{pk}/", "/search/?q=Page"])
def test_every_kind_of_write_shows_on_the_next_page(alice, client_for, rename, url):
    candidate = _candidate(alice.organization, "Ann")
    client = client_for(alice)
    url = url.format(pk=candidate.pk)
    first = _warm(client, url)
    assert "Ann" in first and "Renamed" not in first
    rename(alice.organization, candidate)
    page, _ = _get(client, url)
    assert "Renamed" in page


def test_a_rolled_back_write_leaves_the_page_kept(alice, client_for):
    candidate = _candidate(alice.organization, "Ann")
    client = client_for(alice)
    _warm(client, "/candidates/")
    with pytest.raises(RuntimeError), tenant_scope(alice.organization), transaction.atomic():
        Candidate.objects.filter(pk=candidate.pk).update(first_name="Renamed")
        raise RuntimeError("the work failed")
    page, queries = _get(client, "/candidates/")
    assert "Ann" in page and "Renamed" not in page
    assert queries <= 3


def test_another_organizations_write_leaves_the_page_kept(alice, mallory, client_for):
    _candidate(alice.organization, "Ann")
    client = client_for(alice)
    _warm(client, "/candidates/")
    _candidate(mallory.organization, "Mal")
    page, queries = _get(client, "/candidates/")
    assert "Ann" in page and queries <= 3


def test_one_persons_page_is_never_anothers(alice, mallory, client, client_for):
    _candidate(alice.organization, "Ann")
    _candidate(mallory.organization, "Mal")
    hannah = add_member(
        organization=alice.organization, email="hannah@acme.test", role=Role.HIRING_MANAGER
    )
    client_for(alice)
    alices = _warm(client, "/candidates/")
    assert "Ann" in alices
    # The same browser (the same CSRF cookie) signed in as someone else.
    client.force_login(mallory.user)
    malloryies, _ = _get(client, "/candidates/")
    assert "Mal" in malloryies and "Ann" not in malloryies
    client.force_login(hannah.user)
    hannahs, _ = _get(client, "/candidates/")
    # A hiring manager on no job's hiring team sees no candidate.
    assert "Ann" not in hannahs
    client.force_login(alice.user)
    assert "Ann" in _get(client, "/candidates/")[0]


def test_every_answer_has_a_nonce_of_its_own_that_its_policy_names(alice, client_for):
    client = client_for(alice)
    _warm(client, "/")
    nonces = []
    for _ in range(2):
        response = client.get("/")
        page = response.content.decode()
        in_page = set(re.findall(r'nonce="([^"]+)"', page))
        assert len(in_page) == 1, in_page
        (nonce,) = in_page
        assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_a_flash_message_is_shown_once(alice, client_for):
    from journeys import services as journey_services

    with tenant_scope(alice.organization):
        journey = journey_services.journey_create(
            organization=alice.organization, name="Old follow-up"
        )
    client = client_for(alice)
    assert "Old follow-up" in _warm(client, "/journeys/")
    response = client.post(f"/journeys/{journey.pk}/delete/", follow=True)
    said = "“Old follow-up” deleted."
    assert said in response.content.decode()
    for _ in range(2):
        page, _ = _get(client, "/journeys/")
        assert said not in page
        assert "Old follow-up" not in page


def test_the_write_tracker_is_on_every_connection():
    """Every connection any thread opens carries it, so no write path can miss it."""
    seen = []

    def work():
        connections["default"].ensure_connection()
        seen.extend(type(w).__name__ for w in connections["default"].execute_wrappers)
        connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert "_Tracker" in seen
    assert any(isinstance(w, changes._Tracker) for w in connection.execute_wrappers)


ORG, ALL, ACCOUNTS = "org", changes.ALL, changes.ACCOUNTS


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", set()),
        ('  select * from "candidates_candidate" FOR UPDATE SKIP LOCKED', set()),
        ("WITH x AS (SELECT 1) SELECT * FROM x", set()),
        ('UPDATE "candidates_candidate" SET first_name = %s', {ORG}),
        ('INSERT INTO "candidates_candidate" (first_name) VALUES (%s)', {ORG}),
        ('INSERT INTO "candidates_candidate" (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET '
         "first_name = EXCLUDED.first_name", {ORG}),
        ('DELETE FROM "candidates_candidate" WHERE id = %s', {ORG}),
        ('UPDATE "accounts_organization" SET name = %s', {ALL, ACCOUNTS}),
        ('UPDATE "accounts_membership" SET role = %s', {ALL, ACCOUNTS}),
        ('INSERT INTO "django_session" (session_key) VALUES (%s)', set()),
        ('WITH sent AS (UPDATE "messaging_message" SET status = %s RETURNING id) '
         'INSERT INTO "messaging_messageevent" (message_id) SELECT id FROM sent', {ORG}),
        ('WITH claim AS (SELECT id FROM "messaging_message" FOR UPDATE SKIP LOCKED) '
         'UPDATE "some_shared_table" SET state = 1', {ALL}),
        ("EXECUTE rf_never_prepared (%s, %s)", {ALL, ACCOUNTS}),
        ('CREATE INDEX "x" ON "candidates_candidate" ("first_name")', {ALL, ACCOUNTS}),
        ("SAVEPOINT s1", set()),
        ('ANALYZE "candidates_candidate"', set()),  # counts rows, changes none
        ('UPDATE "accounts_apikey" SET last_used_at = %s', {ALL, ACCOUNTS}),
    ],
)  # fmt: skip
def test_which_generations_a_statement_moves(alice, sql, expected):
    with tenant_scope(alice.organization):
        scopes = changes.scopes_of(sql)
    organization = alice.organization.pk
    assert scopes == {organization if scope == ORG else scope for scope in expected}
    with scopes_disabled():
        assert changes.scopes_of(sql) == {ALL if scope == ORG else scope for scope in expected}


def test_an_execute_writes_what_its_prepare_wrote(alice):
    """Sending's answer is a prepared statement: its EXECUTE moves only the organization's."""
    with tenant_scope(alice.organization):
        assert (
            changes.scopes_of(
                'PREPARE rf_test_answer AS UPDATE "messaging_message" SET status = $1'
            )
            == set()
        )
        assert changes.scopes_of("EXECUTE rf_test_answer ('sent')") == {alice.organization.pk}
        assert changes.scopes_of("PREPARE rf_test_read AS SELECT 1") == set()
        assert changes.scopes_of("EXECUTE rf_test_read") == set()


def test_a_members_organizations_follow_a_change_of_membership(alice, mallory, client_for):
    """The organizations a person belongs to are kept too (read on every request): a new
    membership shows in the switcher on the next page."""
    client = client_for(alice)
    assert "Mallory Staffing" not in _warm(client, "/candidates/")
    with tenant_scope(mallory.organization):
        Membership.objects.create(
            organization=mallory.organization, user=alice.user, role=Role.RECRUITER
        )
    page, _ = _get(client, "/candidates/")
    assert "Mallory Staffing" in page


@pytest.mark.parametrize("change", ["password", "deactivated"])
def test_a_kept_user_whose_password_changed_or_who_was_deactivated_is_signed_out(
    alice, client_for, change
):
    """The signed-in user is kept too (`recruitflow.kept_user`); what signs a person out in
    Django still does, on the very next request."""
    client = client_for(alice)
    _warm(client, "/candidates/")
    assert _get(client, "/candidates/")[1] == 0
    user = type(alice.user).objects.get(pk=alice.user.pk)
    if change == "password":
        user.set_password("a new passphrase, elsewhere")
    else:
        user.is_active = False
    user.save()
    response = client.get("/candidates/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_kept_users_new_name_shows_on_the_next_page(alice, client_for):
    client = client_for(alice)
    _warm(client, "/candidates/")
    user = type(alice.user).objects.get(pk=alice.user.pk)
    user.first_name = "Alicia"
    user.save(update_fields=["first_name"])
    assert "Alicia" in _get(client, "/candidates/")[0]


@pytest.fixture
def cache_round_trips(monkeypatch):
    """Every call this process makes to the shared cache (one round trip each)."""
    from django.core.cache import caches

    calls: list[str] = []
    backend = type(caches["default"])
    for name in ("get", "get_many", "set", "add", "incr", "delete", "set_many", "touch"):
        original = getattr(backend, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(backend, name, counted)
    return calls


def test_a_kept_page_costs_two_round_trips_to_the_cache(alice, client_for, cache_round_trips):
    """The session, then the generations, the user, their memberships and the page together
    (`kept_user.read_ahead`): the key read ahead is the one the view asks for."""
    client = client_for(alice)
    _warm(client, "/candidates/")
    cache_round_trips.clear()
    page, queries = _get(client, "/candidates/")
    assert queries == 0
    assert cache_round_trips == ["get", "get_many"]
    assert changes._ahead.get() is None  # forgotten at the request's end


def test_what_was_read_ahead_is_forgotten_at_the_first_write(alice):
    """A write in the request moves the generations: what was read before it is read again."""
    candidate = _candidate(alice.organization, "Ahead")
    generations, _ = changes.read_kept("test:ahead", changes.ALL)
    changes.keep("test:ahead", generations, "before the write", 60)
    changes.read_ahead(["test:ahead"], changes.ALL)
    try:
        assert changes.read_kept("test:ahead", changes.ALL)[1] == "before the write"
        with scopes_disabled():
            Candidate.objects.filter(pk=candidate.pk).update(first_name="Written")
        assert changes._ahead.get() is None
        assert changes.read_kept("test:ahead", changes.ALL)[1] is None
    finally:
        changes.forget_ahead()


def test_a_generation_the_cache_lost_comes_back_as_a_number_never_used():
    """A write moves every scope it names in one go; a generation the cache evicted starts again
    from the clock, above any number a kept entry could have been stored under."""
    from django.core.cache import cache

    before = changes.read_kept("test:lost", changes.ALL, 990001)[0]
    changes.bump([changes.ALL, 990001])
    moved = changes.read_kept("test:lost", changes.ALL, 990001)[0]
    assert [b + 1 for b in before] == list(moved)
    cache.delete(changes.key(990001))
    changes.bump([990001])
    (again,) = changes.read_kept("test:lost", 990001)[0]
    assert again > moved[1]

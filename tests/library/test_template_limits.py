"""Hostile templates cost nothing: deep nesting and huge templates are refused at validation,
fast and with the line; a template compiles once per process (failures too); and whatever a
template does wrong when it compiles or renders is a 400 with a message, never a server error
or a crashed send."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from jinja2.sandbox import ImmutableSandboxedEnvironment

from accounts.models import Role
from candidates.models import TimelineEvent
from journeys import engine
from journeys.dry_run import dry_run
from journeys.models import JourneyRun, RunStatus
from library import templating
from library.models import MessageTemplate
from messaging.models import Message
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member
from tests.library.test_library import templates_of

pytestmark = pytest.mark.django_db

FIELD = "candidate.first_name"
# Each on line 3, after two harmless lines, so the error must name where it is.
BEFORE = "<p>Hi</p>\n<p>There</p>\n"
HOSTILE = {
    "300 nots": BEFORE + "{{ " + "not " * 300 + FIELD + " }}",
    "400 nested brackets": BEFORE + "{{ " + "(" * 400 + FIELD + ")" * 400 + " }}",
    "5000 nested brackets": BEFORE + "{{ " + "(" * 5000 + FIELD + ")" * 5000 + " }}",
    "300 minus signs": BEFORE + "{{ " + "-" * 300 + "1 }}",
    "300 nested ifs": BEFORE + "{% if job.name %}" * 300 + "x" + "{% endif %}" * 300,
    "60 chained filters": BEFORE + "{{ " + FIELD + "|upper" * 60 + " }}",
    "300 ands": BEFORE + "{{ " + " and ".join([FIELD] * 300) + " }}",
    "1 MB": BEFORE + "x" * 1_000_000,
}
ADVICE = {
    "300 nots": "write at most one “not”",
    "400 nested brackets": "remove the extra ( )",
    "5000 nested brackets": "remove the extra ( )",
    "300 minus signs": "write at most one “not”",
    "300 nested ifs": "close some with {% end… %}",
    "60 chained filters": "split it into simpler tags",
    "300 ands": "split it into simpler tags",
    "1 MB": "shorten it, or split it into two messages",
}
FAST = 0.5  # seconds; each takes a few milliseconds, this is generous for a busy CI machine


@pytest.fixture
def viewer(alice):
    return add_member(organization=alice.organization, email="vic@acme.test", role=Role.VIEWER)


def _stored(organization, **fields) -> MessageTemplate:
    """A template written behind the Library's back (an older version's rules, a data fix)."""
    with tenant_scope(organization):
        return MessageTemplate.objects.create(organization=organization, **fields)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_template_is_refused_at_save_fast_with_its_line_and_what_to_do(
    alice, client_for, name
):
    started = time.perf_counter()
    problems = templating.validate(HOSTILE[name], channel="email", part="html_body")
    elapsed = time.perf_counter() - started

    assert elapsed < FAST, f"{name}: validation took {elapsed:.2f}s"
    (problem,) = problems
    message = templating.describe(problem, "email")
    assert message.startswith("HTML body, line 3: ") and ADVICE[name] in message

    response = client_for(alice).post(
        reverse("library:template_create"),
        {"channel": "email", "name": "Hostile", "subject": "Hi", "html_body": HOSTILE[name]},
    )
    assert response.status_code == 400
    assert "Line 3: " in response.content.decode()
    assert templates_of(alice.organization) == []


@pytest.mark.parametrize("name", ["300 nots", "400 nested brackets", "1 MB"])
def test_partner_api_refuses_a_hostile_template_with_a_400_naming_the_line(alice, client, name):
    from accounts import services as account_services

    with tenant_scope(alice.organization):
        _, raw = account_services.api_key_create(
            actor=alice.membership, name="Script", scope="write"
        )
    started = time.perf_counter()
    response = client.post(
        "/api/v1/message-templates/",
        {"name": "Hostile", "channel": "email", "subject": "Hi", "html_body": HOSTILE[name]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert time.perf_counter() - started < 2 * FAST
    assert response.status_code == 400
    (error,) = response.json()["errors"]["html_body"]
    assert error.startswith("Line 3: ") and ADVICE[name] in error


@pytest.mark.parametrize("name", HOSTILE)
def test_preview_answers_400_with_the_problem_for_a_viewer(viewer, client_for, name):
    client = client_for(viewer)
    started = time.perf_counter()
    response = client.post(
        reverse("library:template_preview"),
        {"channel": "email", "subject": "Hi", "html_body": HOSTILE[name]},
    )
    assert time.perf_counter() - started < 2 * FAST
    assert response.status_code == 400
    assert "HTML body, line 3: " in response.content.decode()
    document = client.post(
        reverse("library:template_preview_document"),
        {"channel": "email", "subject": "Hi", "html_body": HOSTILE[name]},
    )
    assert document.status_code == 400


def test_preview_of_a_filter_that_cannot_run_is_a_400_naming_the_line(viewer, client_for):
    response = client_for(viewer).post(
        reverse("library:template_preview"),
        {"channel": "sms", "text_body": "Hi\n{{ candidate.first_name|truncate(1) }}"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Text message, line 2: this can&#x27;t be rendered (expected length &gt;= 3" in page


def test_an_ordinary_mistake_in_the_preview_is_a_400_listing_it(alice, client_for):
    response = client_for(alice).post(
        reverse("library:template_preview"),
        {"channel": "sms", "text_body": "Hi {{ candidate.nick }}"},
    )
    assert response.status_code == 400
    assert "line 1: unknown merge field {{ candidate.nick }}" in response.content.decode()
    fine = client_for(alice).post(
        reverse("library:template_preview"),
        {"channel": "sms", "text_body": "Hi {{ candidate.first_name }}"},
    )
    assert fine.status_code == 200 and "Hi Jordan" in fine.content.decode()


# --- Compiled once per process -----------------------------------------------------------------


@pytest.fixture
def compiles(monkeypatch):
    """The sources Jinja compiled during the test."""
    seen: list[str] = []
    original = ImmutableSandboxedEnvironment.from_string

    def counting(self, source, *args, **kwargs):
        seen.append(source)
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(ImmutableSandboxedEnvironment, "from_string", counting)
    return seen


def test_a_template_is_compiled_once_however_often_it_renders(compiles):
    source = f"Hi {{{{ {FIELD} }}}}, compiled once ({time.time_ns()})"
    before = templating.compile_cache_info()
    for first_name in ("Jordan", "Sam", "Ada"):
        rendered = templating.render_parts(
            channel="sms", text_body=source, context={"candidate": {"first_name": first_name}}
        )
        assert rendered.text.startswith(f"Hi {first_name}, compiled once")
    assert compiles.count(source) == 1
    after = templating.compile_cache_info()
    assert after["hits"] - before["hits"] >= 2 and after["size"] >= 1


def test_a_compile_failure_is_remembered_and_reported_not_raised(compiles, monkeypatch):
    source = f"Hi {{{{ {FIELD} }}}}, fails to compile ({time.time_ns()})"
    original = ImmutableSandboxedEnvironment.from_string

    def too_deep(self, text, *args, **kwargs):
        if text == source:
            compiles.append(text)
            raise RecursionError("maximum recursion depth exceeded")
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(ImmutableSandboxedEnvironment, "from_string", too_deep)
    for _ in range(3):
        with pytest.raises(templating.TemplateInvalid) as refused:
            templating.render_parts(channel="sms", text_body=source, context={})
        assert "too complex to prepare" in str(refused.value)
    assert compiles.count(source) == 1


# --- Templates stored before these limits --------------------------------------------------------


@pytest.mark.parametrize("name", ["300 nots", "400 nested brackets"])
def test_inbox_render_of_a_stored_hostile_template_is_a_400_with_the_message(
    alice, client_for, name
):
    template = _stored(
        alice.organization, name="Old", channel="email", subject="Hi", html_body=HOSTILE[name]
    )
    response = client_for(alice).get(reverse("library:template_render", args=[template.pk]))
    assert response.status_code == 400
    assert response.json()["error"].startswith("HTML body, line 3: ")


def test_send_of_a_stored_hostile_template_fails_the_step_with_the_reason(
    ats, make_journey, eager_tasks
):
    template = ats.template("Deep", "email")
    make_journey(steps=[("send_email", template)])
    with tenant_scope(ats.organization):  # edited behind the Library's back after activation
        MessageTemplate.objects.filter(pk=template.pk).update(
            html_body=HOSTILE["400 nested brackets"]
        )
    transition = ats.move(ats.apply(ats.candidate()), "Onsite Interview")

    with eager_tasks(), tenant_scope(ats.organization):
        engine.transitions_match(organization=ats.organization, transition_ids=[transition.pk])

    with tenant_scope(ats.organization):
        run = JourneyRun.objects.get(transition=transition)
        assert run.status == RunStatus.FAILED
        (failed,) = TimelineEvent.objects.filter(kind="journey_step_failed")
        assert not Message.objects.exists()
    assert failed.detail.startswith("The template “Deep” can't be rendered (HTML body, line 3: ")
    assert "brackets are nested too deeply" in failed.detail


def test_dry_run_of_a_stored_hostile_template_shows_the_error(ats, make_journey):
    template = ats.template("Deep", "sms", text_body=HOSTILE["300 nots"].replace("<p>", ""))
    journey = make_journey(steps=[("send_sms", template)], active=False)
    candidate = ats.candidate()

    with tenant_scope(ats.organization):
        (step,) = dry_run(version=journey.current_version, candidate=candidate)

    assert step.error.startswith("Text message, line 3: too many “not”")


def test_a_template_at_every_limit_still_validates_and_renders():
    deepest_brackets = (
        "(" * templating.MAX_BRACKET_DEPTH + FIELD + ")" * templating.MAX_BRACKET_DEPTH
    )
    nots = "not " * templating.MAX_UNARY_RUN
    nested_ifs = (
        "{% if job.name %}" * (templating.MAX_BLOCK_DEPTH - 1)
        + "{{ "
        + deepest_brackets
        + "|upper }}{% if "
        + nots
        + FIELD
        + " %}!{% endif %}"
        + "{% endif %}" * (templating.MAX_BLOCK_DEPTH - 1)
    )
    assert templating.validate(nested_ifs, channel="sms", part="text_body") == []
    rendered = templating.render_parts(
        channel="sms",
        text_body=nested_ifs,
        context={"candidate": {"first_name": "Jordan"}, "job": {"name": "Sales Rep"}},
    )
    assert rendered.text == "JORDAN"

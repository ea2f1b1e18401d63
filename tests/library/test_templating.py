"""The message template engine: what a recruiter may write, what a candidate receives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jinja2.exceptions import SecurityError

from candidates.models import Application, AtsUser, Candidate, Department, Job, Office, Stage
from library import templating
from library.models import MessageTemplate
from messaging.models import MessagingPreferences
from recruitflow.tenancy import tenant_scope


def make_onsite_candidate(organization, *, first_name="Sam", last_name="Okafor", n=1):
    """A Sales Rep candidate in Onsite Interview (New York, Sales, recruiter Morgan Lee)."""
    with tenant_scope(organization):
        key = dict(organization=organization, provider="greenhouse")
        office = Office.objects.create(**key, external_id=f"o{n}", name="New York")
        Office.objects.create(**key, external_id=f"o{n}b", name="Remote")
        department = Department.objects.create(**key, external_id=f"d{n}", name="Sales")
        recruiter = AtsUser.objects.create(
            **key, external_id=f"u{n}", name="Morgan Lee", email="morgan@acme.test"
        )
        job = Job.objects.create(**key, external_id=f"j{n}", name="Sales Rep")
        job.offices.add(office)
        job.departments.add(department)
        job.recruiters.add(recruiter)
        stage = Stage.objects.create(**key, external_id=f"s{n}", job=job, name="Onsite Interview")
        candidate = Candidate.objects.create(
            **key,
            external_id=f"c{n}",
            first_name=first_name,
            last_name=last_name,
            primary_email="sam@example.com",
            mobile_phone="+447700900123",
        )
        application = Application.objects.create(
            **key,
            external_id=f"a{n}",
            candidate=candidate,
            job=job,
            stage=stage,
            stage_name=stage.name,
            last_activity_at=datetime(2025, 1, 14, tzinfo=UTC),
        )
    return candidate, application


def messages(problems) -> list[str]:
    return [str(p) for p in problems]


# --- What can be saved -------------------------------------------------------------------------


def test_unknown_merge_field_is_named_with_its_line_and_the_available_fields():
    problems = templating.validate(
        "Hi {{ candidate.first_name }},\nsee you, {{ candidate.nickname }}!",
        channel="sms",
        part="text_body",
    )
    assert len(problems) == 1
    text = str(problems[0])
    assert text.startswith("Line 2: unknown merge field {{ candidate.nickname }}")
    assert "available: {{ candidate.first_name }}, {{ candidate.last_name }}" in text


def test_misspelt_merge_field_gets_a_suggestion():
    (problem,) = templating.validate("{{ candidate.frist_name }}", channel="sms", part="text_body")
    assert "Did you mean {{ candidate.first_name }}?" in str(problem)


def test_syntax_error_says_the_line_and_what_is_wrong():
    problems = templating.validate(
        "<p>Hello</p>\n<p>Dear\n{{ candidate.first_name }</p>", channel="email", part="html_body"
    )
    assert messages(problems) == [
        "Line 3: unexpected '}' — end a merge field with }} and a tag with %}."
    ]


def test_an_unclosed_if_is_a_syntax_error():
    (problem,) = templating.validate(
        "{% if office.name %}Our {{ office.name }} office", channel="sms", part="text_body"
    )
    assert str(problem) == "Line 1: {% if %} is not closed: add {% endif %}."
    (problem,) = templating.validate("Hi {{ job name }}", channel="sms", part="text_body")
    assert "unexpected “name” in a merge field" in str(problem)


def test_a_whole_group_is_not_a_field():
    (problem,) = templating.validate("Hi {{ candidate }}", channel="sms", part="text_body")
    assert "{{ candidate }} is a group of fields — pick one: {{ candidate.first_name }}" in str(
        problem
    )


def test_sandbox_refuses_the_class_and_mro_escape():
    source = "{{ ''.__class__.__mro__ }}"
    assert messages(templating.validate(source, channel="sms", part="text_body")) == [
        "Line 1: only merge fields can be used here (like {{ candidate.first_name }})."
    ]
    # Even a template that skipped validation cannot reach Python internals.
    with pytest.raises(SecurityError):
        templating.sandbox_environment(html=False).from_string(source).render()


def test_private_attributes_are_refused():
    (problem,) = templating.validate("{{ candidate.__class__ }}", channel="email", part="html_body")
    assert "names starting with _ are private" in str(problem)
    (problem,) = templating.validate("{{ job._meta }}", channel="email", part="subject")
    assert "names starting with _ are private" in str(problem)


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("{% for i in range(99999) %}x{% endfor %}", "{% for %} loops are not available"),
        ("{{ 'x' * 999999999 }}", "arithmetic is not available"),
        ("{{ candidate.first_name.upper() }}", "calling functions or methods"),
        ("{% set x = 1 %}", "{% set %} is not available"),
        ("{{ candidate['first_name'] }}", "square brackets"),
        ("{% include 'secrets.html' %}", "{% include %} is not available"),
    ],
)
def test_loops_calls_and_arithmetic_are_refused(source, what):
    problems = templating.validate(source, channel="email", part="html_body")
    assert problems and what in str(problems[0])
    assert problems[0].line == 1


def test_only_the_safe_filters_are_available():
    assert (
        templating.validate(
            "{{ candidate.first_name|default('there')|title|truncate(20) }} {{ job.name|upper }}",
            channel="sms",
            part="text_body",
        )
        == []
    )
    (problem,) = templating.validate(
        "{{ candidate.first_name|safe }}", channel="email", part="html_body"
    )
    assert "the filter |safe is not available" in str(problem)
    (problem,) = templating.validate(
        "{{ candidate.first_name|attr('x') }}", channel="sms", part="text_body"
    )
    assert "|attr is not available — use default, upper" in str(problem)


def test_templates_longer_than_the_cap_are_refused():
    (problem,) = templating.validate("x" * 1601, channel="sms", part="text_body")
    assert "1,601 characters long; the limit is 1,600" in str(problem)
    (problem,) = templating.validate("Hi\nthere", channel="email", part="subject")
    assert "one line" in str(problem)


def test_each_channel_requires_its_parts():
    email = templating.check_template(channel="email", subject="", html_body=" ")
    assert messages(email["subject"]) == ["An e-mail needs a subject."]
    assert messages(email["html_body"]) == ["Write the e-mail's HTML body."]
    sms = templating.check_template(channel="sms", subject="Hello", text_body="")
    assert messages(sms["text_body"]) == ["Write the text message."]
    assert messages(sms["subject"]) == ["A text message has no subject."]


# --- What a candidate receives -------------------------------------------------------------------


def test_a_candidate_named_script_is_escaped_in_html_but_not_in_subject_or_plain_text():
    context = {"candidate": {"first_name": "<script>alert(1)</script>"}}
    rendered = templating.render_parts(
        channel="email",
        subject="For {{ candidate.first_name }}",
        html_body="<p>Hi {{ candidate.first_name }}</p>",
        context=context,
    )
    assert rendered.html == "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert rendered.subject == "For <script>alert(1)</script>"
    assert rendered.text == "Hi <script>alert(1)</script>"


def test_sms_is_not_escaped():
    rendered = templating.render_parts(
        channel="sms",
        text_body="Hi {{ candidate.first_name }} — Q&A at {{ office.name }}",
        context={"candidate": {"first_name": "O'Brien & <Co>"}, "office": {"name": "R&D"}},
    )
    assert rendered.text == "Hi O'Brien & <Co> — Q&A at R&D"
    assert rendered.html == "" and rendered.subject == ""


def test_plain_text_part_is_derived_from_the_html_readably():
    rendered = templating.render_parts(
        channel="email",
        subject="Onsite",
        html_body=(
            "<h1>Hello {{ candidate.first_name }}</h1>"
            "<p>Please <a href='{{ scheduling_link }}'>pick a time</a> for your onsite.<br>"
            "It takes   two hours.</p>"
            "<ul><li>Bring ID</li><li>Ask for {{ recruiter.name }}</li></ul>"
            "<p>Questions? <a href='mailto:{{ recruiter.email }}'>{{ recruiter.email }}</a></p>"
        ),
        context={
            "candidate": {"first_name": "Sam"},
            "scheduling_link": "https://example.com/s/abc",
            "recruiter": {"name": "Morgan Lee", "email": "morgan@acme.test"},
        },
    )
    assert rendered.text == (
        "Hello Sam\n\n"
        "Please pick a time (https://example.com/s/abc) for your onsite.\n"
        "It takes two hours.\n\n"
        "- Bring ID\n- Ask for Morgan Lee\n\n"
        "Questions? morgan@acme.test"
    )


def test_a_hand_written_plain_text_part_is_used_when_edited():
    template = MessageTemplate(
        channel="email",
        subject="Hi",
        html_body="<p>HTML {{ candidate.first_name }}</p>",
        text_body="Plain words for {{ candidate.first_name }}",
        text_body_edited=True,
    )
    rendered = templating.render(template, {"candidate": {"first_name": "Sam"}})
    assert rendered.text == "Plain words for Sam"
    assert rendered.html == "<p>HTML Sam</p>"


def test_missing_values_render_empty_and_default_fills_them():
    rendered = templating.render_parts(
        channel="sms",
        text_body=(
            "Hi {{ candidate.first_name|default('there') }}, {{ office.name }}"
            "{% if job.name %}job{% endif %}."
        ),
        context={"candidate": {"first_name": None}, "office": {}},
    )
    assert rendered.text == "Hi there, ."
    assert "None" not in rendered.text
    assert rendered.empty_fields == ("candidate.first_name", "job.name", "office.name")


def test_a_stored_template_with_an_unknown_field_does_not_render():
    template = MessageTemplate(channel="sms", text_body="Hi {{ candidate.nickname }}")
    with pytest.raises(templating.TemplateInvalid) as caught:
        templating.render(template, {})
    assert "Text message, line 1: unknown merge field {{ candidate.nickname }}" in str(caught.value)


def test_context_values_must_be_plain_dicts():
    candidate = Candidate(first_name="Sam")
    with pytest.raises(TypeError):
        templating.render_parts(channel="sms", text_body="Hi", context={"candidate": candidate})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, ("GSM-7", 1, 160)),
        ("a" * 161, ("GSM-7", 2, 161)),
        ("€" * 80, ("GSM-7", 1, 160)),  # extension characters count 2
        ("€" * 81, ("GSM-7", 2, 162)),
        ("Thanks 🙂", ("UCS-2", 1, 9)),  # one emoji makes the whole text UCS-2
        ("a" * 69 + "🙂", ("UCS-2", 2, 71)),
    ],
)
def test_sms_segment_counts(text, expected):
    count = templating.sms_count(text)
    assert (count.encoding, count.segments, count.characters) == expected


def test_the_rendered_sms_says_which_character_made_it_ucs2():
    rendered = templating.render_parts(
        channel="sms", text_body="See you soon {{ candidate.first_name }} 🙂", context={}
    )
    assert rendered.sms.encoding == "UCS-2" and rendered.sms.because == "🙂"
    assert rendered.sms.per_segment == 70


# --- Merge context -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_merge_context_reads_the_mirror_in_two_queries(alice, django_assert_num_queries):
    organization = alice.organization
    candidate, _ = make_onsite_candidate(organization)
    with tenant_scope(organization):
        MessagingPreferences.objects.create(
            organization=organization, opt_out_footer="Text STOP to stop hearing from Acme."
        )
        with django_assert_num_queries(2):
            context = templating.merge_context(organization=organization, candidate=candidate)
    assert context["candidate"] == {
        "first_name": "Sam",
        "last_name": "Okafor",
        "full_name": "Sam Okafor",
    }
    assert context["job"] == {"name": "Sales Rep"}
    assert context["stage"] == {"name": "Onsite Interview"}
    assert context["office"] == {"name": "New York"}
    assert context["department"] == {"name": "Sales"}
    assert context["recruiter"] == {"name": "Morgan Lee", "email": "morgan@acme.test"}
    assert context["company"] == {"name": "Acme Talent"}
    assert context["opt_out_text"] == "Text STOP to stop hearing from Acme."
    assert context["scheduling_link"] == ""
    rendered = templating.render_parts(
        channel="sms",
        text_body="Hi {{ candidate.first_name }}, your {{ job.name }} {{ stage.name }} is in "
        "{{ office.name }} with {{ recruiter.name }} at {{ company.name }}. {{ opt_out_text }}",
        context=context,
    )
    assert rendered.text == (
        "Hi Sam, your Sales Rep Onsite Interview is in New York with Morgan Lee at Acme Talent. "
        "Text STOP to stop hearing from Acme."
    )


@pytest.mark.django_db
def test_merge_contexts_prepared_for_a_batch_give_each_candidate_their_own_values_in_two_queries(
    alice, django_assert_num_queries
):
    organization = alice.organization
    sam, sams = make_onsite_candidate(organization)
    ana, anas = make_onsite_candidate(organization, first_name="Ana", last_name="Silva", n=2)
    with tenant_scope(organization):
        Job.objects.filter(pk=anas.job_id).update(name="Account Executive")
        alone = {
            c.pk: templating.merge_context(organization=organization, candidate=c, application=a)
            for c, a in ((sam, sams), (ana, anas))
        }
        # One query, the applications' rows: the opt-out text is the organization's send
        # context's (read by the merges above).
        with (
            django_assert_num_queries(1),
            templating.merge_contexts_prepared(
                organization=organization, application_ids=[sams.pk, anas.pk]
            ),
        ):
            together = {
                c.pk: templating.merge_context(
                    organization=organization, candidate=c, application=a
                )
                for c, a in ((sam, sams), (ana, anas))
            }
        assert together == alone
        assert together[ana.pk]["job"] == {"name": "Account Executive"}
        assert together[sam.pk]["job"] == {"name": "Sales Rep"}
        # Someone else's application gives nothing of it, as outside the block; no
        # application given: the candidate's latest, read as outside the block.
        with templating.merge_contexts_prepared(
            organization=organization, application_ids=[sams.pk]
        ):
            with django_assert_num_queries(0):
                mixed = templating.merge_context(
                    organization=organization, candidate=ana, application=sams
                )
            assert mixed["job"] == {"name": ""}
            with django_assert_num_queries(1):
                latest = templating.merge_context(organization=organization, candidate=ana)
            assert latest["job"] == {"name": "Account Executive"}


@pytest.mark.django_db
def test_merge_context_without_an_application_leaves_the_job_empty(alice):
    organization = alice.organization
    with tenant_scope(organization):
        candidate = Candidate.objects.create(
            organization=organization, provider="greenhouse", external_id="x", first_name="Ana"
        )
        context = templating.merge_context(
            organization=organization,
            candidate=candidate,
            extra={"scheduling_link": "https://example.com/s/1"},
        )
    assert context["job"] == {"name": ""} and context["candidate"]["full_name"] == "Ana"
    assert context["scheduling_link"] == "https://example.com/s/1"
    assert context["opt_out_text"] == "Reply STOP to opt out."  # the default footer
    with tenant_scope(organization), pytest.raises(ValueError):
        templating.merge_context(organization=organization, candidate=candidate, extra={"x": 1})


@pytest.mark.django_db
def test_sample_context_uses_the_organizations_name(alice):
    with tenant_scope(alice.organization):
        context = templating.sample_context(alice.organization)
    assert context["company"]["name"] == "Acme Talent"
    assert context["candidate"]["first_name"] == "Jordan"
    assert context["scheduling_link"].startswith("https://")

"""Library → Message templates: which e-mail bodies the visual editor may open (and why the others
open as HTML source), and the list's previews rendered with sample values instead of code."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from library.forms import visual_editor_refusal
from library.models import MessageTemplate
from library.templating import sample_context
from library.views import list_preview
from recruitflow.tenancy import tenant_scope
from tests.library.test_library import make_template

pytestmark = pytest.mark.django_db

EDITOR_HTML = (
    "<h2>Your onsite</h2>\n"
    "<p>Hi <strong>{{ candidate.first_name }}</strong>, <em>welcome</em> to <u>{{ company.name }}"
    "</u><br>See <s>you</s> soon.</p>\n"
    '<p><a href="{{ scheduling_link }}">Pick a time</a> or '
    '<a href="https://example.com/faq" target="_blank" rel="noopener">read the FAQ</a>.</p>\n'
    '<ul><li>Bring your ID</li></ul><ol start="2"><li><p>Arrive early</p></li></ol>\n'
    '<blockquote><p>{{ candidate.first_name|default("there") }}</p></blockquote>'
)


def test_visual_editor_opens_formatting_links_lists_and_merge_fields():
    assert visual_editor_refusal(EDITOR_HTML) == ""
    assert visual_editor_refusal("") == ""
    assert visual_editor_refusal("Hi {{ candidate.first_name }}") == ""


def test_conditions_comments_styles_and_tables_open_as_source_each_named():
    reason = visual_editor_refusal(
        '{% if stage.name == "Onsite" %}<p class="lead" style="color: red">Hi</p>{% endif %}'
        "<!-- footer --><table><tr><td>{# note #}x</td></tr></table>"
    )
    assert reason.startswith("This body uses {% … %} blocks such as {% if %}, ")
    assert "template comments {# … #}" in reason
    assert "HTML comments" in reason
    assert "the <table>, <tr> and <td> elements" in reason
    assert "the attributes class on <p> and style on <p>" in reason
    assert reason.endswith(
        "which the visual editor would lose, so it is open as HTML source. Edit it here; the "
        "preview shows the e-mail."
    )


@pytest.mark.parametrize(
    ("html", "named"),
    [
        ("<!doctype html><html><body><p>Hi</p></body></html>", "<!doctype>, <html> and <body>"),
        ('<p><img src="https://example.com/logo.png" alt=""></p>', "the <img> element"),
        ("<p>Hi {{- candidate.first_name -}}</p>", "whitespace control {{- … -}}"),
        ('<p>{{ company.name|default("A & B") }}</p>', "a merge field with <, > or & inside"),
        ('<p><a href="#" onclick="x()">x</a></p>', "the attribute onclick on <a>"),
        ("<div>Hi</div>", "the <div> element"),
    ],
)
def test_what_the_editor_would_drop_keeps_the_body_in_source(html, named):
    assert named in visual_editor_refusal(html)


def test_editor_page_opens_a_conditional_body_as_source_with_the_reason(alice, client_for):
    template = make_template(
        alice.organization,
        html_body="{% if office.name %}<p>See you in {{ office.name }}</p>{% endif %}",
    )
    page = client_for(alice).get(reverse("library:template_edit", args=[template.pk]))
    html = page.content.decode()
    assert 'data-start-mode="source"' in html
    assert "This body uses {% … %} blocks such as {% if %}, which the visual editor" in html
    assert "vendor/tiptap/tiptap.min.js" in html


def test_editor_page_opens_a_plain_body_in_the_visual_editor(alice, client_for):
    template = make_template(alice.organization, html_body=EDITOR_HTML)
    html = client_for(alice).get(reverse("library:template_edit", args=[template.pk]))
    page = html.content.decode()
    assert 'data-start-mode="visual"' in page
    assert 'id="visual-note" data-visual-note hidden' in page
    # The chips' labels come from the catalog.
    assert "&quot;candidate.first_name&quot;: &quot;First name&quot;" in page


def test_refused_save_reopens_in_the_mode_it_was_sent_from(alice, client_for):
    template = make_template(alice.organization)
    client = client_for(alice)
    sent = {
        "name": template.name,
        "subject": "Onsite",
        "html_body": "<p>Hi {{ candidate.nickname }}</p>",
    }
    for mode in ("source", "visual"):
        response = client.post(
            reverse("library:template_edit", args=[template.pk]), {**sent, "editor_mode": mode}
        )
        assert response.status_code == 400
        page = response.content.decode()
        assert f'data-start-mode="{mode}"' in page
        assert "unknown merge field {{ candidate.nickname }}" in page


def test_text_messages_stay_plain_text_with_the_segment_counter(alice, client_for):
    page = client_for(alice).get(reverse("library:template_create") + "?channel=sms")
    html = page.content.decode()
    assert "data-sms-counter" in html
    assert "data-rich-field" not in html and "tiptap" not in html
    assert "editor_mode" not in page.context["form"].fields


# --- The list's previews -------------------------------------------------------------------------


def test_list_shows_templates_rendered_with_sample_values_not_code(alice, client_for):
    make_template(alice.organization)
    make_template(
        alice.organization,
        name="Application received (text)",
        channel="sms",
        subject="",
        html_body="",
        text_body="Thanks for applying to {{ job.name }}, {{ candidate.first_name }}!",
    )
    page = client_for(alice).get(reverse("library:templates")).content.decode()
    assert "Your onsite for Sales Rep" in page
    assert "Hi Jordan," in page
    assert "We&#x27;d love to see you for the Sales Rep onsite." in page
    assert "Thanks for applying to Sales Rep, Jordan!" in page
    assert "{{" not in page.split('id="message-templates"')[1]


def test_list_preview_shows_the_first_lines_and_cuts_a_long_one(alice):
    context = sample_context(alice.organization)
    lines = MessageTemplate(
        channel="sms",
        text_body="\n".join(f"Line {n} for {{{{ candidate.first_name }}}}" for n in range(5)),
    )
    preview = list_preview(lines, context)
    assert preview.lines == ("Line 0 for Jordan", "Line 1 for Jordan", "Line 2 for Jordan")
    assert preview.more
    long = list_preview(MessageTemplate(channel="sms", text_body="word " * 100), context)
    assert len(long.lines) == 1 and long.lines[0].endswith("…") and len(long.lines[0]) == 240
    assert not long.more


def test_list_names_the_problem_of_a_template_that_cannot_render(alice, client_for):
    with tenant_scope(alice.organization):
        # Saved before the field was renamed: the engine refuses it now.
        MessageTemplate.objects.create(
            organization=alice.organization,
            name="Old reminder",
            channel="sms",
            text_body="Hi {{ candidate.nickname }}",
        )
    page = client_for(alice).get(reverse("library:templates")).content.decode()
    assert (
        "Can't preview: Text message, line 1: unknown merge field {{ candidate.nickname }}" in page
    )


def test_list_previews_take_no_query_per_template(alice, client_for):
    client = client_for(alice)
    make_template(alice.organization)
    # The previews' opt-out text is read from the organization's send context; the preferences
    # row it reads is created on first use, and creating it renews the context once.
    client.get(reverse("library:templates"))
    client.get(reverse("library:templates"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("library:templates"))
    for n in range(4):
        make_template(alice.organization, name=f"Invitation {n}")
    with CaptureQueriesContext(connection) as five:
        page = client.get(reverse("library:templates"))
    assert len(page.context["previews"]) == 5
    assert len(five) == len(one)

"""The names of a template's channels and parts, and the limits every template is held to.

Lengths are characters of template source (not of the rendered message). The depth and size
limits bound what the pre-scan and the tree check (:mod:`library.templating.validation`) accept:
real templates stay far below them; hostile ones (hundreds of nested brackets or `not`s,
thousands of tags) are refused before Jinja builds anything deep, so neither parsing nor
compiling can recurse or take long."""

from __future__ import annotations

EMAIL, SMS = "email", "sms"
SUBJECT, HTML_BODY, TEXT_BODY = "subject", "html_body", "text_body"

MAX_LENGTH = {
    (EMAIL, SUBJECT): 500,
    (EMAIL, HTML_BODY): 100_000,
    (EMAIL, TEXT_BODY): 50_000,
    (SMS, TEXT_BODY): 1_600,  # the texting providers refuse longer bodies
}
PART_LABELS = {
    (EMAIL, SUBJECT): "Subject",
    (EMAIL, HTML_BODY): "HTML body",
    (EMAIL, TEXT_BODY): "Plain-text part",
    (SMS, TEXT_BODY): "Text message",
}

MAX_BRACKET_DEPTH = 10  # brackets inside brackets within one {{ … }} or {% … %}
MAX_UNARY_RUN = 3  # `not`, `-` or `+` in a row
MAX_BLOCK_DEPTH = 10  # {% if %} inside {% if %}
MAX_INLINE_CONDITIONS = 10  # `… if … else …` in one tag
MAX_TAG_TOKENS = 2_000  # words and symbols inside all {{ … }} and {% … %} of one part
MAX_TREE_DEPTH = 50  # levels of the parsed template (blocks, filters, and/or, comparisons)

"""Rendering: template text (saved or not) and a merge context → the subject, plain text and
HTML of one message, with the SMS segment count. HTML is autoescaped; subjects, texts and
plain-text parts are not (they are not HTML). Any failure to compile or render is a
:class:`TemplateInvalid` with a message, never an exception of Jinja's or Python's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from integrations.messaging import GSM7_BASIC, GSM7_EXTENSION, sms_segments

from .environment import _compile
from .html_text import html_to_text
from .limits import EMAIL, HTML_BODY, SMS, SUBJECT, TEXT_BODY
from .merge_fields import MERGE_FIELDS
from .problems import TemplateInvalid, TemplateProblem
from .validation import _analyse, _normalize, validate

if TYPE_CHECKING:
    from library.models import MessageTemplate


def _template_line(exc: BaseException) -> int | None:
    """The template line an error was raised on (Jinja rewrites tracebacks so template code
    shows as ``<template>`` with its line numbers)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render_part(source: str, *, html: bool, part: str, channel: str, values: dict) -> str:
    """One part rendered, or :class:`TemplateInvalid` — whatever went wrong inside Jinja."""
    compiled = _compile(source, html=html, part=part)
    if isinstance(compiled, TemplateProblem):
        raise TemplateInvalid([compiled], channel)
    try:
        return compiled.render(values)
    except Exception as exc:  # a filter given an impossible argument, e.g. truncate(1)
        detail = str(exc).strip().rstrip(".") or type(exc).__name__
        raise TemplateInvalid(
            [
                TemplateProblem(
                    f"this can't be rendered ({detail}) — check the filters and their "
                    "arguments here.",
                    _template_line(exc),
                    part,
                )
            ],
            channel,
        ) from exc


@dataclass(frozen=True)
class SmsCount:
    encoding: str  # "GSM-7" | "UCS-2"
    segments: int
    characters: int  # in the encoding's units (septets / UTF-16 code units)
    because: str = ""  # the first character that made the text UCS-2

    @property
    def per_segment(self) -> int:
        if self.segments <= 1:
            return 160 if self.encoding == "GSM-7" else 70
        return 153 if self.encoding == "GSM-7" else 67


def sms_count(text: str) -> SmsCount:
    """Segments of an SMS as the carrier bills them (GSM-7: 160, or 153 per part; UCS-2: 70,
    or 67 per part; GSM-7 extension characters such as € count twice)."""
    encoding, segments, characters = sms_segments(text)
    because = next((ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION), "")
    return SmsCount(encoding, segments, characters, because)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    empty_fields: tuple[str, ...] = field(default=())  # merge fields used that had no value

    @property
    def sms(self) -> SmsCount:
        return sms_count(self.text)


def _complete(context: dict) -> dict:
    """Plain dicts holding exactly the merge fields, every value text ("" when missing)."""
    complete: dict[str, Any] = {}
    for merge_field in MERGE_FIELDS:
        if len(merge_field.parts) == 2:
            group, key = merge_field.parts
            source = context.get(group) or {}
            if not isinstance(source, dict):
                raise TypeError(f"Merge context '{group}' must be a plain dict.")
            value = source.get(key)
            complete.setdefault(group, {})[key] = "" if value is None else str(value)
        else:
            value = context.get(merge_field.path)
            complete[merge_field.path] = "" if value is None else str(value)
    return complete


def render_parts(
    *,
    channel: str,
    subject: str = "",
    html_body: str = "",
    text_body: str = "",
    text_body_edited: bool = False,
    context: dict,
) -> Rendered:
    """Render template text that may not be saved yet (the editor's preview). Raises
    :class:`TemplateInvalid` when a part cannot render."""
    subject, html_body, text_body = map(_normalize, (subject, html_body, text_body))
    parts: list[tuple[str, str]] = []
    if channel == EMAIL:
        parts = [(SUBJECT, subject), (HTML_BODY, html_body)]
        if text_body_edited:
            parts.append((TEXT_BODY, text_body))
    elif channel == SMS:
        parts = [(TEXT_BODY, text_body)]
    else:
        raise TemplateInvalid([TemplateProblem("Choose e-mail or text message.", part="channel")])
    problems = [p for part, source in parts for p in validate(source, channel=channel, part=part)]
    if problems:
        raise TemplateInvalid(problems, channel)

    values = _complete(context)
    used = {path for part, source in parts for path in _analyse(source, channel, part)[1]}
    empty = tuple(
        f.path for f in MERGE_FIELDS if f.path in used and not _lookup(values, f.parts).strip()
    )

    def part(name: str, source: str) -> str:
        # str(): a plain string, never Markup, so whatever shows it escapes it.
        html = name == HTML_BODY
        return str(_render_part(source, html=html, part=name, channel=channel, values=values))

    if channel == SMS:
        text = part(TEXT_BODY, text_body).strip()
        return Rendered(subject="", text=text, html="", empty_fields=empty)
    rendered_subject = " ".join(part(SUBJECT, subject).split())
    html = part(HTML_BODY, html_body)
    text = part(TEXT_BODY, text_body).strip() if text_body_edited else html_to_text(html)
    return Rendered(subject=rendered_subject, text=text, html=html, empty_fields=empty)


def _lookup(values: dict, parts: tuple[str, ...]) -> str:
    value: Any = values
    for part in parts:
        value = value[part]
    return value


def render(template: MessageTemplate, context: dict) -> Rendered:
    """Render a Library template for one recipient. ``context`` is what :func:`merge_context`
    or :func:`sample_context` returns (plain dicts; anything else is ignored). Missing values
    render empty. Raises :class:`TemplateInvalid` for a template that cannot render."""
    return render_parts(
        channel=template.channel,
        subject=template.subject,
        html_body=template.html_body,
        text_body=template.text_body,
        text_body_edited=template.text_body_edited,
        context=context,
    )

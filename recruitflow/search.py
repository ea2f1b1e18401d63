"""Global search, the box in the top bar: candidates (name, e-mail, mobile number typed in any
format), Inbox conversations (the candidate's name or number, the text of a message), journeys
(name) and Library message templates (name, subject), all within one organization.

Matching is a case-insensitive substring per word (``icontains``), except a message's text on
Postgres: there every word of the query starts a word of the message ("interv" finds
"interview"), a full-text match (``to_tsquery('simple', 'interv:*')``) against the GIN index
``message_body_fts`` on the body's 'simple' tsvector. On Postgres the other searched columns
carry pg_trgm GIN indexes on ``UPPER(column)`` (the expression Django's ``icontains`` compares)
and conversations are read newest first off ``conversation_newest``, all created by the owning
apps' migrations; SQLite scans, message text included (a substring there). A hiring manager's
scope (``tenant_scope(visible_candidates=...)``) applies as everywhere: candidates,
conversations and messages come through the scoped managers, so hidden candidates are never
found. ``bench/search.py`` measures each kind at 100,000 candidates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import F, Func, Q, QuerySet, TextField
from django.db.models.functions import Reverse

from candidates.models import Candidate
from journeys.models import Journey
from library.models import MessageTemplate
from messaging.models import Conversation, Message

from .row_urls import row_url

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 200
MAX_WORDS = 5
MIN_PHONE_DIGITS = 4
PAGE_LIMIT = 25
SUGGEST_LIMIT = 3
SNIPPET_CONTEXT = 40
RECENT_WINDOW = 500  # newest conversations looked at before the whole Inbox

SEARCHABLE = (
    "candidates by name, e-mail or mobile number (in any format), Inbox conversations by "
    "candidate or message text, journeys by name, and Library message templates by name or "
    "subject"
)

# The words of a query as the 'simple' text-search parser sees them: letters and digits.
_TEXT_WORD = re.compile(r"[^\W_]+")

# Digits with the punctuation people type in phone numbers: "+1 (415) 555-0100", "415.555.0100".
_PHONE_QUERY = re.compile(r"^\+?[\d\s().\-/]+$")


@dataclass(frozen=True)
class Hit:
    title: str
    detail: str
    url: str
    when: datetime | None = None  # shown in the organization's time zone


@dataclass
class Group:
    kind: str
    label: str
    hits: list[Hit]
    more: bool  # more matched than are shown


@dataclass
class Results:
    query: str
    problem: str = ""  # why nothing was searched, in words
    groups: list[Group] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return any(group.hits for group in self.groups)


def clean_query(raw: str | None) -> tuple[str, str]:
    """The query to search for, or an empty one and the reason in words."""
    query = " ".join((raw or "").split())
    if not query:
        return "", f"Search {SEARCHABLE}."
    if len(query) > MAX_QUERY_LENGTH:
        return "", f"That search is too long: use at most {MAX_QUERY_LENGTH} characters."
    if len(query) < MIN_QUERY_LENGTH:
        return "", f"Type at least {MIN_QUERY_LENGTH} characters to search {SEARCHABLE}."
    return query, ""


def phone_digits(query: str) -> str:
    """The digits of a query that looks like a phone number, without the international prefix
    (+, 00) or a national trunk 0, so that each of "+1 (415) 555-0100", "415-555-0100" and
    "4155550100" is found inside the stored E.164 "+14155550100"; empty for other queries."""
    if not _PHONE_QUERY.match(query):
        return ""
    digits = re.sub(r"\D", "", query).lstrip("0")
    return digits if len(digits) >= MIN_PHONE_DIGITS else ""


def search(*, organization, raw_query: str | None, limit: int = PAGE_LIMIT) -> Results:
    query, problem = clean_query(raw_query)
    if problem:
        return Results(query=query, problem=problem)
    words = query.split()[:MAX_WORDS]
    candidates = matching_candidates(organization=organization, query=query, words=words)
    return Results(
        query=query,
        groups=[
            _candidate_group(candidates, limit),
            _conversation_group(organization, candidates, query, limit),
            _journey_group(organization, words, limit),
            _template_group(organization, words, limit),
        ],
    )


class CandidateText(Func):
    """A candidate's name and e-mail as one text, "first last email": the expression the
    trigram index ``candidate_search_text_trgm`` covers as UPPER(...), so every word of a query
    is one index lookup (``icontains`` compares UPPER(expression) LIKE UPPER('%word%'))."""

    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self, prefix: str = "") -> None:
        super().__init__(
            F(f"{prefix}first_name"), F(f"{prefix}last_name"), F(f"{prefix}primary_email")
        )


def matching_candidates(*, organization, query: str, words: list[str]) -> QuerySet[Candidate]:
    """Live candidates (not deleted, not merged away): for a phone-like query, those whose
    mobile number ends with its digits (the index ``candidate_mobile_reversed`` on the reversed
    number makes that a prefix lookup); otherwise those whose name or e-mail contains every
    word."""
    candidates = Candidate.objects.filter(
        organization=organization, deleted_at__isnull=True, merged_into__isnull=True
    )
    digits = phone_digits(query)
    if digits:
        return candidates.alias(mobile_reversed=Reverse("mobile_phone")).filter(
            mobile_reversed__startswith=digits[::-1]
        )
    candidates = candidates.alias(search_text=CandidateText())
    for word in words:
        candidates = candidates.filter(search_text__icontains=word)
    return candidates


def _candidate_group(candidates: QuerySet[Candidate], limit: int) -> Group:
    rows = list(
        candidates.order_by("last_name", "first_name", "id").only(
            "first_name", "last_name", "primary_email", "mobile_phone"
        )[: limit + 1]
    )
    hits = [
        Hit(
            title=c.full_name,
            detail=" · ".join(part for part in (c.primary_email, c.mobile_phone) if part),
            url=row_url("candidates:detail", c.pk),
        )
        for c in rows[:limit]
    ]
    return Group("candidates", "Candidates", hits, more=len(rows) > limit)


def _conversation_group(organization, candidates: QuerySet[Candidate], query: str, limit: int):
    """Conversations with a matching candidate or with a message containing the query, newest
    message first; each matched by its messages shows the words around the newest match."""
    ids = _newest_matching_conversations(organization, candidates, query, limit + 1)
    loaded = Conversation.objects.filter(organization=organization, pk__in=ids[:limit])
    by_id = {c.pk: c for c in loaded.select_related("candidate")}
    rows = [by_id[pk] for pk in ids[:limit] if pk in by_id]
    snippets: dict[int, str] = {}
    for conversation_id, body in (
        messages_with_text(Message.objects.filter(organization=organization), query)
        .filter(conversation__in=[c.pk for c in rows])
        .order_by("-created_at", "-id")
        .values_list("conversation_id", "body")
    ):
        snippets.setdefault(conversation_id, snippet(body, query))
    hits = [
        Hit(
            title=c.candidate.full_name,
            detail=snippets.get(c.pk)
            or " · ".join(p for p in (c.candidate.mobile_phone, c.candidate.primary_email) if p),
            url=row_url("messaging:thread", c.pk),
            when=c.last_message_at,
        )
        for c in rows
    ]
    return Group("conversations", "Conversations", hits, more=len(ids) > limit)


def _newest_matching_conversations(organization, candidates, query: str, wanted: int) -> list:
    """The ids of the ``wanted`` newest matching conversations. A common word (or name) matches
    among the newest conversations already, and when ``wanted`` of the newest
    ``RECENT_WINDOW`` match they are the answer (every other one is older); only otherwise the
    whole Inbox is searched, where the trigram indexes find the few matches of a rare word."""
    conversations = Conversation.objects.filter(organization=organization)
    newest_first = (F("last_message_at").desc(nulls_last=True), "-id")
    recent = list(
        conversations.order_by(*newest_first).values_list("pk", "candidate_id")[:RECENT_WINDOW]
    )
    candidate_ids = set(
        candidates.filter(pk__in={candidate_id for _, candidate_id in recent}).values_list(
            "pk", flat=True
        )
    )
    by_text = set(
        messages_with_text(Message.objects.filter(organization=organization), query)
        .filter(conversation__in=[pk for pk, _ in recent])
        .order_by()
        .values_list("conversation_id", flat=True)
        .distinct()
    )
    found = [pk for pk, candidate_id in recent if candidate_id in candidate_ids or pk in by_text]
    if len(found) >= wanted or len(recent) < RECENT_WINDOW:
        return found[:wanted]
    by_message = (
        messages_with_text(Message.objects.filter(organization=organization), query)
        .filter(conversation__isnull=False)
        .values("conversation_id")
    )
    # Ids only, without the candidate: a join here makes Postgres read every candidate of the
    # organization before it knows how few conversations match.
    return list(
        conversations.filter(Q(candidate__in=candidates) | Q(pk__in=by_message))
        .order_by(*newest_first)
        .values_list("pk", flat=True)[:wanted]
    )


def messages_with_text(messages: QuerySet[Message], query: str) -> QuerySet[Message]:
    """Those of the messages (the organization's) whose text matches the query. On Postgres every word of the
    query starts a word of the message ("interv" finds "interview"), through the full-text
    index ``message_body_fts`` on the 'simple' tsvector of the body; on SQLite the body contains
    the query (a scan)."""
    if connection.vendor != "postgresql":
        return messages.filter(body__icontains=query)
    words = _TEXT_WORD.findall(query.lower())[:MAX_WORDS]
    if not words:
        return messages.none()
    prefixes = " & ".join(f"{word}:*" for word in words)
    return messages.alias(body_text=SearchVector("body", config="simple")).filter(
        body_text=SearchQuery(prefixes, search_type="raw", config="simple")
    )


def _journey_group(organization, words: list[str], limit: int) -> Group:
    condition = Q()
    for word in words:
        condition &= Q(name__icontains=word)
    rows = list(
        Journey.objects.filter(condition, organization=organization)
        .order_by("name", "id")
        .only("name", "is_active", "description")[: limit + 1]
    )
    hits = [
        Hit(
            title=j.name,
            detail=" · ".join(
                p for p in ("Active" if j.is_active else "Paused", _shorten(j.description)) if p
            ),
            url=row_url("journeys:builder", j.pk),
        )
        for j in rows[:limit]
    ]
    return Group("journeys", "Journeys", hits, more=len(rows) > limit)


def _template_group(organization, words: list[str], limit: int) -> Group:
    condition = Q()
    for word in words:
        condition &= Q(name__icontains=word) | Q(subject__icontains=word)
    rows = list(
        MessageTemplate.objects.filter(condition, organization=organization)
        .order_by("name", "id")
        .only("name", "channel", "subject")[: limit + 1]
    )
    hits = [
        Hit(
            title=t.name,
            detail=" · ".join(p for p in (t.get_channel_display(), t.subject) if p),
            url=row_url("library:template_edit", t.pk),
        )
        for t in rows[:limit]
    ]
    return Group("templates", "Library templates", hits, more=len(rows) > limit)


def snippet(text: str, query: str, context: int = SNIPPET_CONTEXT) -> str:
    """The part of a message around the first match, on one line, with … where it was cut."""
    flat = " ".join(text.split())
    at = flat.lower().find(query.lower())
    if at < 0 and query.split():  # matched word by word (full text): around the first word
        query = query.split()[0]
        at = flat.lower().find(query.lower())
    if at < 0:
        return _shorten(flat, 2 * context)
    start = max(0, at - context)
    end = min(len(flat), at + len(query) + context)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


def _shorten(text: str, length: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"

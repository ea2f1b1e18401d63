"""The message template engine: merge fields, validation, rendering.

Recruiters write templates in Jinja2 syntax (``Hi {{ candidate.first_name }}``). Templates are
untrusted input, so:

- they render in an :class:`ImmutableSandboxedEnvironment` over plain dicts holding only the
  whitelisted merge fields of :data:`MERGE_FIELDS` (never model instances);
- :func:`validate` walks the parsed template and accepts only output, ``{% if %}``, merge fields,
  constants, comparisons and a few filters. Loops, calls, ``{% set %}``, subscripts and arithmetic
  are refused, so rendering takes time linear in the template's length (no CPU or memory bombs);
  together with the length caps this is the engine's time and size limit;
- before Jinja parses anything, a pass over the token stream (:func:`_prescan`) bounds what would
  make parsing or compiling expensive or recursive — brackets inside brackets, runs of ``not``,
  ``{% if %}`` inside ``{% if %}``, the number of words and symbols in tags — and after parsing the
  tree's depth is bounded too, so validating hostile input is fast and compiling never recurses
  deeply; Jinja's constant-folding optimizer (quadratic in expression depth) is switched off;
- a valid part is compiled once per process (:func:`_compile`: a bounded LRU keyed by a hash of
  the source) and compile failures are remembered as well; any failure to compile or render is a
  :class:`TemplateInvalid` with a message, never an exception of Jinja's or Python's;
- HTML is autoescaped; subjects, texts and plain-text parts are not (they are not HTML).

Used by the Library (editor, preview, API), by journeys when they send, by the Inbox composer and
later by scheduling and interview messages.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import lru_cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment

from integrations.messaging import GSM7_BASIC, GSM7_EXTENSION, sms_segments

if TYPE_CHECKING:
    from .models import MessageTemplate

logger = logging.getLogger(__name__)

EMAIL, SMS = "email", "sms"
SUBJECT, HTML_BODY, TEXT_BODY = "subject", "html_body", "text_body"

# ----------------------------------------------------------------------------------------------
# Merge fields
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeField:
    path: str  # "candidate.first_name" or "scheduling_link"
    label: str
    group: str
    sample: str
    help: str = ""

    @property
    def tag(self) -> str:
        """What a recruiter types: ``{{ candidate.first_name }}``."""
        return "{{ " + self.path + " }}"

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("."))


MERGE_FIELDS: tuple[MergeField, ...] = (
    MergeField("candidate.first_name", "First name", "Candidate", "Jordan"),
    MergeField("candidate.last_name", "Last name", "Candidate", "Rivera"),
    MergeField("candidate.full_name", "Full name", "Candidate", "Jordan Rivera"),
    MergeField("job.name", "Job", "Application", "Sales Rep", "The job the candidate applied to."),
    MergeField("stage.name", "Stage", "Application", "Onsite Interview", "The current stage."),
    MergeField("office.name", "Office", "Application", "New York", "The job's office."),
    MergeField("department.name", "Department", "Application", "Sales", "The job's department."),
    MergeField(
        "recruiter.name", "Recruiter name", "Recruiter", "Morgan Lee", "The job's recruiter."
    ),
    MergeField("recruiter.email", "Recruiter e-mail", "Recruiter", "morgan.lee@example.com"),
    MergeField("company.name", "Company name", "Company", "Acme", "Your organization's name."),
    MergeField(
        "scheduling_link",
        "Scheduling link",
        "Links",
        "https://example.com/schedule/sample",
        "Where the candidate picks an interview time (from the journey's scheduling step).",
    ),
    MergeField("interview.title", "Interview title", "Interview", "Onsite interview · Sales Rep"),
    MergeField(
        "interview.when",
        "Interview date and time",
        "Interview",
        "Tuesday 3 March 2026, 14:00–14:45 (Europe/London)",
        "In the candidate's time zone, with the zone named.",
    ),
    MergeField("interview.duration", "Interview length", "Interview", "45 minutes"),
    MergeField("interview.location", "Interview location", "Interview", "12 King St, London"),
    MergeField(
        "interview.video_link",
        "Video meeting link",
        "Interview",
        "https://meet.example.com/abc-defg-hij",
    ),
    MergeField("interview.interviewers", "Interviewers", "Interview", "Morgan Lee and Sam Patel"),
    MergeField(
        "interview.reschedule_link",
        "Reschedule link",
        "Interview",
        "https://example.com/schedule/sample/reschedule",
        "Where the candidate picks another time for a booked interview.",
    ),
    MergeField(
        "interview.cancel_link",
        "Cancel link",
        "Interview",
        "https://example.com/schedule/sample/cancel",
        "Where the candidate cancels a booked interview.",
    ),
    MergeField(
        "interview_link",
        "Video interview link",
        "Links",
        "https://example.com/interview/sample",
        "Where the candidate records an on-demand video interview.",
    ),
    MergeField(
        "opt_out_text",
        "Opt-out text",
        "Compliance",
        "Reply STOP to opt out.",
        "Your organization's opt-out footer (Settings → Messaging).",
    ),
)
FIELDS_BY_PATH = {f.path: f for f in MERGE_FIELDS}
# "candidate" → ("first_name", "last_name", "full_name"); top-level fields are not groups.
GROUPS: dict[str, tuple[str, ...]] = {}
for _field in MERGE_FIELDS:
    if len(_field.parts) == 2:
        GROUPS[_field.parts[0]] = (*GROUPS.get(_field.parts[0], ()), _field.parts[1])
TOP_LEVEL = tuple(f.path for f in MERGE_FIELDS if len(f.parts) == 1)


def merge_field_groups() -> list[tuple[str, list[MergeField]]]:
    """The catalog grouped for the picker: ``[("Candidate", [...]), ...]`` in catalog order."""
    groups: dict[str, list[MergeField]] = {}
    for merge_field in MERGE_FIELDS:
        groups.setdefault(merge_field.group, []).append(merge_field)
    return list(groups.items())


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------

# Characters of template source (not of the rendered message).
MAX_LENGTH = {
    (EMAIL, SUBJECT): 500,
    (EMAIL, HTML_BODY): 100_000,
    (EMAIL, TEXT_BODY): 50_000,
    (SMS, TEXT_BODY): 1_600,  # Twilio and TextUs refuse longer bodies
}
PART_LABELS = {
    (EMAIL, SUBJECT): "Subject",
    (EMAIL, HTML_BODY): "HTML body",
    (EMAIL, TEXT_BODY): "Plain-text part",
    (SMS, TEXT_BODY): "Text message",
}


def _default(value: Any, default_value: Any = "", boolean: bool = True) -> Any:
    """``default`` as recruiters expect it: an empty merge field counts as missing too."""
    if value is None or isinstance(value, StrictUndefined) or (boolean and not value):
        return default_value
    return value


ALLOWED_FILTERS: dict[str, Any] = {
    "default": _default,
    "d": _default,
    "upper": JINJA_FILTERS["upper"],
    "lower": JINJA_FILTERS["lower"],
    "title": JINJA_FILTERS["title"],
    "capitalize": JINJA_FILTERS["capitalize"],
    "trim": JINJA_FILTERS["trim"],
    "truncate": JINJA_FILTERS["truncate"],
}
ALLOWED_FILTER_LIST = "default, upper, lower, title, capitalize, trim or truncate"
ALLOWED_TESTS = {"defined", "undefined", "none"}
ALLOWED_COMPARISONS = {"eq", "ne", "in", "notin", "lt", "lteq", "gt", "gteq"}

# What each refused construct is called in an error message.
_REFUSED = {
    nodes.For: "{% for %} loops are",
    nodes.Macro: "{% macro %} is",
    nodes.CallBlock: "{% call %} blocks are",
    nodes.FilterBlock: "{% filter %} blocks are",
    nodes.With: "{% with %} blocks are",
    nodes.Assign: "{% set %} is",
    nodes.AssignBlock: "{% set %} is",
    nodes.Block: "{% block %} is",
    nodes.Extends: "{% extends %} is",
    nodes.Include: "{% include %} is",
    nodes.Import: "{% import %} is",
    nodes.FromImport: "{% import %} is",
    nodes.Call: "calling functions or methods (use a filter such as |upper instead) is",
    nodes.Getitem: "square brackets (write candidate.first_name) are",
    nodes.Slice: "slicing is",
    nodes.BinExpr: "arithmetic is",
    nodes.UnaryExpr: "arithmetic is",
    nodes.List: "lists are",
    nodes.Tuple: "lists are",
    nodes.Dict: "dictionaries are",
    nodes.ScopedEvalContextModifier: "{% autoescape %} is",
    nodes.EvalContextModifier: "{% autoescape %} is",
}


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with a template part, with the line it is on."""

    message: str
    line: int | None = None
    part: str = ""  # subject | html_body | text_body

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


class TemplateInvalid(ValueError):
    """A template that cannot render; ``problems`` say what and where."""

    def __init__(self, problems: list[TemplateProblem], channel: str = EMAIL) -> None:
        self.problems = problems
        self.channel = channel
        super().__init__("; ".join(describe(p, channel) for p in problems))


def describe(problem: TemplateProblem, channel: str) -> str:
    """A problem with its part named: ``HTML body, line 2: unknown merge field …``."""
    label = PART_LABELS.get((channel, problem.part), "")
    if not label:
        return str(problem)
    if problem.line:
        return f"{label}, line {problem.line}: {problem.message}"
    return f"{label}: {problem.message}"


def _available(paths) -> str:
    return ", ".join("{{ " + p + " }}" for p in paths)


def _dotted(node: nodes.Node) -> list[str] | None:
    """``candidate.first_name`` as ``["candidate", "first_name"]``; None when the chain does not
    start at a plain name (e.g. ``''.__class__``)."""
    parts: list[str] = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    parts.append(node.name)
    return parts[::-1]


class _Checker:
    def __init__(self, part: str) -> None:
        self.part = part
        self.problems: list[TemplateProblem] = []
        self.used: set[str] = set()

    def problem(self, node: nodes.Node, message: str) -> None:
        found = TemplateProblem(message, getattr(node, "lineno", None), self.part)
        if found not in self.problems:
            self.problems.append(found)

    def visit(self, node: nodes.Node) -> None:
        if isinstance(node, (nodes.Name, nodes.Getattr)):
            self.field(node)
        elif isinstance(node, nodes.Filter):
            self.filter(node)
        elif isinstance(node, nodes.Test):
            if node.name not in ALLOWED_TESTS:
                self.problem(
                    node, f"the test “is {node.name}” is not available — use “is defined”."
                )
            else:
                self.visit(node.node)
            self.constants(node)
        elif isinstance(node, nodes.Compare):
            self.visit(node.expr)
            for operand in node.ops:
                if operand.op not in ALLOWED_COMPARISONS:
                    self.problem(node, f"the comparison “{operand.op}” is not available.")
                self.visit(operand.expr)
        elif isinstance(node, nodes.Const):
            if not isinstance(node.value, (str, int, float, bool, type(None))):
                self.problem(node, "only text and numbers may be written as values.")
        elif isinstance(
            node,
            (
                nodes.Template,
                nodes.Output,
                nodes.TemplateData,
                nodes.If,
                nodes.CondExpr,
                nodes.And,
                nodes.Or,
                nodes.Not,
                nodes.Concat,
            ),
        ):
            for child in node.iter_child_nodes():
                self.visit(child)
        else:
            what = next(
                (label for kind, label in _REFUSED.items() if isinstance(node, kind)),
                f"{type(node).__name__} is",
            )
            self.problem(
                node,
                f"{what} not available in message templates — use merge fields, filters "
                "and {% if %}.",
            )

    def field(self, node: nodes.Name | nodes.Getattr) -> None:
        parts = _dotted(node)
        if parts is None:
            self.problem(
                node, "only merge fields can be used here (like {{ candidate.first_name }})."
            )
            return
        path = ".".join(parts)
        if any(part.startswith("_") for part in parts):
            self.problem(
                node, f"{{{{ {path} }}}} is not allowed: names starting with _ are private."
            )
        elif path in FIELDS_BY_PATH:
            self.used.add(path)
        elif path in GROUPS:
            choices = [f"{path}.{name}" for name in GROUPS[path]]
            self.problem(
                node, f"{{{{ {path} }}}} is a group of fields — pick one: {_available(choices)}."
            )
        else:
            if parts[0] in GROUPS:
                choices = [f"{parts[0]}.{name}" for name in GROUPS[parts[0]]]
                close = difflib.get_close_matches(parts[-1], GROUPS[parts[0]], n=1, cutoff=0.75)
                close = [f"{parts[0]}.{name}" for name in close]
            else:
                choices = list(FIELDS_BY_PATH)
                close = difflib.get_close_matches(path, choices, n=1, cutoff=0.75)
            hint = f" Did you mean {{{{ {close[0]} }}}}?" if close else ""
            self.problem(
                node,
                f"unknown merge field {{{{ {path} }}}} — available: {_available(choices)}.{hint}",
            )

    def filter(self, node: nodes.Filter) -> None:
        if node.name not in ALLOWED_FILTERS:
            hint = " (merge fields are escaped in HTML on purpose)" if node.name == "safe" else ""
            self.problem(
                node,
                f"the filter |{node.name} is not available{hint} — use {ALLOWED_FILTER_LIST}.",
            )
        if node.node is not None:
            self.visit(node.node)
        self.constants(node)

    def constants(self, node: nodes.Filter | nodes.Test) -> None:
        """Filter and test arguments must be plain values, e.g. ``truncate(40)``."""
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            self.problem(node, "*args and **kwargs are not available.")
        values = [*node.args, *(kw.value for kw in node.kwargs)]
        for value in values:
            if isinstance(value, nodes.Const):
                self.visit(value)
            else:
                self.problem(node, f"the arguments of |{node.name} must be plain text or numbers.")


_IF_TAGS = "{% if %}, {% elif %}, {% else %} and {% endif %}"


def _friendly_syntax(message: str) -> str:
    """Jinja's syntax errors in a recruiter's words."""
    if message == "unexpected '}'":
        return "unexpected '}' — end a merge field with }} and a tag with %}."
    if message.startswith("unexpected end of template, expected 'end of print statement'"):
        return "a merge field is not closed: end it with }}."
    if message.startswith("unexpected end of template, expected 'end of statement block'"):
        return "a {% … %} tag is not closed: end it with %}."
    found = re.match(r"expected token 'end of print statement', got '(.*)'", message)
    if found:
        return (
            f"unexpected “{found[1]}” in a merge field — write one field such as "
            "{{ job.name }} and end it with }}."
        )
    found = re.match(r"expected token 'end of statement block', got '(.*)'", message)
    if found:
        return f"unexpected “{found[1]}” in a {{% … %}} tag — end the tag with %}}."
    unclosed = re.search(r"The innermost block that needs to be closed is '(\w+)'", message)
    if message.startswith("Unexpected end of template") and unclosed:
        return f"{{% {unclosed[1]} %}} is not closed: add {{% end{unclosed[1]} %}}."
    unknown = re.match(r"Encountered unknown tag '(\w+)'", message)
    if unknown:
        tag = unknown[1]
        if unclosed:
            return f"unknown tag {{% {tag} %}} here — inside {{% {unclosed[1]} %}} use {_IF_TAGS}."
        if tag in ("endif", "elif", "else"):
            return f"{{% {tag} %}} without an {{% if %}} before it."
        return f"unknown tag {{% {tag} %}} — templates can use {_IF_TAGS}."
    return message


# What the pre-scan and the tree check allow. Real templates stay far below these; hostile ones
# (hundreds of nested brackets or `not`s, thousands of tags) are refused before Jinja builds
# anything deep, so neither parsing nor compiling can recurse or take long.
MAX_BRACKET_DEPTH = 10  # brackets inside brackets within one {{ … }} or {% … %}
MAX_UNARY_RUN = 3  # `not`, `-` or `+` in a row
MAX_BLOCK_DEPTH = 10  # {% if %} inside {% if %}
MAX_INLINE_CONDITIONS = 10  # `… if … else …` in one tag
MAX_TAG_TOKENS = 2_000  # words and symbols inside all {{ … }} and {% … %} of one part
MAX_TREE_DEPTH = 50  # levels of the parsed template (blocks, filters, and/or, comparisons)

_OPEN_BRACKETS = {"lparen", "lbracket", "lbrace"}
_CLOSE_BRACKETS = {"rparen", "rbracket", "rbrace"}
_TAG_BEGIN = {"variable_begin", "block_begin"}
_TAG_END = {"variable_end", "block_end"}
# Block tags whose body Jinja parses recursively ({% set x %}…{% endset %} only without "=").
_BLOCK_OPENERS = {"if", "for", "macro", "call", "filter", "with", "block", "autoescape"}


def _too_deep(what: str, limit: int, advice: str) -> str:
    return f"{what} (more than {limit:,}) — {advice}"


def _prescan(source: str, part: str) -> TemplateProblem | None:
    """The first thing in ``source`` that would make parsing or compiling it deep or slow, from
    Jinja's token stream alone (linear, and it stops at the first problem). A lexing error is
    left for the parser to report in its words."""
    tag_tokens = 0
    block_depth = 0
    brackets = unary_run = conditions = 0
    first_in_tag = None  # the first name of a {% … %} tag
    block_tag = pending_set = assigns = False
    try:
        for token in _environment(html=False).lexer.tokenize(source):
            kind, line = token.type, token.lineno
            if kind in _TAG_BEGIN:
                brackets = unary_run = conditions = 0
                block_tag = kind == "block_begin"
                first_in_tag, pending_set, assigns = None, False, False
                continue
            if kind in _TAG_END:
                if pending_set and not assigns:
                    block_depth += 1
                    if block_depth > MAX_BLOCK_DEPTH:
                        return TemplateProblem(
                            _too_deep(
                                "{% set %} blocks are nested too deeply",
                                MAX_BLOCK_DEPTH,
                                "close some before opening others.",
                            ),
                            line,
                            part,
                        )
                block_tag = False
                continue
            if kind == "data":
                continue
            tag_tokens += 1
            if tag_tokens > MAX_TAG_TOKENS:
                return TemplateProblem(
                    f"too many merge fields and tags: by this line they hold more than "
                    f"{MAX_TAG_TOKENS:,} words and symbols — use fewer, or split the message "
                    "into two templates.",
                    line,
                    part,
                )
            if block_tag and first_in_tag is None:
                first_in_tag = token.value if kind == "name" else ""
                if first_in_tag in _BLOCK_OPENERS:
                    block_depth += 1
                    if block_depth > MAX_BLOCK_DEPTH:
                        return TemplateProblem(
                            _too_deep(
                                f"{{% {first_in_tag} %}} is nested inside too many other tags",
                                MAX_BLOCK_DEPTH,
                                "close some with {% end… %} before opening others, or split "
                                "the conditions.",
                            ),
                            line,
                            part,
                        )
                elif first_in_tag.startswith("end"):
                    block_depth = max(0, block_depth - 1)
                elif first_in_tag == "set":
                    pending_set = True
                continue
            if kind == "assign":
                assigns = True
            if kind in _OPEN_BRACKETS:
                brackets += 1
                if brackets > MAX_BRACKET_DEPTH:
                    return TemplateProblem(
                        _too_deep(
                            "brackets are nested too deeply",
                            MAX_BRACKET_DEPTH,
                            "remove the extra ( ), which a merge field never needs.",
                        ),
                        line,
                        part,
                    )
            elif kind in _CLOSE_BRACKETS:
                brackets = max(0, brackets - 1)
            if (kind == "name" and token.value == "not") or kind in ("sub", "add"):
                unary_run += 1
                if unary_run > MAX_UNARY_RUN:
                    return TemplateProblem(
                        f"too many “not”, “-” or “+” in a row (more than {MAX_UNARY_RUN}) — "
                        "write at most one “not”, e.g. {% if not candidate.first_name %}.",
                        line,
                        part,
                    )
            else:
                unary_run = 0
            if kind == "name" and token.value == "if":
                conditions += 1
                if conditions > MAX_INLINE_CONDITIONS:
                    return TemplateProblem(
                        _too_deep(
                            "too many “… if … else …” in one tag",
                            MAX_INLINE_CONDITIONS,
                            "use {% if %} … {% elif %} … {% endif %} instead.",
                        ),
                        line,
                        part,
                    )
    except TemplateSyntaxError:
        return None  # the parser reports it, with its line, in the recruiter's words
    return None


def _deepest(tree: nodes.Node) -> tuple[int, int | None]:
    """How many levels the parsed template has, and a line at that depth (iteratively: the
    tree is what must not be walked recursively when it is too deep)."""
    deepest, line = 0, None
    stack: list[tuple[nodes.Node, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest, line = depth, getattr(node, "lineno", line)
            if deepest > MAX_TREE_DEPTH:
                break
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest, line


class _LRU:
    """A small thread-safe least-recently-used map with hit and miss counts (per process)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
            return None

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


def _digest(*parts: str) -> bytes:
    digest = hashlib.sha256()
    for value in parts:
        digest.update(value.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.digest()


_ANALYSES = _LRU(maxsize=1024)


def _analyse(source: str, channel: str, part: str) -> tuple[tuple[TemplateProblem, ...], frozenset]:
    limit = MAX_LENGTH.get((channel, part))
    if limit is None:
        return (TemplateProblem(f"a {channel} template has no {part}.", None, part),), frozenset()
    if len(source) > limit:
        return (
            TemplateProblem(
                f"the text is {len(source):,} characters long; the limit is {limit:,}, passed on "
                "this line — shorten it, or split it into two messages.",
                source.count("\n", 0, limit) + 1,
                part,
            ),
        ), frozenset()
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        return (
            TemplateProblem("contains characters that are not valid text.", None, part),
        ), frozenset()
    key = _digest(channel, part, source)
    cached = _ANALYSES.get(key)
    if cached is None:
        cached = _analyse_uncached(source, channel, part)
        _ANALYSES.put(key, cached)
    return cached


def _analyse_uncached(
    source: str, channel: str, part: str
) -> tuple[tuple[TemplateProblem, ...], frozenset]:
    problems: list[TemplateProblem] = []
    if part == SUBJECT and "\n" in source:
        problems.append(TemplateProblem("a subject must fit on one line.", None, part))
    too_deep = _prescan(source, part)
    if too_deep is not None:
        return (*problems, too_deep), frozenset()
    try:
        tree = _environment(html=False).parse(source)
    except TemplateSyntaxError as exc:
        message = _friendly_syntax(exc.message or "syntax error.")
        problems.append(TemplateProblem(message, exc.lineno, part))
        return tuple(problems), frozenset()
    except RecursionError:  # not expected after the pre-scan; never the view's problem
        problems.append(TemplateProblem(_TOO_COMPLEX, None, part))
        return tuple(problems), frozenset()
    depth, line = _deepest(tree)
    if depth > MAX_TREE_DEPTH:
        problems.append(
            TemplateProblem(
                f"this is nested too deeply (more than {MAX_TREE_DEPTH} levels of tags, filters, "
                "“and”/“or” and comparisons) — split it into simpler tags.",
                line,
                part,
            )
        )
        return tuple(problems), frozenset()
    checker = _Checker(part)
    checker.visit(tree)
    problems.extend(checker.problems[:20])
    if not problems:
        # A part that validates must compile; compiling now also warms the cache for sending.
        failure = _compile(source, html=part == HTML_BODY, part=part)
        if isinstance(failure, TemplateProblem):
            problems.append(failure)
    return tuple(problems), frozenset(checker.used)


def validate(source: str, *, channel: str, part: str) -> list[TemplateProblem]:
    """What is wrong with one part of a template (empty when it is fine): syntax errors, unknown
    merge fields, refused constructs and filters, the length cap — each with its line."""
    return list(_analyse(_normalize(source), channel, part)[0])


def used_fields(source: str, *, channel: str, part: str) -> list[str]:
    """The merge fields a (valid) template part uses, in catalog order."""
    used = _analyse(_normalize(source), channel, part)[1]
    return [f.path for f in MERGE_FIELDS if f.path in used]


def _normalize(source: str | None) -> str:
    """Browsers post ``\\r\\n``; templates are stored and counted with ``\\n``."""
    return (source or "").replace("\r\n", "\n").replace("\r", "\n")


def check_template(
    *,
    channel: str,
    subject: str = "",
    html_body: str = "",
    text_body: str = "",
    text_body_edited: bool = False,
) -> dict[str, list[TemplateProblem]]:
    """Every problem of a whole template, by field (empty when it can be saved): what is
    required for its channel, and :func:`validate` of each part."""
    errors: dict[str, list[TemplateProblem]] = {}

    def add(part: str, *problems: TemplateProblem) -> None:
        if problems:
            errors.setdefault(part, []).extend(problems)

    if channel == EMAIL:
        if not subject.strip():
            add(SUBJECT, TemplateProblem("An e-mail needs a subject.", part=SUBJECT))
        else:
            add(SUBJECT, *validate(subject, channel=EMAIL, part=SUBJECT))
        if not html_body.strip():
            add(HTML_BODY, TemplateProblem("Write the e-mail's HTML body.", part=HTML_BODY))
        else:
            add(HTML_BODY, *validate(html_body, channel=EMAIL, part=HTML_BODY))
        if text_body_edited:
            if not text_body.strip():
                add(
                    TEXT_BODY,
                    TemplateProblem(
                        "Write the plain-text part, or let RecruitFlow derive it from the HTML "
                        "body.",
                        part=TEXT_BODY,
                    ),
                )
            else:
                add(TEXT_BODY, *validate(text_body, channel=EMAIL, part=TEXT_BODY))
    elif channel == SMS:
        if subject.strip():
            add(SUBJECT, TemplateProblem("A text message has no subject.", part=SUBJECT))
        if html_body.strip():
            add(HTML_BODY, TemplateProblem("A text message has no HTML body.", part=HTML_BODY))
        if not text_body.strip():
            add(TEXT_BODY, TemplateProblem("Write the text message.", part=TEXT_BODY))
        else:
            add(TEXT_BODY, *validate(text_body, channel=SMS, part=TEXT_BODY))
    else:
        add("channel", TemplateProblem("Choose e-mail or text message.", part="channel"))
    return errors


# ----------------------------------------------------------------------------------------------
# HTML → plain text
# ----------------------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    _PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table", "pre"}
    _LINE = {"div", "tr", "section", "article", "header", "footer", "dd", "dt", "address"}
    _SKIP = {"head", "style", "script", "title", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.links: list[tuple[str, int]] = []  # (href, position in out)
        self.lists: list[list] = []  # ["ul"|"ol", counter]
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self._SKIP:
            self.skip += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "hr":
            self.out.append("\n\n----------\n\n")
        elif tag in ("ul", "ol"):
            self.out.append("\n\n")
            self.lists.append([tag, 0])
        elif tag == "li":
            self.out.append("\n")
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                self.out.append(f"{self.lists[-1][1]}. ")
            else:
                self.out.append("- ")
        elif tag in self._PARAGRAPH:
            self.out.append("\n\n")
            if tag == "pre":
                self.pre += 1
        elif tag in self._LINE:
            self.out.append("\n")
        elif tag in ("td", "th"):
            self.out.append("  ")
        elif tag == "a":
            self.links.append((attrs.get("href") or "", len(self.out)))
        elif tag == "img" and attrs.get("alt"):
            self.out.append(attrs["alt"])

    def handle_endtag(self, tag):
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self.out.append("\n\n")
        elif tag in self._PARAGRAPH:
            self.out.append("\n\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag in self._LINE:
            self.out.append("\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            text = re.sub(r"\s+", " ", "".join(self.out[start:])).strip()
            target = href[7:] if href.lower().startswith("mailto:") else href
            if target and not href.startswith("#") and target != text:
                self.out.append(f" ({target})" if text else target)

    def handle_data(self, data):
        if self.skip:
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """A readable plain-text version of an e-mail's HTML: paragraphs and line breaks kept, links
    written as "text (url)", lists as "- item". Merge fields and ``{% if %}`` pass through, so
    this works on template source as well as on a rendered e-mail."""
    parser = _TextExtractor()
    parser.feed(html or "")
    parser.close()
    text = "".join(parser.out)
    lines = [re.sub(r"[ \t]{2,}", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _environment(*, html: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        autoescape=html,
        undefined=StrictUndefined,
        finalize=lambda value: "" if value is None else value,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
        # Constant folding re-walks every subexpression at every level (quadratic in depth);
        # merge-field templates have nothing worth folding.
        optimized=False,
    )
    # Nothing beyond the whitelist: no range(), lipsum(), dict(), namespace(), no other filters.
    env.globals.clear()
    env.filters = dict(ALLOWED_FILTERS)
    env.tests = {name: env.tests[name] for name in ALLOWED_TESTS}
    return env


def sandbox_environment(*, html: bool) -> ImmutableSandboxedEnvironment:
    """The sandboxed environment templates render in (autoescaping when ``html``)."""
    return _environment(html=html)


_TOO_COMPLEX = (
    "this template is too complex to prepare — simplify its merge fields and conditions "
    "(fewer brackets, filters and “not”s in one tag)."
)
# Compiled templates (or the problem that stopped compiling), by a hash of the source: a saved
# template is compiled once per process, and a broken one is not retried on every send.
COMPILE_CACHE_SIZE = 256
_COMPILED = _LRU(maxsize=COMPILE_CACHE_SIZE)


def compile_cache_info() -> dict[str, int]:
    """``{"hits", "misses", "size"}`` of this process's compiled-template cache."""
    return {"hits": _COMPILED.hits, "misses": _COMPILED.misses, "size": len(_COMPILED)}


def _compile(source: str, *, html: bool, part: str = ""):
    """The compiled template for ``source``, or a :class:`TemplateProblem` saying why it can't
    be compiled. Both are cached, so hostile or broken input costs its compile time once."""
    key = _digest("html" if html else "text", source)
    cached = _COMPILED.get(key)
    if cached is not None:
        return replace(cached, part=part) if isinstance(cached, TemplateProblem) else cached
    try:
        result: Any = _environment(html=html).from_string(source)
    except TemplateSyntaxError as exc:
        result = TemplateProblem(_friendly_syntax(exc.message or "syntax error."), exc.lineno, part)
    except Exception as exc:  # RecursionError, Python's SyntaxError on generated code, …
        logger.warning("A message template could not be compiled: %r", exc)
        result = TemplateProblem(_TOO_COMPLEX, None, part)
    _COMPILED.put(key, result)
    return result


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


# ----------------------------------------------------------------------------------------------
# Merge context
# ----------------------------------------------------------------------------------------------


def _opt_out_text(organization) -> str:
    from messaging.selectors import preferences_for

    return preferences_for(organization=organization).opt_out_footer


def merge_context(*, organization, candidate, application=None, extra: dict | None = None) -> dict:
    """The merge fields for one candidate, as plain dicts, from the ATS mirror: the given
    application (default: the candidate's most recently active one) with its job, stage, first
    office and department and the job's recruiter. Two queries. ``extra`` sets fields the
    caller knows (``scheduling_link``, ``interview_link``, or a ``recruiter`` dict); unknown
    keys are refused."""
    from django.db.models import F, OuterRef, Subquery

    from candidates.models import Application, AtsUser, Department, Office

    first_name, last_name = candidate.first_name or "", candidate.last_name or ""
    context: dict[str, Any] = {
        "candidate": {
            "first_name": first_name,
            "last_name": last_name,
            "full_name": f"{first_name} {last_name}".strip(),
        },
        "company": {"name": organization.name},
        "opt_out_text": _opt_out_text(organization),
    }
    applications = Application.objects.filter(
        organization=organization, candidate_id=candidate.pk, deleted_at__isnull=True
    )
    if application is not None:
        applications = applications.filter(pk=application.pk)
    job = OuterRef("job_id")
    recruiters = AtsUser.objects.filter(organization=organization, recruiting_jobs=job).order_by(
        "name", "id"
    )
    row = (
        applications.annotate(
            office_name=Subquery(
                Office.objects.filter(organization=organization, jobs=job)
                .order_by("name", "id")
                .values("name")[:1]
            ),
            department_name=Subquery(
                Department.objects.filter(organization=organization, jobs=job)
                .order_by("name", "id")
                .values("name")[:1]
            ),
            recruiter_name=Subquery(recruiters.values("name")[:1]),
            recruiter_email=Subquery(recruiters.values("email")[:1]),
        )
        .order_by(F("last_activity_at").desc(nulls_last=True), "-id")
        .values(
            "job__name",
            "stage__name",
            "stage_name",
            "office_name",
            "department_name",
            "recruiter_name",
            "recruiter_email",
        )
        .first()
    )
    if row:
        context["job"] = {"name": row["job__name"]}
        context["stage"] = {"name": row["stage__name"] or row["stage_name"]}
        context["office"] = {"name": row["office_name"]}
        context["department"] = {"name": row["department_name"]}
        context["recruiter"] = {"name": row["recruiter_name"], "email": row["recruiter_email"]}
    return _with_extra(_complete(context), extra)


def _with_extra(context: dict, extra: dict | None) -> dict:
    for key, value in (extra or {}).items():
        if key in GROUPS and isinstance(value, dict):
            unknown = set(value) - set(GROUPS[key])
            if unknown:
                raise ValueError(f"Unknown merge fields {key}.{', '.join(sorted(unknown))}.")
            context[key] = {
                **context[key],
                **{k: "" if v is None else str(v) for k, v in value.items()},
            }
        elif key in TOP_LEVEL:
            context[key] = "" if value is None else str(value)
        else:
            raise ValueError(f"Unknown merge field {key!r}.")
    return context


def sample_context(organization, *, extra: dict | None = None) -> dict:
    """Sample values for previews without a candidate; the company and the opt-out text are
    the organization's own."""
    context: dict[str, Any] = {}
    for merge_field in MERGE_FIELDS:
        if len(merge_field.parts) == 2:
            group, key = merge_field.parts
            context.setdefault(group, {})[key] = merge_field.sample
        else:
            context[merge_field.path] = merge_field.sample
    context["company"]["name"] = organization.name
    context["opt_out_text"] = _opt_out_text(organization)
    return _with_extra(_complete(context), extra)


def sample_links() -> dict[str, str]:
    """The example links a preview shows for links that exist only once a message is sent."""
    return {path: FIELDS_BY_PATH[path].sample for path in ("scheduling_link", "interview_link")}


# ----------------------------------------------------------------------------------------------
# Library writes (the editor and the partner API share them)
# ----------------------------------------------------------------------------------------------


class TemplateInUse(Exception):
    """The template is used (e.g. by a journey step) and cannot be deleted."""


def _errors_as_messages(errors: dict[str, list[TemplateProblem]]) -> dict[str, list[str]]:
    return {part: [str(p) for p in problems] for part, problems in errors.items()}


def name_taken(*, organization, name: str, exclude_pk: int | None) -> bool:
    from .models import MessageTemplate

    return (
        MessageTemplate.objects.filter(organization=organization, name__iexact=name)
        .exclude(pk=exclude_pk)
        .exists()
    )


def message_template_save(
    *,
    organization,
    actor=None,
    template: MessageTemplate | None = None,
    name: str,
    channel: str,
    subject: str = "",
    html_body: str = "",
    text_body: str = "",
    text_body_edited: bool = False,
) -> MessageTemplate:
    """Create (``template=None``) or update a Library template. Raises Django's
    ``ValidationError`` with a message per field — each template problem with its line — and
    saves nothing when anything is wrong. An e-mail's plain-text part is derived from the HTML
    body unless ``text_body_edited``."""
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    from .models import MessageTemplate

    name = " ".join((name or "").split())
    subject, html_body, text_body = map(_normalize, (subject, html_body, text_body))
    subject = subject.strip()
    if channel == SMS:
        text_body_edited = False
    errors = _errors_as_messages(
        check_template(
            channel=channel,
            subject=subject,
            html_body=html_body,
            text_body=text_body,
            text_body_edited=text_body_edited,
        )
    )
    if template is not None and channel != template.channel:
        errors["channel"] = [
            "A template's channel can't change. Copy the wording into a new template instead."
        ]
    if not name:
        errors["name"] = ["Give the template a name."]
    elif len(name) > 200:
        errors["name"] = [f"Keep the name to 200 characters (it has {len(name)})."]
    elif name_taken(
        organization=organization, name=name, exclude_pk=template.pk if template else None
    ):
        errors["name"] = [f"Another template is already called “{name}”. Choose another name."]
    if errors:
        raise ValidationError(errors)

    if channel == EMAIL and not text_body_edited:
        text_body = html_to_text(html_body)
    template = template or MessageTemplate(
        organization=organization, channel=channel, created_by=actor
    )
    template.name = name
    template.subject = subject.strip() if channel == EMAIL else ""
    template.html_body = html_body if channel == EMAIL else ""
    template.text_body = text_body
    template.text_body_edited = text_body_edited
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:  # the same name saved a moment ago by someone else
        raise ValidationError(
            {"name": [f"Another template is already called “{name}”. Choose another name."]}
        ) from exc
    return template


def message_template_copy(*, template: MessageTemplate, actor=None) -> MessageTemplate:
    """A copy named "Copy of …" (numbered when that name is taken)."""
    organization = template.organization
    base = f"Copy of {template.name}"[:190]
    name, n = base, 1
    while name_taken(organization=organization, name=name, exclude_pk=None):
        n += 1
        name = f"{base} ({n})"
    return message_template_save(
        organization=organization,
        actor=actor,
        name=name,
        channel=template.channel,
        subject=template.subject,
        html_body=template.html_body,
        text_body=template.text_body,
        text_body_edited=template.text_body_edited,
    )


def template_uses(template: MessageTemplate) -> list[str]:
    """What refers to this template ("2 journey steps (in Onsite invitations)", "1 scheduling
    template (Onsite interview)"), from every relation other models declare to it, so anything
    that sends it blocks its deletion. A row using the template twice counts once."""
    from django.core.exceptions import FieldError

    rows_by_model: dict = {}
    for relation in template._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one) or relation.related_model is None:
            continue
        model = relation.related_model
        manager = getattr(model, "unscoped", model._default_manager)
        ids = manager.filter(**{relation.field.name: template}).values_list("pk", flat=True)
        rows_by_model.setdefault(model, set()).update(ids)
    uses = []
    for model, ids in rows_by_model.items():
        if not ids:
            continue
        rows = getattr(model, "unscoped", model._default_manager).filter(pk__in=ids)
        count = len(ids)
        noun = model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural
        try:  # journey steps: name the journeys
            names = sorted(set(rows.values_list("version__journey__name", flat=True)))
        except FieldError:
            try:  # named rows (scheduling templates): name them
                names = sorted(set(rows.values_list("name", flat=True)))
            except FieldError:
                names = []
        where = f" (in {', '.join(names)})" if names else ""
        if names and not hasattr(model, "version"):
            where = f" ({', '.join(names)})"
        uses.append(f"{count} {noun}{where}")
    return uses


def message_template_delete(*, template: MessageTemplate) -> None:
    """Delete a template nothing uses; raises :class:`TemplateInUse` saying what uses it."""
    from django.db import transaction
    from django.db.models import ProtectedError, RestrictedError

    uses = template_uses(template)
    if uses:
        raise TemplateInUse(
            f"“{template.name}” is used by {' and '.join(uses)}. Remove it from there first, "
            "or copy it and change the copy."
        )
    try:
        with transaction.atomic():
            template.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise TemplateInUse(
            f"“{template.name}” is still used elsewhere and can't be deleted."
        ) from exc

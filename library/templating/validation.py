"""Validation: what is wrong with one part of a template, with its line.

Before Jinja parses anything, a pass over the token stream (:func:`_prescan`) bounds what would
make parsing or compiling expensive or recursive — brackets inside brackets, runs of ``not``,
``{% if %}`` inside ``{% if %}``, the number of words and symbols in tags — and after parsing the
tree's depth is bounded too, so validating hostile input is fast and compiling never recurses
deeply. The tree check (:class:`_Checker`) then accepts only output, ``{% if %}``, merge fields,
constants, comparisons and a few filters: loops, calls, ``{% set %}``, subscripts and arithmetic
are refused, so rendering takes time linear in the template's length."""

from __future__ import annotations

import difflib

from jinja2 import TemplateSyntaxError, nodes

from .environment import (
    _LRU,
    _TOO_COMPLEX,
    ALLOWED_COMPARISONS,
    ALLOWED_FILTER_LIST,
    ALLOWED_FILTERS,
    ALLOWED_TESTS,
    _compile,
    _digest,
    _environment,
)
from .limits import (
    EMAIL,
    HTML_BODY,
    MAX_BLOCK_DEPTH,
    MAX_BRACKET_DEPTH,
    MAX_INLINE_CONDITIONS,
    MAX_LENGTH,
    MAX_TAG_TOKENS,
    MAX_TREE_DEPTH,
    MAX_UNARY_RUN,
    SMS,
    SUBJECT,
    TEXT_BODY,
)
from .merge_fields import FIELDS_BY_PATH, GROUPS, MERGE_FIELDS
from .problems import TemplateProblem, _friendly_syntax

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

"""The message template engine: merge fields, validation, rendering.

Recruiters write templates in Jinja2 syntax (``Hi {{ candidate.first_name }}``). Templates are
untrusted input, so:

- they render in an :class:`ImmutableSandboxedEnvironment` over plain dicts holding only the
  whitelisted merge fields of :data:`MERGE_FIELDS` (never model instances);
- :func:`validate` walks the parsed template and accepts only output, ``{% if %}``, merge fields,
  constants, comparisons and a few filters. Loops, calls, ``{% set %}``, subscripts and arithmetic
  are refused, so rendering takes time linear in the template's length (no CPU or memory bombs);
  together with the length caps this is the engine's time and size limit;
- before Jinja parses anything, a pass over the token stream (``validation._prescan``) bounds what
  would make parsing or compiling expensive or recursive — brackets inside brackets, runs of
  ``not``, ``{% if %}`` inside ``{% if %}``, the number of words and symbols in tags — and after
  parsing the tree's depth is bounded too, so validating hostile input is fast and compiling never
  recurses deeply; Jinja's constant-folding optimizer (quadratic in expression depth) is switched
  off;
- a valid part is compiled once per process (``environment._compile``: a bounded LRU keyed by a
  hash of the source) and compile failures are remembered as well; any failure to compile or
  render is a :class:`TemplateInvalid` with a message, never an exception of Jinja's or Python's;
- HTML is autoescaped; subjects, texts and plain-text parts are not (they are not HTML).

The modules, from the bottom: ``limits`` (channel and part names, length and depth limits),
``merge_fields`` (the catalog), ``problems`` (what is wrong, where), ``environment`` (the sandbox
and the compile cache), ``validation``, ``html_text`` (HTML → plain text), ``rendering`` and
``context`` (merge values for a candidate, or samples). This package is their public face.

Used by the Library (editor, preview, API), by journeys when they send, by the Inbox composer and
by scheduling messages (and later interview messages). Library writes are in
:mod:`library.services`.
"""

from .context import (
    merge_context,
    merge_contexts_prepared,
    provide_opt_out_text,
    sample_context,
    sample_links,
)
from .environment import (
    ALLOWED_COMPARISONS,
    ALLOWED_FILTER_LIST,
    ALLOWED_FILTERS,
    ALLOWED_TESTS,
    COMPILE_CACHE_SIZE,
    compile_cache_info,
    sandbox_environment,
)
from .html_text import html_to_text
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
    PART_LABELS,
    SMS,
    SUBJECT,
    TEXT_BODY,
)
from .merge_fields import (
    FIELDS_BY_PATH,
    GROUPS,
    MERGE_FIELDS,
    TOP_LEVEL,
    MergeField,
    merge_field_groups,
    unfilled_fields,
)
from .problems import TemplateInvalid, TemplateProblem, describe
from .rendering import Rendered, SmsCount, render, render_parts, sms_count
from .validation import check_template, used_fields, validate

__all__ = [
    "ALLOWED_COMPARISONS",
    "ALLOWED_FILTERS",
    "ALLOWED_FILTER_LIST",
    "ALLOWED_TESTS",
    "COMPILE_CACHE_SIZE",
    "EMAIL",
    "FIELDS_BY_PATH",
    "GROUPS",
    "HTML_BODY",
    "MAX_BLOCK_DEPTH",
    "MAX_BRACKET_DEPTH",
    "MAX_INLINE_CONDITIONS",
    "MAX_LENGTH",
    "MAX_TAG_TOKENS",
    "MAX_TREE_DEPTH",
    "MAX_UNARY_RUN",
    "MERGE_FIELDS",
    "PART_LABELS",
    "SMS",
    "SUBJECT",
    "TEXT_BODY",
    "TOP_LEVEL",
    "MergeField",
    "Rendered",
    "SmsCount",
    "TemplateInvalid",
    "TemplateProblem",
    "check_template",
    "compile_cache_info",
    "describe",
    "html_to_text",
    "merge_context",
    "merge_contexts_prepared",
    "merge_field_groups",
    "provide_opt_out_text",
    "render",
    "render_parts",
    "sample_context",
    "sample_links",
    "sandbox_environment",
    "sms_count",
    "unfilled_fields",
    "used_fields",
    "validate",
]

"""The sandboxed Jinja2 environment templates render in (only the whitelisted filters and tests,
no globals) and this process's compiled-template cache.

A valid part is compiled once per process (:func:`_compile`: a bounded LRU keyed by a hash of
the source) and compile failures are remembered as well, so hostile or broken input costs its
compile time once and a broken saved template is not retried on every send."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import replace
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .problems import TemplateProblem, _friendly_syntax

logger = logging.getLogger(__name__)


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

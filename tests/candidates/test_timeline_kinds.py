"""Every kind of timeline event the product writes or reads is declared once in the registry
(candidates.timeline) with a label and an icon, and the candidate's timeline shows them."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from candidates import timeline
from candidates.models import Candidate, TimelineEvent
from recruitflow.tenancy import tenant_scope

ROOT = Path(__file__).resolve().parents[2]
# The product's apps: every top-level folder with an apps.py (the sandbox is not a product app).
APPS = sorted(p.parent.name for p in ROOT.glob("*/apps.py"))
# Calls that write or read a timeline event's kind, and where the kind is when positional.
KIND_CALLS = {
    "run_event": 1,
    "timeline_event": 0,
    "_timeline": None,
    "TimelineEvent": None,  # TimelineEvent(...), TimelineEvent.objects.create(...)
    "TimelineEvent.read": None,  # TimelineEvent.objects.filter(...) and other reads
}
KIND_KEYWORDS = ("kind", "kind__in")


def _product_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts or "sandbox" in path.parts:
                continue
            yield app, path


def _callee(node: ast.Call) -> str:
    """``run_event`` for ``run_event(...)``, ``TimelineEvent`` for ``TimelineEvent(...)`` and
    ``TimelineEvent.objects.create(...)``, ``TimelineEvent.read`` for the other manager calls."""
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr != "create":
        inner = func.value
        while isinstance(inner, ast.Attribute | ast.Call):
            inner = inner.value if isinstance(inner, ast.Attribute) else inner.func
        if isinstance(inner, ast.Name) and inner.id == "TimelineEvent":
            return "TimelineEvent.read"
    while isinstance(func, ast.Attribute):
        func = func.value
    return func.id if isinstance(func, ast.Name) else ""


def _kind_arguments(tree: ast.AST):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _callee(node)
        if name not in KIND_CALLS:
            continue
        writes = name != "TimelineEvent.read"
        for keyword in node.keywords:
            if keyword.arg in KIND_KEYWORDS:
                yield node.lineno, keyword.value, writes
        position = KIND_CALLS[name]
        if position is not None and len(node.args) > position:
            yield node.lineno, node.args[position], writes


def _leaves(expr: ast.expr):
    """The expressions that can end up as the kind: both branches of a conditional, each item of
    a list."""
    if isinstance(expr, ast.IfExp):
        yield from _leaves(expr.body)
        yield from _leaves(expr.orelse)
    elif isinstance(expr, ast.List | ast.Tuple):
        for item in expr.elts:
            yield from _leaves(item)
    else:
        yield expr


def _kinds_written():
    """(app, "path:line", value, how, writes) for every kind given to a timeline call: value is
    the string it evaluates to in its module ("literal" when written as one); a variable passed
    along is checked where it is given."""
    for app, path in _product_modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        module = None
        for line, expr, writes in _kind_arguments(tree):
            for leaf in _leaves(expr):
                where = f"{path.relative_to(ROOT)}:{line}"
                if isinstance(leaf, ast.Constant):
                    yield app, where, leaf.value, "literal", writes
                    continue
                if module is None:
                    dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                    module = importlib.import_module(dotted.removesuffix(".__init__"))
                try:
                    value = eval(ast.unparse(leaf), vars(module))  # noqa: S307 (our own source)
                except NameError:
                    value = None  # a parameter or local variable: checked at its caller
                if isinstance(value, list | tuple | set):
                    for item in value:
                        yield app, where, item, "constant", writes
                elif value is not None:
                    yield app, where, value, "constant", writes


def test_kinds_are_written_through_the_registrys_constants_never_as_string_literals():
    literals = [
        f"{where}: {value!r}" for _, where, value, how, _ in _kinds_written() if how == "literal"
    ]
    assert not literals, "Use the kind's constant (candidates.timeline):\n" + "\n".join(literals)


def test_every_kind_written_or_read_is_registered_for_the_app_that_writes_it():
    kinds = timeline.all_kinds()
    found = list(_kinds_written())
    assert len(found) > 20  # the scan sees the writers (guards against a broken scan)
    unregistered = [f"{where}: {value!r}" for _, where, value, *_ in found if value not in kinds]
    assert not unregistered, "Register these kinds:\n" + "\n".join(unregistered)
    # Reading a kind (the exit rules, step conditions) is not writing it.
    wrong_app = [
        f"{where}: {app} writes {value!r}, declared as written by {kinds[value].written_by}"
        for app, where, value, _, writes in found
        if writes and value in kinds and app not in kinds[value].written_by
    ]
    assert not wrong_app, "\n".join(wrong_app)


def test_every_registered_kind_has_a_label_an_existing_icon_and_fits_the_column():
    icons = set(re.findall(r'<symbol id="([^"]+)"', (ROOT / "static/img/icons.svg").read_text()))
    max_length = TimelineEvent._meta.get_field("kind").max_length
    kinds = timeline.all_kinds()
    assert {"message_sent", "replied", "journey_entered", "booked", "transition"} <= set(kinds)
    for key, kind in kinds.items():
        assert kind.key == key and 0 < len(key) <= max_length, key
        assert kind.label.strip(), f"{key} has no label"
        assert kind.icon in icons, f"{key}: icon {kind.icon!r} is not in static/img/icons.svg"
        assert kind.written_by and set(kind.written_by) <= set(APPS), key


def test_registering_a_key_again_with_other_attributes_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        timeline.register("replied", label="Something else", icon="inbox", written_by="messaging")


@pytest.mark.django_db
def test_the_candidate_timeline_shows_each_entrys_label_and_icon(alice, client_for):
    org = alice.organization
    with tenant_scope(org):
        candidate = Candidate.objects.create(
            provider="greenhouse", external_id="c1", first_name="Ada", last_name="Lovelace"
        )
        TimelineEvent.objects.create(
            candidate=candidate,
            kind="replied",
            summary="Replied: see you Monday",
            occurred_at=timezone.now(),
        )
        TimelineEvent.objects.create(
            candidate=candidate,
            kind="no_longer_written",
            summary="Something from an older version",
            occurred_at=timezone.now(),
        )
    body = client_for(alice).get(reverse("candidates:detail", args=[candidate.pk])).content
    page = body.decode()
    replied = page[page.index('data-kind="replied"') :]
    replied = replied[: replied.index("</li>")]
    assert "Candidate replied" in replied and "icons.svg#inbox" in replied
    assert "Replied: see you Monday" in replied
    # A kind no longer registered still shows its summary, under a neutral label.
    old = page[page.index('data-kind="no_longer_written"') :]
    assert "Something from an older version" in old[: old.index("</li>")]

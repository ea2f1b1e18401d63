"""The import rule of docs/ARCHITECTURE.md, checked on every module (function-level imports
included): an app imports only apps below it, so a lower app can never reach up."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Higher number = higher layer. Apps of the same layer do not import each other.
LAYER = {
    "accounts": 0,
    "integrations": 1,
    "candidates": 2,
    "library": 3,
    "messaging": 4,
    "journeys": 5,
    "scheduling": 6,
    "interviews": 6,
    # Above the domains: they read the rows the domains write.
    "writeback": 7,
    "analytics": 7,
    "notifications": 7,
    # A new organization's setup checklist and starter gallery: reads and writes the domains.
    "onboarding": 7,
    # Bulk actions on the candidates list: they enrol in journeys and send messages.
    "bulk": 7,
    # Partner webhooks read the write-back outbox too (writes written or given up).
    "partners": 7.5,
    "recruitflow": 8,
}
# What of `recruitflow` is wiring (above every app) rather than a shared helper.
WIRING = (
    "recruitflow.urls",
    "recruitflow.management",
    "recruitflow.views",
    "recruitflow.celery",
    "recruitflow.tenant_middleware",
)


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _modules():
    for app in LAYER:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield app, path


@pytest.mark.parametrize("app", [a for a in LAYER if a != "recruitflow"])
def test_apps_import_only_lower_layers(app):
    wrong = []
    for owner, path in _modules():
        if owner != app:
            continue
        for line, module in _imports(path):
            target = module.split(".")[0]
            if target == "recruitflow" and not module.startswith(WIRING):
                continue  # the cross-cutting helpers (tenancy, fields, tasks, decorators, api)
            if target in LAYER and target != app and LAYER[target] >= LAYER[app]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not wrong, "Imports must point down (docs/ARCHITECTURE.md):\n" + "\n".join(wrong)


def test_sandbox_imports_nothing_of_the_product():
    """The fakes stand in for the vendors: they run without Django or any product module, so a
    product change can never make a fake agree with the code it is testing."""
    import sys

    third_party = ("werkzeug", "cryptography")
    wrong = []
    for path in sorted((ROOT / "integrations" / "sandbox").rglob("*.py")):
        package = path.relative_to(ROOT).with_suffix("").parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = list(package[: len(package) - node.level + 1]) if node.level else []
                modules = [".".join([*base, *([node.module] if node.module else [])])]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if module == "integrations.sandbox" or module.startswith("integrations.sandbox."):
                    continue
                if top in sys.stdlib_module_names or top in third_party:
                    continue
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module}")
    assert not wrong, "The sandbox imports nothing of the product:\n" + "\n".join(wrong)


# ------------------------------------------------------------------------------------------
# Inside an app: no import cycles, no imports hidden in functions, no oversized modules
# ------------------------------------------------------------------------------------------

# The fakes stand in for the vendors and import nothing of the product (tested above); they are
# a program of their own, not a module of the integrations app.
SANDBOX = ROOT / "integrations" / "sandbox"
MAX_MODULE_LINES = 700
# Function-level imports of product modules that stay, each with its reason. An import inside a
# function must not be a way around an import cycle: break the cycle by direction instead (a task
# module imports its service, never the reverse; shared pieces move down into a lower module).
# Keys are "<path>: <imported module>".
FUNCTION_IMPORTS_ALLOWED = {
    "integrations/apps.py: integrations.http_guard": "Django app loading: ready()",
    "integrations/apps.py: integrations.policy": "Django app loading: ready()",
    "journeys/apps.py: journeys.steps": "Django app loading: ready() registers the step kinds",
    "messaging/apps.py: library.templating": "Django app loading: ready()",
    "messaging/apps.py: messaging.badge": "Django app loading: ready() connects its signal",
    "messaging/apps.py: messaging.send_context": (
        "Django app loading: ready() connects the send context's cache upkeep and hands the "
        "Library its opt-out text"
    ),
    "messaging/apps.py: messaging.services.inbound_email": (
        "Django app loading: ready() registers the e-mail reply and opt-out handlers"
    ),
    "messaging/apps.py: messaging.services.callbacks": (
        "Django app loading: ready() registers the webhook intake's handlers"
    ),
    "candidates/apps.py: candidates.services.webhook_events": (
        "Django app loading: ready() registers the webhook intake's handler"
    ),
    "scheduling/apps.py: scheduling.calendar_changes": (
        "Django app loading: ready() registers the webhook intake's handler"
    ),
    "recruitflow/apps.py: recruitflow.checks": "Django app loading: ready() registers checks",
    "recruitflow/celery.py: messaging.email_layout": (
        "the Celery app is imported before Django's apps are loaded; the worker's start hook "
        "runs after"
    ),
    "recruitflow/apps.py: recruitflow.changes": (
        "Django app loading: ready() puts the write tracker on every database connection"
    ),
    "scheduling/apps.py: scheduling.steps": "Django app loading: ready() registers the step kind",
    "interviews/apps.py: interviews.erasure": (
        "Django app loading: ready() registers the candidate eraser"
    ),
    "interviews/apps.py: interviews.retention_tasks": (
        "Django app loading: ready() registers the retention tasks (not named tasks.py)"
    ),
    "messaging/apps.py: messaging.erasure": (
        "Django app loading: ready() registers the candidate eraser"
    ),
    "scheduling/apps.py: scheduling.erasure": (
        "Django app loading: ready() registers the candidate eraser"
    ),
    "writeback/apps.py: writeback.erasure": (
        "Django app loading: ready() registers the candidate eraser"
    ),
    "partners/apps.py: partners.erasure": (
        "Django app loading: ready() registers the candidate eraser"
    ),
    "notifications/apps.py: notifications.erasure": (
        "Django app loading: ready() registers the candidate eraser"
    ),
    "journeys/apps.py: journeys.erasure": (
        "Django app loading: ready() registers the candidate eraser"
    ),
    "bulk/apps.py: bulk.erasure": ("Django app loading: ready() registers the candidate eraser"),
    "interviews/apps.py: interviews.steps": "Django app loading: ready() registers the step kind",
    "interviews/apps.py: interviews.recording_tasks": (
        "Django app loading: ready() registers the recording tasks"
    ),
}
# Entries that another part of issue 12 removes when it lands; the others must stay true.
IN_FLIGHT = "being split in issue 12"
# Modules over MAX_MODULE_LINES that another part of issue 12 is splitting.
LONG_MODULES_ALLOWED: dict[str, str] = {}


def _product_modules() -> dict[str, Path]:
    """Dotted name → path of every module of the product (apps and `recruitflow`)."""
    found = {}
    for _, path in _modules():
        if path.is_relative_to(SANDBOX):
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported_modules(node, *, module: str, path: Path, known) -> list[str]:
    """The product modules an import statement loads (the most specific one of each name)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, *([node.module] if node.module else [])])
        else:
            base = node.module
        names = [f"{base}.{alias.name}" for alias in node.names] + [base]
    targets = []
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module and name not in targets:
            targets.append(name)
    if isinstance(node, ast.ImportFrom) and len(targets) > 1:
        base_target = targets[-1]
        # `from pkg import a, b` loads pkg plus each submodule named; plain names load pkg only.
        targets = [t for t in targets[:-1] if t != base_target] or [base_target]
    return targets


def _is_type_checking(node) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(tree) -> list:
    """Import statements that run when the module is imported (not in functions, not under
    ``if TYPE_CHECKING:``), including those inside module-level if/try and class bodies."""
    found, pending = [], list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        elif isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
        elif isinstance(node, ast.ClassDef | ast.If | ast.Try | ast.With):
            for field in ("body", "orelse", "finalbody", "handlers"):
                pending.extend(getattr(node, field, []))
        elif isinstance(node, ast.ExceptHandler):
            pending.extend(node.body)
    return found


def _function_imports(tree) -> list:
    found = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found[id(node)] = node  # a nested function is walked twice
    return sorted(found.values(), key=lambda node: node.lineno)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that import each other in a ring."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return groups


def test_no_import_cycle_between_modules_of_one_app():
    known = _product_modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in _top_level_imports(tree):
            for target in _imported_modules(node, module=name, path=path, known=known):
                if target.split(".")[0] == name.split(".")[0]:
                    graph[name].add(target)
    cycles = _strongly_connected(graph)
    assert not cycles, (
        "Modules of one app import each other in a ring; break it by direction (move the shared "
        "pieces down, queue tasks by name):\n" + "\n".join(" ↔ ".join(c) for c in cycles)
    )


def test_no_function_level_import_of_a_product_module_without_a_reason():
    known = _product_modules()
    found, unexplained = set(), []
    for name, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in _function_imports(tree):
            for target in _imported_modules(node, module=name, path=path, known=known):
                key = f"{path.relative_to(ROOT).as_posix()}: {target}"
                found.add(key)
                if key not in FUNCTION_IMPORTS_ALLOWED:
                    unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {target}")
    assert not unexplained, (
        "Import product modules at the top of the module. If an import inside a function avoids "
        "an import cycle, break the cycle by direction instead; if it must stay (e.g. app "
        "loading in ready()), add it to FUNCTION_IMPORTS_ALLOWED with the reason:\n"
        + "\n".join(unexplained)
    )
    stale = [
        key
        for key, reason in FUNCTION_IMPORTS_ALLOWED.items()
        if key not in found and not reason.startswith(IN_FLIGHT)
    ]
    assert not stale, "Remove these from FUNCTION_IMPORTS_ALLOWED:\n" + "\n".join(stale)


def test_no_module_of_the_product_is_over_700_lines():
    long = []
    for path in _product_modules().values():
        lines = len(path.read_text().splitlines())
        key = path.relative_to(ROOT).as_posix()
        if lines > MAX_MODULE_LINES and key not in LONG_MODULES_ALLOWED:
            long.append(f"{key}: {lines} lines")
    for path in sorted(SANDBOX.rglob("*.py")):
        lines = len(path.read_text().splitlines())
        key = path.relative_to(ROOT).as_posix()
        if lines > MAX_MODULE_LINES and key not in LONG_MODULES_ALLOWED:
            long.append(f"{key}: {lines} lines")
    assert not long, (
        f"Split modules over {MAX_MODULE_LINES} lines along their sections:\n" + "\n".join(long)
    )

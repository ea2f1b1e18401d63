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
    "recruitflow": 7,
}
# What of `recruitflow` is wiring (above every app) rather than a shared helper.
WIRING = ("recruitflow.urls", "recruitflow.management", "recruitflow.views", "recruitflow.celery")


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

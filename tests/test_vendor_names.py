"""Domain apps name no vendor: a vendor's knowledge (names, labels, help texts, addresses of its
screens) lives in its own folder, ``integrations/<vendor>/``, and the domain reaches it through
the registries (``integrations.registry``, ``integrations.screens``). Adding or removing a
vendor is then a one-folder change.

Every module and template of the domain apps is read for the vendor names (as words, in any
case). A module may name a vendor only when it is listed below with its reason: the demo wiring
and the inbound webhook endpoints for good, and — until they are moved — the modules still
being taken apart, each with the number of mentions it has left (the number may only go down).
Migrations are history and are not read.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_APPS = (
    "accounts",
    "candidates",
    "library",
    "messaging",
    "journeys",
    "scheduling",
    "interviews",
    "writeback",
    "partners",
    "analytics",
    "notifications",
    "onboarding",
)
VENDORS = re.compile(r"\b(greenhouse|lever|twilio|textus|sendgrid|cronofy)\b", re.IGNORECASE)
TEXT_SUFFIXES = {".py", ".html", ".txt", ".js", ".json", ".md"}

ENDPOINT = "the endpoint wires the vendor's verifier"
# Modules that may name vendors for good.
ALLOWED = {
    "candidates/demo.py": "demo wiring: seeds the sandbox vendors and connects them",
    "analytics/demo.py": "demo wiring: seeds the sandbox vendors' history",
    "candidates/webhooks.py": ENDPOINT,
    "candidates/webhook_urls.py": ENDPOINT,
    "messaging/webhooks.py": ENDPOINT,
    "messaging/email_webhooks.py": ENDPOINT,
    "messaging/webhook_urls.py": ENDPOINT,
    "scheduling/webhooks.py": ENDPOINT,
    "scheduling/webhook_urls.py": ENDPOINT,
}
# Modules that still name vendors: (the most mentions allowed, what is left to move). A count
# is a ceiling that only goes down; a module that names no vendor any more leaves the list.
NOT_YET_MOVED: dict[str, tuple[int, str]] = {}


def _domain_files():
    for app in DOMAIN_APPS:
        for base in (ROOT / app, ROOT / "templates" / app):
            for path in sorted(base.rglob("*")):
                if not path.is_file() or path.suffix not in TEXT_SUFFIXES:
                    continue
                if "migrations" in path.relative_to(ROOT).parts:
                    continue
                yield path


def _mentions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in _domain_files():
        key = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for match in VENDORS.finditer(line):
                found.setdefault(key, []).append(f"{key}:{number}: {match.group(0)}")
    return found


def test_domain_apps_name_no_vendor():
    wrong = []
    for key, lines in _mentions().items():
        if key in ALLOWED:
            continue
        left = NOT_YET_MOVED.get(key)
        if left is None or len(lines) > left[0]:
            wrong.extend(lines)
    assert not wrong, (
        "A domain app names a vendor: move the name, label or help text into the vendor's "
        "folder (integrations/<vendor>/) and reach it through the registry "
        "(integrations.screens, integrations.registry):\n" + "\n".join(wrong)
    )


def test_the_allow_lists_are_still_true():
    mentions = _mentions()
    stale = [key for key in ALLOWED if key not in mentions and (ROOT / key).exists()]
    done = [key for key in NOT_YET_MOVED if key not in mentions]
    assert not stale, "Names no vendor any more; remove from ALLOWED:\n" + "\n".join(stale)
    assert not done, "Names no vendor any more; remove from NOT_YET_MOVED:\n" + "\n".join(done)


def test_the_grep_sees_a_vendor_name():
    """The pattern finds names as words in any case, and not inside other words."""
    assert VENDORS.findall("Connect Twilio, LEVER or cronofy") == ["Twilio", "LEVER", "cronofy"]
    assert VENDORS.findall("leverage the sendgridder") == []


def test_stored_provider_choices_come_from_the_installed_vendors():
    """The ATS a mirrored row came from is stored by identifier; the choices (and their labels)
    are the installed ATS vendors' own, so a new vendor needs no migration of the domain."""
    from candidates.models import Application, provider_choices

    assert provider_choices() == [
        ("greenhouse", "Greenhouse"),
        ("lever", "Lever"),
        ("recruitflow", "RecruitFlow"),
    ]
    assert Application(provider="lever").get_provider_display() == "Lever"

import pytest


@pytest.fixture
def csp_violations(page):
    """Collects Content-Security-Policy violations reported by the browser."""
    violations = []

    def on_console(message):
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    return violations

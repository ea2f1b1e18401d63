"""Browser steps every flow starts with."""

from __future__ import annotations

from playwright.sync_api import expect

PASSWORD = "correct-horse-9"


def sign_in(page, base: str, email: str, first_name: str, password: str = PASSWORD) -> None:
    """Sign in on the login page as a user clicks through it, and wait for their dashboard."""
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name=f"Welcome, {first_name}")).to_be_visible()

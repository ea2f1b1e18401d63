"""Sign-in, sign-up and password-reset pages wear the product's design: its logo, a centred card,
the app's form styling, links between them, on a desktop and on a phone."""

import re

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BRAND_BLUE = "rgb(37, 99, 235)"  # --brand in app.css, the sidebar logo's colour

PAGES = [
    ("/accounts/login/", "Sign In", ["Create an account", "Forgot password?"]),
    ("/accounts/signup/", "Sign Up", ["Sign in", "Forgot password?"]),
    ("/accounts/password/reset/", "Password Reset", ["Sign in", "Create an account"]),
]


def _assert_branded_card(page, heading):
    logo = page.locator(".auth-logo")
    expect(logo).to_contain_text("RecruitFlow")
    expect(logo.locator(".mark")).to_have_css("background-color", BRAND_BLUE)
    expect(page.locator(".auth-card")).to_be_visible()
    expect(page.locator(".auth-card").get_by_role("heading", level=1)).to_have_text(
        re.compile(heading, re.I)
    )
    # The app's stylesheet and favicon, not allauth's unstyled default.
    expect(page.locator("link[rel=icon]")).to_have_attribute("href", re.compile("favicon.svg"))
    card = page.locator(".auth-card").bounding_box()
    width = page.viewport_size["width"]
    assert card["x"] >= 0 and card["x"] + card["width"] <= width, "the card fits the screen"
    left_gap, right_gap = card["x"], width - (card["x"] + card["width"])
    assert abs(left_gap - right_gap) <= 2, "the card is centred"


@pytest.mark.parametrize("viewport", [(1280, 800), (375, 740)], ids=["desktop", "phone"])
def test_auth_pages_show_the_product_design(live_server, page, csp_violations, viewport):
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    for path, heading, links in PAGES:
        page.goto(f"{live_server.url}{path}")
        _assert_branded_card(page, heading)
        nav = page.get_by_role("navigation", name="Account")
        for name in links:
            expect(nav.get_by_role("link", name=name)).to_be_visible()
        # The primary button is the app's button, in the brand colour, the card's full width.
        button = page.locator(".auth-card button[type=submit]").first
        expect(button).to_have_css("background-color", BRAND_BLUE)
        # No sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
    assert csp_violations == []


def test_links_between_sign_in_sign_up_and_forgot_password(live_server, page):
    page.goto(f"{live_server.url}/accounts/login/")
    nav = page.get_by_role("navigation", name="Account")
    nav.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    page.get_by_role("navigation", name="Account").get_by_role(
        "link", name="Forgot password?"
    ).click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/$"))
    expect(page.get_by_role("heading", name="Password Reset")).to_be_visible()
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))


def test_wrong_password_shows_a_styled_error_then_signing_in_lands_on_the_dashboard(
    live_server, page, alice, csp_violations
):
    EmailAddress.objects.create(
        user=alice.user, email=alice.user.email, verified=True, primary=True
    )
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Sign In").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("not correct")
    expect(alert).to_have_css("color", "rgb(185, 28, 28)")  # --bad, like the app's errors
    expect(alert).to_have_css("background-color", "rgb(254, 226, 226)")
    expect(page.get_by_label("Email")).to_have_value("alice@acme.test")
    _assert_branded_card(page, "Sign In")

    page.get_by_label("Password").fill("correct-horse-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Alice")).to_be_visible()
    expect(page.locator(".topbar")).to_contain_text("Acme Talent")
    assert csp_violations == []


def test_signup_errors_sit_under_their_field(live_server, page):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("input[name=email]", "someone@newco.test")
    page.fill("input[name=first_name]", "Sam")
    page.fill("input[name=organization_name]", "NewCo")
    page.fill("input[name=password1]", "Sturdy-passphrase-42")
    page.fill("input[name=password2]", "a-different-passphrase")
    page.get_by_role("button", name=re.compile("Sign up", re.I)).click()
    field = page.locator(".field.has-error").first
    expect(field.locator(".errors")).to_contain_text(re.compile("same password", re.I))
    expect(field.locator(".errors")).to_have_css("color", "rgb(185, 28, 28)")
    expect(field.locator("input")).to_have_css("border-top-color", "rgb(185, 28, 28)")


def test_invitation_and_new_organization_pages_use_the_same_layout(live_server, page, alice):
    from accounts.models import Invitation
    from recruitflow.tenancy import tenant_scope

    with tenant_scope(alice.organization):
        invitation = Invitation.objects.create(
            organization=alice.organization, email="dan@acme.test", invited_by=alice.user
        )
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/invitations/{invitation.token}/")
    _assert_branded_card(page, "You've been invited to RecruitFlow")
    page.locator(".auth-card").get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/\?next="))
    _assert_branded_card(page, "Sign Up")

    EmailAddress.objects.create(
        user=alice.user, email=alice.user.email, verified=True, primary=True
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill("correct-horse-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Alice")).to_be_visible()
    page.goto(f"{live_server.url}/org/new/")
    _assert_branded_card(page, "Create an organization")
    page.get_by_label("Organization name").fill("   ")
    page.get_by_role("button", name="Create organization").click()
    name_field = page.locator(".field", has=page.locator("input[name=name]"))
    expect(name_field.locator(".errors")).to_have_css("color", "rgb(185, 28, 28)")
    # Someone already signed in is not offered "Sign in" / "Create an account".
    page.goto(f"{live_server.url}/accounts/reauthenticate/")
    _assert_branded_card(page, "Confirm Access")
    expect(page.get_by_role("navigation", name="Account")).to_have_count(0)
    page.get_by_role("link", name="← Back to RecruitFlow").click()
    expect(page.get_by_role("heading", name="Welcome, Alice")).to_be_visible()

"""Every HTML page shows the RecruitFlow icon in the browser tab (issue 17): the app's pages,
sign-in and sign-up, the error pages, and each public page a candidate or a guest opens (the
e-mail unsubscribe page, the interview recorder, the shared review page, the ATS notice), and
the icon they point to is served as a static file."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.views import serve
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from candidates.models import Candidate
from interviews import links, sharing
from interviews.models import InterviewStatus
from messaging.email_consent import unsubscribe_url
from recruitflow.navigation import SIDEBAR
from recruitflow.tenancy import tenant_scope
from recruitflow.views import error_500
from tests.factories import add_member
from tests.interviews.review_helpers import make_interview, make_template
from writeback.notice import notice_url

pytestmark = pytest.mark.django_db

ICON = re.compile(r'<link rel="icon" href="([^"]+)"')
FAVICON = "img/favicon.svg"


def icon_of(response) -> str:
    """The page's icon link; fails with the page's title when it has none."""
    assert response["Content-Type"].startswith("text/html"), response["Content-Type"]
    page = response.content.decode()
    found = ICON.search(page.split("</head>", 1)[0])
    title = re.search(r"<title>(.*?)</title>", page, flags=re.S)
    assert found, f"no icon on the page “{title.group(1).strip() if title else page[:80]}”"
    return found.group(1)


def path_of(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def candidate(alice):
    with tenant_scope(alice.organization):
        return Candidate.objects.create(
            organization=alice.organization,
            provider="greenhouse",
            external_id="c-fav",
            first_name="Ana",
            last_name="Reyes",
            primary_email="ana@example.com",
            mobile_phone="+447700900123",
        )


def test_every_sidebar_page_and_the_app_pages_show_the_icon(alice, client_for):
    client = client_for(alice)
    urls = [reverse(item.url_name) for item in SIDEBAR]
    urls += [reverse("search") + "?q=ana", reverse("settings:team"), reverse("api:guide")]

    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert icon_of(response) == settings.STATIC_URL + FAVICON, url


def test_sign_in_sign_up_and_password_reset_show_the_icon(client):
    for name in ("account_login", "account_signup", "account_reset_password"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert icon_of(response) == settings.STATIC_URL + FAVICON, name


def test_error_pages_show_the_icon(alice, client, client_for):
    # 404 for a visitor who is signed out, and for a signed-in member.
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We couldn't find that page" in html.unescape(response.content.decode())
    assert icon_of(response) == settings.STATIC_URL + FAVICON
    member = client_for(alice)
    response = member.get("/no-such-page/")
    assert response.status_code == 404 and icon_of(response) == settings.STATIC_URL + FAVICON

    # 403: a recruiter opening an admin's page.
    recruiter = add_member(
        organization=alice.organization, email="rae@acme.test", role=Role.RECRUITER
    )
    member.force_login(recruiter.user)
    response = member.get(reverse("settings:organization"))
    assert response.status_code == 403
    assert "You don't have access to this" in html.unescape(response.content.decode())
    assert icon_of(response) == settings.STATIC_URL + FAVICON

    # 500: the bare page rendered without a request context.
    response = error_500(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert icon_of(response) == settings.STATIC_URL + FAVICON


def test_public_candidate_pages_show_the_icon(alice, client, candidate, settings):
    settings.PUBLIC_BASE_URL = "https://recruitflow.example"
    organization = alice.organization
    template = make_template(organization)
    invited = make_interview(
        organization,
        template=template,
        candidate=candidate,
        status=InterviewStatus.INVITED,
        answers="none",
        sent_ago=timedelta(hours=1),
    )
    completed = make_interview(organization, template=template, candidate=candidate)
    shared = reverse(
        "interviews:shared",
        args=[
            sharing.share_sign(interview=completed, expires_at=timezone.now() + timedelta(days=2))
        ],
    )
    pages = {
        "e-mail unsubscribe": (
            path_of(unsubscribe_url(organization=organization, email="ana@example.com")),
            200,
            "Unsubscribe",
        ),
        "e-mail unsubscribe, bad link": ("/email/unsubscribe/not-a-token/", 404, ""),
        "ATS notice": (
            path_of(notice_url(organization=organization, candidate_id=candidate.pk)),
            200,
            "",
        ),
        "ATS notice, bad link": (reverse("writeback:notice", args=["not-a-token"]), 404, ""),
        "interview recorder": (path_of(links.recorder_url(invited)), 200, ""),
        "interview recorder, bad link": ("/v/not-a-token/", 404, ""),
        "shared review": (shared, 200, "Sales screen"),
        "shared review, bad link": (reverse("interviews:shared", args=["nope"]), 404, ""),
    }

    for kind, (url, status, words) in pages.items():
        response = client.get(url)
        assert response.status_code == status, (kind, response.status_code)
        assert words in response.content.decode(), kind
        assert icon_of(response) == settings.STATIC_URL + FAVICON, kind


def test_the_admin_and_the_api_docs_show_an_icon(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert icon_of(response) == settings.STATIC_URL + FAVICON

    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    href = icon_of(response)
    assert href.startswith(settings.STATIC_URL)  # Swagger UI's own, vendored: no CDN
    assert finders.find(href.removeprefix(settings.STATIC_URL))


def test_the_icon_is_served_as_an_svg_image():
    assert finders.find(FAVICON), "static/img/favicon.svg is missing"

    response = serve(RequestFactory().get(settings.STATIC_URL + FAVICON), FAVICON, insecure=True)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("<svg") and 'viewBox="0 0 32 32"' in body

"""Error pages say what happened and what to do, inside the app shell when signed in."""

import pytest
from django.urls import path

from recruitflow.decorators import organization_required


@organization_required
def broken(request):
    raise RuntimeError("boom")


urlpatterns = [path("broken/", broken)]
handler500 = "recruitflow.views.error_500"


@pytest.mark.django_db
def test_missing_page_is_friendly_and_inside_the_shell(alice, client_for):
    response = client_for(alice).get("/no-such-page/")
    assert response.status_code == 404
    text = response.content.decode()
    assert "find that page" in text
    assert "switch to the right one" in text
    assert 'class="sidebar"' in text


@pytest.mark.django_db
def test_api_misses_answer_json(client):
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("#problem-not_found")
    assert response.json()["detail"].startswith("No endpoint at this address.")
    assert "nothing-here" not in response.content.decode()  # the address is not echoed


@pytest.mark.django_db
def test_forbidden_page_says_who_can_help(bob, client_for):
    response = client_for(bob).get("/settings/api-keys/")
    assert response.status_code == 403
    assert "Only owners and admins" in response.content.decode()


@pytest.mark.django_db
def test_server_error_page_is_friendly(alice, client, settings):
    import tests.test_error_pages as this_module
    from recruitflow import urls as project_urls

    this_module.urlpatterns = [*project_urls.urlpatterns, path("broken/", broken)]
    settings.ROOT_URLCONF = "tests.test_error_pages"
    client.raise_request_exception = False
    client.force_login(alice.user)
    try:
        response = client.get("/broken/")
    finally:
        this_module.urlpatterns = [path("broken/", broken)]
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()

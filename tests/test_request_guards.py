"""Guards every URL gets from middleware: NUL bytes refused, private pages never cached."""

import pytest

SEARCHES = [
    "/candidates/?q=ann%00a",
    "/candidates/?stage=%00",
    "/inbox/?q=%00",
    "/library/?q=x%00y",
    "/journeys/?q=%00",
    "/schedule/?q=%00",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", SEARCHES)
def test_a_nul_byte_in_a_search_or_filter_is_a_clear_400(alice, client_for, url):
    response = client_for(alice).get(url)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


@pytest.mark.django_db
def test_a_nul_byte_in_an_api_filter_is_a_json_400(client):
    response = client.get("/api/v1/journeys/?status=%00")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


@pytest.mark.django_db
def test_the_new_api_key_page_is_never_stored_by_the_browser(alice, client_for):
    response = client_for(alice).post("/settings/api-keys/", {"name": "Warehouse", "scope": "read"})
    assert response.status_code == 200
    assert "rf_" in response.content.decode()
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_signed_in_pages_are_private_and_not_stored(alice, client_for):
    response = client_for(alice).get("/candidates/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]

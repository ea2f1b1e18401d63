import pytest


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]


@pytest.mark.django_db
def test_healthz_answers_503_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def _deploy_check(**overrides):
    import os
    import secrets
    import subprocess
    import sys

    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "recruitflow.example.com",
        **overrides,
    }
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_deploy_checks_pass_with_debug_off():
    result = _deploy_check(CACHE_URL="redis://127.0.0.1:6379/15")
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_checks_fail_without_a_shared_cache():
    result = _deploy_check(CACHE_URL=None)
    assert result.returncode != 0
    assert "recruitflow.E001" in result.stderr + result.stdout
    assert "CACHE_URL" in result.stderr + result.stdout


@pytest.mark.django_db
def test_healthz_hides_the_broker_error_from_the_public(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/healthz")
    assert response.status_code == 503
    text = response.content.decode()
    assert "127.0.0.1" not in text and "Error" not in text
    assert response.json()["checks"]["broker"]["error"].startswith("unavailable")


@pytest.mark.django_db
def test_healthz_shows_the_broker_error_to_staff(client, settings, django_user_model):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    staff = django_user_model.objects.create_user(
        username="ops", email="ops@recruitflow.test", password="x", is_staff=True
    )
    client.force_login(staff)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "Error" in response.json()["checks"]["broker"]["error"]

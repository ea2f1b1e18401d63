"""Recordings in an S3-compatible bucket, against moto's standalone server: a real S3 API over
HTTP on a free loopback port, started by these tests. The storage is configured the way
production is, from the ``RECORDINGS_*`` environment variables read by recruitflow/settings.py.

No proxy and no AWS host is involved: proxies are taken out of the environment, boto3's own
configuration files are not read, and every request goes to the loopback server."""

from __future__ import annotations

import os
import runpy
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from storages.backends.s3 import S3Storage
from werkzeug.serving import make_server

from interviews.playback import playback_url
from interviews.storage import is_filesystem, recordings_storage
from tests.interviews.recordings import ORIGINAL, RENDITION, recorded_answer
from tests.journeys.conftest import build_ats

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "recruitflow" / "settings.py"
KEY_ID, SECRET = "rf-test-key", "rf-test-secret"
REGION = "us-east-1"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


def _refuse_expired_presigned_urls(app):
    """S3 answers a presigned URL used after X-Amz-Date + X-Amz-Expires with 403 AccessDenied
    "Request has expired"; moto 5.2's server does not check the expiry, so this layer in front
    of it does, as S3 documents it. Everything else is moto's."""

    def guarded(environ, start_response):
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if "X-Amz-Expires" in query and "X-Amz-Date" in query:
            signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
            expires = signed_at.replace(tzinfo=UTC) + timedelta(
                seconds=int(query["X-Amz-Expires"][0])
            )
            if datetime.now(UTC) > expires:
                body = (
                    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                    b"<Message>Request has expired</Message></Error>"
                )
                start_response(
                    "403 Forbidden",
                    [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
                )
                return [body]
        return app(environ, start_response)

    return guarded


class S3Server(ThreadedMotoServer):
    """moto's threaded standalone server, with the expiry check above in front of its app."""

    def _server_entry(self) -> None:
        app = _refuse_expired_presigned_urls(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@pytest.fixture(scope="module")
def s3_endpoint():
    server = S3Server(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def local_only(monkeypatch):
    """No proxy between the tests and the loopback server, no AWS configuration of this
    machine: boto3 and requests talk straight to the endpoint they are given."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _settings_with(monkeypatch, **variables) -> dict:
    """The settings module's names, as recruitflow/settings.py computes them from this
    environment (run afresh; Django's loaded settings are not touched)."""
    for name in [v for v in os.environ if v.startswith("RECORDINGS_")]:
        monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


@pytest.fixture
def bucket(local_only, s3_endpoint, settings):
    """A new private bucket on the moto server, and the recordings storage pointed at it
    through the RECORDINGS_* variables."""
    name = f"rf-recordings-{uuid.uuid4().hex[:12]}"
    configured = _settings_with(
        local_only,
        RECORDINGS_STORAGE="s3",
        RECORDINGS_S3_BUCKET=name,
        RECORDINGS_S3_ENDPOINT_URL=s3_endpoint,
        RECORDINGS_S3_REGION=REGION,
        RECORDINGS_S3_ACCESS_KEY_ID=KEY_ID,
        RECORDINGS_S3_SECRET_ACCESS_KEY=SECRET,
    )
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    client.create_bucket(Bucket=name)
    # Overriding STORAGES resets Django's storages and the recordings proxy of the file fields.
    settings.STORAGES = {**settings.STORAGES, "recordings": configured["STORAGES"]["recordings"]}
    return {"name": name, "client": client, "endpoint": s3_endpoint, "settings": configured}


@pytest.fixture
def answer(alice, bucket):
    return recorded_answer(build_ats(alice.organization))


def _http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy, no .netrc: straight to the loopback server
    return session


def test_the_environment_selects_a_private_bucket_with_short_signed_urls(local_only):
    configured = _settings_with(
        local_only,
        RECORDINGS_STORAGE="s3",
        RECORDINGS_S3_BUCKET="acme-recordings",
        RECORDINGS_S3_ENDPOINT_URL="https://minio.acme.test:9000",
        RECORDINGS_S3_REGION="eu-west-1",
        RECORDINGS_S3_ACCESS_KEY_ID=KEY_ID,
        RECORDINGS_S3_SECRET_ACCESS_KEY=SECRET,
    )
    recordings = configured["STORAGES"]["recordings"]
    options = recordings["OPTIONS"]

    assert recordings["BACKEND"] == "storages.backends.s3.S3Storage"
    assert options["bucket_name"] == "acme-recordings"
    assert options["endpoint_url"] == "https://minio.acme.test:9000"
    assert options["region_name"] == "eu-west-1"
    assert (options["access_key"], options["secret_key"]) == (KEY_ID, SECRET)
    assert options["addressing_style"] == "path"
    assert options["default_acl"] == "private"
    assert options["querystring_auth"] is True
    assert options["querystring_expire"] == 300
    assert "custom_domain" not in options  # no public URL base
    # Browsers may play recordings and show posters from the store, and from nowhere else.
    directives = configured["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert "https://minio.acme.test:9000" in directives["media-src"]
    assert "https://minio.acme.test:9000" in directives["img-src"]

    default = _settings_with(local_only)["STORAGES"]["recordings"]
    assert default["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert default["OPTIONS"]["location"].endswith("/recordings")
    assert default["OPTIONS"]["base_url"] is None


@pytest.mark.parametrize(
    ("variables", "explanation"),
    [
        ({"RECORDINGS_STORAGE": "nfs"}, "use 'filesystem'"),
        ({"RECORDINGS_STORAGE": "s3"}, "needs RECORDINGS_S3_BUCKET"),
        (
            {
                "RECORDINGS_STORAGE": "s3",
                "RECORDINGS_S3_BUCKET": "b",
                "RECORDINGS_S3_ACCESS_KEY_ID": KEY_ID,
            },
            "Set both RECORDINGS_S3_ACCESS_KEY_ID and RECORDINGS_S3_SECRET_ACCESS_KEY",
        ),
        (
            {
                "RECORDINGS_STORAGE": "s3",
                "RECORDINGS_S3_BUCKET": "b",
                "RECORDINGS_S3_ADDRESSING_STYLE": "subdomain",
            },
            "RECORDINGS_S3_ADDRESSING_STYLE must be 'path'",
        ),
    ],
)
def test_a_wrong_storage_setting_stops_startup_saying_how_to_fix_it(
    local_only, variables, explanation
):
    with pytest.raises(ImproperlyConfigured, match=explanation):
        _settings_with(local_only, **variables)


@pytest.mark.django_db
def test_a_recording_saved_to_the_bucket_reads_back(answer, bucket):
    storage = recordings_storage()

    assert isinstance(storage, S3Storage) and not is_filesystem()
    listed = bucket["client"].list_objects_v2(Bucket=bucket["name"])
    keys = {item["Key"] for item in listed["Contents"]}
    prefix = f"interviews/{answer.organization_id}/{answer.interview_id}/{answer.upload_id}/"
    assert keys == {prefix + "original.webm", prefix + "rendition.mp4", prefix + "poster.jpg"}
    stored = bucket["client"].get_object(Bucket=bucket["name"], Key=answer.rendition.name)
    assert stored["Body"].read() == RENDITION

    with answer.original.open("rb") as original:
        assert original.read() == ORIGINAL
    assert storage.size(answer.rendition.name) == len(RENDITION)
    # A second take of the same name never replaces the first (as on the filesystem).
    assert storage.get_available_name(answer.rendition.name) != answer.rendition.name


@pytest.mark.django_db
def test_the_presigned_playback_url_plays_over_http_and_expires_after_its_ttl(
    answer, bucket, time_machine
):
    url = playback_url(answer, ttl=120)

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}" == bucket["endpoint"]
    assert parts.path == f"/{bucket['name']}/{answer.rendition.name}"
    assert query["X-Amz-Expires"] == ["120"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Signature"]
    http = _http()
    played = http.get(url, timeout=10)
    assert played.status_code == 200 and played.content == RENDITION
    # The store answers byte ranges itself: a browser seeks without the app in the way.
    seek = http.get(url, headers={"Range": "bytes=5000-5099"}, timeout=10)
    assert seek.status_code == 206 and seek.content == RENDITION[5000:5100]

    time_machine.move_to(timezone.now() + timedelta(seconds=121))
    expired = http.get(url, timeout=10)

    assert expired.status_code == 403
    assert b"Request has expired" in expired.content
    assert RENDITION[:64] not in expired.content


@pytest.mark.django_db
def test_recordings_are_not_publicly_readable(answer, bucket):
    client, name = bucket["client"], bucket["name"]
    http = _http()

    unsigned = http.get(f"{bucket['endpoint']}/{name}/{answer.rendition.name}", timeout=10)

    assert unsigned.status_code == 403
    assert RENDITION[:64] not in unsigned.content
    for field in ("original", "rendition", "poster"):
        grants = client.get_object_acl(Bucket=name, Key=getattr(answer, field).name)["Grants"]
        assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]  # the owner only
        assert not any("AllUsers" in str(grant["Grantee"]) for grant in grants)
    # Every URL the storage hands out is signed, even without an explicit expiry.
    assert "X-Amz-Signature=" in recordings_storage().url(answer.poster.name)

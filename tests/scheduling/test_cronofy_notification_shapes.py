"""A Cronofy push notification that is signed but oddly shaped is answered 400 with what is
wrong, never a 500, and changes nothing; an oversized one is refused with 413."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from integrations.cronofy.models import CronofySettings
from messaging.selectors import preferences_for
from messaging.webhooks import BODY_LIMITS
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db

SECRET = "CRN_test_client_secret"


@pytest.fixture
def push_path(sched_org):
    with tenant_scope(sched_org):
        CronofySettings.objects.create(
            organization=sched_org, client_id="cli_test", client_secret=SECRET
        )
        token = preferences_for(organization=sched_org).endpoint_token
    return f"/webhooks/cronofy/{token}/"


def post_signed(client, path, payload) -> object:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    return client.post(
        path, body, content_type="application/json", HTTP_CRONOFY_HMAC_SHA256=signature.decode()
    )


def change(channel: dict) -> dict:
    return {
        "notification": {"type": "change", "changes_since": "2026-12-01T10:00:00Z"},
        "channel": {"channel_id": "chn_morgan", **channel},
    }


@pytest.mark.parametrize(
    ("channel", "explanation"),
    [
        ({"filters": [1]}, "channel.filters must be an object"),
        ({"filters": {"calendar_ids": 5}}, "calendar_ids must be a list"),
        ({"filters": {"calendar_ids": [{"id": "cal_1"}]}}, "calendar_ids must be a list"),
        ({"callback_url": ["https://x"]}, "callback_url must be a string"),
    ],
)
def test_a_signed_notification_with_an_odd_shape_is_answered_400_saying_what_is_wrong(
    client, push_path, channel, explanation
):
    response = post_signed(client, push_path, change(channel))

    assert response.status_code == 400
    assert explanation in response.content.decode()


def test_a_notification_whose_type_is_not_a_string_is_answered_400(client, push_path):
    payload = {"notification": {"type": {"change": True}}, "channel": {"channel_id": "chn_1"}}

    response = post_signed(client, push_path, payload)

    assert response.status_code == 400
    assert "notification.type must be a string" in response.content.decode()


def test_a_well_formed_change_with_calendar_filters_is_accepted(client, push_path):
    response = post_signed(client, push_path, change({"filters": {"calendar_ids": ["cal_1"]}}))

    assert response.status_code == 200


def test_an_oversized_notification_is_refused_with_413(client, push_path):
    payload = change({"padding": "x" * BODY_LIMITS["cronofy"]})

    response = post_signed(client, push_path, payload)

    assert response.status_code == 413

"""Fixtures for partner webhooks: a receiver on loopback, a subscription to it (loopback
allow-listed, as in development), the journeys tests' small ATS mirror, and queued delivery
tasks recorded instead of sent (tests send with partners.delivery.deliver_due)."""

from __future__ import annotations

import pytest

from partners import collector, delivery, services
from recruitflow.tenancy import tenant_scope
from tests.journeys.conftest import build_ats
from tests.partners.receiver import Receiver


class _Queued:
    def __init__(self):
        self.count = 0

    def delay(self, *args, **kwargs):
        self.count += 1


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """``partners.deliver_due`` queued after commit: counted, not sent to a broker."""
    task = _Queued()
    monkeypatch.setattr(collector, "task_named", lambda name: task)
    monkeypatch.setattr(services, "task_named", lambda name: task)
    return task


@pytest.fixture(autouse=True)
def _loopback_receivers(settings):
    settings.PARTNER_WEBHOOK_HTTP_HOSTS = ["127.0.0.1"]
    settings.PARTNER_WEBHOOK_SETTLE_SECONDS = 60


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def ats(alice):
    return build_ats(alice.organization)


@pytest.fixture
def subscribe(alice, receiver):
    def make(types=("candidate.stage_changed",), *, ordered=False, url=None, organization=None):
        org = organization or alice.organization
        with tenant_scope(org):
            subscription = services.subscription_create(
                organization=org,
                url=url or receiver.url,
                event_types=list(types),
                ordered=ordered,
            )
            services.cursors_start(organization=org)
        return subscription

    return make


def collect(organization):
    with tenant_scope(organization):
        return collector.collect(organization=organization)


def send_due():
    return delivery.deliver_due()

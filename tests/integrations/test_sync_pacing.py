"""Pacing a Harvest v1 key across the clients of one process: a sync that starts part-way
through a window uses what is left of it and waits only until it ends, with no 429."""

from __future__ import annotations

import json
import uuid

import pytest
from werkzeug import Response

from integrations.greenhouse.client import V1_RATE_WINDOW_S, HarvestV1Client

LIMIT = 10
LATENCY_S = 0.05  # each answer takes this long, on the fake clock


class FakeGreenhouse:
    """Harvest v1's fixed windows on a fake clock: the limit per window, the headers on every
    answer, 429 past the limit."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.counts: dict[float, int] = {}
        self.log: list[tuple[float, int]] = []  # (when the call was counted, status)

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)

    def clock(self) -> float:
        return self.now

    def call_by_another_integration(self) -> None:
        window = self.now - self.now % V1_RATE_WINDOW_S
        self.counts[window] = self.counts.get(window, 0) + 1

    def handler(self, request) -> Response:
        window = self.now - self.now % V1_RATE_WINDOW_S
        used = self.counts.get(window, 0)
        status = 429 if used >= LIMIT else 200
        if status == 200:
            self.counts[window] = used + 1
        self.log.append((self.now, status))
        self.now += LATENCY_S
        headers = {"X-RateLimit-Limit": str(LIMIT)}
        headers["X-RateLimit-Remaining"] = str(max(0, LIMIT - self.counts.get(window, 0)))
        if status == 429:
            headers["Retry-After"] = str(int(window + V1_RATE_WINDOW_S - self.now + 0.999))
        body = [] if status == 200 else {"message": "Too Many Requests"}
        return Response(json.dumps(body), status, headers, content_type="application/json")


@pytest.fixture
def greenhouse(httpserver) -> FakeGreenhouse:
    fake = FakeGreenhouse(now=1_800_000_000.0 + 2.0)  # two seconds into a window
    httpserver.expect_request("/v1/offices").respond_with_handler(fake.handler)
    return fake


def client(httpserver, greenhouse: FakeGreenhouse, key: str) -> HarvestV1Client:
    return HarvestV1Client(
        key,
        base_url=httpserver.url_for(""),
        sleep=greenhouse.sleep,
        clock=greenhouse.clock,
    )


def calls(harvest: HarvestV1Client, n: int) -> None:
    for _ in range(n):
        harvest.get("/v1/offices")


def test_the_next_sync_of_a_key_uses_the_rest_of_the_window_and_waits_only_until_it_ends(
    httpserver, greenhouse
):
    key = f"harvest-{uuid.uuid4().hex}"
    window_opened = greenhouse.now - greenhouse.now % V1_RATE_WINDOW_S
    calls(client(httpserver, greenhouse, key), 7)  # one sync: 7 of the window's 10 calls
    greenhouse.sleep(3.0)  # it writes its pages

    calls(client(httpserver, greenhouse, key), 6)  # the next sync, a new client of the key

    statuses = [status for _, status in greenhouse.log]
    assert statuses == [200] * 13  # never a 429
    counted = [when for when, _ in greenhouse.log]
    next_window = window_opened + V1_RATE_WINDOW_S
    assert sum(1 for when in counted if when < next_window) == LIMIT  # the window used up
    # The rest went once the window the first sync's first answer showed had surely ended
    # (that answer + the window + the pacer's margin), not a whole window after the second
    # sync ran it out.
    first_answer = counted[0] + LATENCY_S
    assert next_window <= counted[LIMIT] <= first_answer + V1_RATE_WINDOW_S + 0.1


def test_another_key_is_paced_on_its_own_answers(httpserver, greenhouse):
    used_up = client(httpserver, greenhouse, f"harvest-{uuid.uuid4().hex}")
    calls(used_up, LIMIT)  # this key's window is used up: its next call waits
    before = greenhouse.now

    other = client(httpserver, greenhouse, f"harvest-{uuid.uuid4().hex}")
    other.pacer.wait(greenhouse.sleep)

    assert greenhouse.now == before  # another company's key has not used its window
    used_up.pacer.wait(greenhouse.sleep)
    assert greenhouse.now > before


def test_a_window_seen_long_ago_is_not_trusted_when_a_later_sync_runs_the_key_out(
    httpserver, greenhouse
):
    key = f"harvest-{uuid.uuid4().hex}"
    calls(client(httpserver, greenhouse, key), 1)  # the key's window seen opening
    greenhouse.sleep(15 * 60)  # the next poll, a quarter of an hour later
    for _ in range(5):  # another integration of the key used half of this window
        greenhouse.call_by_another_integration()

    calls(client(httpserver, greenhouse, key), 6)  # the sixth call needs the next window

    assert [status for _, status in greenhouse.log] == [200] * 7  # never a 429
    window_opened = greenhouse.log[1][0] - greenhouse.log[1][0] % V1_RATE_WINDOW_S
    assert greenhouse.log[-1][0] >= window_opened + V1_RATE_WINDOW_S

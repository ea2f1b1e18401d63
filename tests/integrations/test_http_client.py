"""The outbound HTTP choke point, exercised over real loopback HTTP."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from werkzeug import Response

from integrations.http import (
    AuthError,
    HttpClient,
    NotFound,
    PermissionDenied,
    RateLimited,
    RateLimiter,
    TransientError,
    Unreachable,
    UnsafeURL,
    ValidationFailed,
    parse_retry_after,
)
from integrations.http_guard import assert_public_url

NOW = 1_700_000_000.0


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def calls() -> list:
    return []


@pytest.fixture
def http(httpserver, fake_time, calls) -> HttpClient:
    return HttpClient(
        httpserver.url_for("/"),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        on_call=calls.append,
        vendor="Acme",
        jitter=lambda: 0.0,
    )


def test_request_returns_the_response_and_logs_one_call_when_the_server_answers_200(
    httpserver, http, calls
):
    httpserver.expect_request("/v1/things", query_string="a=1").respond_with_json([{"id": 1}])

    response = http.request("GET", "/v1/things", params={"a": 1})

    assert response.json() == [{"id": 1}]
    assert [(c.method, c.path, c.status, c.attempt, c.error) for c in calls] == [
        ("GET", "/v1/things", 200, 1, None)
    ]
    assert calls[0].started_at.tzinfo is not None
    assert httpserver.log[0][0].headers["User-Agent"] == "RecruitFlow/1.0"


def test_retry_after_seconds_is_honoured_when_the_server_answers_429(
    httpserver, http, fake_time, calls
):
    httpserver.expect_oneshot_request("/x").respond_with_json(
        {"message": "slow down"}, status=429, headers={"Retry-After": "2"}
    )
    httpserver.expect_oneshot_request("/x").respond_with_json({"ok": True})

    assert http.request("GET", "/x").json() == {"ok": True}

    assert fake_time.sleeps == [2.0]
    assert [(c.status, c.attempt) for c in calls] == [(429, 1), (200, 2)]


def test_retry_after_epoch_is_read_as_a_timestamp_when_it_is_larger_than_1e9(
    httpserver, http, fake_time
):
    httpserver.expect_oneshot_request("/x").respond_with_json(
        {}, status=429, headers={"Retry-After": str(int(NOW + 7))}
    )
    httpserver.expect_oneshot_request("/x").respond_with_json({"ok": True})

    http.request("GET", "/x")

    assert fake_time.sleeps == [7.0]


def test_x_ratelimit_reset_is_used_when_a_429_has_no_retry_after(httpserver, http, fake_time):
    httpserver.expect_oneshot_request("/x").respond_with_json(
        {}, status=429, headers={"X-RateLimit-Reset": str(int(NOW + 4))}
    )
    httpserver.expect_oneshot_request("/x").respond_with_json({"ok": True})

    http.request("GET", "/x")

    assert fake_time.sleeps == [4.0]


def test_a_retry_after_epoch_already_passed_still_waits_a_jittered_backoff_when_a_429_comes(
    httpserver, fake_time, calls
):
    # Greenhouse rounds the epoch to the second: it can be in the past on arrival while the
    # window is still closed. Retrying at once would burn every attempt in milliseconds.
    httpserver.expect_oneshot_request("/x").respond_with_json(
        {}, status=429, headers={"Retry-After": str(int(NOW - 1))}
    )
    httpserver.expect_oneshot_request("/x").respond_with_json({"ok": True})
    http = HttpClient(
        httpserver.url_for("/"),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        on_call=calls.append,
        jitter=lambda: 0.5,
    )

    assert http.request("GET", "/x").json() == {"ok": True}

    assert fake_time.sleeps == [1.5]  # 1-2 s on the first 429, here half-way by the jitter
    assert [c.status for c in calls] == [429, 200]


def test_waits_grow_after_each_429_and_rate_limited_is_raised_when_passed_epochs_keep_coming(
    httpserver, fake_time, calls
):
    httpserver.expect_request("/x").respond_with_handler(
        lambda request: Response(
            "{}", status=429, headers={"Retry-After": str(int(fake_time.now - 1))}
        )
    )
    http = HttpClient(
        httpserver.url_for("/"),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        on_call=calls.append,
        jitter=lambda: 0.0,
    )

    with pytest.raises(RateLimited) as excinfo:
        http.request("GET", "/x")

    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert len(calls) == 5
    assert "rate limiting us (429 after 5 attempt(s))" in str(excinfo.value)
    assert excinfo.value.permanent is False


def test_retry_after_http_date_is_understood():
    when = datetime.fromtimestamp(NOW + 30, tz=UTC)

    assert parse_retry_after(format_datetime(when, usegmt=True), now=NOW) == pytest.approx(30)
    assert parse_retry_after("garbage", now=NOW) is None


def test_client_waits_for_the_reset_and_sees_no_429_when_remaining_hits_zero(
    httpserver, fake_time, calls
):
    # The server allows 2 calls per window and would 429 a third call before the reset.
    window = {"reset": NOW + 10, "used": 0}
    limit = 2

    def handler(request):
        if fake_time.now >= window["reset"]:
            window["reset"] += 10
            window["used"] = 0
        if window["used"] >= limit:
            return Response("{}", status=429, headers={"Retry-After": "10"})
        window["used"] += 1
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - window["used"]),
            "X-RateLimit-Reset": str(int(window["reset"])),
        }
        return Response("[]", status=200, headers=headers, content_type="application/json")

    httpserver.expect_request("/paced").respond_with_handler(handler)
    http = HttpClient(
        httpserver.url_for("/"), sleep=fake_time.sleep, clock=fake_time.clock, on_call=calls.append
    )

    for _ in range(5):
        http.request("GET", "/paced")

    assert [c.status for c in calls] == [200] * 5
    assert fake_time.sleeps == [10.0, 10.0]


def test_5xx_is_retried_with_growing_backoff_then_succeeds(httpserver, http, fake_time, calls):
    httpserver.expect_oneshot_request("/x").respond_with_json({}, status=502)
    httpserver.expect_oneshot_request("/x").respond_with_json({}, status=503)
    httpserver.expect_oneshot_request("/x").respond_with_json({"ok": True})

    assert http.request("GET", "/x").json() == {"ok": True}

    assert [(c.status, c.attempt) for c in calls] == [(502, 1), (503, 2), (200, 3)]
    assert fake_time.sleeps[0] < fake_time.sleeps[1]


def test_transient_error_is_raised_after_all_attempts_when_the_server_keeps_failing(
    httpserver, fake_time, calls
):
    httpserver.expect_request("/x").respond_with_json({"message": "boom"}, status=500)
    http = HttpClient(
        httpserver.url_for("/"),
        max_attempts=3,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        on_call=calls.append,
    )

    with pytest.raises(TransientError) as excinfo:
        http.request("GET", "/x")

    assert excinfo.value.permanent is False
    assert len(calls) == 3
    assert "boom" in str(excinfo.value)


def test_rate_limited_is_raised_at_once_when_the_server_asks_for_a_very_long_wait(
    httpserver, fake_time
):
    httpserver.expect_request("/x").respond_with_json(
        {}, status=429, headers={"Retry-After": "3600"}
    )
    http = HttpClient(httpserver.url_for("/"), sleep=fake_time.sleep, clock=fake_time.clock)

    with pytest.raises(RateLimited) as excinfo:
        http.request("GET", "/x")

    assert excinfo.value.retry_after == 3600
    assert excinfo.value.permanent is False
    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(401, AuthError), (403, PermissionDenied), (404, NotFound), (422, ValidationFailed)],
)
def test_permanent_errors_are_not_retried(httpserver, http, calls, status, error_class):
    httpserver.expect_request("/x").respond_with_json(
        {"message": "nope", "errors": [{"field": "type", "message": "bad"}]}, status=status
    )

    with pytest.raises(error_class) as excinfo:
        http.request("GET", "/x")

    assert excinfo.value.permanent is True
    assert excinfo.value.status == status
    assert len(calls) == 1
    assert "nope" in excinfo.value.message


def test_validation_failed_carries_the_field_errors(httpserver, http):
    httpserver.expect_request("/x").respond_with_json(
        {
            "message": "Validation error",
            "errors": [{"message": "Must be one of: candidate, prospect", "field": "type"}],
        },
        status=422,
    )

    with pytest.raises(ValidationFailed) as excinfo:
        http.request("POST", "/x", json={})

    assert excinfo.value.field_errors == [("type", "Must be one of: candidate, prospect")]


def test_post_is_not_resent_when_the_server_fails_after_receiving_it(httpserver, http, calls):
    httpserver.expect_request("/notes").respond_with_json({}, status=500)

    with pytest.raises(TransientError):
        http.request("POST", "/notes", json={"body": "hi"})

    assert len(calls) == 1


def test_post_is_resent_when_the_server_says_429(httpserver, http, calls):
    httpserver.expect_oneshot_request("/notes").respond_with_json(
        {}, status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_oneshot_request("/notes").respond_with_json({"id": 1}, status=201)

    assert http.request("POST", "/notes", json={}).status_code == 201
    assert [c.status for c in calls] == [429, 201]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_is_raised_with_every_attempt_logged_when_the_port_is_closed(fake_time, calls):
    http = HttpClient(
        f"http://127.0.0.1:{_closed_port()}",
        max_attempts=3,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        on_call=calls.append,
        vendor="Greenhouse",
    )

    with pytest.raises(Unreachable) as excinfo:
        http.request("GET", "/v1/users")

    assert excinfo.value.permanent is False
    assert "Could not reach Greenhouse" in str(excinfo.value)
    assert "refused" in str(excinfo.value)
    assert [(c.status, c.attempt) for c in calls] == [(None, 1), (None, 2), (None, 3)]
    assert all(c.error for c in calls)


def test_call_still_succeeds_when_the_on_call_callback_raises(httpserver):
    httpserver.expect_request("/x").respond_with_json({"ok": True})

    def broken(record):
        raise RuntimeError("db down")

    http = HttpClient(httpserver.url_for("/"), on_call=broken)

    assert http.request("GET", "/x").json() == {"ok": True}


def test_token_bucket_allows_the_burst_then_paces_to_the_rate():
    fake = FakeTime()
    limiter = RateLimiter(10, 20, clock=fake.clock, sleep=fake.sleep)

    for _ in range(20):
        limiter.acquire()
    assert fake.sleeps == []

    for _ in range(10):
        limiter.acquire()
    assert sum(fake.sleeps) == pytest.approx(1.0)


def test_http_client_paces_through_a_rate_limiter(httpserver, fake_time):
    httpserver.expect_request("/x").respond_with_json({})
    limiter = RateLimiter(10, 2, clock=fake_time.clock, sleep=fake_time.sleep)
    http = HttpClient(httpserver.url_for("/"), rate_limiter=limiter, sleep=fake_time.sleep)

    for _ in range(4):
        http.request("GET", "/x")

    assert sum(fake_time.sleeps) == pytest.approx(0.2)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://user:pw@example.com/hook",
        "http://[::ffff:192.168.0.1]/",
    ],
)
def test_assert_public_url_rejects_internal_or_odd_urls(url):
    with pytest.raises(UnsafeURL):
        assert_public_url(url, resolver=lambda host: ["93.184.216.34"])


def test_assert_public_url_rejects_a_name_that_resolves_to_a_private_address():
    with pytest.raises(UnsafeURL):
        assert_public_url("https://intranet.example.com/x", resolver=lambda host: ["10.1.2.3"])


def test_assert_public_url_accepts_public_urls_and_private_ones_when_allowed():
    public = "https://hooks.example.com/a?b=1"
    assert assert_public_url(public, resolver=lambda host: ["93.184.216.34"]) == public
    assert assert_public_url("http://127.0.0.1:8000/x", allow_private=True)


def test_the_environments_proxy_carries_the_calls_and_no_proxy_sends_them_direct(
    httpserver, monkeypatch
):
    # The environment is read once per host and proxy setting (not on every call, as requests
    # would): a change of the setting is still followed.
    from pytest_httpserver import HTTPServer

    proxy = HTTPServer(host="127.0.0.1")
    proxy.start()
    try:
        proxy.expect_request("/v1/things").respond_with_json({"via": "proxy"})
        httpserver.expect_request("/v1/things").respond_with_json({"via": "direct"})
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        client = HttpClient(httpserver.url_for("/"), max_attempts=1)

        monkeypatch.setenv("HTTP_PROXY", proxy.url_for("/").rstrip("/"))
        monkeypatch.setenv("NO_PROXY", "")
        assert client.request("GET", "/v1/things").json() == {"via": "proxy"}
        assert client.request("GET", "/v1/things").json() == {"via": "proxy"}

        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        assert client.request("GET", "/v1/things").json() == {"via": "direct"}
        assert len(proxy.log) == 2 and len(httpserver.log) == 1
    finally:
        proxy.clear()
        proxy.stop()

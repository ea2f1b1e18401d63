"""SSRF: no provider client may be pointed at this server, its network or cloud metadata.

Every client and SDK transport (Greenhouse v1/v3 and its token URL, Lever and its OAuth token
endpoint, Twilio's SDK, TextUs, SendGrid's SDK, Cronofy through pycronofy) is aimed at
loopback, private, link-local and IPv4-mapped addresses with custom provider addresses allowed
but nothing allow-listed: the request must never leave (the listening server sees nothing) and
the admin gets a refusal that says why. A vendor that redirects is never followed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from integrations.cronofy.client import CronofyClient
from integrations.greenhouse.client import HarvestV1Client, HarvestV3Client
from integrations.http import HttpClient, ProviderError
from integrations.lever import oauth
from integrations.lever.client import LeverClient
from integrations.sendgrid.client import SendGridClient
from integrations.textus.client import TextUsClient
from integrations.twilio.provider import TwilioSMSProvider

TWILIO_SID = "AC" + "0" * 32
MAIL = {
    "personalizations": [{"to": [{"email": "ada@example.com"}]}],
    "from": {"email": "jobs@acme.test"},
    "subject": "Hello",
    "content": [{"type": "text/plain", "value": "Hi"}],
}


def _calls() -> dict[str, Callable[[str], object]]:
    """One outbound call per provider path, given the base URL the admin typed."""
    return {
        "greenhouse v1": lambda url: HarvestV1Client(
            "harvest-key", base_url=url, max_attempts=1
        ).get("/v1/users"),
        "greenhouse v3 (token from the base URL)": lambda url: HarvestV3Client(
            "cid", "csecret", base_url=url, max_attempts=1
        ).get("/v3/users"),
        "greenhouse v3 token URL": lambda url: HarvestV3Client(
            "cid",
            "csecret",
            base_url="https://harvest.greenhouse.io",
            token_url=f"{url}/token",
            max_attempts=1,
        ).access_token(),
        "lever": lambda url: LeverClient(api_key="lever-key", base_url=url, max_attempts=1).get(
            "/users"
        ),
        "lever oauth code": lambda url: oauth.exchange_code(
            "cid", "csecret", "code", "https://app.test/cb", auth_base=url
        ),
        "lever oauth refresh": lambda url: oauth.refresh("cid", "csecret", "rt", auth_base=url),
        "twilio": lambda url: TwilioSMSProvider(
            {
                "account_sid": TWILIO_SID,
                "auth_token": "twilio-token",
                "from_number": "+14155550100",
                "base_url": url,
            },
            max_attempts=1,
        ).send("+14155550123", "Hi"),
        "textus": lambda url: TextUsClient("textus-token", base_url=url, max_attempts=1).get(
            "/acme/opt_outs"
        ),
        "sendgrid send": lambda url: SendGridClient("SG.key", base_url=url, max_attempts=1).send(
            MAIL
        ),
        "sendgrid sdk (connection test)": lambda url: SendGridClient(
            "SG.key", base_url=url, max_attempts=1
        ).sg.client.mail.send.post(request_body=MAIL),
        "cronofy token": lambda url: CronofyClient(
            client_id="cid", client_secret="csecret", api_base_url=url, max_attempts=1
        ).token_request(grant_type="authorization_code", code="x"),
        "cronofy sdk": lambda url: (
            CronofyClient(
                client_id="cid", client_secret="csecret", api_base_url=url, max_attempts=1
            )
            .sdk("access-token")
            .list_calendars()
        ),
    }


CALLS = list(_calls())


@pytest.fixture
def trap():
    """A server on 127.0.0.1 that answers everything: any hit means the request left."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("").respond_with_json({"ok": True})
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def _loopback_forms(port: int) -> dict[str, str]:
    return {
        "loopback": f"http://127.0.0.1:{port}",
        "localhost": f"http://localhost:{port}",
        "ipv4-mapped": f"http://[::ffff:127.0.0.1]:{port}",
        "ipv4-mapped hex": f"http://[::ffff:7f00:1]:{port}",
        "decimal loopback": f"http://2130706433:{port}",
    }


@pytest.mark.parametrize("form", ["loopback", "localhost", "ipv4-mapped", "ipv4-mapped hex",
                                  "decimal loopback"])  # fmt: skip
@pytest.mark.parametrize("call", CALLS)
def test_no_provider_request_reaches_this_server(strict_provider_addresses, trap, call, form):
    url = _loopback_forms(trap.port)[form]

    with pytest.raises(ProviderError) as refused:
        _calls()[call](url)

    assert trap.log == [], f"{call} sent a request to {url}"
    message = str(refused.value)
    assert "will not" in message and ("this server" in message or "loopback" in message), message


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://10.0.0.7", "private"),
        ("http://192.168.1.1:8080", "private"),
        ("http://169.254.169.254", "link-local"),
        ("http://[fe80::1]", "link-local"),
        ("http://[::ffff:169.254.169.254]", "link-local"),
        ("http://[fd00:ec2::254]", "private"),
        ("http://0.0.0.0:6379", "unspecified"),
        ("http://[::]:6379", "unspecified"),
        ("http://100.100.100.200", "private"),
    ],
)
@pytest.mark.parametrize("call", CALLS)
def test_private_and_metadata_addresses_are_refused_before_connecting(
    strict_provider_addresses, monkeypatch, call, url, why
):
    connects: list[object] = []
    real_connect = socket.socket.connect

    def spy(self, address):
        connects.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)

    with pytest.raises(ProviderError) as refused:
        _calls()[call](url)

    assert connects == [], f"{call} opened a connection for {url}"
    assert why in str(refused.value), str(refused.value)


@pytest.mark.parametrize("call", CALLS)
def test_a_name_that_resolves_to_loopback_is_refused(
    strict_provider_addresses, trap, monkeypatch, call
):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host == "internal.example":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    with pytest.raises(ProviderError, match="127.0.0.1"):
        _calls()[call](f"http://internal.example:{trap.port}")

    assert trap.log == []


@pytest.mark.parametrize("call", ["greenhouse v1", "textus", "cronofy sdk", "sendgrid send",
                                  "sendgrid sdk (connection test)", "twilio", "lever"])  # fmt: skip
def test_a_name_that_turns_into_loopback_after_the_check_is_refused_at_connect(
    strict_provider_addresses, trap, monkeypatch, call
):
    """DNS rebinding: the name looks public when checked, then answers 127.0.0.1."""
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def resolve(host, *args, **kwargs):
        if host == "rebind.example":
            address = next(answers, "127.0.0.1")
            return real(address, *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    with pytest.raises(ProviderError, match="127.0.0.1"):
        _calls()[call](f"http://rebind.example:{trap.port}")

    assert trap.log == []


@pytest.mark.parametrize("call", CALLS)
def test_a_redirect_into_loopback_is_not_followed(httpserver, trap, call):
    """The vendor's address (allow-listed here, like the sandbox) answers a redirect to another
    local port: the credentials must not follow it, and the admin is told which host did it."""
    target = f"http://127.0.0.1:{trap.port}/steal"
    httpserver.expect_request("").respond_with_response(
        Response(status=307, headers={"Location": target})
    )
    base = httpserver.url_for("").rstrip("/")

    with pytest.raises(ProviderError, match="redirect") as refused:
        _calls()[call](base)

    assert trap.log == [], f"{call} followed the redirect"
    assert f":{httpserver.port}" in str(refused.value)


@pytest.mark.parametrize(
    "call", ["greenhouse v1", "lever", "textus", "sendgrid send", "cronofy sdk", "twilio"]
)
def test_custom_addresses_are_refused_when_the_operator_does_not_allow_them(settings, trap, call):
    settings.PROVIDER_CUSTOM_URLS = False

    with pytest.raises(ProviderError, match="does not allow custom provider addresses"):
        _calls()[call](f"http://127.0.0.1:{trap.port}")

    assert trap.log == []


def test_each_retry_is_checked_again(strict_provider_addresses, trap, monkeypatch):
    """A name that is public on the first attempt and loopback on the retry is refused."""
    real = socket.getaddrinfo
    seen: list[str] = []

    def resolve(host, *args, **kwargs):
        if host == "flaky.example":
            seen.append(host)
            # The first attempt's check and connect see a public address (it does not
            # answer); from the retry on, the name points at this server.
            return real("93.184.216.34" if len(seen) <= 2 else "127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    client = HttpClient(
        f"http://flaky.example:{trap.port}", max_attempts=3, sleep=lambda s: None, timeout=0.3
    )

    with pytest.raises(ProviderError, match="127.0.0.1"):
        client.request("GET", "/users")

    assert trap.log == []
    assert len(seen) >= 3


@pytest.fixture
def custom_public_host(monkeypatch):
    """Treat every address as an accepted custom public one (not the vendor's, not
    allow-listed); the test server itself stays reachable at connect time."""
    import integrations.http as guard

    monkeypatch.setattr(guard, "check_provider_url", lambda url, **kwargs: False)


def test_a_custom_host_never_has_its_answer_shown(custom_public_host, httpserver):
    httpserver.expect_request("/v1/users").respond_with_json(
        {"message": "root:x:0:0:secret-from-an-internal-service"}, status=401
    )
    client = HarvestV1Client("harvest-key", base_url=httpserver.url_for(""), max_attempts=1)

    with pytest.raises(ProviderError) as refused:
        client.get("/v1/users")

    assert "secret-from-an-internal-service" not in str(refused.value)
    assert refused.value.body is None
    assert "custom address" in str(refused.value) and "401" in str(refused.value)


def test_a_custom_host_gives_the_same_words_for_open_and_closed_ports(custom_public_host):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens here: connection refused
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts, never answers: a read timeout
    silent_port = silent.getsockname()[1]
    try:
        messages = []
        for port in (closed_port, silent_port):
            client = HttpClient(
                f"http://127.0.0.1:{port}", vendor="TextUs", max_attempts=1, timeout=0.3
            )
            with pytest.raises(ProviderError) as failed:
                client.request("GET", "/x")
            messages.append(str(failed.value).replace(str(port), "PORT"))
    finally:
        silent.close()

    assert messages[0] == messages[1]
    assert "refused" not in messages[0] and "in time" not in messages[0]

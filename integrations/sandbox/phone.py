"""Pieces shared by the messaging fakes (Twilio, SendGrid, TextUs).

* E.164 checks, SMS keyword classification (Twilio's default opt-out/opt-in/help words) and
  GSM-7 / UCS-2 segment counting.
* :class:`Scheduler`: one background worker running callables at due times, with
  :meth:`Scheduler.wait_idle` for tests.
* :func:`http_post`: one POST over ``http.client`` that keeps header case and returns the status
  and the response body.
* :func:`conversation_html`: the "phone screen" used by the Twilio and TextUs sandbox pages.
"""

from __future__ import annotations

import email.utils
import heapq
import http.client
import itertools
import math
import re
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime

from integrations.sandbox._common import esc

E164_RE = re.compile(r"^\+[1-9]\d{1,14}$")

# Twilio default keywords (2025-05-14 added REVOKE and OPTOUT).  Single word, case-insensitive.
OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\x0c")

COUNTRY_BY_PREFIX = [
    ("+1", "US"),
    ("+44", "GB"),
    ("+49", "DE"),
    ("+33", "FR"),
    ("+61", "AU"),
    ("+91", "IN"),
    ("+353", "IE"),
    ("+31", "NL"),
]


def is_e164(value: str | None) -> bool:
    return bool(value) and bool(E164_RE.match(value))


def country_of(phone: str) -> str:
    for prefix, country in sorted(COUNTRY_BY_PREFIX, key=lambda p: -len(p[0])):
        if phone.startswith(prefix):
            return country
    return ""


def keyword(body: str | None) -> str | None:
    """``"STOP"``, ``"START"``, ``"HELP"`` or None for a single-word keyword message."""
    word = (body or "").strip().upper()
    if not word or any(c.isspace() for c in word):
        return None
    if word in OPT_OUT_WORDS:
        return "STOP"
    if word in OPT_IN_WORDS:
        return "START"
    if word in HELP_WORDS:
        return "HELP"
    return None


def segments(body: str | None) -> tuple[int, str]:
    """(number of SMS segments, ``"GSM-7"`` or ``"UCS-2"``): 160/153 vs 70/67 per segment."""
    body = body or ""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in body):
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in body)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return 1, encoding
    return math.ceil(units / multi), encoding


def rfc2822(ts: float | None) -> str | None:
    """Twilio's date format: ``Thu, 20 Nov 2026 10:00:00 +0000``."""
    if ts is None:
        return None
    return email.utils.formatdate(ts, usegmt=False).replace("-0000", "+0000")


def iso_z(ts: float) -> str:
    """``2026-11-20T10:00:00.123Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{int((ts % 1) * 1000):03d}Z"
    )


def http_post(
    url: str, body: bytes, headers: dict, timeout: float = 15.0
) -> tuple[int | None, bytes, str | None]:
    """POST once; returns (HTTP status or None, response body, error text)."""
    parts = urllib.parse.urlsplit(url)
    conn_cls = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    try:
        conn = conn_cls(parts.hostname, parts.port, timeout=timeout)
        try:
            conn.putrequest("POST", path, skip_accept_encoding=True)
            sent = dict(headers)
            sent["Content-Length"] = str(len(body))
            for k, v in sent.items():
                conn.putheader(k, v)
            conn.endheaders(body)
            resp = conn.getresponse()
            return resp.status, resp.read(), None
        finally:
            conn.close()
    except Exception as exc:  # network errors, timeouts, bad URLs
        return None, b"", f"{type(exc).__name__}: {exc}"


class Scheduler:
    """Runs ``fn(*args)`` at due times on one daemon thread (order kept for equal times).

    :meth:`busy` counts queued plus running jobs; :meth:`wait_idle` waits until it is zero.
    Exceptions in jobs are recorded in :attr:`errors` and never kill the worker.
    """

    def __init__(self, name: str = "sandbox-scheduler"):
        self.name = name
        self._heap: list = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._running = 0
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.errors: list[str] = []

    def call_later(self, delay: float, fn: Callable, *args) -> None:
        with self._cv:
            heapq.heappush(
                self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), fn, args)
            )
            self._cv.notify_all()
            if self._thread is None or not self._thread.is_alive():
                self._stopped = False
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def busy(self) -> int:
        with self._cv:
            return len(self._heap) + self._running

    def wait_idle(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._heap or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(min(left, 0.05))
        return True

    def cancel_all(self) -> None:
        with self._cv:
            self._heap.clear()
            self._cv.notify_all()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._heap.clear()
            self._cv.notify_all()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopped:
                    if self._heap and self._heap[0][0] <= time.monotonic():
                        break
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cv.wait(wait)
                if self._stopped:
                    return
                _, _, fn, args = heapq.heappop(self._heap)
                self._running += 1
            try:
                fn(*args)
            except Exception:
                self.errors.append(traceback.format_exc())
            finally:
                with self._cv:
                    self._running -= 1
                    self._cv.notify_all()


PHONE_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f2f3f5;color:#1d2433}
header{background:#f22f46;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}
header.textus{background:#2a6fdb}header.sendgrid{background:#1a82e2}
form.inline{display:inline}
main{padding:16px 24px}a{color:#1b5fc1}.muted{color:#6b7280;font-size:12px}
table{border-collapse:collapse;background:#fff}th,td{padding:6px 10px;border-bottom:1px solid #e3e6ea;
text-align:left;font-size:14px}
.phone{width:380px;margin:0 auto;background:#fff;border:10px solid #1d2433;border-radius:32px;
padding:14px 12px;min-height:480px;display:flex;flex-direction:column}
.phone h2{font-size:15px;text-align:center;margin:0 0 10px}
.thread{flex:1;display:flex;flex-direction:column;gap:6px}
.bubble{max-width:78%;padding:7px 11px;border-radius:16px;font-size:14px;white-space:pre-wrap;
word-wrap:break-word}
.in{align-self:flex-start;background:#e5e5ea;color:#111}
.out{align-self:flex-end;background:#0b84ff;color:#fff}
.meta{font-size:11px;color:#6b7280;margin:-2px 4px 4px}.meta.in{align-self:flex-start;background:none}
.meta.out{align-self:flex-end;background:none;color:#6b7280}
.bad{color:#b91c1c}.ok{color:#15803d}
form.reply{display:flex;gap:6px;margin-top:10px}form.reply input[name=body]{flex:1;padding:8px;
border-radius:16px;border:1px solid #c7cbd1;min-width:0}form.reply button{border-radius:16px;padding:6px 12px}
form.reply select{max-width:130px}
.quick{margin-top:6px;display:flex;gap:4px}.quick button{font-size:12px}
"""


def page(title: str, body: str, header_class: str = "") -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><link rel='icon' href='data:,'>"
        f"<title>{esc(title)}</title><style>{PHONE_CSS}</style></head><body>"
        f"<header class='{esc(header_class)}'><h1>{esc(title)}</h1></header><main>{body}</main>"
        "</body></html>"
    )


def phone_href(base: str, phone: str) -> str:
    return f"{base}/phone/{urllib.parse.quote(phone, safe='+')}"


def conversation_html(
    phone: str,
    items: list[dict],
    reply_action: str,
    senders: list[str],
    back: str,
) -> str:
    """The inner HTML of a phone screen.

    ``items``: dicts with ``direction`` (``"in"`` = received by the phone, ``"out"`` = typed on
    the phone), ``body``, ``at`` (epoch), ``peer`` (the other number / account) and ``status``.
    """
    rows = []
    for it in items:
        side = "in" if it["direction"] == "in" else "out"
        status = it.get("status") or ""
        cls = "bad" if status in ("failed", "undelivered", "blocked") else "ok"
        when = datetime.fromtimestamp(it["at"], UTC).strftime("%H:%M:%S")
        label = f"{esc(it.get('peer') or '')} · {when}"
        if status:
            label += f" · <span class='{cls}'>{esc(status)}</span>"
        if it.get("note"):
            label += f" · {esc(it['note'])}"
        rows.append(f"<div class='bubble {side}'>{esc(it['body'])}</div>")
        rows.append(f"<div class='meta {side}'>{label}</div>")
    if not rows:
        rows.append("<p class='muted'>No messages yet.</p>")
    options = "".join(f"<option value='{esc(s)}'>{esc(s)}</option>" for s in senders)
    select = f"<select name='to' aria-label='Reply to'>{options}</select>" if senders else ""
    quick = "".join(
        f"<form method='post' action='{esc(reply_action)}' class='inline'>"
        f"<input type='hidden' name='body' value='{w}'>"
        + (f"<input type='hidden' name='to' value='{esc(senders[0])}'>" if senders else "")
        + f"<button type='submit'>{w}</button></form>"
        for w in ("STOP", "START", "HELP")
    )
    return (
        f"<p><a href='{esc(back)}'>← all phones</a> · <a href=''>refresh</a></p>"
        f"<div class='phone'><h2>{esc(phone)}</h2><div class='thread'>{''.join(rows)}</div>"
        f"<form class='reply' method='post' action='{esc(reply_action)}'>{select}"
        "<input name='body' placeholder='Text message' aria-label='Message' required>"
        "<button type='submit'>Send</button></form>"
        f"<div class='quick'>{quick}</div></div>"
    )

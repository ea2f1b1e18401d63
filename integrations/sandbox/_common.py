"""Pieces shared by the Greenhouse and Lever fakes: responses, limits, faults, webhooks."""

from __future__ import annotations

import heapq
import html
import http.client
import itertools
import json
import math
import random
import threading
import time
import urllib.parse
from collections.abc import Callable

from werkzeug.wrappers import Response


def json_response(data, status: int = 200, headers: dict | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    resp = Response(body, status=status, mimetype="application/json")
    if headers:
        for k, v in headers.items():
            resp.headers[k] = str(v)
    return resp


def redirect(location: str, status: int = 303) -> Response:
    resp = Response("", status=status)
    resp.headers["Location"] = location
    return resp


def esc(value) -> str:
    return html.escape("" if value is None else str(value))


class WindowLimiter:
    """Fixed-window request counter per key (Greenhouse: 10 s for v1, 30 s for v3).

    ``limit=None`` disables limiting; headers still advertise ``unlimited_value``.
    """

    def __init__(self, limit: int | None, window: float, unlimited_value: int = 100000):
        self.limit = limit
        self.window = window
        self.unlimited_value = unlimited_value
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str) -> tuple[bool, int, int, float]:
        """Count one request. Returns (allowed, limit, remaining, window_reset_epoch)."""
        now = time.time()
        with self._lock:
            start = math.floor(now / self.window) * self.window
            wstart, count = self._windows.get(key, (start, 0))
            if wstart != start:
                wstart, count = start, 0
            reset = wstart + self.window
            if self.limit is None:
                self._windows[key] = (wstart, count + 1)
                return True, self.unlimited_value, self.unlimited_value - 1, reset
            if count >= self.limit:
                return False, self.limit, 0, reset
            count += 1
            self._windows[key] = (wstart, count)
            return True, self.limit, self.limit - count, reset

    def peek(self, key: str) -> tuple[int, int]:
        if self.limit is None:
            return self.unlimited_value, self.unlimited_value
        now = time.time()
        with self._lock:
            start = math.floor(now / self.window) * self.window
            wstart, count = self._windows.get(key, (start, 0))
            if wstart != start:
                count = 0
            return self.limit, max(0, self.limit - count)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


class TokenBucket:
    """Token bucket per key: ``rate`` tokens per second, capacity ``burst``; None = off."""

    def __init__(self, rate: float | None = 10.0, burst: int = 20):
        self.rate = rate
        self.burst = burst
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> bool:
        if self.rate is None:
            return True
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


class Faults:
    """Injected failures: the next ``count`` requests whose path starts with ``prefix``.

    ``method`` limits a rule to one HTTP method. ``ratio`` (0..1) makes it hit only that share
    of the matching requests, at random (a miss does not use up ``count``). ``after`` makes a
    fake serve the request first and fail afterwards — the write landed, the client sees a 5xx
    (or, with ``delay``, no answer in time) — where that fake supports it (Greenhouse, Lever).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.rules: list[dict] = []
        self._random = random.Random()

    def add(
        self,
        prefix: str,
        status: int | None = 500,
        count: int = 1,
        delay: float = 0.0,
        *,
        method: str | None = None,
        ratio: float = 1.0,
        after: bool = False,
    ):
        rule = {
            "prefix": prefix,
            "status": status,
            "count": int(count),
            "delay": float(delay),
            "method": method.upper() if method else None,
            "ratio": min(1.0, max(0.0, float(ratio))),
            "after": bool(after),
        }
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def take(self, path: str, method: str | None = None) -> dict | None:
        with self._lock:
            for rule in self.rules:
                if not path.startswith(rule["prefix"]) or rule["count"] <= 0:
                    continue
                if rule.get("method") and method and rule["method"] != method.upper():
                    continue
                if rule.get("ratio", 1.0) < 1.0 and self._random.random() >= rule["ratio"]:
                    continue
                rule["count"] -= 1
                hit = dict(rule)
                self.rules = [r for r in self.rules if r["count"] > 0]
                return hit
        return None


class WebhookDispatcher:
    """Delivers webhook POSTs from a background thread and retries on a scaled schedule.

    ``retry_delays`` are in seconds and multiplied by ``retry_scale``; ``attempts`` counts the
    first try plus the retries.  ``is_success(status)`` decides what counts as delivered.
    Every delivery is appended to ``log`` (a list of dicts shared with the owning state).
    """

    def __init__(
        self,
        log: list,
        retry_delays: list[float],
        retry_scale: float,
        is_success: Callable[[int], bool],
        user_agent: str,
        timeout: float = 5.0,
    ):
        self.log = log
        self.retry_delays = list(retry_delays)
        self.retry_scale = retry_scale
        self.is_success = is_success
        self.user_agent = user_agent
        self.timeout = timeout
        self._heap: list = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopped = False
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def post_now(self, url: str, body: bytes, headers: dict) -> tuple[int | None, str | None]:
        """POST once; returns (HTTP status or None, error text).  Header names keep their case."""
        parts = urllib.parse.urlsplit(url)
        conn_cls = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        try:
            conn = conn_cls(parts.hostname, parts.port, timeout=self.timeout)
            try:
                conn.putrequest("POST", path)
                sent = {"Content-Type": "application/json", "User-Agent": self.user_agent}
                sent.update(headers)
                sent["Content-Length"] = str(len(body))
                for k, v in sent.items():
                    conn.putheader(k, v)
                conn.endheaders(body)
                resp = conn.getresponse()
                resp.read()
                return resp.status, None
            finally:
                conn.close()
        except Exception as exc:  # network errors, timeouts
            return None, f"{type(exc).__name__}: {exc}"

    def submit(self, entry: dict, url: str, body: bytes, headers: dict) -> dict:
        entry.update(
            {
                "url": url,
                "status": "pending",
                "attempts": [],
                "body": body.decode("utf-8"),
                "headers": dict(headers),
            }
        )
        self.log.append(entry)
        with self._cv:
            heapq.heappush(
                self._heap, (time.monotonic(), next(self._seq), entry, url, body, headers)
            )
            self._cv.notify()
        self._ensure_thread()
        return entry

    def pending(self) -> int:
        with self._cv:
            return len(self._heap)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.pending() and all(e["status"] != "in_flight" for e in self.log):
                return True
            time.sleep(0.01)
        return False

    def cancel_all(self) -> None:
        with self._cv:
            self._heap.clear()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify()

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
                _, _, entry, url, body, headers = heapq.heappop(self._heap)
                entry["status"] = "in_flight"
            code, error = self.post_now(url, body, headers)
            entry["attempts"].append({"at": time.time(), "http_status": code, "error": error})
            if code is not None and self.is_success(code):
                entry["status"] = "delivered"
                continue
            n = len(entry["attempts"])
            if n > len(self.retry_delays):
                entry["status"] = "failed"
                continue
            entry["status"] = "retrying"
            entry["next_attempt_in"] = self.retry_delays[n - 1] * self.retry_scale
            with self._cv:
                due = time.monotonic() + self.retry_delays[n - 1] * self.retry_scale
                heapq.heappush(self._heap, (due, next(self._seq), entry, url, body, headers))


PAGE_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2433}
header{background:#24a47f;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}
header.lever{background:#3b4bd8}
main{padding:16px 24px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e6ea;padding:6px 8px;text-align:left;font-size:13px;vertical-align:top}
th{background:#eef0f3}form.inline{display:inline}input,select,button{font-size:13px;padding:3px 6px}
button{cursor:pointer}.muted{color:#6b7280}.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px}
.active{background:#e0f2fe}.rejected,.archived{background:#fee2e2}.hired{background:#dcfce7}
section{margin-bottom:24px}.flash{background:#fff7d6;padding:8px;border:1px solid #f0d98c;margin-bottom:12px}
nav a{margin-right:12px}
"""


def html_page(title: str, body: str, header_class: str = "") -> Response:
    doc = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><link rel='icon' href='data:,'>"
        f"<title>{esc(title)}</title><style>{PAGE_CSS}</style></head><body>"
        f"<header class='{header_class}'><h1>{esc(title)}</h1></header><main>{body}</main>"
        "</body></html>"
    )
    return Response(doc, mimetype="text/html")

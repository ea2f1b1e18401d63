"""A webhook receiver for tests and the benchmark: a real HTTP server on loopback in a thread
that records every POST (headers and body) and answers as told — 2xx, an error status for a
share of requests, or not at all (stopped, then started again on the same port)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    status: int
    at: float


@dataclass
class Receiver:
    port: int = 0
    status: int = 204
    fail_ratio: float = 0.0
    fail_status: int = 500
    answer: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # sent with every answer
    delay: float = 0.0  # seconds before answering
    requests: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(default_factory=lambda: random.Random(7))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver.status
                with receiver._lock:
                    if receiver.fail_ratio and receiver._random.random() < receiver.fail_ratio:
                        status = receiver.fail_status
                    receiver.requests.append(
                        Received(self.path, dict(self.headers), body, status, time.time())
                    )
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", str(len(receiver.answer)))
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if receiver.answer:
                    self.wfile.write(receiver.answer)

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

"""The WSGI app bench/video.py runs under gunicorn: the product as deployed, plus one plain
upload endpoint (``POST /_bench/plain-upload``) that streams the request body to a file in one
request, the baseline the chunked upload is compared with on the same server. It writes where
the chunks go (the recordings folder on the filesystem), so both pay the same disk."""

from __future__ import annotations

import json
import os
import tempfile

from interviews.storage import is_filesystem, recordings_storage
from recruitflow.wsgi import application as product

PLAIN = "/_bench/plain-upload"


def application(environ, start_response):
    if environ.get("PATH_INFO") != PLAIN or environ.get("REQUEST_METHOD") != "POST":
        return product(environ, start_response)
    remaining = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    storage = recordings_storage()
    folder = storage.path("bench") if is_filesystem(storage) else None
    if folder:
        os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile(prefix="rf-plain-", dir=folder, delete=True) as target:
        while remaining > 0:
            piece = stream.read(min(remaining, 1024 * 1024))
            if not piece:
                break
            target.write(piece)
            remaining -= len(piece)
        size = target.tell()
    body = json.dumps({"size": size}).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]

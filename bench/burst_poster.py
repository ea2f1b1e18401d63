"""One sender of ``bench/webhooks.py --burst``: a process of its own (the standard library only,
no Django) that posts its share of the prepared webhooks one after the other, as one of the
ATS's many senders would, and prints what it saw as one JSON line.

    burst_poster.py <base URL> <requests file> <share> <of> <start at (epoch seconds)>

The requests file holds one JSON object per line: ``{"key", "path", "headers", "body"}`` (the
body as text). This process posts the lines whose number modulo ``of`` is ``share``, starting
at the given time, and prints ``{"key": [started, seconds, status], ...}``.

The senders are separate processes so that what the burst measures is the web process: threads
of the bench's own process would share one interpreter lock with each other and with the
sandbox answering the worker's texts, and their waits for that lock would read as the
endpoint's answer time."""

from __future__ import annotations

import http.client
import json
import sys
import time
import urllib.parse


def main(argv: list[str]) -> int:
    base, path, share, of, start_at = argv[1], argv[2], int(argv[3]), int(argv[4]), float(argv[5])
    with open(path, encoding="utf-8") as handle:
        mine = [json.loads(line) for number, line in enumerate(handle) if number % of == share]
    address = urllib.parse.urlsplit(base)
    bodies = [(item, item["body"].encode()) for item in mine]
    time.sleep(max(0.0, start_at - time.time()))
    seen: dict[str, list[float]] = {}
    for item, body in bodies:
        started = time.time()
        # A new connection per webhook, as the web process's sync workers close each one.
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        connection.request(
            "POST", item["path"], body=body,
            headers={**item["headers"], "Content-Type": "application/json"},
        )  # fmt: skip
        response = connection.getresponse()
        response.read()
        seen[item["key"]] = [started, time.time() - started, response.status]
        connection.close()
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

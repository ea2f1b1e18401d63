"""The embedded Celery broker (``filesystem://``, a fresh clone's default) with message files
and routing tables that appear whole.

Kombu's filesystem transport has two races between processes sharing the folders:

- It creates a message file and then writes it; a worker listing the folder in between moves
  the empty file away and stops on a JSON error ("Expecting value"), which ends ``make run``.
  Here a message is written under ``staging/`` and renamed into the queue folder (a rename
  within one filesystem is atomic), so a worker only ever sees finished messages.
- It keeps each exchange's bindings in ``control/<exchange>.exchange`` and, when two
  connections declare the same queue for the first time at once (the web process and the
  worker starting together), both open that file for writing, truncating each other. A
  publisher reading the table in between finds no queue bound and kombu drops its message.
  Here bindings are added under an exclusive lock on a side file and the table is replaced
  whole, so a reader sees either the old table or the new one.
- Its declared bindings live in one state shared by every connection of the process, and a
  queue found bound there is not written to the file again: a second connection declaring the
  queue while the first is still writing the file (or for another folder) publishes into an
  empty table and its messages are dropped. Here every declaration makes sure the file holds
  the binding before it returns.

Everything else is kombu's transport; ``recruitflow.celery`` registers it for
``filesystem://``.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

STAGING = "staging"


def _write_whole(folder: str | Path, name: str, data: bytes) -> None:
    """Write ``data`` to ``folder/name`` so that the name only ever holds the whole of it."""
    staging = os.path.join(folder, STAGING)
    os.makedirs(staging, exist_ok=True)
    written = os.path.join(staging, f"{uuid.uuid4()}.{name}")
    with open(written, "wb") as file:
        file.write(data)
    os.replace(written, os.path.join(folder, name))


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put ``payload`` onto ``queue``: written whole under staging/, then renamed in."""
        # Zero-padded so that names sort in time order even when the clock gains a digit.
        name = f"{int(round(monotonic() * 1000)):016d}_{uuid.uuid4()}.{queue}.msg"
        try:
            _write_whole(self.data_folder_out, name, str_to_bytes(dumps(payload)))
        except OSError as exc:
            raise ChannelError(f"Cannot add a message file to {self.data_folder_out!r}") from exc

    def queue_bind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        """Bind as kombu does, then make sure this folder's table holds the binding."""
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)
        exchange = exchange or "amq.direct"
        meta = self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments)
        self._queue_bind(exchange, *meta)

    def get_table(self, exchange):
        """The queues bound to ``exchange``; empty until the first binding is written."""
        return self._read_table(self._exchange_file(exchange))

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        """Add a binding under an exclusive lock and replace the table whole."""
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(parents=True, exist_ok=True)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        try:
            with open(f"{file}.lock", "a") as guard:
                filesystem.lock(guard, filesystem.LOCK_EX)
                try:
                    table = self._read_table(file)
                    if entry not in table:
                        table.insert(0, entry)
                        _write_whole(file.parent, file.name, str_to_bytes(dumps(table)))
                finally:
                    filesystem.unlock(guard)
        except OSError as exc:
            raise ChannelError(f"Cannot bind {queue!r} in {file}") from exc

    @staticmethod
    def _read_table(file: Path) -> list:
        try:
            content = file.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc
        return [filesystem.exchange_queue_t(*row) for row in loads(bytes_to_str(content))]


class Transport(filesystem.Transport):
    Channel = Channel

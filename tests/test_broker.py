"""The embedded broker (``filesystem://``): a worker never sees a half-written message file
(one did, read it empty, and stopped with a JSON error, taking ``make run`` down with it), and no
message is dropped because a queue's binding was declared by another connection."""

from __future__ import annotations

import os
import threading
from queue import Empty

from kombu import Connection
from kombu.transport import filesystem

from recruitflow import broker
from recruitflow.celery import app


def _connection(folder) -> Connection:
    for sub in ("processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return Connection(
        "filesystem://",
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
            "control_folder": str(folder / "control"),
            "polling_interval": 0.01,
        },
    )


def test_celery_uses_the_whole_file_transport_for_filesystem_urls(tmp_path):
    with _connection(tmp_path) as connection:
        assert isinstance(connection.transport, broker.Transport)
    with app.connection_for_write("filesystem://") as connection:
        assert isinstance(connection.transport, broker.Transport)


def test_a_message_file_appears_in_the_queue_folder_only_once_written(tmp_path, monkeypatch):
    seen_while_writing = []
    real_dumps = broker.dumps

    def dumps_and_look(payload):
        # The moment the message is being written: nothing of it may be in the queue folder.
        seen_while_writing.extend(n for n in os.listdir(tmp_path) if n.endswith(".msg"))
        return real_dumps(payload)

    monkeypatch.setattr(broker, "dumps", dumps_and_look)
    monkeypatch.setattr(filesystem, "dumps", dumps_and_look)  # kombu's own, for comparison
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("work")
        queue.put({"n": 1})
        assert seen_while_writing == []
        assert queue.get(timeout=2).payload == {"n": 1}
        queue.close()


def test_messages_sent_while_a_worker_drains_all_arrive_whole(tmp_path):
    sent_per_producer, producers = 150, 2
    received, errors = [], []
    done = threading.Event()

    def consume():
        try:
            drain()
        except Exception as exc:
            errors.append(exc)

    def drain():
        with _connection(tmp_path) as connection:
            queue = connection.SimpleQueue("drain")
            while len(received) < sent_per_producer * producers and not done.is_set():
                try:
                    message = queue.get(timeout=0.2)
                except Empty:
                    continue
                except Exception as exc:  # a half-written file: what this guards against
                    errors.append(exc)
                    return
                received.append(message.payload["n"])
                message.ack()

    def produce(first):
        with _connection(tmp_path) as connection:
            queue = connection.SimpleQueue("drain")
            for n in range(first, first + sent_per_producer):
                queue.put({"n": n, "padding": "x" * 4000})

    consumer = threading.Thread(target=consume)
    consumer.start()
    threads = [
        threading.Thread(target=produce, args=(i * sent_per_producer,)) for i in range(producers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    consumer.join(timeout=60)
    done.set()
    assert errors == []
    assert sorted(received) == list(range(sent_per_producer * producers))


def test_a_queue_declared_in_a_second_folder_still_receives(tmp_path):
    # Kombu keeps declared bindings in one state per process; a queue already bound for one
    # folder must still be bound in the next folder's routing table, or its messages vanish.
    for folder in (tmp_path / "first", tmp_path / "second"):
        with _connection(folder) as connection:
            queue = connection.SimpleQueue("again")
            queue.put({"folder": folder.name})
            assert queue.get(timeout=2).payload == {"folder": folder.name}
            queue.close()

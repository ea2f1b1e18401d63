"""Task priorities on the Redis broker: a worker takes the path from an ATS stage change to the
candidate's first text before bulk work, and a later stage of that path before an earlier one,
whatever order they were queued in."""

from __future__ import annotations

import os
import uuid

import pytest

from recruitflow.celery import app

pytestmark = pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"),
    reason="priorities are the Redis broker's (CELERY_BROKER_URL=redis://…)",
)

# The path's stages, in the order they are queued for one candidate. The last one is the
# delivery: of a message alone, or of the first messages of several stage changes together.
STAGES = [
    ["integrations.tasks.webhook_delivery_apply"],
    ["journeys.match_transitions"],
    ["journeys.run_steps"],
    ["messaging.tasks.message_deliver_urgent_batch", "messaging.tasks.message_deliver"],
]
PATH = [name for stage in STAGES for name in stage]
BULK = {
    # A bulk action's texts, delivered together: after the path, before the rest.
    "messaging.tasks.message_deliver_batch": [0, [0]],
    "candidates.tasks.run_sync": [0, 0],
    "analytics.rollup_organization": [0],
    "partners.deliver_due": [],
}


@pytest.fixture
def queue():
    """A queue of this test's own: no worker consumes it, and it is deleted afterwards."""
    name = f"priorities-{uuid.uuid4().hex}"
    yield name
    with app.connection_for_write() as connection:
        connection.default_channel.queue_delete(name)


def _publish(name: str, args: list, queue: str) -> None:
    """As the product queues it: by name (the ATS mirror asks for matching that way, beat sends
    its entries so), else through the task object (the intake, the engine, messaging)."""
    if name == "journeys.match_transitions" or name in BULK:
        app.send_task(name, args=args, queue=queue)
    else:
        app.tasks[name].apply_async(args=args, queue=queue)


def _taken(queue: str, count: int) -> list[str]:
    taken = []
    with app.connection_for_read() as connection:
        simple = connection.SimpleQueue(queue)
        for _ in range(count):
            message = simple.get(timeout=5)
            taken.append(message.headers["task"])
            message.ack()
        simple.close()
    return taken


def test_a_worker_takes_a_stage_changes_path_before_bulk_work_and_its_later_stages_first(queue):
    app.loader.import_default_modules()
    # A sync's pages and roll-ups were queued first, then a burst's stages, earliest first.
    for name, args in BULK.items():
        _publish(name, args, queue)
    for name in PATH:
        _publish(name, [0, 0] if name == "messaging.tasks.message_deliver" else [0, [0]], queue)

    taken = _taken(queue, len(BULK) + len(PATH))

    assert taken == [*(name for stage in reversed(STAGES) for name in stage), *BULK]


def test_every_task_has_a_priority_and_none_outside_the_path_jumps_ahead_of_it():
    """A task with no priority would land on Redis' first list, ahead of everything."""
    app.loader.import_default_modules()
    router = app.amqp.router
    names = [name for name in app.tasks if not name.startswith("celery.")]
    priorities = {name: router.route({}, name).get("priority") for name in names}
    assert None not in priorities.values(), [n for n, p in priorities.items() if p is None]
    slowest_on_path = max(priorities[name] for name in PATH)
    assert all(
        priority > slowest_on_path for name, priority in priorities.items() if name not in PATH
    )
    # A caller's own priority still wins.
    assert router.route({"priority": 9}, PATH[-1])["priority"] == 9

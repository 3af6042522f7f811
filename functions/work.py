"""The workers: queue-triggered reconciles of the work events and timers put on the work queue.

The host delivers each message (batchSize, visibilityTimeout and maxDequeueCount from host.json);
a message that keeps failing lands in `<queue>-poison`, whose trigger writes the fact on the VMs.
"""

from __future__ import annotations

import azure.functions as func

from shared.app import services

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped


@blueprint.queue_trigger(
    arg_name="message", queue_name="%AZMIGRATE_WORK_QUEUE%", connection="AZMIGRATE_QUEUE_CONNECTION"
)
def reconcile_work(message: func.QueueMessage) -> None:
    services.work(message.get_body().decode(), message.dequeue_count or 1)


@blueprint.queue_trigger(
    arg_name="message", queue_name="%AZMIGRATE_WORK_QUEUE%-poison", connection="AZMIGRATE_QUEUE_CONNECTION"
)
def poisoned_work(message: func.QueueMessage) -> None:
    services.poisoned(message.get_body().decode())

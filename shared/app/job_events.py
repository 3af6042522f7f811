"""The app's own job events, as the Event Grid trigger receives them: checked, never trusted.

The job watcher publishes them (`shared.reconcile.jobwatch`); anyone who can write to the topic
could publish something else, so an event that is not one of ours, or is malformed, is dropped with
a log line naming its id, never raised (Event Grid would retry it 30 times, then dead-letter it).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.app.bodies import field_errors
from shared.model.ids import InstanceId
from shared.reconcile.jobwatch import EVENT_TYPE, instance_of


class JobEventData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(alias="jobId", min_length=1, max_length=1024)
    item_name: str = Field(default="", alias="itemName", max_length=1024)
    instance_id: InstanceId | None = Field(default=None, alias="instanceId")


def vm_of_job_event(event_type: str, subject: str, data: object) -> str:
    """The VM a job event names; ValueError saying why when it names none or is not ours. An empty
    `event_type` is taken (the Python library leaves a CloudEvent's type out); the data must still fit."""
    if event_type and event_type != EVENT_TYPE:
        raise ValueError(f"event type {event_type[:100]!r} is not {EVENT_TYPE}")
    try:
        job = JobEventData.model_validate(data)
    except ValidationError as error:
        raise ValueError(f"malformed data: {field_errors(error)}") from None
    instance = job.instance_id or instance_of(job.item_name) or instance_of(subject)
    if instance is None:
        raise ValueError("it names no VM of ours")
    return instance

"""The job watcher: ASR publishes no events of its own, so we list its jobs and publish their changes.

One paged list of the jobs since a watermark per run. Each (job, state) is remembered in the event
dedupe table once it is published, so re-runs publish nothing twice and a crash or a failed publish
loses nothing (at worst a change is published twice, which its readers take as the hint it is). The watermark
stays at the oldest job still running, so a long job's end is never missed.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.adapters.asr import ITEM_PREFIX, AsrAdapter
from shared.commands import Commands
from shared.errors import ConcurrencyConflict
from shared.model.facts import JobFacts
from shared.model.ids import instance_ids_in
from shared.reconcile.snapshot import jobs_by_item
from shared.state.store import StateStore

WATERMARK = "asr-jobs"
SOURCE = "asr.job-watch.v2"  # v2: fingerprints of the job alone (v1 rows age out after two days)
FIRST_LOOK = timedelta(hours=1)
EVENT_TYPE = "MigrationAutopilot.AsrJob.StateChanged"


@dataclass(frozen=True)
class JobChange:
    job_id: str
    scenario: str
    state: str
    item_name: str
    instance_id: str | None  # None for jobs on items this app did not create
    error_code: str

    def as_event_data(self) -> dict[str, str | None]:
        return {
            "jobId": self.job_id,
            "scenario": self.scenario,
            "state": self.state,
            "itemName": self.item_name,
            "instanceId": self.instance_id,
            "errorCode": self.error_code,
        }


def instance_of(text: str) -> str | None:
    """The EC2 instance behind one of our deterministic item names (azmigrate-i-...), if any."""
    found = instance_ids_in(text, prefix=ITEM_PREFIX)
    return found[0] if found else None


def watch(
    store: StateStore,
    commands: Commands,
    asr: AsrAdapter,
    publish: Callable[[list[JobChange]], None],
    now: datetime,
) -> list[JobChange]:
    """Publishes every job change not published before; returns them."""
    mark = store.watermark(WATERMARK)
    since = mark.value if mark else now - FIRST_LOOK
    jobs = asr.jobs_since(since)
    new = [job for job in jobs if not store.event_seen(SOURCE, _key(job), _fingerprint(job))]
    fresh: list[JobChange] = []
    if new:
        # Jobs name their item by its internal GUID and friendly name: the items say which is ours.
        owners = {job.job_id: item for item, found in jobs_by_item(asr.items(), new).items() for job in found}
        fresh = [_change(job, owners.get(job.job_id)) for job in new]
        publish(fresh)
        for job in new:  # remembered once published: a failed publish is published again next run
            commands.receive_event(SOURCE, _key(job), _fingerprint(job))
    running = [job.start_time for job in jobs if not job.finished]
    latest = max((job.start_time for job in jobs), default=since)
    moved_to = min([*running, latest])
    if moved_to > since:
        # Another watcher may have moved it first; the dedupe table keeps publishing exactly-once anyway.
        with contextlib.suppress(ConcurrencyConflict):
            commands.move_watermark(WATERMARK, moved_to, mark)
    return fresh


def _change(job: JobFacts, item_name: str | None) -> JobChange:
    return JobChange(
        job.job_id,
        job.scenario,
        job.state,
        item_name or job.target_name,
        instance_of(item_name) if item_name else None,
        job.error_code,
    )


def _key(job: JobFacts) -> str:
    return f"{job.job_id}:{job.state}"


def _fingerprint(job: JobFacts) -> str:
    """What the job itself says: which item it maps to may change (an item removed), the job not."""
    return hashlib.sha256(repr((job.job_id, job.scenario, job.state, job.error_code)).encode()).hexdigest()

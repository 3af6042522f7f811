"""A unit of work on the work queue: what a worker reconciles when it takes one message.

Four kinds: `vms` (a few VMs an event, alert, approval or job change named: targeted reads of just
those), `discover` (the tag-filtered EC2 listing that takes in opt-ins no event announced), `vault`
(a fleet pass's one listing of the vault's protected items, kept for the shards, which it then
queues) and `shard` (one of the state table's 16 partitions: a fleet pass spread over workers, each
making the bulk reads for its shard only). The shard of a record is a stable hash of its instance id.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.model.ids import InstanceId

SHARD_COUNT = 16  # fixed: changing it would orphan every stored record
SHARDS = tuple(f"shard-{n:02d}" for n in range(SHARD_COUNT))
MAX_VMS_PER_MESSAGE = 32  # a message finishes well inside the function timeout
Shard = Annotated[str, Field(pattern=r"^shard-(0[0-9]|1[0-5])$")]


def shard_of(instance_id: str) -> str:
    digest = hashlib.sha256(instance_id.encode()).digest()
    return SHARDS[digest[0] % SHARD_COUNT]


class WorkItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["vms", "shard", "discover", "vault"]
    instances: Annotated[list[InstanceId], Field(max_length=MAX_VMS_PER_MESSAGE)] = []
    shard: Shard | None = None
    items_listed_at: datetime | None = None  # a shard item: when the pass listed the vault's items
    discover: bool = False  # a `vms` item may take in its VMs when they are opted in but unrecorded
    reason: Annotated[str, Field(max_length=200)] = ""

    @model_validator(mode="after")
    def _complete(self) -> WorkItem:
        if (self.kind == "vms") != bool(self.instances):
            raise ValueError("a vms item names its instances, and only a vms item does")
        if (self.kind == "shard") != (self.shard is not None):
            raise ValueError("a shard item names its shard, and only a shard item does")
        if self.items_listed_at is not None and self.kind != "shard":
            raise ValueError("only a shard item reads a listing of the vault")
        return self

    @classmethod
    def for_vms(cls, instances: list[str], reason: str, *, discover: bool = False) -> list[WorkItem]:
        """As many items as it takes to carry every instance, each small enough to finish in time."""
        ordered = sorted(set(instances))
        return [
            cls(kind="vms", instances=ordered[i : i + MAX_VMS_PER_MESSAGE], discover=discover, reason=reason)
            for i in range(0, len(ordered), MAX_VMS_PER_MESSAGE)
        ]

    @classmethod
    def fleet_pass(cls, reason: str) -> list[WorkItem]:
        """A pass over the fleet: one discovery and one listing of the vault, whose worker then
        queues the shards (`shard_pass`)."""
        return [cls(kind="discover", reason=reason), cls(kind="vault", reason=reason)]

    @classmethod
    def shard_pass(cls, reason: str, items_listed_at: datetime | None) -> list[WorkItem]:
        """One item per shard; each reads the vault's items as listed at `items_listed_at` (None:
        the listing failed, each shard lists the vault itself)."""
        return [
            cls(kind="shard", shard=shard, reason=reason, items_listed_at=items_listed_at) for shard in SHARDS
        ]

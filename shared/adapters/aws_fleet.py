"""Several AWS accounts behind one interface: one adapter (and one set of credentials) per account.

With a role, each account's adapter holds that account's role credentials (`shared/adapters/aws_identity.py`);
without one, a single adapter on boto3's default chain serves every account (local development).
Fleet-wide reads merge every account's answer; anything about one instance goes to its account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Generic, Self, TypeVar

from shared.adapters.aws import AwsAdapter
from shared.adapters.cloudwatch import MetricsAdapter
from shared.errors import ActionRefused
from shared.guest.documents import AgentInstall
from shared.model.facts import Ec2Facts, Utilisation

A = TypeVar("A", AwsAdapter, MetricsAdapter)
V = TypeVar("V")


class PerAccount(Generic[A]):
    """One adapter per account, or one default adapter for every account (no role: local)."""

    def __init__(self, adapters: Mapping[str | None, A]) -> None:
        self._adapters: dict[str, A] = {a: x for a, x in adapters.items() if a is not None}
        self._default: A | None = adapters.get(None)
        if not self._adapters and self._default is None:
            raise ValueError("an AWS fleet needs an adapter")

    @classmethod
    def single(cls, adapter: A) -> Self:
        """One adapter for every account: the default credential chain."""
        return cls({None: adapter})

    def for_account(self, account: str) -> A:
        found = self._adapters.get(account, self._default)
        if found is None:
            raise ActionRefused("UnknownAccount", f"no AWS credentials for account {account}")
        return found

    def _all(self) -> list[A]:
        if self._adapters:
            return list(self._adapters.values())
        return [self._default] if self._default is not None else []


class AwsFleet(PerAccount[AwsAdapter]):
    # --- fleet-wide reads: every account's answer ---------------------------------------------

    def opted_in(self, *, detail: bool = True) -> dict[str, Ec2Facts]:
        return self._merged(lambda adapter: adapter.opted_in(detail=detail))

    def tagged(self, ids_by_region: dict[str, list[str]]) -> dict[str, Ec2Facts]:
        return self._merged(lambda adapter: adapter.tagged(ids_by_region))

    def opted_in_ids(self) -> dict[str, str]:
        return self._merged(lambda adapter: adapter.opted_in_ids())

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({region for adapter in self._all() for region in adapter.regions}))

    def instances(self, ids_by_region: dict[str, list[str]], *, detail: bool = True) -> dict[str, Ec2Facts]:
        return self._merged(lambda adapter: adapter.instances(ids_by_region, detail=detail))

    def _merged(self, read: Callable[[AwsAdapter], dict[str, V]]) -> dict[str, V]:
        """Every account's answer to `read`, merged by instance id."""
        found: dict[str, V] = {}
        for adapter in self._all():
            found |= read(adapter)
        return found

    # --- one instance: its own account ---------------------------------------------------------

    def set_status(self, facts: Ec2Facts, status: str) -> bool:
        return self.for_account(facts.account_id).set_status(facts, status)

    def stop(self, facts: Ec2Facts) -> None:
        self.for_account(facts.account_id).stop(facts)

    def start(self, facts: Ec2Facts) -> None:
        self.for_account(facts.account_id).start(facts)

    def install_agent(self, facts: Ec2Facts, install: AgentInstall, *, attempt: str = "") -> str:
        return self.for_account(facts.account_id).install_agent(facts, install, attempt=attempt)

    def guest_check(self, facts: Ec2Facts, appliance_address: str, *, attempt: str = "") -> str:
        return self.for_account(facts.account_id).guest_check(facts, appliance_address, attempt=attempt)


class MetricsFleet(PerAccount[MetricsAdapter]):
    def utilisation(
        self, account: str, region: str, windows: dict[str, bool], now: datetime
    ) -> dict[str, Utilisation]:
        return self.for_account(account).utilisation(region, windows, now)

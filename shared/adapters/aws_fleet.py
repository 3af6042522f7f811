"""Several AWS accounts behind one interface: one adapter (and one set of credentials) per account.

With a role, each account's adapter holds that account's role credentials (`shared/aws_identity.py`);
without one, a single adapter on boto3's default chain serves every account (local development).
Fleet-wide reads merge every account's answer; anything about one instance goes to its account.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shared.adapters.aws import AgentInstall, AwsAdapter
from shared.adapters.cloudwatch import MetricsAdapter
from shared.errors import ActionRefused
from shared.facts import Ec2Facts, Utilisation


class AwsFleet:
    def __init__(self, adapters: Mapping[str, AwsAdapter], *, default: AwsAdapter | None = None) -> None:
        if not adapters and default is None:
            raise ValueError("an AWS fleet needs an adapter")
        self._adapters, self._default = dict(adapters), default

    @classmethod
    def single(cls, adapter: AwsAdapter) -> AwsFleet:
        """One adapter for every account: the default credential chain."""
        return cls({}, default=adapter)

    def for_account(self, account: str) -> AwsAdapter:
        found = self._adapters.get(account, self._default)
        if found is None:
            raise ActionRefused("UnknownAccount", f"no AWS credentials for account {account}")
        return found

    def _all(self) -> list[AwsAdapter]:
        if self._adapters:
            return list(self._adapters.values())
        return [self._default] if self._default is not None else []

    # --- fleet-wide reads: every account's answer ---------------------------------------------

    def opted_in(self) -> dict[str, Ec2Facts]:
        found: dict[str, Ec2Facts] = {}
        for adapter in self._all():
            found |= adapter.opted_in()
        return found

    def instances(self, ids_by_region: dict[str, list[str]]) -> dict[str, Ec2Facts]:
        found: dict[str, Ec2Facts] = {}
        for adapter in self._all():
            found |= adapter.instances(ids_by_region)
        return found

    # --- one instance: its own account ---------------------------------------------------------

    def set_status(self, facts: Ec2Facts, status: str) -> bool:
        return self.for_account(facts.account_id).set_status(facts, status)

    def stop(self, facts: Ec2Facts) -> None:
        self.for_account(facts.account_id).stop(facts)

    def start(self, facts: Ec2Facts) -> None:
        self.for_account(facts.account_id).start(facts)

    def install_agent(self, facts: Ec2Facts, install: AgentInstall) -> str:
        return self.for_account(facts.account_id).install_agent(facts, install)

    def guest_check(self, facts: Ec2Facts, appliance_address: str) -> str:
        return self.for_account(facts.account_id).guest_check(facts, appliance_address)


class MetricsFleet:
    def __init__(
        self, adapters: Mapping[str, MetricsAdapter], *, default: MetricsAdapter | None = None
    ) -> None:
        self._adapters, self._default = dict(adapters), default

    @classmethod
    def single(cls, adapter: MetricsAdapter) -> MetricsFleet:
        return cls({}, default=adapter)

    def utilisation(
        self, account: str, region: str, windows: dict[str, bool], now: datetime
    ) -> dict[str, Utilisation]:
        adapter = self._adapters.get(account, self._default)
        if adapter is None:
            raise ActionRefused("UnknownAccount", f"no AWS credentials for account {account}")
        return adapter.utilisation(region, windows, now)

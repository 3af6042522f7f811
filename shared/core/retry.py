"""The lifecycle's retry rules as data: per step, its attempts counter, how often it is tried, how
long to wait between tries, and what happens when the tries run out. One backoff function.

The phase handlers read the limits and delays from here, and assert the "when exhausted" they
implement, so the table (and docs/lifecycle.md drawn from it) cannot drift from the code.

Steps without their own limit or delay take the policy's (`AZMIGRATE_RETRY_LIMIT`,
`AZMIGRATE_RETRY_BACKOFF_SECONDS`). An action the cloud refused (a 4xx: nothing happened) counts
under `<action>_refused`; see `refusal_rule`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.core.actions import Act
from shared.model.facts import Policy


class WhenExhausted(StrEnum):
    FAIL = "fail"  # the VM goes to failed, keeping the phase a person retries it into
    BLOCK = "block"  # the VM is blocked with a finding and its fix; it is checked again later
    ROLL_BACK = "roll back"  # the EC2 source is started again, then the VM goes to failed


@dataclass(frozen=True)
class RetryRule:
    key: str  # the attempts counter on the record
    step: str  # what a person reads
    when_exhausted: WhenExhausted
    max_attempts: int | None = None  # None: the policy's retry limit
    first_delay_seconds: int | None = None  # None: the policy's first backoff

    def limit(self, policy: Policy) -> int:
        return self.max_attempts if self.max_attempts is not None else policy.retry_limit

    def exhausted(self, attempts: int, policy: Policy) -> bool:
        """Have `attempts` failed tries used up this step?"""
        return attempts >= self.limit(policy)

    def retry_at(self, now: datetime, attempts: int, policy: Policy) -> datetime:
        first = self.first_delay_seconds if self.first_delay_seconds is not None else policy.backoff_seconds
        return now + backoff(first, attempts)


def backoff(first_delay_seconds: int, attempts: int) -> timedelta:
    """The wait after `attempts` failed tries: the first delay, doubled after each further failure."""
    return timedelta(seconds=first_delay_seconds * 2 ** (max(attempts, 1) - 1))


F, B = WhenExhausted.FAIL, WhenExhausted.BLOCK
RULES: dict[str, RetryRule] = {
    rule.key: rule
    for rule in (
        RetryRule("guest_check", "guest checks through SSM", B),
        RetryRule("agent_install", "Mobility agent install through SSM", F),
        RetryRule("enable_replication", "enable replication", F),
        RetryRule("test_migration", "test migration and its validation", F),
        RetryRule("test_cleanup", "test migration cleanup", F),
        RetryRule("stop_source", "stopping the EC2 source (issued again after each lease)", F),
        RetryRule("start_source", "starting the EC2 source again after a rollback", F),
        RetryRule("migrate", "migration (failover)", WhenExhausted.ROLL_BACK),
        RetryRule("commit", "commit of the failover", F),
        RetryRule("complete", "completing the migration", F),
        RetryRule("opt_out", "opting out (cleanup, disable replication)", F),
        # A refused command is never sent: SSM refusing the guest checks blocks the VM with the fix.
        RetryRule("guest_check_refused", "guest checks refused by SSM", B),
    )
}


def rule(key: str) -> RetryRule:
    return RULES[key]


def refusal_rule(act: Act) -> RetryRule:
    """A cloud refusal of `act`: tried again after backoff, failing the VM at the limit where the
    lifecycle allows failing from its phase (before that, the phase's handler decides)."""
    key = f"{act.value}_refused"
    return RULES.get(key) or RetryRule(key, f"{act} refused by the cloud", F)

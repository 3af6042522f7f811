"""The retry rules are one table and one backoff: every counter the core keeps has a rule, delays
double from the first, and a refused action fails the VM only at the limit and where it may fail."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from shared.core import context, phases
from shared.core.actions import Act
from shared.core.decide import apply_decision, decide_refusal
from shared.core.retry import RULES, WhenExhausted, backoff, refusal_rule, rule
from shared.model.facts import Policy
from shared.model.phases import Phase
from tests.conftest import T0, record


def test_backoff_starts_at_the_first_delay_and_doubles():
    assert [backoff(300, n) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (300, 600, 1200, 2400)]
    assert backoff(300, 0) == timedelta(seconds=300)  # never less than the first delay


def test_a_rule_takes_the_policy_unless_it_has_its_own_limit():
    policy = Policy(retry_limit=5, backoff_seconds=60)
    assert rule("agent_install").limit(policy) == 5
    assert not rule("agent_install").exhausted(4, policy) and rule("agent_install").exhausted(5, policy)
    assert rule("migrate").limit(Policy(retry_limit=2)) == 2
    assert rule("migrate").retry_at(T0, 2, policy) == T0 + timedelta(seconds=120)


def test_every_counter_the_core_keeps_has_a_rule():
    source = "".join(Path(module.__file__ or "").read_text() for module in (phases, context))
    counted = set(re.findall(r'attempt="([a-z_]+)"', source))
    ruled = set(re.findall(r'rule\("([a-z_]+)"\)', source)) | set(
        re.findall(r'job_failed\(\s*ctx, "([a-z_]+)"', source)
    )
    assert counted and ruled
    assert counted | ruled <= set(RULES), (counted | ruled) - set(RULES)
    assert "backoff_seconds" not in source and "retry_limit" not in source  # only the table reads them


def test_a_refused_action_backs_off_then_fails_the_vm_at_the_limit():
    policy = Policy(retry_limit=2, backoff_seconds=60)
    enabling = record().evolve(phase=Phase.ENABLING)
    first = decide_refusal(enabling, Act.ENABLE_REPLICATION, ("AuthorizationFailed", "no"), policy, T0)
    assert (first.next_phase, first.attempt, first.retry_at) == (
        Phase.ENABLING,
        "enable_replication_refused",
        T0 + timedelta(seconds=60),
    )
    once = apply_decision(enabling, first, T0, attempt_id="a1")
    assert once.last_error is not None and not once.last_error.retryable and once.pending_action is None
    second = decide_refusal(once, Act.ENABLE_REPLICATION, ("AuthorizationFailed", "no"), policy, T0)
    assert (second.next_phase, second.failed_phase) == (Phase.FAILED, Phase.ENABLING)


def test_a_refusal_never_fails_a_phase_the_lifecycle_cannot_fail_from():
    policy = Policy(retry_limit=1)
    preflight = record().evolve(phase=Phase.PREFLIGHT)  # the preflight handler blocks it instead
    decision = decide_refusal(preflight, Act.GUEST_CHECK, ("InvalidInstanceId", "not managed"), policy, T0)
    assert decision.next_phase is Phase.PREFLIGHT and decision.attempt == "guest_check_refused"
    assert refusal_rule(Act.GUEST_CHECK).when_exhausted is WhenExhausted.BLOCK


@pytest.mark.parametrize("act", list(Act))
def test_every_action_has_a_refusal_rule(act):
    assert refusal_rule(act).key == f"{act.value}_refused"

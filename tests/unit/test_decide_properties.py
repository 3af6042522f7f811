"""Random fact sequences: no illegal transition, no ungated ASR action, and terminal stays terminal."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.core.actions import GATE, Act
from shared.core.decide import apply_decision, decide
from shared.model.facts import CommandFacts, Facts, ItemFacts, JobFacts, Policy
from shared.model.phases import Phase
from shared.model.records import MigrationRecord, PendingAction
from tests.conftest import T0, record
from tests.unit.decide_world import ec2_facts

OPERATIONS = [
    "testfailover",
    "testfailovercleanup",
    "unplannedfailover",
    "commit",
    "completemigration",
    "disableprotection",
]
STATES = [
    "EnablingProtection",
    "EnableProtectionFailed",
    "InitialReplicationInProgress",
    "Protected",
    "UnplannedFailoverCommitPendingStatesBegin",
    "UnplannedFailoverCommitted",
    "DisablingProtection",
]
JOB_STATES = ["NotStarted", "InProgress", "Succeeded", "Failed", "Cancelled"]

times = st.integers(min_value=0, max_value=10 * 24 * 3600).map(lambda s: T0 + timedelta(seconds=s))
ec2 = st.one_of(
    st.none(),
    st.builds(
        lambda state, enabled, cutover, approved, pv: ec2_facts(
            state=state,
            virtualization_type="paravirtual" if pv else "hvm",
            tags={
                k: v
                for k, v in {
                    "azmigrate:enabled": enabled,
                    "azmigrate:cutover": cutover,
                    "azmigrate:approved": approved,
                }.items()
                if v is not None
            },
        ),
        st.sampled_from(["pending", "running", "stopping", "stopped", "terminated"]),
        st.sampled_from(["true", "false", None]),
        st.sampled_from(["auto", "approval", "bogus", None]),
        st.sampled_from(["true", None]),
        st.booleans(),
    ),
)
items = st.one_of(
    st.none(),
    st.builds(
        ItemFacts,
        st.just("ec2-i-1"),
        st.sampled_from(STATES),
        st.frozensets(st.sampled_from(OPERATIONS)),
        st.sampled_from(["None", "WaitingForCompletion", "MarkedForDeletion", "Failed"]),
        st.sampled_from(["Primary", "Recovery"]),
        st.sampled_from(["Normal", "Warning", "Critical"]),
        st.integers(0, 100),
    ),
)
jobs = st.builds(
    JobFacts,
    st.sampled_from(["job-1", "job-2"]),
    st.sampled_from(
        [
            "EnableDr",
            "TestFailover",
            "TestFailoverCleanup",
            "UnplannedFailover",
            "CommitFailover",
            "DisableDr",
        ]
    ),
    st.sampled_from(JOB_STATES),
    times,
)
facts = st.builds(
    Facts,
    ec2=ec2,
    item=items,
    job=st.one_of(st.none(), jobs),
    item_jobs=st.lists(jobs, max_size=3).map(tuple),
    command=st.one_of(
        st.none(),
        st.builds(
            CommandFacts,
            st.just("cmd-1"),
            st.sampled_from(["Pending", "InProgress", "Success", "Failed"]),
            times,
        ),
    ),
    discovered_machine_id=st.sampled_from([None, "machine-1"]),
    admission=st.booleans(),
    in_cutover_window=st.booleans(),
)
pending = st.one_of(
    st.none(),
    st.builds(
        lambda act, job, at: PendingAction(action=act.value, attempt_id="a-1", started_at=at, job_id=job),
        st.sampled_from(list(Act)),
        st.sampled_from([None, "job-1"]),
        times,
    ),
)
records = st.builds(
    lambda phase, pend, attempts, nxt: record().evolve(
        phase=phase, pending_action=pend, next_attempt_at=nxt, attempts={"commit": attempts}
    ),
    st.sampled_from(list(Phase)),
    pending,
    st.integers(0, 5),
    st.one_of(st.none(), times),
)
policies = st.builds(
    Policy,
    cutover_mode=st.sampled_from(["auto", "approval"]),
    retry_limit=st.integers(1, 4),
    backoff_seconds=st.integers(1, 600),
    lease_seconds=st.integers(0, 1_200),
)


def _check(rec: MigrationRecord, observed: Facts, policy: Policy, now) -> MigrationRecord:
    decision = decide(rec, observed, policy, now)  # raises IllegalTransition if the core breaks the graph
    if rec.phase.is_terminal:
        assert decision.next_phase == rec.phase and decision.action is None
    act = decision.action
    if act in GATE:
        assert observed.item is not None and any(observed.item.allows(op) for op in GATE[act]), (
            act,
            observed.item,
        )
    if act == Act.ENABLE_REPLICATION:
        assert observed.item is None, "enable replication never goes to an item that exists"
    return apply_decision(rec, decision, now, "a-2")


@settings(max_examples=1_500, deadline=None)
@given(records, facts, policies, times)
def test_any_single_decision_is_legal_and_gated(rec, observed, policy, now):
    _check(rec, observed, policy, now)


@settings(max_examples=300, deadline=None)
@given(records, st.lists(st.tuples(facts, times), min_size=1, max_size=25), policies)
def test_random_sequences_never_break_the_lifecycle(rec, sequence, policy):
    was_terminal = False
    for observed, now in sequence:
        rec = _check(rec, observed, policy, now)
        if was_terminal:
            assert rec.phase.is_terminal
        was_terminal = was_terminal or rec.phase.is_terminal

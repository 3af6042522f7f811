"""Reconcile: read the fleet in bulk, decide per VM, act with bounded concurrency, record everything.

Per VM, each step is: decide -> write the intent (compare-and-swap) -> perform the one side effect
-> write its job id (compare-and-swap). Every write goes through `Commands`, which also keeps the
timeline and the status tag. A lost compare-and-swap means another reconciler moved the VM first:
this pass leaves it alone. A crash between effect and write is healed by `decide`, which finds the
effect among the item's jobs. Writes to ARM and AWS are paced.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared.adapters.asr import AsrAdapter, ReplicationSettings, Submitted, Target, item_name_for
from shared.adapters.aws import AGENT_COMMENT, GUEST_CHECK_COMMENT, AwsAdapter
from shared.adapters.aws_fleet import AwsFleet, MetricsFleet
from shared.adapters.cloudwatch import MetricsAdapter
from shared.adapters.compute import ComputeAdapter
from shared.adapters.ratelimit import Pacer, RateLimiter
from shared.assessment.assess import azure_vm_name, with_tag_overrides
from shared.commands import Commands
from shared.core.actions import CLOCK_SKEW, JOB_SCENARIO, Act, Decision, Effect, owes_start
from shared.core.decide import decide, decide_refusal
from shared.core.windows import WaveCutover, Window, in_window, next_opening
from shared.errors import (
    ActionRefused,
    AutopilotError,
    CloudUnavailable,
    ConcurrencyConflict,
    ErrorCode,
    InvalidInput,
    LeaseExpired,
    StoreUnavailable,
)
from shared.guest.documents import AgentInstall
from shared.model.facts import ApplianceDisk, CommandFacts, Ec2Facts, ItemFacts, Policy
from shared.model.phases import Phase
from shared.model.records import MigrationRecord
from shared.model.work import SHARDS, shard_of
from shared.reconcile.assessing import AssessmentReads
from shared.reconcile.jobwatch import instance_of
from shared.reconcile.snapshot import (
    DECIDABLE_WITHOUT_ASR,
    NEEDS_DISCOVERY,
    REPLICATING,
    Snapshot,
    disk_note,
    jobs_window_start,
    target_disks,
)
from shared.reconcile.validating import ValidationReads, place_of_test_vm, smoke_command_name
from shared.state.leases import Lease, MemoryLease
from shared.state.names import MemoryNames, NameClaims
from shared.state.slots import TableSlots
from shared.state.store import StateStore
from shared.state.vault_view import VaultView
from shared.tracing import annotate, carried, span

log = logging.getLogger(__name__)
MAX_STEPS_PER_PASS = 12  # a VM moves through instantaneous phases in one pass, but never loops
SETUP_LEASE_SECONDS = 120  # a set-up PUT Site Recovery has not shown after this is sent again
LISTING_MAX_AGE = timedelta(minutes=10)  # a shard worked later than this lists the vault itself
# Phases whose decisions read the instance's tags (opt-out, approval, cutover mode, not-before) and
# nothing else of it: a fleet pass reads their tags, not their description.
DECIDED_ON_TAGS = frozenset(
    {Phase.INITIAL_REPLICATION, Phase.PROTECTED, Phase.READY_FOR_CUTOVER, Phase.PAUSED}
)
# How a command whose id was lost in a crash is found again: by the comment it was sent with.
COMMAND_COMMENTS = {Act.GUEST_CHECK: GUEST_CHECK_COMMENT, Act.INSTALL_AGENT: AGENT_COMMENT}
AWS_ACTIONS = frozenset({Act.GUEST_CHECK, Act.INSTALL_AGENT, Act.STOP_SOURCE, Act.START_SOURCE})
# Phases whose decision runs the assessment, which reads the instance's disks and image name.
ASSESSED_FROM_EC2 = frozenset({Phase.OPTED_IN, Phase.PREFLIGHT, Phase.BLOCKED, Phase.ASSESSED})


@dataclass(frozen=True)
class Targets:
    resource_group_id: str
    network_id: str
    subnet_name: str
    test_network_id: str
    log_storage_account_id: str | None = None
    boot_diagnostics_account_id: str | None = None


@dataclass
class PassReport:
    examined: int = 0
    transitions: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)  # of errors: retryable, worth asking again
    created: int = 0
    unread: bool = False  # the pass could read nothing it needed: nothing was decided

    def problem(self, text: str, *, retryable: bool) -> None:
        self.errors.append(text)
        if retryable:
            self.unfinished.append(text)

    def add(self, vm: PassReport) -> None:
        """One VM's outcome into the pass's report."""
        self.transitions += vm.transitions
        self.actions.update(vm.actions)
        self.conflicts += vm.conflicts
        self.errors += vm.errors
        self.unfinished += vm.unfinished


class Reconciler:
    def __init__(
        self,
        store: StateStore,
        aws: AwsAdapter | AwsFleet,
        asr: AsrAdapter,
        *,
        policy: Policy,
        targets: Targets,
        install: AgentInstall,
        capacity: int,
        concurrency: int = 8,
        arm_writes: Pacer | None = None,
        aws_writes: Pacer | None = None,
        windows: tuple[Window, ...] = (),
        waves: Mapping[str, WaveCutover] | None = None,
        replication: ReplicationSettings | None = None,
        metrics: MetricsAdapter | MetricsFleet | None = None,
        clock: Callable[[], datetime],
        commands: Commands | None = None,
        slots: TableSlots | None = None,
        vault_view: VaultView | None = None,
        names: NameClaims | None = None,
        compute: ComputeAdapter | None = None,
        setup_lease: Callable[[str], Lease] | None = None,
    ) -> None:
        self.store, self.asr, self.slots, self.vault_view = store, asr, slots, vault_view
        self.aws = aws if isinstance(aws, AwsFleet) else AwsFleet.single(aws)
        self.policy, self.targets, self.install = policy, targets, install
        self.capacity, self.concurrency, self.clock, self.windows = capacity, concurrency, clock, windows
        self.replication = replication or ReplicationSettings()
        self.waves = dict(waves or {})  # waves with their own cutover windows or mode
        self.names: NameClaims = names or MemoryNames()  # the app's: a table every worker shares
        # One lease per set-up step; the app's are rows every worker shares.
        self.setup_lease: Callable[[str], Lease] = setup_lease or MemoryLease.named()
        self.compute = compute  # the test VMs; None: validation sees no VM and fails at its deadline
        self._arm: Pacer = arm_writes or RateLimiter(10)
        self._aws: Pacer = aws_writes or RateLimiter(10)
        self.metrics = MetricsFleet.single(metrics) if isinstance(metrics, MetricsAdapter) else metrics
        # The one write path; the app shares one with its other writers (wiring.commands).
        self.commands = commands or Commands(
            store, clock=clock, status=self.aws.set_status, status_writes=self._aws
        )

    # --- a pass ----------------------------------------------------------------------------------

    def reconcile(
        self,
        only: set[str] | None = None,
        *,
        discover: bool = False,
        shard: str | None = None,
        items_listed_at: datetime | None = None,
    ) -> PassReport:
        """One pass over the VMs in flight, one `shard` of them, or just `only` (read by id, not in
        bulk); `discover` also takes in new opted-in ones (with `only`: those VMs only). A shard
        takes the vault's items from the fleet pass's listing at `items_listed_at` when given.

        A pass degrades, never aborts: a read that fails marks the VMs it concerns (reported in
        `errors`, decided again next pass) and the pass completes the rest. Without the records or
        EC2's view nothing can be decided safely, so such a pass reports and ends."""
        with span("autopilot.pass", shard=shard, vms=len(only) if only is not None else None):
            report = self._reconcile(only, discover, shard, items_listed_at)
            annotate(examined=report.examined, transitions=report.transitions, problems=len(report.errors))
            return report

    def _reconcile(
        self, only: set[str] | None, discover: bool, shard: str | None, items_listed_at: datetime | None
    ) -> PassReport:
        report = PassReport()
        try:
            snapshot = self._read(discover, report, only, shard, items_listed_at)
        except AutopilotError as error:
            report.problem(f"pass: {error}", retryable=error.retryable)
            report.unread = True
            log.warning("reconcile pass could not read the fleet: %s", error)
            return report
        whole_fleet = only is None and shard is None
        snapshot.admit(self.capacity, None if whole_fleet else self._admission_view(snapshot))
        chosen = [r for r in snapshot.records.values() if only is None or r.instance_id in only]
        if self.slots is not None and snapshot.admitted:  # concurrent passes: a slot row per admission
            hold, ours = self.policy.lease_seconds, {r.instance_id for r in chosen}
            snapshot.admitted = {
                vm
                for vm in sorted(snapshot.admitted & ours)
                if self.slots.claim(vm, snapshot.replicating, snapshot.queued, hold_seconds=hold)
            }
        if snapshot.admitted and not snapshot.asr_unreadable:  # an enable is coming: the vault must be set up
            snapshot.vault_setup = self.bootstrap_vault(report)
        if snapshot.asr_unreadable:
            held = [r for r in chosen if r.phase not in DECIDABLE_WITHOUT_ASR]
            for held_vm in held:
                report.problem(f"{held_vm.instance_id}: held: {snapshot.asr_unreadable}", retryable=True)
            chosen = [r for r in chosen if r.phase in DECIDABLE_WITHOUT_ASR]
        report.examined = len(chosen)
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            advance: Callable[[MigrationRecord], PassReport] = lambda r: self._advance(r, snapshot)  # noqa: E731
            for outcome in pool.map(carried(advance), chosen):
                report.add(outcome)
        return report

    def bootstrap_vault(self, report: PassReport | None = None) -> str:
        """Makes sure the vault has its replication policy and container mapping (a new project has
        neither); "" once it has, else what is being created (enables wait for it). Each set-up PUT
        is sent by one worker under a lease, so concurrent passes never send it twice."""
        try:
            if self.asr.site().policy_id:  # read once per adapter: no more calls once set up
                return ""
            step = self.asr.next_setup(self.replication)
            if step is None:
                return ""
            if self.setup_lease(step.kind).claim(SETUP_LEASE_SECONDS):
                with span("autopilot.cloud.bootstrap", step=step.kind):
                    self.asr.send_setup(step)
                log.info("vault set-up: %s", step.what)
            return step.what
        except (CloudUnavailable, ActionRefused, StoreUnavailable) as error:
            if report is not None:
                report.problem(f"vault set-up: {error}", retryable=error.retryable)
            return f"the vault could not be set up: {error}"

    def discover(self) -> list[str]:
        """Takes in opted-in instances without a record (an event lost or never sent); their ids.
        Reads the ids the store knows (done ones too: they are not taken in again) and the opt-in
        tags, then describes only the instances that are new (without disks or images)."""
        known = self.store.instance_ids()
        fresh: dict[str, list[str]] = {}
        for instance_id, region in sorted(self.aws.opted_in_ids().items()):
            if instance_id not in known:
                fresh.setdefault(region, []).append(instance_id)
        taken: dict[str, MigrationRecord] = {}
        if fresh:
            self._take_in(taken, self.aws.instances(fresh, detail=False), self.clock())
        return sorted(taken)

    def _instances(
        self,
        records: Iterable[MigrationRecord],
        unrecorded: dict[str, list[str]] | None = None,
        *,
        tags_will_do: bool = False,
    ) -> dict[str, Ec2Facts]:
        """EC2's view of these VMs (and of `unrecorded` ids, which may be taken in): with disks and
        image names only for those being assessed, the only decisions that read them; with
        `tags_will_do`, only the tags of VMs whose phase decides on tags alone (a fleet pass)."""
        listed = list(records)
        detailed = _by_region(r for r in listed if r.phase in ASSESSED_FROM_EC2)
        for region, ids in (unrecorded or {}).items():
            detailed.setdefault(region, []).extend(ids)
        tags_only = [r for r in listed if tags_will_do and _decided_on_tags(r)]
        on_tags = {r.instance_id for r in tags_only}
        plain = _by_region(
            r for r in listed if r.phase not in ASSESSED_FROM_EC2 and r.instance_id not in on_tags
        )
        found = self.aws.instances(detailed) if detailed else {}
        found |= self.aws.instances(plain, detail=False) if plain else {}
        tagged = self.aws.tagged(_by_region(tags_only)) if tags_only else {}
        accounts = {r.instance_id: r.account_id for r in tags_only}
        return found | {i: replace(facts, account_id=accounts[i]) for i, facts in tagged.items()}

    def _admission_view(self, snapshot: Snapshot) -> list[MigrationRecord] | None:
        """A partial pass admits against the whole fleet's queue and replication slots (one query),
        and only when it holds a queued VM."""
        if not any(r.phase is Phase.QUEUED for r in snapshot.records.values()):
            return None
        return list(self.store.in_phases(REPLICATING | {Phase.QUEUED}))

    def list_vault_for_shards(self) -> datetime | None:
        """A fleet pass's one listing of the vault's items, each shard's part kept for its worker;
        when it was listed (None: not listed or not kept, each shard lists the vault itself)."""
        if self.vault_view is None:
            return None
        listed_at = self.clock()  # before the listing: an item listed is at least this new
        try:
            items = self.asr.items()
        except (CloudUnavailable, ActionRefused) as error:
            log.warning("vault not listed for the shards: %s", error)
            return None
        kept = self.vault_view.write(listed_at, items, _shard_of_item, SHARDS)
        return listed_at if kept else None

    def _read(
        self,
        discover: bool,
        report: PassReport,
        only: set[str] | None,
        shard: str | None,
        items_listed_at: datetime | None = None,
    ) -> Snapshot:
        now = self.clock()
        if only is not None:
            records, ec2 = self._read_vms(only, discover, report, now)
        else:
            source = self.store.in_flight_in(shard) if shard is not None else self.store.in_flight()
            records = {r.instance_id: r for r in source}
            if shard is not None:
                with span("autopilot.cloud.ec2_tags", shard=shard, vms=len(records)):
                    ec2 = self._instances(records.values(), tags_will_do=True)
            else:
                with span("autopilot.cloud.ec2_describe"):
                    ec2 = self.aws.opted_in()
                if discover:
                    report.created = self._take_in(records, ec2, now)
                missing = [r for r in records.values() if r.instance_id not in ec2]
                if missing:
                    ec2 |= self.aws.instances(_by_region(missing))
        try:
            # Jobs before items: an item read after its jobs is at least as new as they are.
            since = jobs_window_start(records, now)
            with span("autopilot.cloud.asr_jobs"):
                jobs = self.asr.jobs_since(since) if since is not None else []
            listed = None
            if shard is not None and items_listed_at is not None and self.vault_view is not None:
                fresh_enough = now - items_listed_at <= LISTING_MAX_AGE
                listed = self.vault_view.read(shard, items_listed_at) if fresh_enough else None
            if only is not None:
                items = self._items_by_name(records)
            elif listed is not None:
                assert items_listed_at is not None
                moved = [i for i, r in records.items() if _moved_since(r, items_listed_at)]
                fresh = self._items_by_name(moved)
                stale = {item_name_for(i) for i in moved}
                items = {name: item for name, item in listed.items() if name not in stale} | fresh
            else:
                with span("autopilot.cloud.asr_items"):
                    items = self.asr.items()
            wants_machines = any(r.phase in NEEDS_DISCOVERY for r in records.values())
            discovered = self.asr.discovered() if wants_machines else []
            snapshot = Snapshot(records, ec2, items, jobs, discovered)
        except (CloudUnavailable, ActionRefused) as error:
            snapshot = Snapshot(records, ec2, {}, [], [], asr_unreadable=str(error))
        AssessmentReads(self.aws, self.metrics, self.names).read(snapshot, now, only, self._command)
        ValidationReads(self.compute, self.targets.resource_group_id).read(
            snapshot, only, lambda text, retryable: report.problem(text, retryable=retryable)
        )
        self._read_operations(snapshot, only, report)
        return snapshot

    def _items_by_name(self, instance_ids: Iterable[str]) -> dict[str, ItemFacts]:
        named = {item_name_for(i): self.asr.item(item_name_for(i)) for i in instance_ids}
        return {name: item for name, item in named.items() if item is not None}

    def _read_vms(
        self, only: set[str], discover: bool, report: PassReport, now: datetime
    ) -> tuple[dict[str, MigrationRecord], dict[str, Ec2Facts]]:
        """A few VMs by id: their records (point reads) and their instances (one describe per region;
        an unrecorded VM is looked for in every region)."""
        records = {i: r for i in sorted(only) if (r := self.store.find(i)) is not None}
        unknown = sorted(only - set(records))
        ec2 = self._instances(records.values(), {region: unknown for region in self.aws.regions if unknown})
        if discover:
            report.created = self._take_in(records, {i: f for i, f in ec2.items() if i in only}, now)
        return records, ec2

    def _read_operations(self, snapshot: Snapshot, only: set[str] | None, report: PassReport) -> None:
        """An ASR operation's status, read only while the job it started is not in the job list; one
        that cannot be read leaves its VM waiting (reported), not the pass failed."""
        for record in snapshot.records.values():
            pending = record.pending_action
            if (
                (only is None or record.instance_id in only)
                and pending is not None
                and pending.operation_id is not None
                and pending.done_at is None
                and Act(pending.action) in JOB_SCENARIO
                and snapshot.listed_job(record) is None
            ):
                scenario = JOB_SCENARIO[Act(pending.action)]
                try:
                    snapshot.operations[pending.operation_id] = self.asr.operation(
                        pending.operation_id, scenario
                    )
                except (CloudUnavailable, ActionRefused) as error:
                    unread = f"{record.instance_id}: operation status unread: {error}"
                    report.problem(unread, retryable=error.retryable)

    def _take_in(self, records: dict[str, MigrationRecord], ec2: dict[str, Ec2Facts], now: datetime) -> int:
        created = 0
        for facts in ec2.values():
            if facts.opted_in and facts.instance_id not in records and facts.account_id:
                record = MigrationRecord.opted_in(
                    instance_id=facts.instance_id,
                    account_id=facts.account_id,
                    region=facts.region,
                    wave=_wave(facts.tag("wave")),
                    now=now,
                )
                taken = self.commands.take_in(record, "opt-in tag found")
                if taken is not None:
                    records[taken.instance_id] = taken
                    created += 1
        return created

    # --- one VM ----------------------------------------------------------------------------------

    def _advance(self, record: MigrationRecord, snapshot: Snapshot) -> PassReport:
        with span("autopilot.vm", instance_id=record.instance_id, phase=record.phase.value):
            return self._advance_vm(record, snapshot)

    def _advance_vm(self, record: MigrationRecord, snapshot: Snapshot) -> PassReport:
        outcome = PassReport()
        try:
            record = self.commands.flush(record)  # events a crash left in the outbox go first
            for _ in range(MAX_STEPS_PER_PASS):
                if not _described_enough(record, snapshot.ec2.get(record.instance_id)):
                    break  # it moved on to a phase that reads the instance: the next pass describes it
                now = self.clock()
                wave = self.waves.get(record.wave or "", WaveCutover())
                windows = self.windows if wave.windows is None else wave.windows
                inside = in_window(now, windows)
                facts = snapshot.facts(
                    record,
                    self._command,
                    in_cutover_window=inside,
                    window_opens_at=None if inside else next_opening(now, windows),
                    wave_cutover_mode=wave.mode or "",
                    wave_windows=(record.wave or "") if wave.windows is not None else "",
                )
                decision = decide(record, facts, self.policy, now)
                before, record = record, self.commands.apply(record, decision, now=now)  # the intent first
                if record is before:
                    break  # nothing new: the VM waits
                moved = record.phase != before.phase
                outcome.transitions += moved
                if decision.action is not None:
                    outcome.actions[decision.action.value] += 1
                    record = self._perform(record, decision, snapshot, outcome)
                    break  # the effect changes the world: look again on the next pass
                if not moved:
                    break
            self.commands.sync_status(record, snapshot.ec2.get(record.instance_id))
            pending = record.pending_action
            annotate(
                phase=record.phase.value,
                attempt_id=pending.attempt_id if pending else None,
                job_id=(pending.job_id or pending.operation_id) if pending else None,
            )
        except ConcurrencyConflict:
            outcome.conflicts += 1  # another reconciler moved this VM first; it is theirs this pass
        except AutopilotError as error:  # a read or a write for this VM failed: the rest go on
            outcome.problem(f"{record.instance_id}: {error}", retryable=error.retryable)
            log.warning(
                "VM not advanced this pass",
                extra={"instance_id": record.instance_id, "phase": record.phase, "error": str(error)},
            )
        return outcome

    def _perform(
        self, record: MigrationRecord, decision: Decision, snapshot: Snapshot, outcome: PassReport
    ) -> MigrationRecord:
        act = decision.action
        assert act is not None and record.pending_action is not None
        if act in AWS_ACTIONS:  # pace first, then fence
            self._aws.acquire(f"{record.account_id}/{record.region}")
        else:
            self._arm.acquire()
        try:
            # Fencing: the intent must still be ours and inside its lease right before the effect;
            # a writer paused past its lease (another re-issued the action meanwhile) sends nothing.
            record = self.commands.confirm_intent(record, self.clock(), self.policy.lease_seconds)
        except LeaseExpired as expired:
            outcome.problem(f"{record.instance_id}: {act} dropped: {expired}", retryable=True)
            return record
        pending = record.pending_action
        try:
            with span(
                f"autopilot.cloud.{act.value}",
                instance_id=record.instance_id,
                phase=record.phase.value,
                attempt_id=pending.attempt_id if pending else None,
                action=act.value,
            ):
                effect = self._act(act, record, snapshot)
                annotate(job_id=effect.job_id or effect.operation_id)
        except (ActionRefused, InvalidInput) as error:
            refused = (
                error
                if isinstance(error, ActionRefused)
                else ActionRefused(ErrorCode.INVALID_INPUT, str(error))
            )
            outcome.problem(f"{record.instance_id}: {act} refused: {refused}", retryable=False)
            now, refusal = self.clock(), (refused.cloud_code, str(refused))
            return self.commands.apply(
                record, decide_refusal(record, act, refusal, self.policy, now), now=now
            )
        except CloudUnavailable as error:
            # The effect may or may not have happened: keep the intent; `decide` finds it or re-issues it.
            outcome.problem(f"{record.instance_id}: {act}: {error}", retryable=True)
            return record
        log.info(
            "action issued: %s on %s (%s), tracking %s",
            act.value,
            record.instance_id,
            record.phase.value,
            effect.job_id or effect.operation_id or "nothing",
            extra={
                "instance_id": record.instance_id,
                "phase": record.phase.value,
                "action": act.value,
                "job_id": effect.job_id or effect.operation_id,
            },
        )
        return self.commands.record_effect(record, act, effect)

    def _act(self, act: Act, record: MigrationRecord, snapshot: Snapshot) -> Effect:
        ec2 = snapshot.ec2.get(record.instance_id)
        item = item_name_for(record.instance_id)
        if act in AWS_ACTIONS:
            if ec2 is None:
                raise ActionRefused(ErrorCode.INSTANCE_NOT_FOUND, f"{record.instance_id} no longer exists")
            if act in COMMAND_COMMENTS:
                return Effect(job_id=self._send_command(act, record, ec2))
            (self.aws.stop if act == Act.STOP_SOURCE else self.aws.start)(ec2)
            return Effect()
        if act == Act.ENABLE_REPLICATION:
            machine = snapshot.machine_of(record)
            if machine is None:
                gone = "the appliance no longer lists this machine"
                raise ActionRefused(ErrorCode.MACHINE_NOT_DISCOVERED, gone)
            target = self._target(record, ec2, machine.disks)
            if not target.disks:  # the timeline's enabling entry says why too
                why = disk_note(record, machine.disks)
                log.warning(
                    "enabling %s with %s", record.instance_id, why, extra={"instance_id": record.instance_id}
                )
            return _effect(self.asr.enable(item, machine, target))
        if act == Act.SMOKE_TEST:
            return self._smoke(record, snapshot, ec2)
        calls: dict[Act, Callable[[], Submitted]] = {
            Act.TEST_FAILOVER: lambda: self.asr.test_failover(item, self.targets.test_network_id),
            Act.TEST_FAILOVER_CLEANUP: lambda: self.asr.test_failover_cleanup(item),
            Act.UNPLANNED_FAILOVER: lambda: self.asr.unplanned_failover(item),
            Act.COMMIT_FAILOVER: lambda: self.asr.commit(item),
            Act.COMPLETE_MIGRATION: lambda: self.asr.remove(item, migration_complete=True),
            Act.DISABLE_REPLICATION: lambda: self.asr.remove(item, migration_complete=False),
        }
        return _effect(calls[act]())

    def _smoke(self, record: MigrationRecord, snapshot: Snapshot, ec2: Ec2Facts | None) -> Effect:
        if self.compute is None:
            raise ActionRefused(ErrorCode.INVALID_INPUT, "no Compute client: the smoke command cannot run")
        group, name = place_of_test_vm(record, self.targets.resource_group_id)
        script = ((ec2.tag("smoke-test") if ec2 else None) or self.policy.smoke_command).strip()
        command = smoke_command_name(record)
        self.compute.run_smoke(group, name, command, script)
        return Effect(job_id=command)

    def _target(
        self, record: MigrationRecord, ec2: Ec2Facts | None, found: tuple[ApplianceDisk, ...] = ()
    ) -> Target:
        target = with_tag_overrides(record.target, ec2)  # a tag set since the assessment still wins
        return Target(
            vm_name=target.vm_name or azure_vm_name(ec2, record.instance_id),
            resource_group_id=target.resource_group_id or self.targets.resource_group_id,
            network_id=target.network_id or self.targets.network_id,
            subnet_name=target.subnet_name or self.targets.subnet_name,
            test_network_id=target.test_network_id or self.targets.test_network_id,
            vm_size=target.vm_size,
            disk_type=target.disk_type or "Standard_LRS",
            license_type=target.license_type,
            log_storage_account_id=self.targets.log_storage_account_id,
            boot_diagnostics_account_id=self.targets.boot_diagnostics_account_id,
            disks=target_disks(record, ec2, found),
        )

    def _send_command(self, act: Act, record: MigrationRecord, ec2: Ec2Facts) -> str:
        """An SSM command carries its attempt in its comment: after a crash, `_command` finds this
        attempt's command, never another's."""
        attempt = _attempt_comment(record)
        if act == Act.GUEST_CHECK:
            return self.aws.guest_check(ec2, self.install.appliance_address, attempt=attempt)
        return self.aws.install_agent(ec2, self.install, attempt=attempt)

    def _command(self, record: MigrationRecord) -> CommandFacts | None:
        """The pending command by its id; without one (a crash between sending and recording it),
        the command sent for this very attempt, found by its comment (never another attempt's)."""
        pending = record.pending_action
        if pending is None:
            return None
        if pending.job_id is not None:
            return self.aws.for_account(record.account_id).command(
                record.region, record.instance_id, pending.job_id
            )
        comment = COMMAND_COMMENTS.get(Act(pending.action))
        if comment is None:
            return None
        since = pending.started_at - CLOCK_SKEW
        account = self.aws.for_account(record.account_id)
        return account.find_command(
            record.region, record.instance_id, f"{comment} {_attempt_comment(record)}", since
        )


def _by_region(records: Iterable[MigrationRecord]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for record in records:
        found.setdefault(record.region, []).append(record.instance_id)
    return found


def _attempt_comment(record: MigrationRecord) -> str:
    assert record.pending_action is not None
    return f"[{record.pending_action.attempt_id}]"


def _effect(submitted: Submitted) -> Effect:
    return Effect(operation_id=submitted.operation_id, done=submitted.operation_id is None)


def _wave(value: str | None) -> str | None:
    if not value:
        return None
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in value.strip())[:63].strip("-._")
    return cleaned or None


def _moved_since(record: MigrationRecord, listed_at: datetime) -> bool:
    """A VM whose record changed since the vault was listed (or whose action is open) may know more
    than the listing: its item is read by name instead, after the jobs."""
    pending = record.pending_action  # done at or after its start: a late start is a late finish
    if pending is not None and (pending.done_at is None or pending.done_at >= listed_at):
        return True
    return record.phase_entered_at >= listed_at


def _shard_of_item(name: str) -> str | None:
    """The shard of the VM an item protects; None for an item the app did not name (not ours)."""
    instance = instance_of(name)
    return shard_of(instance) if instance else None


def _decided_on_tags(record: MigrationRecord) -> bool:
    """A VM whose phase decides on the instance's tags alone (opt-out, approval, cutover tags) and
    no instance state: no description needed in a fleet pass (an event about it describes it)."""
    return record.phase in DECIDED_ON_TAGS and not owes_start(record)


def _described_enough(record: MigrationRecord, ec2: Ec2Facts | None) -> bool:
    return ec2 is None or ec2.described or _decided_on_tags(record)

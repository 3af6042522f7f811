"""Chaos: the app's hosts as separate processes sharing one work queue, killed (SIGKILL) while they
hold messages, two at once, one paused (SIGSTOP) past its lease, under injected 5xx and ARM
throttling, through Table and AWS outages, with duplicated and re-ordered events; then the world is
checked for what must never happen. A killed host's messages reappear after their lease
(`CHAOS_MESSAGE_LEASE`) and another host works them.

The world's own records are the judges, not the app's: the simulator's ledger and jobs (no ASR
action twice), moto's command list (no SSM command twice for one attempt), the state tables (every
opted-in instance has a record, and every record ends done, blocked or failed with its reason).
`bench/chaos.py` runs it at full size; `tests/chaos/` in a reduced form.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from local.asr_simulator.bridge import MotoBridge, appliance_config
from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.faults import FaultProfile
from local.asr_simulator.model import CLASSIC, RCM
from local.asr_simulator.server import Simulator
from local.estate import APPLIANCE, PASSPHRASE_PARAMETER, REGION, RG, SUB, VAULT, app_settings, tag_event
from local.fault_proxy import FaultProxy
from local.front_end import HostKeys
from local.host_process import CHAOS_MESSAGE_LEASE, Host
from local.queue_host import queue_client, wait_until_empty
from local.stack import Azurite, LocalService, aws_client, install_documents, running_stack
from shared.adapters.aws import DEFAULT_DOCUMENT_PREFIX
from shared.state.table import TableStateStore, open_table_service

REPO = Path(__file__).resolve().parents[1]
ENDED = {"done", "blocked", "failed", "opted_out"}
LEASE_SECONDS = 30  # real seconds, the shortest the settings take: a pause outlives it
SETTLE_SECONDS = 30  # a round waits this long at most for the queue to empty
OUTAGE_SETTLE = 3.0
RETRY_DELAY = 1.0  # failed work is delivered again after a second (host.json says 30 s)


@dataclass(frozen=True)
class Plan:
    vms: int = 4
    hosts: int = 2
    kills: int = 3  # SIGKILL a host in the middle of a pass, this many times
    pause: bool = True  # SIGSTOP one host mid-pass past its lease while the other works, then SIGCONT
    outages: bool = True  # Table Storage, then AWS, unreachable for a few rounds each
    server_error_rate: float = 0.1  # ASR answers 500/503 to this share of requests
    job_failure_rate: float = 0.05  # this share of ASR jobs fail (the app retries or rolls back)
    duplicate_events: bool = True  # every tag event delivered twice, in shuffled order
    seed: int = 0
    rounds: int = 80
    time_scale: float = 60.0  # simulator seconds per real second: a job takes a second


@dataclass
class Result:
    plan: Plan
    kills: int = 0
    mid_pass_kills: int = 0  # of the kills, those that landed while the host held a message
    pauses: int = 0
    duplicate_asr: int = 0
    duplicate_ssm: int = 0
    stuck: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    why_stuck: dict[str, list[str]] = field(default_factory=dict)  # a stuck VM's last timeline lines
    refused_in_outages: int = 0  # calls the hosts made into an outage (answered 503)
    asr_twice: list[str] = field(default_factory=list)  # each ASR action done once too often
    # Sent again but refused by ASR itself (409 on an enable, 400 while a job runs): no effect. The
    # window fencing cannot close: a host frozen after its fence check and before its call.
    asr_refused_repeats: int = 0
    phases: Counter[str] = field(default_factory=Counter)
    rounds: int = 0
    seconds: float = 0.0

    @property
    def duplicates(self) -> int:
        return self.duplicate_asr + self.duplicate_ssm

    def line(self) -> str:
        return (
            f"chaos: kills={self.kills} (mid-pass {self.mid_pass_kills}) pauses={self.pauses} "
            f"hosts={self.plan.hosts} vms={self.plan.vms} "
            f"duplicates={self.duplicates} (refused repeats {self.asr_refused_repeats}) "
            f"stuck={len(self.stuck)} lost={len(self.lost)} "
            f"outage-refusals={self.refused_in_outages} phases={dict(sorted(self.phases.items()))} "
            f"rounds={self.rounds} in {self.seconds:.0f}s"
        )


World = tuple[Simulator, MotoBridge, FaultProxy, FaultProxy, dict[str, str]]


@contextmanager
def _world(plan: Plan, azurite: Azurite, moto: LocalService) -> Iterator[World]:
    """The simulator (faults on, a small ARM write bucket) bridged to moto, and outage proxies in
    front of Azurite and moto; the hosts' settings point at the proxies."""
    faults = FaultProfile(
        server_error_rate=plan.server_error_rate, job_failure_rate=plan.job_failure_rate, seed=plan.seed
    )
    vault = Vault(
        SUB,
        RG,
        VAULT,
        SimClock(scale=plan.time_scale),
        providers=(RCM, CLASSIC),
        job_seconds=60,
        faults=faults,
    )
    sim = Simulator(vault, limits={"writes": (20.0, 5.0)}).start()  # a small ARM write bucket
    passphrase = uuid.uuid4().hex
    aws_client(moto.url, "ssm").put_parameter(
        Name=PASSPHRASE_PARAMETER,
        Value=appliance_config(APPLIANCE, passphrase),
        Type="SecureString",
        Overwrite=True,
    )
    bridge = MotoBridge(
        vault, endpoint_url=moto.url, regions=[REGION], appliance_address=APPLIANCE, passphrase=passphrase
    )
    install_documents(moto.url, [REGION], DEFAULT_DOCUMENT_PREFIX)
    bridge.sync()
    bridge.start_polling(0.2)
    tables, aws = FaultProxy(azurite.url).start(), FaultProxy(moto.url).start()
    env = (
        dict(os.environ)
        | app_settings(azurite, moto, sim)
        | {
            "AZMIGRATE_TABLE_CONNECTION": azurite.connection_string.replace(azurite.url, tables.url),
            "AZMIGRATE_AWS_ENDPOINT_URL": aws.url,
            "AZMIGRATE_LEASE_SECONDS": str(LEASE_SECONDS),
            "AZMIGRATE_RETRY_LIMIT": "5",
            "AWS_MAX_ATTEMPTS": "2",
        }
    )
    try:
        yield sim, bridge, tables, aws, env
    finally:
        tables.stop()
        aws.stop()
        bridge.stop()
        sim.stop()


def run(plan: Plan) -> Result:
    started = time.monotonic()
    result = Result(plan)
    rng = random.Random(plan.seed)  # noqa: S311 - fault injection, not security
    with running_stack() as stack, _world(plan, stack.azurite, stack.moto) as world:
        azurite, moto = stack.azurite, stack.moto
        sim, bridge, tables, aws, env = world
        keys = HostKeys.random()
        hosts: list[Host] = []
        try:
            hosts += [
                Host(env, keys, message_lease=CHAOS_MESSAGE_LEASE, retry_delay=RETRY_DELAY)
                for _ in range(plan.hosts)
            ]
            for host in hosts:
                host.start()
            vms = _launch(moto, plan.vms)
            _deliver_events(hosts, vms, rng, plan.duplicate_events)
            kills_left = plan.kills
            store = TableStateStore(
                open_table_service(connection=azurite.connection_string, account_url=None),
                env["AZMIGRATE_TABLE_PREFIX"],
            )
            for round_number in range(plan.rounds):
                result.rounds = round_number + 1
                event = _scheduled(plan, round_number, kills_left)
                tables.down, aws.down = event == "tables down", event == "aws down"
                if event == "kill":
                    mutations = (lambda: len(sim.vault.ledger)) if kills_left % 2 else None
                    result.mid_pass_kills += _pass_with_a_kill(hosts, env, mutations, (tables, aws))
                    kills_left -= 1
                    result.kills = plan.kills - kills_left
                elif event == "pause":
                    _pass_with_a_pause(hosts, env, LEASE_SECONDS + 1)
                    result.pauses += 1
                else:  # in an outage the work fails and comes back: no use waiting long for it
                    _passes_at_once(hosts, env, OUTAGE_SETTLE if event.endswith("down") else SETTLE_SECONDS)
                bridge.sync()
                phases = {r.instance_id: r.phase.value for r in store.all()}
                if (
                    len(phases) == len(vms)
                    and set(phases.values()) <= ENDED
                    and not tables.down
                    and not aws.down
                    and not kills_left  # every planned kill happens, however fast the fleet migrated
                ):
                    break
            tables.down = aws.down = False
            _judge(result, store, sim, moto, vms)
            result.refused_in_outages = tables.refused + aws.refused
            store.close()
        finally:
            for host in hosts:
                host.signal(signal.SIGCONT)
                host.kill()
    result.seconds = time.monotonic() - started
    return result


def _judge(
    result: Result, store: TableStateStore, sim: Simulator, moto: LocalService, vms: list[str]
) -> None:
    """What must never happen, read from the world's own records."""
    records = {r.instance_id: r for r in store.all()}
    result.phases = Counter(r.phase.value for r in records.values())
    result.lost = [vm for vm in vms if vm not in records]
    result.stuck = [
        vm
        for vm, r in records.items()
        if r.phase.value not in ENDED or (r.phase.value == "failed" and r.last_error is None)
    ]
    result.why_stuck = {vm: [f"{h.event}: {h.reason}" for h in store.history(vm)[-4:]] for vm in result.stuck}
    result.asr_twice = _asr_actions(sim, {200, 201, 202, 204})
    result.asr_refused_repeats = len(_asr_actions(sim, {400, 409}))
    result.duplicate_asr = len(result.asr_twice)
    for twice in result.asr_twice:  # the timeline of a VM an action was done twice for
        vm = twice.split()[0].removeprefix("azmigrate-")
        result.why_stuck.setdefault(vm, [f"{h.event}: {h.reason}" for h in store.history(vm)][-12:])
    result.duplicate_ssm = _duplicate_ssm_commands(moto, vms)


def _launch(moto: LocalService, count: int, prefix: str = "azmigrate") -> list[str]:
    ec2 = aws_client(moto.url, "ec2")
    image = next(
        i for i in ec2.describe_images(Owners=["amazon"])["Images"] if "RHEL-7.4_HVM" in i.get("Name", "")
    )
    made = ec2.run_instances(
        ImageId=image["ImageId"],
        MinCount=count,
        MaxCount=count,
        InstanceType="m5.large",
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [
                    {"Key": f"{prefix}:enabled", "Value": "true"},
                    {"Key": f"{prefix}:cutover", "Value": "auto"},
                    {"Key": "sim:guest-image", "Value": "rhel-9"},
                ],
            }
        ],
    )
    return [i["InstanceId"] for i in made["Instances"]]


def _deliver_events(hosts: list[Host], vms: list[str], rng: random.Random, duplicate: bool) -> None:
    events = [tag_event(vm, event_id=f"chaos-{vm}") for vm in vms] * (2 if duplicate else 1)
    rng.shuffle(events)
    for event in events:
        rng.choice(hosts).call("POST", "/api/ec2-events", event)  # a 503 is redelivered by the timer's pass


def _scheduled(plan: Plan, round_number: int, kills_left: int) -> str:
    """What a round brings: early on, while every VM is mid-lifecycle, each kind of trouble once;
    then the remaining kills every other round; otherwise plain passes on every host at once."""
    early = {
        1: "kill",
        2: "tables down",
        3: "tables down",
        4: "pause",
        5: "kill",
        6: "aws down",
        7: "aws down",
    }
    event = early.get(round_number, "kill" if round_number % 2 else "passes")
    if (event == "kill" and not kills_left) or (event == "pause" and (not plan.pause or plan.hosts < 2)):
        return "passes"
    if event.endswith("down") and not plan.outages:
        return "passes"
    return event


def _passes_at_once(hosts: list[Host], env: dict[str, str], settle: float = SETTLE_SECONDS) -> None:
    """Every host's reconcile timer at once (each fans a pass out on the queue), then the hosts work
    the queue until it is empty or the round's time is up."""
    threads = [
        threading.Thread(target=h.call, args=("POST", "/admin/functions/reconcile_timer")) for h in hosts
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    _settle(env, settle)


def _settle(env: dict[str, str], seconds: float = SETTLE_SECONDS) -> None:
    work = queue_client("AZMIGRATE_QUEUE_CONNECTION", env["AZMIGRATE_WORK_QUEUE"], env)
    with contextlib.suppress(TimeoutError):  # an outage keeps work failing: the next round goes on
        wait_until_empty([work], seconds)


def _pass_with_a_kill(
    hosts: list[Host],
    env: dict[str, str],
    mutations: Callable[[], int] | None,
    stand_ins: tuple[FaultProxy, FaultProxy],
) -> bool:
    """A fleet pass queued through one host, and a host SIGKILLed while it holds a message: when
    `mutations` counts the simulator's ledger, right after the first ASR mutation, Table Storage
    hanging (the effect sent, its record not yet written); otherwise with AWS hanging (a read in
    flight). Whether the host held a message when killed. It is started again; its messages come
    back after their lease and are worked by whichever host takes them."""
    tables, aws = stand_ins
    before = mutations() if mutations else 0
    if mutations is None:
        aws.hold()  # every read of the pass hangs: a worker that takes a message holds it
    hosts[0].call("POST", "/admin/functions/reconcile_timer")
    if mutations is not None:
        deadline = time.monotonic() + 30
        while mutations() == before and time.monotonic() < deadline:
            time.sleep(0.005)  # watching the ledger, bounded by the deadline
        tables.hold()  # the worker that mutated hangs writing its record
    victim = _frozen_holding_a_message(hosts, time.monotonic() + 5)
    if victim is None:  # the pass was worked out before the hang: the next one hangs in it
        hosts[0].call("POST", "/admin/functions/reconcile_timer")
        victim = _frozen_holding_a_message(hosts, time.monotonic() + 30)
    victim = victim or hosts[-1]
    landed = victim.kill()
    tables.release()
    aws.release()
    print(f"chaos: kill {'while holding a message' if landed else 'of an idle host'}", flush=True)
    victim.start()
    _settle(env)
    return landed


def _frozen_holding_a_message(hosts: list[Host], deadline: float) -> Host | None:
    """The first host seen holding a message, frozen (SIGSTOP) so it cannot settle that message
    before the kill; a host that settled it between the look and the freeze runs on and the
    watch goes on until the deadline."""
    while time.monotonic() < deadline:
        for host in hosts:
            if not host.holds_message():
                continue
            host.signal(signal.SIGSTOP)
            if host.holds_message():  # its log cannot change any more: it holds one for sure
                return host
            host.signal(signal.SIGCONT)
        time.sleep(0.002)  # watching the hosts' logs, bounded by the deadline
    return None


def _pass_with_a_pause(hosts: list[Host], env: dict[str, str], seconds: float) -> None:
    """The first host frozen while working a pass (GC, a frozen VM) until its leases ran out; the
    others then take over what it held; then it runs on, and must send nothing it no longer holds."""
    frozen, others = hosts[0], hosts[1:]
    frozen.call("POST", "/admin/functions/reconcile_timer")
    deadline = time.monotonic() + 30
    while not frozen.holds_message() and time.monotonic() < deadline:
        time.sleep(0.002)  # until it works a message (or the deadline: frozen idle, still a pause)
    frozen.signal(signal.SIGSTOP)
    time.sleep(seconds)  # the pause itself: the leases are measured in real time
    _passes_at_once(others, env)
    frozen.signal(signal.SIGCONT)
    _settle(env)


def _asr_actions(sim: Simulator, statuses: set[int]) -> list[str]:
    """ASR mutations answered with one of `statuses`, per item and action, beyond one plus the jobs
    there whose failure gave the app reason to send it again: with the accepted statuses, actions
    done twice; with the refusals, repeats ASR turned away (an enable of an existing item is a 409,
    an action while a job runs a 400) that changed nothing."""
    issued: dict[tuple[str, str], list[str]] = {}
    for entry in sim.vault.ledger:
        if entry["method"] == "GET" or entry["status"] not in statuses or not entry["item"]:
            continue
        action = {"PUT": "create", "PATCH": "update", "DELETE": "purge"}.get(entry["method"])
        key = (entry["item"], action or entry["path"].rsplit("/", 1)[-1])
        issued.setdefault(key, []).append(f"{entry['status']}@{entry['time'][11:19]}")
    failed = Counter(
        (job.item_name, job.action) for job in sim.vault.jobs.values() if job.finished and job.errors
    )
    return [
        f"{item} {action}: {' '.join(sent)}"
        for (item, action), sent in issued.items()
        for _ in range(max(0, len(sent) - _reasons(item, action, failed)))
    ]


# A failed job of the key's action gives the app reason to send these actions once more: the step
# itself is retried; a failed enable is removed first; a failed test failover is cleaned up; a failed
# migration rolls back to protected, where the test migration (and its cleanup) runs again.
FOLLOW_UPS = {
    "create": ("create", "remove"),
    "testFailover": ("testFailover", "testFailoverCleanup"),
    "testFailoverCleanup": ("testFailoverCleanup",),
    "unplannedFailover": ("unplannedFailover", "testFailover", "testFailoverCleanup"),
    "failoverCommit": ("failoverCommit",),
    "remove": ("remove",),
}


def _reasons(item: str, action: str, failed: Counter[tuple[str, str]]) -> int:
    """How often the app had reason to send `action` to `item`: once, plus once per failed job whose
    follow-ups include it."""
    return 1 + sum(n for (on, kind), n in failed.items() if on == item and action in FOLLOW_UPS.get(kind, ()))


def _duplicate_ssm_commands(moto: LocalService, vms: list[str]) -> int:
    """Guest checks and agent installs sent to one instance beyond the first of each: a healthy run
    (guests that pass, agents that register) sends each once, whichever attempt or host sends it."""
    ssm = aws_client(moto.url, "ssm")
    duplicates = 0
    for vm in vms:
        kinds = Counter(c["Comment"].split(" [", 1)[0] for c in ssm.list_commands(InstanceId=vm)["Commands"])
        duplicates += sum(count - 1 for count in kinds.values())
    return duplicates

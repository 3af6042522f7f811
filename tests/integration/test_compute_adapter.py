"""Our Compute adapter over the real azure-mgmt-compute SDK against the simulator's Compute side:
the test VM's instance view, its serial log (a SAS-style blob URL read without the ARM token), and a
managed Run Command sent without waiting and read back."""

from __future__ import annotations

import urllib.error
from collections.abc import Iterator

import pytest

from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.server import Simulator
from shared.errors import ActionRefused
from tests.conftest import T0
from tests.integration.asr_support import RG, SUB, VAULT, admin, advance, compute_adapter

pytestmark = pytest.mark.integration
GROUP = "rg-target"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(Vault(SUB, RG, VAULT, SimClock(scale=0, start=T0)), limits=None).start()
    yield simulator
    simulator.stop()


def test_a_test_vm_is_absent_then_booting_then_healthy(sim: Simulator):
    compute = compute_adapter(sim)
    assert compute.test_vm(GROUP, "web-1-test").found is False
    sim.vault.compute.create_test_vm("web-1-test", GROUP, "azmigrate-i-1", sim.vault.clock.now())
    booting = compute.test_vm(GROUP, "web-1-test")
    assert (booting.found, booting.provisioning, booting.power, booting.agent) == (
        True,
        "creating",
        "starting",
        "Not Ready",
    )
    assert booting.boot_log is False  # not read before the VM runs
    advance(sim, 120)
    healthy = compute.test_vm(GROUP, "web-1-test")
    assert (healthy.provisioning, healthy.power, healthy.agent) == ("succeeded", "running", "Ready")
    assert healthy.boot_log and healthy.boot_failure == ""


def test_a_kernel_panic_in_the_serial_log_is_found(sim: Simulator):
    admin(sim, "/admin/compute/faults", {"item": "azmigrate-i-2", "fault": "never_boots"})
    sim.vault.compute.create_test_vm("db-1-test", GROUP, "azmigrate-i-2", sim.vault.clock.now())
    advance(sim, 600)
    vm = compute_adapter(sim).test_vm(GROUP, "db-1-test")
    assert vm.agent == "Not Ready" and vm.boot_failure.startswith("[    2.500419] Kernel panic - not syncing")


@pytest.mark.parametrize(
    ("fault", "state", "exit_code"), [("", "Succeeded", 0), ("smoke_fails", "Failed", 1)]
)
def test_a_run_command_is_sent_without_waiting_and_read_back(
    sim: Simulator, fault: str, state: str, exit_code: int
):
    admin(sim, "/admin/compute/faults", {"item": "azmigrate-i-3", "fault": fault})
    sim.vault.compute.create_test_vm("app-1-test", GROUP, "azmigrate-i-3", sim.vault.clock.now())
    compute = compute_adapter(sim)
    assert compute.smoke(GROUP, "app-1-test", "azmigrate-smoke-a1") is None
    with pytest.raises(ActionRefused, match="agent is not ready"):  # too early: no agent yet
        compute.run_smoke(GROUP, "app-1-test", "azmigrate-smoke-a1", "systemctl is-active nginx")
    advance(sim, 120)
    compute.run_smoke(GROUP, "app-1-test", "azmigrate-smoke-a1", "systemctl is-active nginx")
    running = compute.smoke(GROUP, "app-1-test", "azmigrate-smoke-a1")
    assert running is not None and running.state == "Running" and not running.finished
    advance(sim, 60)
    done = compute.smoke(GROUP, "app-1-test", "azmigrate-smoke-a1")
    assert done is not None and (done.state, done.exit_code) == (state, exit_code)
    [sent] = [e for e in sim.vault.ledger if e["path"].endswith("/runCommands/azmigrate-smoke-a1")]
    assert sent["body"]["properties"]["source"] == {"script": "systemctl is-active nginx"}
    assert sent["body"]["location"] == "westeurope"  # the VM's, as the resource needs


def test_the_simulator_refuses_a_bad_fault(sim: Simulator):

    with pytest.raises(urllib.error.HTTPError) as refused:
        admin(sim, "/admin/compute/faults", {"item": "x", "fault": "explodes"})
    assert refused.value.code == 400

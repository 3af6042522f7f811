"""`bench/migrate.py`, reduced: a small fleet migrated in simulated time, one replication slot, so the
VMs queue for it and the pace the slots set shows in the figures."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_module

pytestmark = pytest.mark.integration


@pytest.mark.timeout(420)  # under a minute alone; more on a machine busy with the rest of the suite
def test_the_migration_bench_migrates_the_fleet_and_reports_simulated_time():
    result = run_module("bench.migrate", "--vms", "7", "--slots", "1", timeout=360)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    out = result.stdout
    assert "command: .venv/bin/python -m bench.migrate --vms 7 --slots 1" in out
    # The demo's five special cases do not migrate; the two ordinary VMs do, one slot at a time.
    assert "migrated 2 of 7 (finished: " in out
    took = re.search(
        r"all migrated after ([\d.]+)h \((\d+) passes of 0:05:00\); half of them by ([\d.]+)h", out
    )
    assert took is not None, out[-2000:]
    all_done, passes, half_done = float(took[1]), int(took[2]), float(took[3])
    assert all_done == pytest.approx(passes * 5 / 60, abs=0.005)
    assert half_done < all_done  # the second VM waited for the first one's slot
    assert re.search(r"\d+ Site Recovery calls \([\d.]+ per VM\)", out)
    events = re.search(
        r"transition events published: (\d+) \(([\d.]+) per VM; (\d+) distinct ids\): (.*)", out
    )
    assert events is not None, out[-2000:]
    # At least once, with the id a consumer dedupes by (a writer that lost a race publishes again).
    assert int(events[3]) > 0 and int(events[1]) >= int(events[3])
    assert "'migration.completed': 2" in events[4]  # the two that migrated
    assert re.search(r"record writes: \d+ \([\d.]+ per VM over the whole migration\)", out)

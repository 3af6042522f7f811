"""The after-suite leak check finds a process that carries the run id, and only such processes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from local.leaks import VARIABLE, main, survivors
from local.stack import process_alive


def test_leak_check_finds_and_ends_a_marked_process(capsys):
    run_id = f"probe-{uuid.uuid4().hex}"
    marked = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], env={**os.environ, VARIABLE: run_id}
    )
    unmarked = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], env={**os.environ, VARIABLE: "someone-else"}
    )
    try:
        assert set(survivors(run_id)) == {marked.pid}
        assert main(["leaks", run_id]) == 1
        assert str(marked.pid) in capsys.readouterr().err
        marked.wait(timeout=10)
        assert not process_alive(marked.pid)
        assert main(["leaks", run_id]) == 0
        assert process_alive(unmarked.pid)
    finally:
        for process in (marked, unmarked):
            process.kill()
            process.wait(timeout=10)

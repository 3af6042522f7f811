"""The local stand-ins: they answer the real clients on loopback and stop completely."""

from __future__ import annotations

import pytest

from local.stack import LocalService, aws_client, process_alive, running_stack, start_azurite
from shared.state.table import TableStateStore, open_table_service
from tests.conftest import instance_id, record
from tests.integration.aws_support import run_opted_in

pytestmark = pytest.mark.integration


def test_moto_answers_boto3_on_loopback(moto_server: LocalService):
    ec2 = aws_client(moto_server.url, "ec2")
    ids = set(run_opted_in(ec2, count=2))
    found = ec2.describe_instances(Filters=[{"Name": "tag:azmigrate:enabled", "Values": ["true"]}])
    assert ids <= {i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]}


def test_stack_stops_every_process_it_started():
    with running_stack() as stack:
        pids = [stack.azurite.pid, stack.moto.pid]
        assert all(process_alive(pid) for pid in pids)
    assert not any(process_alive(pid) for pid in pids)


def test_stack_stops_even_when_the_block_fails():
    pids: list[int] = []

    def fail_inside() -> None:
        with running_stack() as stack:
            pids.extend([stack.azurite.pid, stack.moto.pid])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside()
    assert len(pids) == 2
    assert not any(process_alive(pid) for pid in pids)


def test_azurite_with_a_data_folder_keeps_its_writes_across_a_restart(tmp_path):
    """Stopped as the stack stops it (SIGINT), Azurite keeps what it was told last; a Table outage in
    the chaos suite is such a stop and a start on the same port."""
    first = start_azurite(location=tmp_path)
    try:
        store = TableStateStore(
            open_table_service(connection=first.connection_string, account_url=None), "kept"
        )
        store.ensure_tables()
        store.create(record(1))
        store.close()
    finally:
        first.stop()
    assert not process_alive(first.pid)
    again = start_azurite(location=tmp_path, port=first.port)
    try:
        store = TableStateStore(
            open_table_service(connection=again.connection_string, account_url=None), "kept"
        )
        assert store.find(instance_id(1)) is not None
        store.close()
    finally:
        again.stop()

"""AWS timestamps parsed without dateutil must be the very values botocore's own parser gives."""

from __future__ import annotations

import pytest
from botocore.utils import parse_timestamp

from shared.adapters.aws_identity import default_session, quick_timestamp


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-28T12:34:56.000Z",  # EC2's LaunchTime and AttachTime
        "2026-11-28T12:34:56Z",
        "2026-11-28T12:34:56.123456+02:00",
        "2026-11-28T12:34:56",  # no zone: botocore's reading (UTC), not a naive datetime
        "Sat, 28 Nov 2026 12:34:56 GMT",  # not ISO 8601: botocore's parser
        1764333296,  # epoch seconds (SSM, CloudWatch)
        1764333296.5,
    ],
)
def test_a_timestamp_reads_as_botocore_reads_it(value: object):
    quick, slow = quick_timestamp(value), parse_timestamp(value)
    assert quick == slow and quick.utcoffset() == slow.utcoffset()


def test_sessions_parse_timestamps_quickly():
    parsers = default_session()._session.get_component("response_parser_factory")
    assert parsers._defaults["timestamp_parser"] is quick_timestamp

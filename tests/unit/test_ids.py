"""The one instance-id rule: i- and 8 or 17 lowercase hex digits, matched whole, everywhere."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from local.estate import tag_event
from shared.app.eventbridge import parse_ec2_event
from shared.errors import InvalidInput
from shared.model.ids import InstanceId, instance_ids_in, is_instance_id
from shared.reconcile.jobwatch import instance_of

GOOD = ["i-0123abcd", "i-0123456789abcdef0"]
BAD = ["i-0123456789", "i-0123abc", "i-0123456789abcdef01", "i-0123ABCD", "i-0123abcd\n", " i-0123abcd", ""]


@pytest.mark.parametrize("text", GOOD)
def test_ids_of_8_or_17_digits_pass_every_check(text):
    assert is_instance_id(text)
    assert TypeAdapter(InstanceId).validate_python(text) == text
    assert instance_of(f"azmigrate-{text}") == text
    assert parse_ec2_event(tag_event(text), "azmigrate").instance_id == text


@pytest.mark.parametrize("text", BAD)
def test_other_ids_fail_every_check(text):
    assert not is_instance_id(text)
    with pytest.raises(ValidationError):
        TypeAdapter(InstanceId).validate_python(text)
    with pytest.raises(InvalidInput):
        parse_ec2_event(tag_event(text), "azmigrate")


def test_an_item_name_yields_only_a_whole_valid_id():
    assert instance_of("azmigrate-i-0123456789") is None  # 10 digits: not its first 8
    assert instance_of("azmigrate-i-0123456789abcdef01") is None  # 18 digits: not its first 17
    assert instance_of("something-else-i-0123abcd") is None  # not one of our items


def test_an_id_inside_text_is_found_whole_and_never_by_its_first_digits():
    text = "/vaults/v/replicationProtectedItems/azmigrate-i-0123456789abcdef0 and azmigrate-i-0123456789"
    assert instance_ids_in(text, prefix="azmigrate-") == ["i-0123456789abcdef0"]
    assert instance_ids_in("azmigrate-i-0123abcd.", prefix="azmigrate-") == ["i-0123abcd"]

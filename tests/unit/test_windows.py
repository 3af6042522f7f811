from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.core.windows import in_window, parse_windows

SAT_NIGHT = parse_windows("Sat 22:00-06:00")


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (datetime(2026, 11, 28, 21, 59, tzinfo=UTC), False),  # Saturday, before
        (datetime(2026, 11, 28, 22, 0, tzinfo=UTC), True),
        (datetime(2026, 11, 29, 5, 59, tzinfo=UTC), True),  # Sunday morning: the same window
        (datetime(2026, 11, 29, 6, 0, tzinfo=UTC), False),
        (datetime(2026, 11, 29, 22, 30, tzinfo=UTC), False),  # Sunday night: no window
    ],
)
def test_a_window_that_crosses_midnight(moment, inside):
    assert in_window(moment, SAT_NIGHT) is inside


def test_no_windows_means_any_time_and_several_combine():
    assert in_window(datetime(2026, 11, 25, 12, tzinfo=UTC), ())
    both = parse_windows("mon 01:00-02:00, WED 12:00-13:00")
    assert in_window(datetime(2026, 11, 25, 12, 30, tzinfo=UTC), both)  # a Wednesday
    assert not in_window(datetime(2026, 11, 25, 13, 30, tzinfo=UTC), both)


@pytest.mark.parametrize("text", ["Saturday 22:00-06:00", "Sat 25:00-06:00", "Sat 22:00", "22:00-06:00"])
def test_malformed_windows_are_refused_with_a_reason(text):
    with pytest.raises(ValueError, match=r"window|range"):
        parse_windows(text)

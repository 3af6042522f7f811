"""Cutover windows: when the app may stop a source and migrate it. Times are UTC.

Written as comma-separated `Day HH:MM-HH:MM` (e.g. `Sat 22:00-06:00, Sun 22:00-06:00`); a window
whose end is before its start runs past midnight into the next day. No windows: any time.
A wave may have its own windows and cutover mode (`parse_wave_cutovers`); an instance's tags still win.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$", re.IGNORECASE
)


@dataclass(frozen=True)
class Window:
    day: int  # 0 = Monday
    start: time
    end: time

    def contains(self, moment: datetime) -> bool:
        for days_back in (0, 1):  # a window that crosses midnight began the day before
            begin_day = (moment - timedelta(days=days_back)).date()
            if begin_day.weekday() != self.day:
                continue
            begin = datetime.combine(begin_day, self.start, tzinfo=moment.tzinfo)
            end = datetime.combine(begin_day, self.end, tzinfo=moment.tzinfo)
            if end <= begin:
                end += timedelta(days=1)
            if begin <= moment < end:
                return True
        return False


def parse_windows(text: str) -> tuple[Window, ...]:
    windows = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        match = _WINDOW.match(part)
        if not match:
            raise ValueError(f"{part!r} is not a window like 'Sat 22:00-06:00'")
        day, h1, m1, h2, m2 = match.groups()
        try:
            windows.append(Window(DAYS.index(day.lower()), time(int(h1), int(m1)), time(int(h2), int(m2))))
        except ValueError:
            raise ValueError(f"{part!r} has an hour or minute out of range") from None
    return tuple(windows)


def in_window(moment: datetime, windows: tuple[Window, ...]) -> bool:
    return not windows or any(window.contains(moment) for window in windows)


def next_opening(moment: datetime, windows: tuple[Window, ...]) -> datetime | None:
    """When the next window opens after `moment` (None without windows: any time will do)."""
    openings = [
        datetime.combine(day, window.start, tzinfo=moment.tzinfo)
        for window in windows
        for day in ((moment + timedelta(days=n)).date() for n in range(8))
        if day.weekday() == window.day
    ]
    return min((o for o in openings if o > moment), default=None)


@dataclass(frozen=True)
class WaveCutover:
    """A wave's own cutover settings; None keeps the app's default."""

    mode: str | None = None  # auto | approval
    windows: tuple[Window, ...] | None = None  # () = any time


WAVE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def parse_wave_cutovers(text: str) -> dict[str, WaveCutover]:
    """`{"wave-a": {"mode": "auto", "windows": "Sat 22:00-06:00"}, ...}`; "" for none. Raises ValueError
    naming what is wrong."""
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"is not JSON: {error.msg} at character {error.pos}") from None
    if not isinstance(raw, dict):
        raise ValueError('must be a JSON object: {"wave": {"mode": "auto", "windows": "Sat 22:00-06:00"}}')
    waves = {}
    for wave, settings in raw.items():
        if not WAVE_NAME.match(wave):
            raise ValueError(f"wave {wave!r} is not a wave name (letters, digits, '.', '_', '-'; 63 at most)")
        if not isinstance(settings, dict) or not settings or set(settings) - {"mode", "windows"}:
            raise ValueError(f"wave {wave!r} takes an object with mode and/or windows, nothing else")
        mode, windows = settings.get("mode"), settings.get("windows")
        if mode is not None and mode not in ("auto", "approval"):
            raise ValueError(f"wave {wave!r}: mode must be auto or approval")
        if windows is not None and not isinstance(windows, str):
            raise ValueError(f"wave {wave!r}: windows must be a string like 'Sat 22:00-06:00'")
        try:
            parsed = parse_windows(windows) if windows is not None else None
        except ValueError as error:
            raise ValueError(f"wave {wave!r}: {error}") from None
        waves[wave] = WaveCutover(mode, parsed)
    return waves

"""A settable clock for the app's ``CLOCK`` setting: tests choose the instant, never the
calendar they happen to run on."""

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

# A Wednesday mid-morning in Shanghai: an ordinary working hour of an ordinary week.
DEFAULT_START = datetime(2026, 11, 18, 10, 0, tzinfo=SHANGHAI)

# One instant on each day of the week, each at another hour of the local day (early
# morning, night, around midnight UTC …): rules that depend on the calendar run on all.
EVERY_WEEKDAY = [datetime(2026, 11, 16 + day, (day * 7 + 1) % 24, 40, tzinfo=SHANGHAI)
                 for day in range(7)]


class TestClock:
    """Reads as ``start`` plus the real time since it was set, so that events inside one
    test still come in order; ``set`` and ``advance`` move it."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, start: datetime = DEFAULT_START):
        self.set(start)

    def set(self, instant: datetime) -> None:
        """From now on the clock reads ``instant`` (and runs on from there)."""
        self._start, self._set_at = instant.astimezone(UTC), time.monotonic()

    def advance(self, **delta) -> None:
        """Move the clock forward by ``timedelta(**delta)``."""
        self.set(self() + timedelta(**delta))

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._set_at)

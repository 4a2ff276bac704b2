"""Time periods as Thespian takes them: a `timedelta` or a number of seconds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def timePeriodSeconds(period: Any) -> float | None:
    """`period` in seconds: a `timedelta`, a number, or None (no limit).

    Raises:
        TypeError: `period` is none of these.
    """
    if period is None:
        return None
    if isinstance(period, timedelta):
        return period.total_seconds()
    if isinstance(period, int | float) and not isinstance(period, bool):
        return float(period)
    raise TypeError(
        "a time period is a timedelta or a number of seconds, "
        f"not {type(period).__name__}"
    )

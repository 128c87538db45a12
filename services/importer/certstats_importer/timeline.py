"""Turning OULAD relative day numbers into UTC instants (SPEC.md sections 2 and 7).

All instants are midnight UTC: OULAD only knows days.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

_START_MONTH = {"B": 2, "J": 10}
ARCHIVE_DELAY = timedelta(days=180)
"""2013 sessions are archived this long after they end (SPEC.md section 7)."""
PRESENTATION_YEARS = (2000, 8800)
"""Accepted years of a presentation code (before the shift)."""
SHIFT_YEARS = (0, 100)
"""Accepted shifts in years."""
DAY_LIMIT = 30_000
"""Largest accepted OULAD day number in absolute value (about 82 years).

With :data:`PRESENTATION_YEARS` and :data:`SHIFT_YEARS`, every instant the importer builds
(reference day, expiry, archive date included) lies within years 1917-8990, inside the
contracts' 1900-8999."""


def presentation_start(presentation: str, shift_years: int) -> datetime:
    """Start of a presentation ``YYYYB`` (1 February) or ``YYYYJ`` (1 October), shifted.

    Raises:
        ValueError: ``presentation`` is not four digits followed by ``B`` or ``J``, its year
            is outside :data:`PRESENTATION_YEARS` or ``shift_years`` outside :data:`SHIFT_YEARS`.
    """
    year, half = presentation[:4], presentation[4:]
    if len(presentation) != 5 or not year.isdigit() or half not in _START_MONTH:
        raise ValueError(f"presentation code {presentation!r} is not YYYYB or YYYYJ")
    if not PRESENTATION_YEARS[0] <= int(year) <= PRESENTATION_YEARS[1]:
        raise ValueError(f"presentation year {year} is outside {PRESENTATION_YEARS}")
    if not SHIFT_YEARS[0] <= shift_years <= SHIFT_YEARS[1]:
        raise ValueError(f"shift of {shift_years} years is outside {SHIFT_YEARS}")
    return datetime(int(year) + shift_years, _START_MONTH[half], 1, tzinfo=UTC)


def day(start: datetime, days: int) -> datetime:
    """The instant ``days`` days after ``start`` (negative = before)."""
    return start + timedelta(days=days)


def add_months(instant: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day to the month's end (2024-01-31 + 1 = 2024-02-29)."""
    month_index = instant.month - 1 + months
    year, month = instant.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return instant.replace(year=year, month=month, day=min(instant.day, last_day))


def rfc3339(instant: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` of a UTC instant (the envelope ``time`` format)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

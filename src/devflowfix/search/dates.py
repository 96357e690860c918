"""Date presets resolved to UTC ranges, optionally in the caller's timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class DatePreset(StrEnum):
    TODAY = "today"
    YESTERDAY = "yesterday"
    THIS_WEEK = "this_week"
    LAST_WEEK = "last_week"
    THIS_MONTH = "this_month"
    LAST_MONTH = "last_month"
    LAST_7_DAYS = "last_7_days"
    LAST_30_DAYS = "last_30_days"
    LAST_90_DAYS = "last_90_days"


@dataclass(frozen=True)
class DateRange:
    """`start <= created_at < end`, both aware UTC datetimes, either may be open."""

    start: datetime | None
    end: datetime | None
    preset: DatePreset | None = None
    end_inclusive: bool = False


def _local_days(preset: DatePreset, today: datetime) -> tuple[datetime, datetime]:
    """The first local day of the preset and the local day after its last."""
    day = today.replace(hour=0, minute=0, second=0, microsecond=0)
    one = timedelta(days=1)
    if preset is DatePreset.TODAY:
        return day, day + one
    if preset is DatePreset.YESTERDAY:
        return day - one, day

    if preset in (DatePreset.THIS_WEEK, DatePreset.LAST_WEEK):
        monday = day - timedelta(days=day.weekday())
        if preset is DatePreset.LAST_WEEK:
            monday -= timedelta(days=7)
        return monday, monday + timedelta(days=7)

    if preset in (DatePreset.THIS_MONTH, DatePreset.LAST_MONTH):
        first = day.replace(day=1)
        if preset is DatePreset.LAST_MONTH:
            first = (first - one).replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following

    days = {
        DatePreset.LAST_7_DAYS: 7,
        DatePreset.LAST_30_DAYS: 30,
        DatePreset.LAST_90_DAYS: 90,
    }[preset]

    # As in the API's own example: last_7_days on the 28th is the 21st 00:00
    # through the end of the 28th.
    return day - timedelta(days=days), day + one


def resolve_preset(
    preset: DatePreset, *, now: datetime, timezone: str | None = None
) -> DateRange:
    """The UTC range a preset means at `now`, with days counted in `timezone`."""
    zone = ZoneInfo(timezone) if timezone else UTC
    local_now = now.astimezone(zone)
    first, after_last = _local_days(preset, local_now)
    start = datetime.combine(first.date(), time(), zone).astimezone(UTC)
    end = datetime.combine(after_last.date(), time(), zone).astimezone(UTC)
    return DateRange(start=start, end=end, preset=preset)

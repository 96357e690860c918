"""How long an export job is said to take, from the rates of earlier jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devflowfix.exports.estimates import describe_estimate, measured_rate

STARTED = datetime(2026, 12, 3, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.2, "1-2 seconds"),
        (4.5, "4-14 seconds"),
        (19.9, "19-60 seconds"),
        (25.0, "1-2 minutes"),
        (100.0, "1-5 minutes"),
        (600.0, "10-30 minutes"),
    ],
)
def test_the_estimate_is_a_range_up_to_three_times_slower(
    seconds: float, shown: str
) -> None:
    assert describe_estimate(seconds) == shown


def test_the_rate_is_incidents_over_seconds_of_finished_runs() -> None:
    runs = [
        ({"incidents": 3000}, STARTED, STARTED + timedelta(seconds=1)),
        ({"incidents": 1000}, STARTED, STARTED + timedelta(seconds=3)),
        ({"days": 30}, STARTED, STARTED + timedelta(seconds=9)),
        ({"incidents": 500}, None, STARTED),
    ]

    assert measured_rate(runs) == 1000.0


def test_no_finished_incident_export_gives_no_rate() -> None:
    assert measured_rate([]) is None
    assert measured_rate([({"incidents": 0}, STARTED, STARTED)]) is None

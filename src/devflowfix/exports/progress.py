"""How a long export reports its progress and learns that it was cancelled.

The writers call `ExportControl.advance` as they go; a job hands in callbacks
that record progress and ask whether the user cancelled, a direct download
hands in none. Cancellation raises `ExportCancelled` out of the writer, and the
caller throws the partial output away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class ExportStep(StrEnum):
    """The phases of an export, in order: CSV has rows only, PDF both."""

    ROWS = "rows"
    PAGES = "pages"


class ExportCancelled(Exception):
    """The export was cancelled; whatever it wrote so far must be discarded."""


ReportProgress = Callable[[ExportStep, int, int | None], None]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class ExportControl:
    """Progress reporting and cancellation checks for one export."""

    report: ReportProgress | None = None
    cancelled: CancelCheck | None = None

    def advance(self, step: ExportStep, done: int, total: int | None) -> None:
        """Record `done` of `total` units of `step`, or stop if cancelled."""
        if self.cancelled is not None and self.cancelled():
            raise ExportCancelled
        if self.report is not None:
            self.report(step, done, total)


NO_CONTROL = ExportControl()

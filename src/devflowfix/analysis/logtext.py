"""CI logs made readable: colours, timestamps and provider markers removed.

GitHub Actions, GitLab CI and Jenkins each decorate their logs differently.
`read_log` turns the part of a log worth reading into plain lines and keeps what
the decoration said: where steps begin, which commands ran, and which lines the
CI itself flagged as errors.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from enum import StrEnum

# CSI sequences (colours, erase-line) and OSC sequences (titles, links).
ANSI = re.compile(
    r"\x1b\[[0-9;?]{0,32}[ -/]{0,4}[@-~]|\x1b\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)"
)
# GitHub and GitLab put an ISO timestamp first (GitLab adds a stream tag such
# as `00O+`); Jenkins' Timestamper plugin writes `[iso]` or `HH:MM:SS`; Docker
# BuildKit prefixes a step's output with `#<step> <seconds>`.
TIMESTAMP = re.compile(
    r"^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z(?: \d\d[OE]\+?)? ?"
    r"|\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z?\] ?"
    r"|\d\d:\d\d:\d\d(?:\.\d{1,6})?  ?"
    r"|#\d{1,4} \d{1,5}\.\d{1,4} )"
)
GITLAB_SECTION = re.compile(
    r"^section_(start|end):\d{1,20}:([\w.-]{1,100})(?:\[[^\]]{0,100}\])?"
)
JENKINS_STAGE = re.compile(r"^\[Pipeline\] \{ \((.{1,200})\)$")
WARNING_LINE = re.compile(
    r"^\s{0,8}(?:\[?warn(?:ing)?\b|npm warn\b|yarn warn|warn |W: |.{0,40}\bDEPRECAT)",
    re.IGNORECASE,
)
# Sections and stages that run after the failing one; the failure is not there.
TRAILING_STEPS = frozenset(
    {
        "after_script",
        "archive_cache",
        "archive_cache_on_failure",
        "upload_artifacts_on_failure",
        "cleanup_file_variables",
        "Declarative: Post Actions",
    }
)
# GitLab's own section names say less than the command that ran in them.
RUNNER_SECTIONS = frozenset(
    {"step_script", "build_script", "script", "after_script", "prepare_script"}
)
CI_FAILURE_LINES = (
    "ERROR: Job failed",
    "Finished: FAILURE",
    "Finished: UNSTABLE",
    "ERROR: script returned exit code",
)


class StepKind(StrEnum):
    STEP = "step"
    COMMAND = "command"


@dataclass(frozen=True)
class Step:
    """A step, stage or section header, or a command the CI echoed."""

    kind: StepKind
    name: str
    line: int


class LogView:
    """Normalised lines of (part of) a log, with what the CI marked in them."""

    def __init__(
        self,
        lines: list[str],
        *,
        first_line_number: int = 1,
        steps: list[Step] | None = None,
        error_lines: list[int] | None = None,
    ) -> None:
        self.lines = lines
        self.first_line_number = first_line_number
        self.steps = steps or []
        self.error_lines = error_lines or []
        self.text = "\n".join(lines)
        self.lowered = self.text.lower()
        self.offsets: list[int] = []
        position = 0
        for line in lines:
            self.offsets.append(position)
            position += len(line) + 1

    def line_at(self, offset: int) -> int:
        """The index of the line that holds character `offset` of `text`."""
        return max(0, bisect_right(self.offsets, offset) - 1)

    def line_number(self, index: int) -> int:
        """The 1-based line number in the whole log of line `index`."""
        return self.first_line_number + index

    def is_warning(self, index: int) -> bool:
        return bool(WARNING_LINE.match(self.lines[index]))

    def step_before(self, index: int, kind: StepKind) -> Step | None:
        """The last step (or command) that began at or before line `index`."""
        found = None
        for step in self.steps:
            if step.line > index:
                break
            if step.kind is kind:
                found = step
        return found

    def failing_step(self) -> Step | None:
        """The step the CI's first error line belongs to, if the CI marked one."""
        if not self.error_lines:
            return None
        candidates = [
            step
            for step in self.steps
            if step.kind is StepKind.STEP and step.line <= self.error_lines[0]
        ]
        for step in reversed(candidates):
            if step.name not in TRAILING_STEPS and not self._skipped(step):
                return step
        return None

    def _skipped(self, step: Step) -> bool:
        following = self.lines[step.line + 1 : step.line + 3]
        return any("skipped due to earlier failure" in line for line in following)


def tail_of(text: str, max_chars: int) -> tuple[str, int]:
    """The last `max_chars` of `text`, starting at a line, and where it starts."""
    if len(text) <= max_chars:
        return text, 0
    start = text.find("\n", len(text) - max_chars)
    if start < 0:
        return text[-max_chars:], len(text) - max_chars
    return text[start + 1 :], start + 1


def read_log(text: str, *, first_line_number: int = 1) -> LogView:
    """Normalise `text` line by line into a `LogView`."""
    if "\x1b" in text:
        text = ANSI.sub("", text)
    marks = _Marks()
    lines: list[str] = []
    for raw in text.splitlines():
        kept = marks.read(_without_timestamp(raw), len(lines))
        if kept is not None:
            lines.append(kept)
    return LogView(
        lines,
        first_line_number=first_line_number,
        steps=marks.steps,
        error_lines=marks.error_lines,
    )


def _without_timestamp(line: str) -> str:
    first = line[:1]
    if first.isdigit() or first == "[" or (first == "#" and line[1:2].isdigit()):
        match = TIMESTAMP.match(line)
        if match:
            return line[match.end() :]
    return line


class _Marks:
    """What the markers of one log said, collected while its lines are read."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.error_lines: list[int] = []

    def read(self, line: str, index: int) -> str | None:
        """The line as it should read, or None to drop it."""
        first = line[:1]
        if first == "#" and line.startswith("##["):
            return self._github(line, index)
        if first == "s" and line.startswith("section_"):
            return self._gitlab(line, index)
        if first == "[" and line.startswith("[Pipeline]"):
            stage = JENKINS_STAGE.match(line)
            if stage is None:
                return None
            self.steps.append(Step(StepKind.STEP, stage.group(1), index))
            return stage.group(1)
        if first in "$+" and line[1:2] == " " and len(line) > 2:
            self.steps.append(Step(StepKind.COMMAND, line[2:].strip()[:200], index))
        elif first in "EF" and line.startswith(CI_FAILURE_LINES):
            self.error_lines.append(index)
        return line

    def _github(self, line: str, index: int) -> str | None:
        end = line.find("]")
        marker, rest = line[3:end], line[end + 1 :]
        if marker == "group":
            name = rest[4:] if rest.startswith("Run ") else rest
            self.steps.append(Step(StepKind.STEP, name.strip()[:200], index))
        elif marker == "endgroup":
            return None
        elif marker == "error":
            self.error_lines.append(index)
        elif marker == "warning":
            return "WARNING: " + rest
        return rest

    def _gitlab(self, line: str, index: int) -> str | None:
        match = GITLAB_SECTION.match(line)
        if match is None:
            return line
        if match.group(1) == "start":
            self.steps.append(Step(StepKind.STEP, match.group(2), index))
        return line[match.end() :].strip() or None

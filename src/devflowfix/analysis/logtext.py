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
PREFIX = re.compile(
    r"^(?:(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z(?: \d\d[OE]\+?)? ?"
    r"|\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z?\] ?"
    r"|\d\d:\d\d:\d\d(?:\.\d{1,6})?  ?)(?:#\d{1,4} \d{1,5}\.\d{1,4} )?"
    r"|#\d{1,4} \d{1,5}\.\d{1,4} )",
    re.MULTILINE,
)
# The start of every line the provider's decoration means something on.
MARKER = re.compile(
    r"^(?:##\[|section_(?:start|end):|\[Pipeline\]|[$+] |ERROR: Job failed"
    r"|Finished: (?:FAILURE|UNSTABLE)|ERROR: script returned exit code)",
    re.MULTILINE,
)
GITLAB_SECTION = re.compile(
    r"^section_(start|end):\d{1,20}:([\w.-]{1,100})(?:\[[^\]]{0,100}\])?"
)
JENKINS_STAGE = re.compile(r"^\[Pipeline\] \{ \((.{1,200})\)$")
# A warning did not fail the build. Kubernetes event tables start a line with
# the event type `Warning` followed by a reason column: those lines count.
WARNING_LINE = re.compile(
    r"^\s{0,8}(?:\[?warn(?:ing)?\b(?!\s{2,}[A-Z])|npm warn\b|yarn warn|warn |W: "
    r"|.{0,40}\bDEPRECAT)",
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
    """Normalise `text` into a `LogView`, one view line per log line.

    The work happens in whole-text regex passes; only the lines that carry a
    marker are looked at one by one. Marker-only lines become empty rather
    than disappear, so view lines keep the log's line numbers.
    """
    if "\x1b" in text:
        text = ANSI.sub("", text)
    if "\r" in text:
        # GitLab redraws progress with a bare carriage return.
        text = text.replace("\r\n", "\n").replace("\r", "\n")

    text = PREFIX.sub("", text)
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()

    marks = _Marks(lines)
    index, position = 0, 0
    for match in MARKER.finditer(text):
        index += text.count("\n", position, match.start())
        position = match.start()
        marks.read(index)

    return LogView(
        lines,
        first_line_number=first_line_number,
        steps=marks.steps,
        error_lines=marks.error_lines,
    )


class _Marks:
    """What the markers of one log said; rewrites the marker lines in place."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.steps: list[Step] = []
        self.error_lines: list[int] = []

    def read(self, index: int) -> None:
        line = self.lines[index]
        first = line[:1]

        if first == "#":
            self.lines[index] = self._github(line, index)
        elif first == "s":
            self.lines[index] = self._gitlab(line, index)
        elif first == "[":
            stage = JENKINS_STAGE.match(line)
            if stage is not None:
                self.steps.append(Step(StepKind.STEP, stage.group(1), index))
            self.lines[index] = stage.group(1) if stage is not None else ""
        elif first in "$+":
            self.steps.append(Step(StepKind.COMMAND, line[2:].strip()[:200], index))
        else:
            self.error_lines.append(index)

    def _github(self, line: str, index: int) -> str:
        end = line.find("]")
        marker, rest = line[3:end], line[end + 1 :]
        if marker == "group":
            name = rest[4:] if rest.startswith("Run ") else rest
            self.steps.append(Step(StepKind.STEP, name.strip()[:200], index))
        elif marker == "endgroup":
            return ""
        elif marker == "error":
            self.error_lines.append(index)
        elif marker == "warning":
            return "WARNING: " + rest

        return rest

    def _gitlab(self, line: str, index: int) -> str:
        match = GITLAB_SECTION.match(line)
        if match is None:
            return line
        if match.group(1) == "start":
            self.steps.append(Step(StepKind.STEP, match.group(2), index))
        return line[match.end() :].strip()

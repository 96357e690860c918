"""Facts taken from the log around the failure: files, the step, a signature."""

from __future__ import annotations

import re
from dataclasses import dataclass

from devflowfix.analysis.logtext import (
    RUNNER_SECTIONS,
    WARNING_LINE,
    LogView,
    StepKind,
)
from devflowfix.analysis.paths import workspace_relative

MAX_REFERENCES = 10
REFERENCE_RADIUS_LINES = 15
MAX_MESSAGE_CHARS = 500
MAX_SIGNATURE_CHARS = 255

SOURCE_SUFFIX = (
    r"(?:py|pyi|js|jsx|mjs|cjs|ts|tsx|vue|svelte|java|kt|kts|scala|groovy|go|rs|"
    r"cs|fs|vb|rb|php|c|cc|cpp|cxx|h|hh|hpp|m|mm|swift|tf|hcl|ya?ml|json|toml|sh|"
    r"gradle|xml|sql|ex|exs|dart|lua|pl|proto)"
)
REFERENCE = re.compile(
    r'File "(?P<py_path>[^"\n]{1,300})", line (?P<py_line>\d{1,7})'
    r"|(?<![\w/.\-])(?P<path>(?:[A-Za-z]:)?[\w./\\@+\-]{0,300}[\w\-]\."
    + SOURCE_SUFFIX
    + r")"
    r"(?:(?::|\s?\()(?P<line>\d{1,7})(?:[:,](?P<column>\d{1,5}))?\)?"
    r"|:\[(?P<bracket_line>\d{1,7}),(?P<bracket_column>\d{1,5})\]"
    r"| on line (?P<php_line>\d{1,7})| line (?P<word_line>\d{1,7}))?"
    r"(?![\w/])"
)
LIBRARY_PATHS = (
    "site-packages/",
    "dist-packages/",
    "node_modules/",
    "/usr/lib/",
    "/usr/local/lib/",
    "/opt/hostedtoolcache/",
    "/.cargo/registry/",
    "/go/pkg/mod/",
    "/gems/",
    "<frozen ",
    "internal/modules/",
)
# Names that look like files but are products ("Node.js v22.11.0").
PRODUCT_NAMES = frozenset({"Node.js", "Next.js", "Nuxt.js", "Vue.js", "Express.js"})
VOLATILE = re.compile(
    r"\b[0-9a-f]{7,64}\b|\b\d{4}-\d\d-\d\d[T ][\d:.]{5,15}Z?\b|\b0x[0-9a-f]{1,16}\b"
    r"|\b\d+(?:\.\d+)?(?:ms|s|m|h|kb|mb|gb|%)?\b|/tmp/[\w./\-]{1,200}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FileReference:
    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        suffix = f":{self.column}" if self.column is not None else ""
        return f"{self.path}:{self.line}{suffix}"


def find_references(view: LogView, around: int | None) -> tuple[FileReference, ...]:
    """File and line references near line `around` (the whole view if None),
    the project's own files before library frames."""
    if around is None:
        lines = view.lines[-REFERENCE_RADIUS_LINES * 2 :]
    else:
        start = max(0, around - REFERENCE_RADIUS_LINES)
        lines = view.lines[start : around + REFERENCE_RADIUS_LINES]

    found: dict[str, FileReference] = {}
    for line in lines:
        if WARNING_LINE.match(line):
            continue
        for match in REFERENCE.finditer(line):
            reference = _reference(match)
            if reference.path not in PRODUCT_NAMES:
                found.setdefault(str(reference), reference)

    own = [ref for ref in found.values() if not _is_library(ref.path)]
    libraries = [ref for ref in found.values() if _is_library(ref.path)]
    with_lines = [ref for ref in own if ref.line is not None]
    located = {ref.path for ref in with_lines}
    without = [ref for ref in own if ref.line is None and ref.path not in located]

    return tuple((with_lines + without + libraries)[:MAX_REFERENCES])


def _reference(match: re.Match[str]) -> FileReference:
    groups = match.groupdict()
    path = groups["py_path"] or groups["path"]
    line = next(
        (
            int(value)
            for name in ("py_line", "line", "bracket_line", "php_line", "word_line")
            if (value := groups[name])
        ),
        None,
    )

    column = groups["column"] or groups["bracket_column"]
    return FileReference(
        workspace_relative(path), line, int(column) if column else None
    )


def _is_library(path: str) -> bool:
    return any(marker in path for marker in LIBRARY_PATHS)


def failing_step(view: LogView, around: int | None) -> str | None:
    """The step, stage or command the failure happened in."""
    if around is not None:
        anchor = around
    elif view.error_lines:
        anchor = view.error_lines[0]
    else:
        return None

    step = view.failing_step() or view.step_before(anchor, StepKind.STEP)
    command = view.step_before(anchor, StepKind.COMMAND)
    use_command = command is not None and (
        step is None or (step.name in RUNNER_SECTIONS and command.line >= step.line)
    )

    if use_command and command is not None:
        return command.name

    return step.name if step is not None else None


def clean_message(text: str | None) -> str | None:
    """A log line fit to be an incident's error message."""
    if not text:
        return None

    text = " ".join(text.split())
    if text.startswith("E "):
        # pytest's marker for the lines of a failure.
        text = text[2:]
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 3] + "..."

    return text or None


def error_signature(rule_id: str, message: str | None) -> str:
    """What stays the same when the same failure happens again: the rule and
    the message without paths, numbers, hashes and times."""
    text = workspace_relative(message or "")
    text = VOLATILE.sub("#", text)
    text = " ".join(text.split())
    return f"{rule_id}: {text}"[:MAX_SIGNATURE_CHARS]

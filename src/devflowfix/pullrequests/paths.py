"""Paths inside a repository: what a fix may change, and what a patch touches."""

from __future__ import annotations

import re

MAX_PATH_CHARS = 1024
# Lines of a git diff that name a path; `---`/`+++` carry an `a/` or `b/` prefix.
PATH_LINES = re.compile(
    r"^(?:(?P<side>---|\+\+\+) |(?P<kind>rename|copy) (?:from|to) )(?P<path>.+)$"
)
HUNK = re.compile(r"^@@ -\d+(?:,(?P<old>\d+))? \+\d+(?:,(?P<new>\d+))? @@")
QUOTED_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f"}
QUOTED_ESCAPES |= {"r": "\r", '"': '"', "\\": "\\"}


def check_repository_path(path: str) -> str:
    """`path` when it names a file inside the repository, else ValueError why."""
    if not path or len(path) > MAX_PATH_CHARS:
        raise ValueError(f"a path has 1 to {MAX_PATH_CHARS} characters")
    if "\0" in path or any(ord(char) < 32 for char in path):
        raise ValueError("a path has no control characters")
    if "\\" in path:
        raise ValueError("separate directories with /, not \\")
    if path.startswith("/"):
        raise ValueError("the path must be relative to the repository root")

    parts = path.split("/")
    if ".." in parts:
        raise ValueError("the path must not leave the repository ('..')")
    if any(part in {"", "."} for part in parts):
        raise ValueError("the path has an empty or '.' part")
    if any(part.lower() == ".git" for part in parts):
        raise ValueError("the path must not be inside .git")

    return path


def patch_paths(patch: str) -> list[str]:
    """Every path a unified diff names, without git's `a/` and `b/` prefixes."""
    paths: list[str] = []
    old_left = new_left = 0
    for line in patch.splitlines():
        if old_left > 0 or new_left > 0:
            # Inside a hunk a removed line may well start with "--- ".
            old_left, new_left = _count_hunk_line(line, old_left, new_left)
            continue

        hunk = HUNK.match(line)
        if hunk is not None:
            old_left, new_left = int(hunk["old"] or 1), int(hunk["new"] or 1)
        elif line.startswith("diff --git "):
            paths.extend(_git_header_paths(line.removeprefix("diff --git ")))
        else:
            paths.extend(_named_path(line))

    return list(dict.fromkeys(paths))


def _count_hunk_line(line: str, old_left: int, new_left: int) -> tuple[int, int]:
    if line.startswith("-"):
        return old_left - 1, new_left
    if line.startswith("+"):
        return old_left, new_left - 1
    if line.startswith("\\"):
        return old_left, new_left
    return old_left - 1, new_left - 1


def _named_path(line: str) -> list[str]:
    match = PATH_LINES.match(line)
    if match is None:
        return []
    path = _unquote(match["path"].split("\t", 1)[0])
    if path == "/dev/null":
        return []
    return [_strip_prefix(path)] if match["side"] else [path]


def _git_header_paths(names: str) -> list[str]:
    # "a/X b/X": the two names are the same unless the file is renamed, in which
    # case the rename lines name both.
    if names.startswith('"'):
        quoted = re.findall(r'"(?:[^"\\]|\\.)*"|\S+', names)
        return [_strip_prefix(_unquote(name)) for name in quoted[:2]]

    length = (len(names) - 5) // 2
    first, middle, second = (
        names[2 : 2 + length],
        names[2 + length : 5 + length],
        names[5 + length :],
    )
    if names[:2] == "a/" and middle == " b/" and first == second:
        return [first]

    before, _, after = names.partition(" b/")
    return [_strip_prefix(before), after]


def _strip_prefix(path: str) -> str:
    # `git apply` strips one leading directory (-p1): `a/` or `b/`.
    return path.split("/", 1)[1] if "/" in path else path


def _unquote(text: str) -> str:
    # Git quotes unusual paths C-style: "a/caf\303\251.txt".
    if not (len(text) >= 2 and text.startswith('"') and text.endswith('"')):
        return text

    raw = bytearray()
    body = text[1:-1]
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\" or index + 1 == len(body):
            raw += char.encode("utf-8")
            index += 1
            continue

        escape = body[index + 1]
        if escape in "01234567" and re.match(r"[0-7]{3}", body[index + 1 :]):
            raw.append(int(body[index + 1 : index + 4], 8))
            index += 4
            continue

        raw += QUOTED_ESCAPES.get(escape, escape).encode("utf-8")
        index += 2

    return raw.decode("utf-8", errors="replace")

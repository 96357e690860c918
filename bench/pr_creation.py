"""Time the git part of a fix pull request against the naive design, same run.

DevFlowFix's design: `ls-remote`, a depth-1 fetch of the base branch, the patch
applied to the index only (no checkout), `commit-tree`, push. The naive design:
a full `git clone` with checkout, `git checkout -b`, `git apply --index`,
`git commit`, push; and between them a depth-1 clone with checkout, to tell the
share of the history from the share of the checkout. All push a new branch to
the same local bare repository of a realistic size (many files, long history);
each figure is the median of repeated runs, the designs taking turns so that
load on the machine hits them alike.

    python bench/pr_creation.py [--files 5000] [--commits 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from devflowfix.logging import configure_logging
from devflowfix.pullrequests.git import Identity, Workspace
from devflowfix.pullrequests.remotes import Remote

IDENTITY = Identity("DevFlowFix", "devflowfix@localhost")
ENVIRONMENT = {
    "PATH": os.environ.get("PATH", os.defpath),
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=stdin,
        env={**ENVIRONMENT, "HOME": str(cwd)},
        capture_output=True,
        check=True,
    ).stdout


def module_text(index: int, revision: int) -> bytes:
    padding = "# " + "x" * 900
    return f"def value_{index:05d}():\n    return {revision}\n{padding}\n".encode()


# Module 0 is never changed by the history, so this patch always applies.
PATCH = (
    "diff --git a/src/module_00000.py b/src/module_00000.py\n"
    "--- a/src/module_00000.py\n"
    "+++ b/src/module_00000.py\n"
    "@@ -1,3 +1,3 @@\n"
    " def value_00000():\n"
    "-    return 0\n"
    "+    return 0.0\n"
    f" # {'x' * 900}\n"
)


def build_remote(path: Path, files: int, commits: int) -> None:
    """A bare repository: `files` files in the first commit, then `commits` more."""
    git(path.parent, "init", "--quiet", "--bare", "--initial-branch=main", str(path))
    stream = bytearray()
    mark_time = 1_700_000_000
    for commit in range(commits + 1):
        stream += b"commit refs/heads/main\n"
        stream += (
            f"committer Bench <bench@example.com> {mark_time + commit} +0000\n".encode()
        )
        message = f"Commit {commit}\n".encode()
        stream += b"data %d\n%s" % (len(message), message)
        changed = range(files) if commit == 0 else [1 + (commit * 7919) % (files - 1)]
        for index in changed:
            data = module_text(index, commit if commit else 0)
            stream += f"M 100644 inline src/module_{index:05d}.py\n".encode()
            stream += b"data %d\n%s\n" % (len(data), data)
        stream += b"\n"
    git(path, "fast-import", "--quiet", stdin=bytes(stream))
    git(path, "gc", "--quiet")


def push_index_only(remote: Path, branch: str, work: Path) -> None:
    with Workspace.create(
        Remote(url=str(remote)), IDENTITY, timeout_seconds=600, parent=work
    ) as workspace:
        workspace.remote_refs(["main", branch])
        base = workspace.fetch(["main"])["main"]
        workspace.load_tree(base)
        workspace.apply_patch(PATCH, may_be_applied=False)
        commit = workspace.commit(workspace.index_tree(), base, "Fix\n")
        workspace.push(commit, branch)


def push_full_clone(remote: Path, branch: str, work: Path) -> None:
    push_from_clone(remote, branch, work, [])


def push_shallow_clone(remote: Path, branch: str, work: Path) -> None:
    push_from_clone(remote, branch, work, ["--depth=1", "--single-branch"])


def push_from_clone(remote: Path, branch: str, work: Path, options: list[str]) -> None:
    with tempfile.TemporaryDirectory(dir=work) as directory:
        checkout = Path(directory) / "clone"
        url = f"file://{remote}"
        git(Path(directory), "clone", "--quiet", *options, url, str(checkout))
        git(checkout, "checkout", "--quiet", "-b", branch)
        git(checkout, "apply", "--index", "-", stdin=PATCH.encode())
        git(checkout, "commit", "--quiet", "-m", "Fix")
        git(checkout, "push", "--quiet", "origin", branch)


def measure(
    designs: dict[str, Callable[[Path, str, Path], None]],
    remote: Path,
    work: Path,
    runs: int,
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in designs}
    for run in range(runs):
        for name, design in designs.items():
            branch = f"bench/{name.split()[0].lower()}-{run}"
            started = time.perf_counter()
            design(remote, branch, work)
            timings[name].append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--files", type=int, default=5000, help="files in the repository"
    )
    parser.add_argument("--commits", type=int, default=2000, help="commits of history")
    parser.add_argument("--runs", type=int, default=5, help="runs of each design")
    options = parser.parse_args()
    configure_logging(json_lines=False, level="WARNING")
    console = Console()

    root = Path(tempfile.mkdtemp(prefix="devflowfix-bench-pr-"))
    try:
        remote = root / "remote.git"
        started = time.perf_counter()
        build_remote(remote, options.files, options.commits)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in remote.rglob("*") if p.is_file())
        console.print(
            f"repository: {options.files} files, {options.commits + 1} commits, "
            f"{size / 1e6:.1f} MB packed, built in {seconds:.1f} s"
        )
        designs = {
            "DevFlowFix (depth 1, index only)": push_index_only,
            "shallow clone, checkout": push_shallow_clone,
            "naive (full clone, checkout)": push_full_clone,
        }
        timings = measure(designs, remote, root, options.runs)
    finally:
        shutil.rmtree(root)

    report(console, timings, options.runs)


def report(console: Console, timings: dict[str, list[float]], runs: int) -> None:
    version = subprocess.run(
        ["git", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    table = Table(title=f"fix branch: fetch, apply, commit, push ({runs} runs each)")
    for column in ("design", "median s", "min s", "max s"):
        table.add_column(column, justify="left" if column == "design" else "right")
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, values in timings.items():
        table.add_row(
            name, f"{medians[name]:.3f}", f"{min(values):.3f}", f"{max(values):.3f}"
        )
    console.print(table)

    ours = next(iter(medians.values()))
    for name, median in list(medians.items())[1:]:
        console.print(f"{name} / DevFlowFix, median ratio: {median / ours:.1f}x")
    console.print(
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {version}"
    )


if __name__ == "__main__":
    main()

"""The result store: names, atomic writes and clean-up on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from devflowfix.jobs.results import ResultStore, safe_filename


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\export.csv", "export.csv"),
        ("  spaced.csv ", "spaced.csv"),
    ],
)
def test_only_the_last_part_of_a_name_is_kept(given: str, kept: str) -> None:
    assert safe_filename(given) == kept


@pytest.mark.parametrize("given", ["", "..", "/", "   ", ".partial-x.csv"])
def test_unusable_names_are_refused(given: str) -> None:
    with pytest.raises(ValueError, match="not a usable file name"):
        safe_filename(given)


def test_a_path_outside_the_store_is_refused(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results")

    with pytest.raises(ValueError, match="outside the results directory"):
        store.resolve("../secrets.txt")


def test_keep_only_removes_the_other_attempts_files(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    with store.write("job_0123456789ab", "old.csv", "text/csv") as (stream, done):
        stream.write(b"old")
    with store.write("job_0123456789ab", "new.csv", "text/csv") as (stream, kept):
        stream.write(b"new")

    store.keep_only("job_0123456789ab", kept[0])

    files = [path.name for path in tmp_path.rglob("*") if path.is_file()]
    assert files == ["new.csv"]
    assert done[0].relative_path != kept[0].relative_path

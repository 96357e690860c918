"""Job result files under `DEVFLOWFIX_RESULTS_DIR`.

Each job owns one directory, named after its public id; each attempt that
writes a result does so in a subdirectory with a random, unguessable name,
first to a temporary name and then, once the file is whole, renamed to its
final name. A reader therefore never sees a half-written file, and an attempt
that dies leaves only its own subdirectory behind, which the next final state
of the job removes.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

TEMPORARY_PREFIX = ".partial-"


@dataclass(frozen=True)
class ResultFile:
    """A finished result file: where it is (relative to the store) and what it is."""

    relative_path: str
    filename: str
    content_type: str
    size_bytes: int


def safe_filename(filename: str) -> str:
    """The last part of `filename`, refused when nothing usable is left."""
    name = PurePosixPath(filename.replace("\\", "/")).name.strip()
    if not name or name in {".", ".."} or name.startswith(TEMPORARY_PREFIX):
        raise ValueError(f"{filename!r} is not a usable file name")
    return name


class ResultStore:
    """The directory tree of result files, one directory per job."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def job_dir(self, job_public_id: str) -> Path:
        return self.root / safe_filename(job_public_id)

    @contextmanager
    def write(
        self, job_public_id: str, filename: str, content_type: str
    ) -> Iterator[tuple[BinaryIO, list[ResultFile]]]:
        """Yield a binary file and a list that holds the finished `ResultFile`.

        The file is renamed into place only when the block ends without an
        error; otherwise it and its directory are removed.
        """
        name = safe_filename(filename)
        attempt_dir = self.job_dir(job_public_id) / secrets.token_hex(16)
        attempt_dir.mkdir(parents=True)
        temporary = attempt_dir / f"{TEMPORARY_PREFIX}{name}"
        finished: list[ResultFile] = []
        try:
            with temporary.open("wb") as stream:
                yield stream, finished
                stream.flush()
                os.fsync(stream.fileno())
            final = attempt_dir / name
            os.replace(temporary, final)
        except BaseException:
            shutil.rmtree(attempt_dir, ignore_errors=True)
            raise

        finished.append(
            ResultFile(
                relative_path=final.relative_to(self.root).as_posix(),
                filename=name,
                content_type=content_type,
                size_bytes=final.stat().st_size,
            )
        )

    def resolve(self, relative_path: str) -> Path:
        """The absolute path of a stored result; never outside the store."""
        root = self.root.resolve()
        path = (root / relative_path).resolve()
        if not path.is_relative_to(root):
            raise ValueError("a result path points outside the results directory")
        return path

    def discard(self, result: ResultFile) -> None:
        """Remove one attempt's result and its directory."""
        shutil.rmtree(self.resolve(result.relative_path).parent, ignore_errors=True)

    def keep_only(self, job_public_id: str, result: ResultFile) -> None:
        """Remove every other attempt's leftovers of this job."""
        keep = self.resolve(result.relative_path).parent
        job_dir = self.job_dir(job_public_id)
        for entry in job_dir.iterdir() if job_dir.is_dir() else ():
            if entry.resolve() != keep:
                shutil.rmtree(entry, ignore_errors=True)

    def remove_job(self, job_public_id: str) -> None:
        """Remove everything the job wrote."""
        shutil.rmtree(self.job_dir(job_public_id), ignore_errors=True)

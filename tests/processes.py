"""Real `devflowfix` processes for tests: start, wait, stop.

Each process writes its output to a log file of its own, which a failing test
can show; every process is stopped (SIGTERM, then SIGKILL) when the owner ends.
The processes may run on a database of the test's own (`own_database`), which
the test process writes users and incidents into and reads results from.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx
import psycopg
from sqlalchemy.engine import make_url

from conftest import POSTGRES_URL
from devflowfix.jobs.scaled import libpq_url

COMMAND = str(Path(sys.executable).parent / "devflowfix")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(url: str) -> bool:
    """True when `url` answers 200 now."""
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def own_database(kind: str, tmp_path: Path, name: str) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file, or a PostgreSQL database
    named `name` and the process id that is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    if not POSTGRES_URL:
        raise RuntimeError("DEVFLOWFIX_TEST_POSTGRES_URL is not set")
    database = f"{name}_{os.getpid()}"
    admin = libpq_url(str(make_url(POSTGRES_URL).set(database="postgres")))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{database}"')
    try:
        yield make_url(POSTGRES_URL).set(database=database).render_as_string(False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@dataclass(frozen=True)
class Server:
    """A running `devflowfix serve`: its base URL and its process."""

    url: str
    process: subprocess.Popen[bytes]


class Processes:
    """`devflowfix` commands run with `environment`, logging into `logs`."""

    def __init__(self, environment: dict[str, str], logs: Path) -> None:
        self.environment = environment
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []
        self._log_files: list[BinaryIO] = []

    def start(self, *arguments: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"process-{len(self.started)}.log").open("wb")
        self._log_files.append(log)
        process = subprocess.Popen(
            [COMMAND, *arguments], env=self.environment, stdout=log, stderr=log
        )
        self.started.append(process)
        return process

    def serve(
        self, *, port: int | None = None, ready: str = "/healthz", timeout: float = 60.0
    ) -> Server:
        """Start `devflowfix serve` on `port` (else a free one); it once `ready`
        answers 200."""
        port = port or free_port()
        process = self.start("serve", "--port", str(port))
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while not answers(f"{base_url}{ready}"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{self.output()}")
            time.sleep(0.05)
        return Server(base_url, process)

    def output(self) -> str:
        """What the processes wrote so far, for a failure message."""
        for log in self._log_files:
            log.flush()
        return "\n".join(
            path.read_text(errors="replace")
            for path in sorted(self.logs.glob("process-*.log"))
        )

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._log_files:
            log.close()


def service_environment(
    database_url: str, directory: Path, **settings: str
) -> dict[str, str]:
    """The environment of a `devflowfix` process on `database_url`; `settings`
    are further DEVFLOWFIX_* values by lower-case name."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DEVFLOWFIX_")
    }
    environment.update(
        {
            "DEVFLOWFIX_DATABASE_URL": database_url,
            "DEVFLOWFIX_ENV": "test",
            "DEVFLOWFIX_RESULTS_DIR": str(directory / "results"),
            "DEVFLOWFIX_LOG_LEVEL": "WARNING",
        }
    )
    environment.update(
        {f"DEVFLOWFIX_{name.upper()}": value for name, value in settings.items()}
    )
    return environment

"""Real `devflowfix` processes for tests, on a database of the test's own.

The processes share that database with the test process, which writes users
and incidents into it and reads what the processes did.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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


class Processes:
    """Real `devflowfix` processes of one test, stopped at its end."""

    def __init__(self, environment: dict[str, str], logs: Path) -> None:
        self.environment = environment
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []
        self.log_files: list[BinaryIO] = []

    def start(self, *arguments: str) -> subprocess.Popen[bytes]:
        log = self.log_path(len(self.started)).open("wb")
        self.log_files.append(log)
        process = subprocess.Popen(
            [COMMAND, *arguments], env=self.environment, stdout=log, stderr=log
        )
        self.started.append(process)
        return process

    def log_path(self, number: int) -> Path:
        return self.logs / f"process-{number}.log"

    def log_text(self) -> str:
        """Everything the processes wrote so far."""
        return "".join(
            self.log_path(number).read_text(errors="replace")
            for number in range(len(self.started))
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
        for log in self.log_files:
            log.close()

"""Both PDF reports render to PNG pages with poppler, as a reader's viewer would."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devflowfix.config import Settings
from devflowfix.db import Database
from factories import auth_headers, make_incident, make_user

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is missing"
)


def first_page_png(pdf: bytes, directory: Path) -> tuple[int, int]:
    """Render page 1 at 50 dpi; the PNG's width and height in pixels."""
    source = directory / "report.pdf"
    source.write_bytes(pdf)
    command = ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile"]
    subprocess.run(
        [*command, str(source), str(directory / "page")],
        check=True,
        capture_output=True,
    )
    image = (directory / "page.png").read_bytes()
    assert image.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", image[16:24])

    return width, height


@pytest.mark.parametrize(
    ("path", "size"),
    [
        ("/api/v1/incidents/export?format=pdf", (585, 414)),
        ("/api/v1/analytics/export?format=pdf", (414, 585)),
    ],
)
def test_reports_render_as_a4_pages(
    client: TestClient,
    database: Database,
    settings: Settings,
    tmp_path: Path,
    path: str,
    size: tuple[int, int],
) -> None:
    user = make_user(database)
    for number in range(3):
        make_incident(database, user, error_message=f"build {number} failed")

    response = client.get(path, headers=auth_headers(user, settings))

    assert response.status_code == 200
    assert first_page_png(response.content, tmp_path) == size

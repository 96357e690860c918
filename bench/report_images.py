"""Render the first page of each PDF report from demo data into docs/images/.

    python bench/report_images.py

Loads demo incidents into a temporary SQLite database, exports the incident
report (high and critical incidents, at most 100) and the 30-day analytics
report through the export services, and turns page 1 of each into a PNG with
poppler's `pdftoppm`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from devflowfix.auth import service as auth_service
from devflowfix.db import Database, create_db_engine
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.demo.loader import load_demo
from devflowfix.exports import service
from devflowfix.exports.schemas import AnalyticsExportQuery, IncidentExportQuery
from devflowfix.models.base import utcnow

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
EMAIL = "demo@example.com"


def render_png(pdf: bytes, target: Path, workdir: Path) -> None:
    """Page 1 of `pdf` as a PNG at `target`."""
    source = workdir / "report.pdf"
    source.write_bytes(pdf)
    stem = workdir / "page"
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            source,
            stem,
        ],
        check=True,
    )
    shutil.copyfile(stem.with_suffix(".png"), target)
    print(f"wrote {target.relative_to(IMAGES.parent.parent)}")


def main() -> None:
    if shutil.which("pdftoppm") is None:
        sys.exit("pdftoppm is missing; install poppler-utils")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        database = Database(create_db_engine(f"sqlite:///{workdir / 'demo.db'}"))
        upgrade_to_head(database.engine)
        load_demo(database, incidents=3000, team_name="demo", email=EMAIL, seed=7)
        now = utcnow()
        incidents = IncidentExportQuery.model_validate(
            {"format": "pdf", "severity": ["high", "critical"], "limit": 100}
        )
        analytics = AnalyticsExportQuery.model_validate({"format": "pdf", "days": 30})
        with database.transaction(write=False) as session:
            user = auth_service.find_user(session, EMAIL)
            assert user is not None
            report = service.export_incidents(session, user, incidents, now=now)
            render_png(
                b"".join(report.chunks), IMAGES / "incidents-report.png", workdir
            )
            report = service.export_analytics(session, user, analytics, now=now)
            render_png(
                b"".join(report.chunks), IMAGES / "analytics-report.png", workdir
            )
        database.dispose()


if __name__ == "__main__":
    main()

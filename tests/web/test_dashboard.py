"""The dashboard in a real Chromium against a real server on a SQLite file."""

from __future__ import annotations

import csv
import io
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from conftest import make_settings
from devflowfix.app import create_app
from devflowfix.db import Database
from devflowfix.vocabulary import Role
from factories import PASSWORD, make_incident, make_user

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium reaches for Google's hosts at start, which a closed
# network refuses many times a second.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
XSS = '<img src=x onerror="window.__injected = 1">'

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed"
)


@dataclass
class LiveServer:
    url: str
    email: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, sqlite_template: Path) -> Iterator[LiveServer]:
    path = tmp_path / "dashboard.db"
    shutil.copyfile(sqlite_template, path)
    settings = make_settings(f"sqlite:///{path}", tmp_path, job_workers=1)
    database = Database.from_settings(settings)
    admin = make_user(database, role=Role.ADMIN, email="lead@acme.example.com")
    make_incident(database, admin, error_message=XSS, severity="critical")
    for number in range(3):
        make_incident(database, admin, error_message=f"pytest failed in step {number}")

    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, database=database),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
    )
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    while not runner.started:
        time.sleep(0.05)

    yield LiveServer(url=f"http://127.0.0.1:{port}", email=admin.email)
    runner.should_exit = True
    thread.join(timeout=10)
    database.dispose()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True)
    signed_in = context.new_page()
    signed_in.goto(server.url + "/")
    signed_in.fill("input[name=username]", server.email)
    signed_in.fill("input[name=password]", PASSWORD)
    signed_in.click("#sign-in-form button")
    expect(signed_in.locator("#results tr")).to_have_count(4)
    yield signed_in
    context.close()


def test_sign_in_lists_the_teams_incidents(page: Page) -> None:
    expect(page.locator("#who")).to_contain_text("lead@acme.example.com")
    expect(page.locator("#summary")).to_contain_text("4 incidents")


def test_user_text_is_shown_literally_never_run(page: Page) -> None:
    expect(page.locator("#results")).to_contain_text(XSS)

    assert page.evaluate("window.__injected") is None
    assert page.locator("#results img").count() == 0


def test_search_marks_the_matched_words(page: Page) -> None:
    page.fill("input[name=search_query]", "pytest")
    page.click("#search-form button[type=submit]")

    expect(page.locator("#results tr")).to_have_count(3)
    expect(page.locator("#results mark").first).to_have_text("pytest")


def test_incident_page_shows_the_log_and_analysis(page: Page) -> None:
    page.locator("#results a").first.click()

    expect(page.locator("#page-incident")).to_be_visible()
    expect(page.locator("#incident-log")).to_contain_text("ERESOLVE")
    expect(page.locator("#incident-fields")).to_contain_text("acme/web-app")


def test_csv_export_downloads_the_searched_incidents(page: Page) -> None:
    page.fill("input[name=search_query]", "pytest")
    page.click("#search-form button[type=submit]")
    expect(page.locator("#results tr")).to_have_count(3)

    with page.expect_download() as download:
        page.click("#export-csv")

    assert download.value.suggested_filename.endswith(".csv")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3


def test_jobs_and_analytics_pages_render(page: Page) -> None:
    page.click("#nav a[data-page=jobs]")
    expect(page.locator("#job-stats .tile").first).to_be_visible()

    page.click("#nav a[data-page=analytics]")

    expect(page.locator("#analytics-tiles .tile").first).to_contain_text("4")
    expect(page.locator("#analytics-trend svg polyline")).to_have_count(2)


def test_sign_out_forgets_the_token(page: Page) -> None:
    page.click("#sign-out")

    expect(page.locator("#page-sign-in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('devflowfix.token')") is None

"""The demo loader on a real SQLite file and, when configured, on PostgreSQL."""

from __future__ import annotations

import os
import random
import re
import shutil
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from devflowfix.auth import service as auth_service
from devflowfix.db import Database, create_db_engine
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.demo import DemoReport, load_demo
from devflowfix.demo.loader import replace_taken_public_ids
from devflowfix.demo.rows import Batch
from devflowfix.models import Incident, IncidentTag, User
from devflowfix.vocabulary import FailureType, Outcome, Severity, Source

POSTGRES_URL = os.environ.get("DEVFLOWFIX_TEST_POSTGRES_URL")
INCIDENTS = 2000
EMAIL = "demo@example.com"
PASSWORD = "devflowfix-demo"

# Words that the text of each failure type must contain, error message or log.
SIGNATURES = {
    "build_failure": r"subprocess-exited-with-error|Module not found|undefined "
    r"reference|ld returned|Building \S+ failed",
    "test_failure": r"FAILED|FAIL|Failures?:|AssertionError|Assert\.|Failed asserting",
    "flaky_test": r"RERUN|[Ff]lak[ey]|Retry #1|race detected",
    "compilation_error": r"error\[E\d+\]|error TS\d+|error CS\d+|cannot find symbol|"
    r"undefined: |SyntaxError|: error: ",
    "dependency_error": r"ERESOLVE|ModuleNotFoundError|No matching distribution|"
    r"Cannot install|E404|Could not find|Could not resolve|could not be resolved|"
    r"missing go\.sum|failed to select a version|NU1101",
    "lint_error": r"ruff|mypy|flake8|eslint|spotless|dotnet format|golangci-lint|"
    r"clippy|rubocop|phpstan|terraform fmt",
    "timeout": r"timed out|exceeded|longer than|deadline|Too long with no output",
    "network_error": r"ECONNRESET|EAI_AGAIN|Could not resolve host|timed out|"
    r"i/o timeout|TLS handshake timeout|no such host",
    "out_of_memory": r"OOMKilled|exit code: 137|out of memory|OutOfMemoryError|"
    r"crashed while running",
    "disk_space": r"[Nn]o space left on device|ENOSPC|ephemeral-storage",
    "permission_denied": r"[Pp]ermission denied|EACCES|Forbidden|AccessDenied",
    "authentication_error": r"401|403|[Uu]nauthori[sz]ed|ExpiredToken|"
    r"[Cc]redential|authenticate",
    "configuration_error": r"command not found|[Ii]nvalid|unknown keys|not found|"
    r"[Mm]issing|Unsupported argument|ComparisonError|CMake Error|placeholder|"
    r"required|does not conform|Unexpected value|is not set",
    "infrastructure_error": r"runner|agent|system failure|state lock|nodes are "
    r"available|unhealthy|Docker daemon|InsufficientInstanceCapacity|killed|"
    r"Cannot contact|stopped hearing",
    "docker_error": r"failed to solve|ImagePullBackOff|toomanyrequests|"
    r"failed to compute cache key",
    "deployment_failure": r"CrashLoopBackOff|progress deadline|UPGRADE FAILED|"
    r"SyncFailed|Smoke test|revision|already exists",
    "security_scan": r"CVE-|GHSA-|RUSTSEC-|GO-\d{4}-|leaks found|CKV_",
    "unknown": r"exit code|Error \d|exited with code|Segmentation fault|"
    r"Illegal instruction|Bus error",
}
RUN_URLS = {
    "github_actions": r"^https://github\.com/[\w.-]+/[\w.-]+/actions/runs/\d+$",
    "gitlab_ci": r"^https://gitlab\.com/[\w.-]+/[\w.-]+/-/pipelines/\d+$",
    "jenkins": r"^https://jenkins\.[\w.-]+/job/[\w.-]+/job/[\w.%-]+/\d+/$",
    "circleci": r"^https://app\.circleci\.com/pipelines/github/.+/jobs/\d+$",
    "azure_pipelines": r"^https://dev\.azure\.com/.+/_build/results\?buildId=\d+$",
    "argocd": r"^https://argocd\.[\w.-]+/applications/argocd/[\w-]+\?",
    "kubernetes": r"^https://console\.[\w.-]+/k8s/ns/[\w-]+/events$",
}


def _admin_url(url: str) -> str:
    return (
        make_url(url)
        .set(drivername="postgresql", database="postgres")
        .render_as_string(False)
    )


def _database_url(name: str) -> str:
    assert POSTGRES_URL
    return make_url(POSTGRES_URL).set(database=name).render_as_string(False)


def _postgres(statement: str) -> None:
    assert POSTGRES_URL
    with psycopg.connect(_admin_url(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(statement)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def make_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Database]]:
    """Makes empty, migrated databases of one kind; drops them at the end.

    The schema is migrated once, into a template that each database copies.
    """
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("DEVFLOWFIX_TEST_POSTGRES_URL is not set")
    prefix = f"devflowfix_demo_test_{uuid.uuid4().hex[:12]}"
    sqlite_template = tmp_path_factory.mktemp("demo") / "template.db"
    template_url = f"sqlite:///{sqlite_template}"
    if request.param == "postgres":
        _postgres(f'CREATE DATABASE "{prefix}"')
        template_url = _database_url(prefix)
    engine = create_db_engine(template_url)
    upgrade_to_head(engine)
    engine.dispose()
    made: list[tuple[Database, str]] = []

    def make() -> Database:
        name = f"{prefix}_{len(made)}"
        if request.param == "sqlite":
            path = sqlite_template.with_name(f"{name}.db")
            shutil.copyfile(sqlite_template, path)
            url = f"sqlite:///{path}"
        else:
            _postgres(f'CREATE DATABASE "{name}" TEMPLATE "{prefix}"')
            url = _database_url(name)
        database = Database(create_db_engine(url))
        made.append((database, name))

        return database

    yield make
    for database, name in made:
        database.dispose()
        if request.param == "postgres":
            _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if request.param == "postgres":
        _postgres(f'DROP DATABASE IF EXISTS "{prefix}" WITH (FORCE)')


@pytest.fixture(scope="module")
def loaded(make_database: Callable[[], Database]) -> tuple[Database, DemoReport]:
    database = make_database()
    report = load_demo(
        database, incidents=INCIDENTS, team_name="demo", email=EMAIL, seed=7
    )
    return database, report


@pytest.fixture(scope="module")
def incidents(loaded: tuple[Database, DemoReport]) -> list[Incident]:
    database, _ = loaded
    with database.session() as session:
        return list(session.scalars(select(Incident).order_by(Incident.id)))


def test_load_creates_the_admin_and_the_incidents(
    loaded: tuple[Database, DemoReport], incidents: list[Incident]
) -> None:
    database, report = loaded
    with database.session() as session:
        user = auth_service.authenticate(session, EMAIL, PASSWORD)

    assert (report.incidents_loaded, report.skipped, report.user_created) == (
        INCIDENTS,
        False,
        True,
    )
    assert (user.role, user.team.name) == ("admin", "demo")
    assert len(incidents) == INCIDENTS
    assert {incident.team_id for incident in incidents} == {user.team_id}


def test_every_field_is_in_its_vocabulary(incidents: list[Incident]) -> None:
    assert {incident.source for incident in incidents} == set(Source)
    assert {incident.failure_type for incident in incidents} == set(FailureType)
    assert {incident.outcome for incident in incidents} == set(Outcome)
    assert {incident.severity for incident in incidents} == set(Severity)
    repositories = {incident.repository for incident in incidents}
    assert 35 <= len(repositories) <= 45
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+", name or "") for name in repositories)
    branches = {incident.branch or "" for incident in incidents}
    for prefix in ("main", "release/", "feature/", "dependabot/"):
        assert any(branch.startswith(prefix) for branch in branches), prefix
    assert all(re.fullmatch(r"[0-9a-f]{40}", i.commit_sha or "") for i in incidents)


def test_failure_types_agree_with_texts(incidents: list[Incident]) -> None:
    for incident in incidents[::7]:
        text = f"{incident.error_message}\n{incident.error_log}"

        assert re.search(SIGNATURES[incident.failure_type], text), (
            incident.failure_type,
            incident.error_message,
        )


def test_texts_are_varied_and_logs_sized(incidents: list[Incident]) -> None:
    messages = {incident.error_message for incident in incidents}
    log_sizes = [len((incident.error_log or "").encode()) for incident in incidents]

    assert len(messages) > INCIDENTS // 3
    assert min(log_sizes) >= 300
    assert max(log_sizes) <= 1500
    assert any("##[error]" in (i.error_log or "") for i in incidents)
    assert all("\x00" not in (i.error_log or "") for i in incidents)


def test_ids_are_unique(incidents: list[Incident]) -> None:
    public_ids = [incident.public_id for incident in incidents]
    runs = [(i.source, i.external_id) for i in incidents if i.external_id]

    assert all(re.fullmatch(r"inc_[0-9a-f]{12}", public_id) for public_id in public_ids)
    assert len(set(public_ids)) == len(public_ids)
    assert len(set(runs)) == len(runs)
    assert {i.source for i in incidents if i.external_id is None} == {"manual"}


def test_run_urls_match_their_source(incidents: list[Incident]) -> None:
    for incident in incidents:
        if incident.source == "manual":
            assert incident.run_url is None
            continue

        assert re.match(RUN_URLS[incident.source], incident.run_url or ""), (
            incident.run_url
        )


def test_tag_rows_equal_the_tags_lists(
    loaded: tuple[Database, DemoReport], incidents: list[Incident]
) -> None:
    database, _ = loaded
    rows: dict[int, set[str]] = defaultdict(set)
    with database.session() as session:
        for tag in session.scalars(select(IncidentTag)):
            assert tag.team_id == incidents[0].team_id
            rows[tag.incident_id].add(tag.tag)

    for incident in incidents:
        assert rows.get(incident.id, set()) == set(incident.tags)
        assert 0 <= len(incident.tags) <= 4
        assert len(set(incident.tags)) == len(incident.tags)


def test_times_are_consistent_and_recent(incidents: list[Incident]) -> None:
    now = datetime.now(UTC)
    for incident in incidents:
        delay = incident.created_at - incident.timestamp

        assert now - timedelta(days=120) <= incident.timestamp <= now
        assert timedelta(seconds=1) <= delay <= timedelta(days=1)
        assert incident.created_at <= incident.updated_at <= now
        if incident.resolved_at is None:
            assert incident.resolution_time_seconds is None
            continue
        assert incident.timestamp <= incident.resolved_at <= incident.updated_at
        elapsed = incident.resolved_at - incident.timestamp
        assert incident.resolution_time_seconds == int(elapsed.total_seconds())


def test_resolution_follows_the_outcome(incidents: list[Incident]) -> None:
    def resolved_share(outcome: str) -> float:
        matching = [i for i in incidents if i.outcome == outcome]
        return sum(i.resolved_at is not None for i in matching) / len(matching)

    assert resolved_share("success") > 0.75
    assert resolved_share("rolled_back") > 0.6
    assert resolved_share("pending") < 0.15
    assert resolved_share("escalated") < 0.35


def test_analysis_fields_go_together(incidents: list[Incident]) -> None:
    unanalysed = [i for i in incidents if i.confidence is None]
    analysed = [i for i in incidents if i.confidence is not None]

    assert 0 < len(unanalysed) < len(incidents) // 10
    assert all(i.root_cause is None and i.analysed_at is None for i in unanalysed)
    assert all(0 < (i.confidence or 0) <= 1 and i.root_cause for i in analysed)
    assert sum(i.confidence or 0 for i in analysed) / len(analysed) > 0.7
    assert all(i.matched_rules and i.analysed_at for i in analysed)


def test_report_tells_how_to_sign_in(loaded: tuple[Database, DemoReport]) -> None:
    text = loaded[1].describe()

    assert EMAIL in text
    assert PASSWORD in text
    assert "http://127.0.0.1:8000" in text
    assert "curl -s -X POST http://127.0.0.1:8000/api/v1/auth/token" in text
    assert f"devflowfix token {EMAIL}" in text
    assert f"Loaded {INCIDENTS:,} demo incidents" in text


def test_if_empty_skips_a_second_load(loaded: tuple[Database, DemoReport]) -> None:
    database, _ = loaded

    report = load_demo(
        database, incidents=50, team_name="demo", email=EMAIL, seed=8, if_empty=True
    )

    assert (report.skipped, report.incidents_loaded, report.user_created) == (
        True,
        0,
        False,
    )
    assert "no demo incidents were loaded" in report.describe()
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == INCIDENTS


def test_if_empty_loads_into_an_empty_database(
    make_database: Callable[[], Database],
) -> None:
    database = make_database()

    report = load_demo(
        database, incidents=40, team_name="demo", email=EMAIL, seed=2, if_empty=True
    )

    assert (report.skipped, report.incidents_loaded) == (False, 40)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 40


def test_a_second_load_adds_after_the_first(
    make_database: Callable[[], Database],
) -> None:
    database = make_database()
    load_demo(database, incidents=300, team_name="demo", email=EMAIL, seed=3)

    report = load_demo(database, incidents=200, team_name="other", email=EMAIL, seed=3)

    with database.transaction() as session:
        team_id = session.scalars(select(User.team_id)).one()
        session.add(_manual_incident(team_id))
    with database.session() as session:
        ids = list(session.scalars(select(Incident.id).order_by(Incident.id)))
        public_ids = set(session.scalars(select(Incident.public_id)))

    assert ids == list(range(1, 502))
    assert len(public_ids) == 501
    assert "belongs to team 'demo'" in report.describe()


def _manual_incident(team_id: int) -> Incident:
    return Incident(
        team_id=team_id,
        source="manual",
        severity=Severity.LOW,
        failure_type="unknown",
        outcome="pending",
        error_message="written through the ORM after two demo loads",
        timestamp=datetime.now(UTC) - timedelta(minutes=5),
    )


def test_same_seed_gives_same_data(make_database: Callable[[], Database]) -> None:
    now = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
    first, second, third = make_database(), make_database(), make_database()

    for database, seed in ((first, 11), (second, 11), (third, 12)):
        load_demo(
            database, incidents=200, team_name="demo", email=EMAIL, seed=seed, now=now
        )

    assert _rows(first) == _rows(second)
    assert _rows(first) != _rows(third)


def _rows(database: Database) -> list[tuple[object, ...]]:
    columns = [c for c in Incident.__table__.columns]
    with database.session() as session:
        return [tuple(row) for row in session.execute(select(*columns).order_by("id"))]


def test_loading_nothing_still_creates_the_admin(
    make_database: Callable[[], Database],
) -> None:
    database = make_database()

    report = load_demo(database, incidents=0, team_name="empty", email=EMAIL, seed=1)

    assert (report.incidents_loaded, report.user_created) == (0, True)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_public_ids_that_exist_already_are_replaced(
    loaded: tuple[Database, DemoReport], incidents: list[Incident]
) -> None:
    database, _ = loaded
    taken, fresh = incidents[0].public_id, "inc_000000000000"
    batch = Batch(incidents=[(9001, taken, "rest"), (9002, fresh, "rest")])

    with database.engine.connect() as connection:
        replace_taken_public_ids(connection, batch, random.Random(1))

    (first_id, replaced, rest), second = batch.incidents
    assert (first_id, rest, second) == (9001, "rest", (9002, fresh, "rest"))
    assert re.fullmatch(r"inc_[0-9a-f]{12}", str(replaced))
    assert replaced != taken

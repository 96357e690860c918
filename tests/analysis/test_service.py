"""Analysing incidents on each database: results recorded, history consulted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from devflowfix.analysis.llm import LanguageModel
from devflowfix.analysis.repository import (
    AnalysisScope,
    find_incidents_to_analyse,
    highest_incident_id,
)
from devflowfix.analysis.service import analyse_incident, run_incident_analysis
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.incidents import repository as incidents_repository
from devflowfix.models import Incident, User
from devflowfix.search.schemas import IncidentFilters
from devflowfix.vocabulary import Provider, Role
from factories import (
    deliver_webhook,
    make_incident,
    make_integration,
    make_user,
    webhook_payload,
)
from provider_server import ProviderServer, Reply, running_server

MODULE_LOG = (
    "2025-11-03T09:15:58.1Z ##[group]Run pytest\n"
    "2025-11-03T09:15:59.1Z E   ModuleNotFoundError: No module named 'respx'\n"
    "2025-11-03T09:16:00.1Z ##[error]Process completed with exit code 2.\n"
)
# A base URL on a host other than github.com is GitHub Enterprise: API under /api/v3.
JOB_LOG_PATH = "/api/v3/repos/acme/orders/actions/jobs/29679449861/logs"


UNANALYSED = {"failure_type": "unknown", "root_cause": None, "confidence": None}


def make_unanalysed(database: Database, user: User, **overrides: object) -> Incident:
    return make_incident(database, user, **{**UNANALYSED, **overrides})


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database, role=Role.MEMBER)


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with running_server() as server:
        yield server


def reload(database: Database, incident: Incident) -> Incident:
    with database.transaction(write=False) as session:
        found = incidents_repository.find_incident(
            session, incident.team_id, incident.public_id
        )
    assert found is not None
    return found


def analyse(database: Database, incident: Incident, **options: object) -> Incident:
    with database.transaction() as session:
        row = session.merge(incident)
        analyse_incident(session, row, **options)  # type: ignore[arg-type]
    return reload(database, incident)


def test_a_webhook_incident_is_analysed_from_its_log(
    database: Database, settings: Settings
) -> None:
    make_integration(database, settings)
    incident = deliver_webhook(
        database, settings, webhook_payload("github_workflow_job_failed")
    )

    analysed = analyse(database, incident, log_text=MODULE_LOG)

    assert analysed.failure_type == "dependency_error"
    assert analysed.root_cause == (
        "Python cannot import the module 'respx': it is not installed in the "
        "job's environment (ModuleNotFoundError)."
    )
    assert analysed.confidence is not None
    assert 0.8 <= analysed.confidence <= 0.97
    assert analysed.error_message == "ModuleNotFoundError: No module named 'respx'"
    assert analysed.error_log == MODULE_LOG
    assert analysed.analysis_status == "analysed"
    assert analysed.analysed_at is not None
    assert analysed.matched_rules == ["python.module_not_found", "shell.exit_code"]
    assert analysed.error_signature == (
        "python.module_not_found: ModuleNotFoundError: No module named 'respx'"
    )
    assert (analysed.provider_details or {})["placeholder_message"] is False


def test_a_classification_a_person_gave_is_kept_unless_replaced(
    database: Database, member: User
) -> None:
    incident = make_unanalysed(
        database,
        member,
        failure_type="configuration_error",
        root_cause="The CI image lost its proxy settings.",
        error_log=MODULE_LOG,
    )

    kept = analyse(database, incident)
    replaced = analyse(database, incident, replace=True)

    assert kept.failure_type == "configuration_error"
    assert kept.root_cause == "The CI image lost its proxy settings."
    assert kept.matched_rules == ["python.module_not_found", "shell.exit_code"]
    assert replaced.failure_type == "dependency_error"
    assert replaced.root_cause is not None
    assert replaced.root_cause.startswith("Python cannot import the module 'respx'")


def test_an_incident_without_a_log_is_analysed_from_its_message(
    database: Database, member: User
) -> None:
    incident = make_unanalysed(
        database,
        member,
        error_message="fatal: Authentication failed for 'https://git.acme.net/x.git/'",
        error_log=None,
    )

    analysed = analyse(database, incident)

    assert analysed.failure_type == "authentication_error"
    assert analysed.analysis_status == "analysed"


def test_the_same_failure_before_is_listed_and_its_fix_comes_first(
    database: Database, member: User
) -> None:
    earlier = make_unanalysed(database, member, error_log=MODULE_LOG)
    analyse(database, earlier)
    with database.transaction() as session:
        row = incidents_repository.find_incident(
            session, earlier.team_id, earlier.public_id
        )
        assert row is not None
        row.resolved_at = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
        row.suggested_fix = "Add respx to requirements-dev.txt.\n\nOlder notes."
    unrelated = make_unanalysed(
        database, member, error_log="npm error code ERESOLVE\nnpm error peer x from y"
    )
    analyse(database, unrelated)
    latest = make_unanalysed(database, member, error_log=MODULE_LOG)

    analysed = analyse(database, latest)

    assert analysed.similar_incidents == [
        {
            "incident_id": earlier.public_id,
            "score": 1.0,
            "failure_type": "dependency_error",
            "resolved": True,
        }
    ]
    assert analysed.suggested_fix is not None
    assert analysed.suggested_fix.startswith(
        f"What fixed {earlier.public_id}: Add respx to requirements-dev.txt.\n\n"
        "Add the package that provides 'respx'"
    )


def test_similar_incidents_never_cross_teams(database: Database, member: User) -> None:
    outsider = make_user(database, team="other")
    theirs = make_unanalysed(database, outsider, error_log=MODULE_LOG)
    analyse(database, theirs)
    ours = make_unanalysed(database, member, error_log=MODULE_LOG)

    analysed = analyse(database, ours)

    assert analysed.similar_incidents == []


def test_a_past_incident_without_a_signature_is_found_by_its_text(
    database: Database, member: User
) -> None:
    manual = make_unanalysed(
        database,
        member,
        error_message="ModuleNotFoundError: No module named 'respx'",
        error_log=None,
    )
    latest = make_unanalysed(database, member, error_log=MODULE_LOG)

    analysed = analyse(database, latest)

    assert [item["incident_id"] for item in analysed.similar_incidents or []] == [
        manual.public_id
    ]
    assert (analysed.similar_incidents or [])[0]["score"] >= 0.5


def test_the_analysis_job_fetches_the_log_and_records_it(
    database: Database, settings: Settings, server: ProviderServer
) -> None:
    make_integration(database, settings, token="ghp_token123", base_url=server.url)
    incident = deliver_webhook(
        database, settings, webhook_payload("github_workflow_job_failed")
    )
    server.reply(JOB_LOG_PATH, Reply(body=MODULE_LOG.encode()))

    result = run_incident_analysis(
        database, incident.team_id, incident.public_id, settings
    )

    assert result is not None
    assert result.log_error is None
    analysed = reload(database, incident)
    assert analysed.failure_type == "dependency_error"
    assert analysed.error_log == MODULE_LOG
    assert analysed.analysis_status == "analysed"
    assert server.received[0].headers["Authorization"] == "Bearer ghp_token123"


def test_a_failed_fetch_is_recorded_and_the_analysis_still_runs(
    database: Database, settings: Settings, server: ProviderServer
) -> None:
    make_integration(database, settings, token="ghp_token123", base_url=server.url)
    incident = deliver_webhook(
        database,
        settings,
        webhook_payload(
            "github_workflow_job_failed", **{"workflow_job.conclusion": "timed_out"}
        ),
    )
    server.reply(JOB_LOG_PATH, Reply(503))
    sleeps: list[float] = []

    result = run_incident_analysis(
        database, incident.team_id, incident.public_id, settings, sleep=sleeps.append
    )

    assert result is not None
    assert result.log_error == "GitHub failed after 4 attempts; the last was HTTP 503."
    assert sleeps == [1.0, 2.0, 4.0]
    analysed = reload(database, incident)
    assert analysed.analysis_status == "log_unavailable"
    assert analysed.analysis_error == result.log_error
    assert analysed.analysed_at is not None
    assert analysed.failure_type == "timeout"
    assert analysed.root_cause == (
        "The CI stopped the job because it ran past its time limit."
    )


def test_a_fetch_needs_the_teams_token(database: Database, settings: Settings) -> None:
    make_integration(database, settings)
    incident = deliver_webhook(
        database, settings, webhook_payload("github_workflow_job_failed")
    )

    result = run_incident_analysis(
        database, incident.team_id, incident.public_id, settings
    )

    assert result is not None
    assert result.log_error == (
        "The team has no github token to fetch the log with; set one with "
        "PUT /api/v1/integrations/github."
    )
    assert reload(database, incident).analysis_status == "log_unavailable"


def test_a_fetched_log_is_reused_on_reanalysis(
    database: Database, settings: Settings, server: ProviderServer
) -> None:
    make_integration(database, settings, token="ghp_token123", base_url=server.url)
    incident = deliver_webhook(
        database, settings, webhook_payload("github_workflow_job_failed")
    )
    server.reply(JOB_LOG_PATH, Reply(body=MODULE_LOG.encode()))
    run_incident_analysis(database, incident.team_id, incident.public_id, settings)

    again = run_incident_analysis(
        database, incident.team_id, incident.public_id, settings, replace=True
    )

    assert again is not None
    assert again.analysis.failure_type == "dependency_error"
    assert len(server.received) == 1


def test_an_unknown_incident_gives_none(database: Database, settings: Settings) -> None:
    user = make_user(database)

    assert (
        run_incident_analysis(database, user.team_id, "inc_000000000000", settings)
        is None
    )


def test_analysis_writes_only_the_one_incident(
    database: Database, member: User
) -> None:
    first = make_unanalysed(database, member, error_log=MODULE_LOG)
    second = make_unanalysed(database, member, error_log=MODULE_LOG)

    analyse(database, first)

    with database.transaction(write=False) as session:
        untouched = session.scalar(
            select(Incident).where(Incident.public_id == second.public_id)
        )
    assert untouched is not None
    assert untouched.analysed_at is None
    assert untouched.failure_type == "unknown"
    assert Provider.GITHUB.source == "github_actions"


def chat_reply(content: dict[str, str]) -> Reply:
    message = {"role": "assistant", "content": json.dumps(content)}
    return Reply(body=json.dumps({"choices": [{"message": message}]}).encode())


def test_a_language_model_may_refine_the_cause_and_the_fix(
    database: Database, member: User, server: ProviderServer
) -> None:
    server.reply(
        "/v1/chat/completions",
        chat_reply(
            {
                "root_cause": "tests/test_webhooks.py imports respx, not installed.",
                "suggested_fix": "Add respx to requirements-dev.txt.",
            }
        ),
    )
    incident = make_unanalysed(database, member, error_log=MODULE_LOG)

    with LanguageModel(f"{server.url}/v1", "local-model") as llm:
        analysed = analyse(database, incident, llm=llm)

    assert analysed.failure_type == "dependency_error"
    assert analysed.root_cause == (
        "tests/test_webhooks.py imports respx, not installed."
    )
    assert analysed.suggested_fix == "Add respx to requirements-dev.txt."
    assert analysed.matched_rules == [
        "python.module_not_found",
        "shell.exit_code",
        "llm:local-model",
    ]


def test_a_failing_language_model_leaves_the_rule_based_analysis(
    database: Database, member: User, server: ProviderServer
) -> None:
    server.reply("/v1/chat/completions", Reply(500))
    incident = make_unanalysed(database, member, error_log=MODULE_LOG)

    with LanguageModel(f"{server.url}/v1", "local-model") as llm:
        analysed = analyse(database, incident, llm=llm)

    assert analysed.root_cause is not None
    assert analysed.root_cause.startswith("Python cannot import the module 'respx'")
    assert analysed.matched_rules == ["python.module_not_found", "shell.exit_code"]


def test_incidents_to_analyse_come_in_checkpointed_batches(
    database: Database, member: User
) -> None:
    ids = [make_unanalysed(database, member).public_id for _ in range(3)]
    done = make_unanalysed(database, member, error_log=MODULE_LOG)
    analyse(database, done)
    outsider = make_user(database, team="other")
    make_unanalysed(database, outsider)
    now = datetime.now(UTC)

    with database.transaction(write=False) as session:
        scope = AnalysisScope(
            team_id=member.team_id,
            now=now,
            dialect=session.get_bind().dialect.name,
            up_to_id=highest_incident_id(session),
        )
        first = find_incidents_to_analyse(session, scope, cursor=0, limit=2)
        rest = find_incidents_to_analyse(session, scope, cursor=first.cursor, limit=2)
        again = AnalysisScope(
            team_id=member.team_id,
            now=now,
            dialect=scope.dialect,
            up_to_id=scope.up_to_id,
            filters=IncidentFilters(failure_types=["dependency_error"]),
            analysed_before=now,
        )
        filtered = find_incidents_to_analyse(session, again, cursor=0, limit=10)

    assert [public_id for _, public_id in first.incidents + rest.incidents] == ids
    assert (first.last, rest.last) == (False, True)
    assert [public_id for _, public_id in filtered.incidents] == [done.public_id]

"""`analyse_log`: ranking, unknowns, hints, extraction and robustness."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from devflowfix.analysis import AnalysisHints, analyse_log
from devflowfix.analysis.calibration import UNKNOWN_CONFIDENCE
from devflowfix.analysis.engine import SECOND_PASS_CHARS, TAIL_CHARS
from devflowfix.vocabulary import FailureType

GITHUB = "2025-11-03T09:14:{second:02d}.1234567Z {line}"


def github_log(*lines: str) -> str:
    return "\n".join(
        GITHUB.format(second=n % 60, line=line) for n, line in enumerate(lines)
    )


def test_nothing_recognisable_is_unknown_with_low_confidence() -> None:
    analysis = analyse_log("step 3/3 switch traffic ... FAILED\n")

    assert analysis.failure_type is FailureType.UNKNOWN
    assert analysis.confidence == UNKNOWN_CONFIDENCE
    assert analysis.rule_id is None
    assert analysis.matched_rules == ()
    assert analysis.signature is None


def test_an_exit_code_alone_is_unknown_and_says_so() -> None:
    analysis = analyse_log(github_log("##[error]Process completed with exit code 3."))

    assert analysis.failure_type is FailureType.UNKNOWN
    assert analysis.root_cause == (
        "A command exited with status 3; the log does not say why."
    )
    assert analysis.confidence == UNKNOWN_CONFIDENCE


def test_a_cause_outranks_the_test_failure_it_caused() -> None:
    log = github_log(
        "##[group]Run pytest",
        "E   sqlalchemy.exc.OperationalError: connection to server at "
        '"127.0.0.1", port 5432 failed: Connection refused',
        "FAILED tests/test_db.py::test_insert - OperationalError",
        "##[error]Process completed with exit code 1.",
    )

    analysis = analyse_log(log)

    assert analysis.failure_type is FailureType.NETWORK_ERROR
    assert analysis.rule_id == "network.refused"
    assert analysis.matched_rules == (
        "network.refused",
        "python.pytest_failed",
        "shell.exit_code",
    )


def test_warning_lines_do_not_decide_the_failure() -> None:
    log = github_log(
        "##[group]Run pip install -r requirements.txt",
        "WARNING: Retrying (Retry(total=4)) after connection broken by "
        "'NewConnectionError'",
        "Successfully installed requests-2.32.3",
        "##[group]Run pytest",
        "FAILED tests/test_api.py::test_get - assert 404 == 200",
        "##[error]Process completed with exit code 1.",
    )

    analysis = analyse_log(log)

    assert analysis.failure_type is FailureType.TEST_FAILURE
    assert analysis.root_cause == (
        "pytest test tests/test_api.py::test_get failed: assert 404 == 200."
    )
    assert analysis.failing_step == "pytest"


def test_a_finding_outside_the_failing_step_ranks_below_one_inside() -> None:
    log = github_log(
        "##[group]Run ./scripts/lint.sh",
        "src/app/api.py:12:8: F401 `os` imported but unused",
        "##[group]Run pytest",
        "FAILED tests/test_api.py::test_get - assert 404 == 200",
        "##[error]Process completed with exit code 1.",
    )

    analysis = analyse_log(log)

    assert analysis.failure_type is FailureType.TEST_FAILURE
    assert analysis.contested is True


def test_the_ci_conclusion_decides_when_the_log_says_nothing() -> None:
    analysis = analyse_log(
        github_log(
            "INFO backfill: 2024-03 started", "##[error]The operation was canceled."
        ),
        hints=AnalysisHints(conclusion="timed_out"),
    )

    assert analysis.failure_type is FailureType.TIMEOUT
    assert analysis.rule_id == "hint.timed_out"
    assert 0.5 < analysis.confidence <= 0.97


def test_a_failing_step_from_the_ci_wins_over_the_logs() -> None:
    analysis = analyse_log(
        "FAILED tests/test_a.py::test_b - assert 1 == 2\n",
        hints=AnalysisHints(failing_step="Run tests"),
    )

    assert analysis.failing_step == "Run tests"


def test_file_references_are_relative_to_the_checkout() -> None:
    log = github_log(
        "##[group]Run mypy src",
        "/home/runner/work/orders/orders/src/orders/models.py:31: error: "
        'Incompatible return value type (got "str | None", expected "str")  '
        "[return-value]",
        "##[error]Process completed with exit code 1.",
    )

    analysis = analyse_log(log)

    assert [str(reference) for reference in analysis.file_references] == [
        "src/orders/models.py:31"
    ]
    assert analysis.root_cause.startswith(
        "mypy reports a type error in src/orders/models.py at line 31"
    )


def test_library_frames_come_after_the_projects_own_files() -> None:
    log = (
        '  File "/opt/venv/lib/python3.12/site-packages/jinja2/utils.py", line 88\n'
        '  File "/home/runner/work/docs/docs/build.py", line 12, in <module>\n'
        "ImportError: cannot import name 'environmentfilter' from 'jinja2'\n"
    )

    analysis = analyse_log(log)

    assert [str(reference) for reference in analysis.file_references] == [
        "build.py:12",
        "/opt/venv/lib/python3.12/site-packages/jinja2/utils.py:88",
    ]


def test_the_signature_ignores_numbers_hashes_and_paths() -> None:
    first = analyse_log("/home/runner/work/a/a/main.go:23:2: undefined: loadConfig\n")
    second = analyse_log("/builds/acme/a/main.go:57:9: undefined: loadConfig\n")

    assert first.signature == second.signature
    assert first.signature == "go.compile: main.go:#:#: undefined: loadConfig"


def test_the_error_message_is_the_log_line_that_decided() -> None:
    analysis = analyse_log("E   ModuleNotFoundError: No module named 'respx'\n")

    assert analysis.error_message == "ModuleNotFoundError: No module named 'respx'"
    assert [(item.line_number, item.text) for item in analysis.evidence] == [
        (1, "E   ModuleNotFoundError: No module named 'respx'")
    ]


def test_a_cause_before_the_tail_is_found_by_the_second_pass() -> None:
    filler = "".join(f"compiling module {n}\n" for n in range(TAIL_CHARS // 10))
    log = "fatal: Authentication failed for 'https://github.com/acme/x.git/'\n" + filler

    analysis = analyse_log(log)

    assert len(log) > TAIL_CHARS
    assert analysis.failure_type is FailureType.AUTHENTICATION_ERROR
    assert analysis.evidence[0].line_number == 1


def test_a_cause_before_the_second_pass_is_not_read() -> None:
    filler = "x" * 99 + "\n"
    log = "fatal: Authentication failed for 'x'\n" + filler * (
        SECOND_PASS_CHARS // 100 + 10
    )

    analysis = analyse_log(log)

    assert analysis.failure_type is FailureType.UNKNOWN


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=4000))
def test_any_text_gives_an_analysis(text: str) -> None:
    analysis = analyse_log(text)

    assert analysis.failure_type in set(FailureType)
    assert 0.0 <= analysis.confidence <= 1.0
    assert analysis.root_cause


def test_binary_garbage_gives_an_analysis() -> None:
    garbage = bytes(range(256)).decode("latin-1") * 400

    analysis = analyse_log(garbage)

    assert analysis.failure_type is FailureType.UNKNOWN

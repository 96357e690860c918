"""Log normalisation: colours, timestamps and each provider's markers."""

from __future__ import annotations

from devflowfix.analysis.logtext import StepKind, read_log, tail_of

ESC = "\x1b"


def test_github_timestamps_and_markers_are_read_and_removed() -> None:
    log = (
        "2025-11-03T09:14:02.1234567Z ##[group]Run npm test\n"
        "2025-11-03T09:14:02.2234567Z npm test\n"
        "2025-11-03T09:14:02.3234567Z ##[endgroup]\n"
        "2025-11-03T09:14:03.0000000Z ##[warning]Node 16 is deprecated\n"
        "2025-11-03T09:14:09.0000000Z ##[error]Process completed with exit code 1.\n"
    )

    view = read_log(log)

    assert view.lines == [
        "Run npm test",
        "npm test",
        "",
        "WARNING: Node 16 is deprecated",
        "Process completed with exit code 1.",
    ]
    assert [(step.kind, step.name, step.line) for step in view.steps] == [
        (StepKind.STEP, "npm test", 0)
    ]
    assert view.error_lines == [4]
    assert view.is_warning(3)


def test_gitlab_colours_sections_and_commands_are_read() -> None:
    log = (
        f"section_start:1730625242:step_script\r{ESC}[0K{ESC}[0K{ESC}[36;1m"
        f'Executing "step_script" stage{ESC}[0;m\n'
        f"{ESC}[32;1m$ pytest -q{ESC}[0;m\n"
        "FAILED tests/test_a.py::test_b\n"
        f"section_end:1730625250:step_script\r{ESC}[0K\n"
        f"{ESC}[31;1mERROR: Job failed: exit code 1\n{ESC}[0;m\n"
    )

    view = read_log(log)

    assert "\x1b" not in view.text
    assert [(step.kind, step.name) for step in view.steps] == [
        (StepKind.STEP, "step_script"),
        (StepKind.COMMAND, "pytest -q"),
    ]
    assert view.lines[view.error_lines[0]] == "ERROR: Job failed: exit code 1"
    assert view.lines[1] == 'Executing "step_script" stage'


def test_jenkins_stages_and_timestamper_prefix_are_read() -> None:
    log = (
        "[2025-10-20T14:00:01.100Z] [Pipeline] stage\n"
        "[2025-10-20T14:00:01.200Z] [Pipeline] { (Test)\n"
        "[2025-10-20T14:00:01.300Z] [Pipeline] sh\n"
        "[2025-10-20T14:00:01.400Z] + mvn -B test\n"
        "[2025-10-20T14:00:09.000Z] ERROR: script returned exit code 1\n"
        "[2025-10-20T14:00:09.100Z] Finished: FAILURE\n"
    )

    view = read_log(log)

    assert view.lines == [
        "",
        "Test",
        "",
        "+ mvn -B test",
        "ERROR: script returned exit code 1",
        "Finished: FAILURE",
    ]
    assert [step.name for step in view.steps] == ["Test", "mvn -B test"]
    assert view.error_lines == [4, 5]
    assert view.failing_step() is not None
    assert view.failing_step().name == "Test"  # type: ignore[union-attr]


def test_buildkit_step_prefixes_are_removed_after_the_ci_timestamp() -> None:
    view = read_log("2025-11-03T09:14:02.1234567Z #10 3.402 FAIL src/a.test.ts\n")

    assert view.lines == ["FAIL src/a.test.ts"]


def test_jenkins_post_actions_and_skipped_stages_are_not_the_failing_step() -> None:
    log = "\n".join(
        [
            "[Pipeline] { (Build)",
            "+ make",
            "[Pipeline] { (Deploy)",
            'Stage "Deploy" skipped due to earlier failure(s)',
            "[Pipeline] { (Declarative: Post Actions)",
            "ERROR: script returned exit code 2",
        ]
    )

    step = read_log(log).failing_step()

    assert step is not None
    assert step.name == "Build"


def test_kubernetes_warning_events_are_not_warnings() -> None:
    view = read_log(
        "  Warning  Failed  39s  kubelet  Failed to pull image\n"
        "WARNING: The requested image's platform does not match\n"
    )

    assert view.is_warning(0) is False
    assert view.is_warning(1) is True


def test_line_numbers_count_from_the_start_of_the_whole_log() -> None:
    text = "".join(f"line {n}\n" for n in range(1, 1001))

    tail, start = tail_of(text, 100)
    view = read_log(tail, first_line_number=text.count("\n", 0, start) + 1)

    assert view.line_number(0) == int(view.lines[0].split()[1])
    assert view.lines[-1] == "line 1000"


def test_tail_starts_at_a_line_boundary() -> None:
    tail, start = tail_of("aaaa\nbbbb\ncccc\n", 8)

    assert tail == "cccc\n"
    assert start == 10

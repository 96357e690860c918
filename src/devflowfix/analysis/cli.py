"""`devflowfix analysis ...`: analyse a log file, calibrate on a labelled set."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from devflowfix.analysis import calibration as calibration_module
from devflowfix.analysis.engine import AnalysisHints, analyse_log
from devflowfix.analysis.labelled import accuracy, calibrate, judge, load_labelled_set

analysis_app = typer.Typer(
    help="Analyse CI logs offline and calibrate the confidence.", no_args_is_help=True
)
console = Console(stderr=True)
PAIR = re.compile(r"\[\n\s+(\d+),\n\s+(\d+)\n\s+\]")
SHIPPED_TABLE = Path(calibration_module.__file__).with_name(
    calibration_module.TABLE_FILE
)


def table_text(table: dict[str, object]) -> str:
    """The table as JSON with one rule per line, so diffs stay readable."""
    text = json.dumps(table, indent=1, sort_keys=True)
    return PAIR.sub(r"[\1, \2]", text) + "\n"


@analysis_app.command("run")
def run_analysis(
    path: Annotated[
        Path, typer.Argument(help="A CI log file; `-` reads standard input.")
    ],
    conclusion: Annotated[
        str | None,
        typer.Option(help="The CI's conclusion, e.g. timed_out, if it gave one."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole analysis as JSON.")
    ] = False,
) -> None:
    """Analyse one log and print the failure type, root cause and fix."""
    text = sys.stdin.read() if str(path) == "-" else path.read_text(errors="replace")

    result = analyse_log(text, hints=AnalysisHints(conclusion=conclusion))

    if as_json:
        sys.stdout.write(json.dumps(asdict(result), default=str, indent=2) + "\n")
        return

    sys.stdout.write(
        f"failure_type: {result.failure_type}\n"
        f"confidence:   {result.confidence}\n"
        f"root_cause:   {result.root_cause}\n"
        f"fix:          {result.suggested_fix}\n"
        f"step:         {result.failing_step}\n"
        f"files:        {', '.join(map(str, result.file_references))}\n"
    )


@analysis_app.command("calibrate")
def calibrate_confidence(
    directory: Annotated[
        Path, typer.Argument(help="A labelled set: log files and labels.json.")
    ],
    output: Annotated[
        Path, typer.Option(help="Where to write the calibration table.")
    ] = SHIPPED_TABLE,
) -> None:
    """Measure each rule's hit rate on a labelled set and write the table."""
    verdicts = judge(load_labelled_set(directory))

    table = calibrate(verdicts)
    output.write_text(table_text(table.to_json()))
    console.print(
        f"{len(verdicts)} logs, accuracy {accuracy(verdicts):.1%}; wrote {output}."
    )

"""Log analysis: accuracy per failure type on the labelled set, and speed.

Speed is measured on 100 KB logs: every labelled log is padded to 100 KB by
repeating its own set-up steps (output of steps that passed) in front of the
failure, which is what long CI logs look like. The engine is compared, in the
same run and on the same logs, with the naive design: normalise the whole log
and run every rule's regex over all of it. Rates are medians of repeated runs,
wall clock and CPU time (the machine is shared, so CPU time is the steadier one).

    python bench/analysis.py [--repeats 5] [--size 100000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from devflowfix.analysis import analyse_log
from devflowfix.analysis.labelled import LabelledLog, judge, load_labelled_set
from devflowfix.analysis.logtext import read_log
from devflowfix.analysis.matching import Finding, failure_region, make_finding, rank
from devflowfix.analysis.rules import RULES

LOGS = Path(__file__).resolve().parent.parent / "tests" / "data" / "logs"
console = Console()


def padded(text: str, size: int) -> str:
    """`text` grown to `size` characters with copies of its first half."""
    lines = text.splitlines()
    half = max(1, len(lines) // 2)
    head, tail = lines[:half], lines[half:]
    filler: list[str] = []
    length = len(text)
    while length < size:
        filler.extend(head)
        length += sum(len(line) + 1 for line in head) or 1
    return "\n".join(head + filler + tail) + "\n"


def naive_analysis(text: str) -> Finding | None:
    """The naive design: the whole log, every rule, no prefilter."""
    view = read_log(text)
    region = failure_region(view)
    findings = []
    for rule in RULES:
        matches = list(rule.pattern.finditer(view.text))
        if matches:
            findings.append(make_finding(view, rule, matches, region))
    return rank(findings).winner


def measure_rate(
    analyse: Callable[[str], object], texts: Sequence[str], repeats: int
) -> tuple[float, float]:
    """Median analyses per second over `repeats` runs: wall clock, CPU time."""
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        for text in texts:
            analyse(text)
        wall.append(len(texts) / (time.perf_counter() - started))
        cpu.append(len(texts) / (time.process_time() - started_cpu))
    return statistics.median(wall), statistics.median(cpu)


def accuracy_table(logs: list[LabelledLog]) -> Table:
    verdicts = judge(logs)
    totals = Counter(verdict.log.failure_type for verdict in verdicts)
    right = Counter(verdict.log.failure_type for verdict in verdicts if verdict.correct)
    table = Table(title=f"Accuracy on the labelled set ({len(logs)} logs)")
    for column in ("failure type", "logs", "right", "accuracy"):
        table.add_column(
            column, justify="left" if column == "failure type" else "right"
        )
    for failure_type in sorted(totals):
        share = right[failure_type] / totals[failure_type]
        table.add_row(
            failure_type.value,
            str(totals[failure_type]),
            str(right[failure_type]),
            f"{share:.0%}",
        )
    overall = sum(right.values()) / len(verdicts)
    table.add_row("all", str(len(verdicts)), str(sum(right.values())), f"{overall:.1%}")
    return table


def speed_table(logs: list[LabelledLog], size: int, repeats: int) -> Table:
    texts = [padded(log.text, size) for log in logs]
    engine = measure_rate(analyse_log, texts, repeats)
    naive = measure_rate(naive_analysis, texts, max(1, repeats // 2))
    mean_kb = statistics.mean(len(text) for text in texts) / 1000
    table = Table(title=f"Analyses per second, {len(texts)} logs of {mean_kb:.0f} KB")
    for column in ("design", "wall /s", "CPU /s", "ms each (CPU)", "x naive (CPU)"):
        table.add_column(column, justify="left" if column == "design" else "right")
    for name, (wall, cpu) in (("engine", engine), ("naive", naive)):
        table.add_row(
            name,
            f"{wall:.0f}",
            f"{cpu:.0f}",
            f"{1000 / cpu:.2f}",
            f"{cpu / naive[1]:.1f}",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=100_000)
    arguments = parser.parse_args()
    logs = load_labelled_set(LOGS)
    load_before = os.getloadavg()[0]
    console.print(accuracy_table(logs))
    console.print(speed_table(logs, arguments.size, arguments.repeats))
    console.print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after"
    )


if __name__ == "__main__":
    main()

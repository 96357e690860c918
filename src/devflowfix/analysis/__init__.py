"""Log analysis: failure type, root cause, fix and similar incidents."""

from devflowfix.analysis.engine import Analysis, AnalysisHints, analyse_log

__all__ = ["Analysis", "AnalysisHints", "analyse_log"]

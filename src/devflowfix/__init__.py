"""DevFlowFix: CI/CD failure incidents, analysed, searchable and exportable."""

__version__ = "0.1.0"

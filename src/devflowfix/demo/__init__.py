"""Demo data: a team, its admin and realistic CI/CD failure incidents, loaded fast."""

from devflowfix.demo.loader import load_demo
from devflowfix.demo.report import DemoReport

__all__ = ["DemoReport", "load_demo"]

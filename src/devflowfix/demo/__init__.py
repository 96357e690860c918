"""Demo data: a team, its admin and realistic CI/CD failure incidents, loaded fast."""

from devflowfix.demo.loader import DemoReport, load_demo

__all__ = ["DemoReport", "load_demo"]

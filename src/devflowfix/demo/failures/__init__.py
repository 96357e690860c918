"""Failure templates by ecosystem and platform, and the ones that fit a pipeline."""

from __future__ import annotations

from devflowfix.demo.catalog import Repository
from devflowfix.demo.failures import (
    deploys,
    images,
    jvm,
    kubernetes,
    native,
    node,
    python,
    runner,
    scripting,
    security,
    terraform,
)
from devflowfix.demo.failures.base import Context, Failure, Template
from devflowfix.vocabulary import Source

TEMPLATES: tuple[Template, ...] = tuple(
    template
    for module in (
        python,
        node,
        jvm,
        native,
        scripting,
        images,
        kubernetes,
        deploys,
        terraform,
        runner,
        security,
    )
    for template in module.registry.templates
)


def templates_for(repository: Repository, source: Source) -> list[Template]:
    """The templates whose failures can happen in this repository on this source."""
    return [template for template in TEMPLATES if template.fits(repository, source)]


__all__ = ["TEMPLATES", "Context", "Failure", "Template", "templates_for"]

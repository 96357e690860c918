"""Changes for a fix, proposed by the configured language model.

A `pr_creation` job that names no `patch` and no `files` asks the model of
`DEVFLOWFIX_LLM_*` (the one the analysis uses). The model sees the incident's
verdict, an excerpt of its log with credentials masked, the repository's file
list and the current text of the files the log names, and answers with whole
files. The answer then goes through the same validation as a request's
`files`, so a model can no more write outside the repository than a user can.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from devflowfix.analysis.extract import LIBRARY_PATHS, REFERENCE
from devflowfix.analysis.llm import (
    MODEL_FAILURES,
    LanguageModel,
    json_object_in,
    mask_secrets,
)
from devflowfix.config import Settings
from devflowfix.errors import ValidationFailed
from devflowfix.pullrequests.branches import BaseTree
from devflowfix.pullrequests.schemas import FixTarget

log = structlog.get_logger(__name__)

MAX_LISTED_FILES = 300
MAX_SHOWN_FILES = 3
MAX_FILE_CHARS = 20_000
LOG_TAIL_CHARS = 6_000
SYSTEM_PROMPT = (
    "You fix CI/CD failures. Answer with one JSON object of the form "
    '{"files": {"<path>": "<the whole new content of the file>"}}: only the '
    "files that change, paths relative to the repository root, and the "
    "smallest change that fixes the failure the log shows. If the log does "
    'not show enough to fix it, answer {"files": {}}.'
)


class LanguageModelProposer:
    """Asks a chat-completions model for the files of a fix."""

    def __init__(self, model: LanguageModel) -> None:
        self._model = model

    @classmethod
    def from_settings(cls, settings: Settings) -> LanguageModelProposer | None:
        """The proposer of the configured model, or None when none is."""
        model = LanguageModel.from_settings(settings)
        return cls(model) if model is not None else None

    def close(self) -> None:
        self._model.close()

    def __call__(self, incident: FixTarget, base: BaseTree) -> Mapping[str, Any]:
        prompt = proposal_prompt(incident, base)
        try:
            answer = json_object_in(self._model.ask(SYSTEM_PROMPT, prompt))
        except MODEL_FAILURES as exc:
            log.warning(
                "pull_request.proposal_failed",
                incident_id=incident.incident_id,
                reason=type(exc).__name__,
            )
            raise ValidationFailed(
                "The language model gave no usable change "
                f"({type(exc).__name__}); give `patch` or `files`."
            ) from exc

        if not answer.get("files"):
            raise ValidationFailed(
                "The language model proposed no change for this incident; "
                "give `patch` or `files`."
            )

        log.info(
            "pull_request.proposed",
            incident_id=incident.incident_id,
            files=len(answer["files"]) if isinstance(answer["files"], dict) else 0,
        )

        return {"files": answer["files"]}


def proposal_prompt(incident: FixTarget, base: BaseTree) -> str:
    """What the model is told: the verdict, the log's end, the files involved."""
    paths = base.list_files()
    log_tail = mask_secrets((incident.error_log or "")[-LOG_TAIL_CHARS:])
    sections = [
        f"Failure type: {incident.failure_type}",
        f"Error message: {mask_secrets(incident.error_message)}",
        f"Root cause: {incident.root_cause or 'not known'}",
        f"Suggested fix: {incident.suggested_fix or 'none'}",
        f"End of the log:\n```\n{log_tail}\n```",
        "Files of the repository:\n" + "\n".join(paths[:MAX_LISTED_FILES]),
    ]

    for path in named_files(incident, paths):
        text = base.read_file(path)
        if text is not None and len(text) <= MAX_FILE_CHARS:
            sections.append(f"Current content of {path}:\n```\n{text}\n```")

    return "\n\n".join(sections)


def named_files(incident: FixTarget, paths: list[str]) -> list[str]:
    """Files of the repository that the error or the log mentions, first named first.

    Mentions are found as the analysis finds file references, library frames
    left out. A log names files by their path from wherever the job ran, so a
    mention matches a repository file when one ends with the other.
    """
    text = f"{incident.error_message}\n{(incident.error_log or '')[-LOG_TAIL_CHARS:]}"
    found: list[str] = []
    for match in REFERENCE.finditer(text):
        mention = match["py_path"] or match["path"]
        if any(marker in mention for marker in LIBRARY_PATHS):
            continue

        for path in paths:
            if path not in found and _same_file(mention, path):
                found.append(path)

        if len(found) >= MAX_SHOWN_FILES:
            break

    return found[:MAX_SHOWN_FILES]


def _same_file(mention: str, path: str) -> bool:
    return (
        path == mention or mention.endswith("/" + path) or path.endswith("/" + mention)
    )

"""An optional language model that may refine the root cause and the fix.

Any OpenAI-compatible chat endpoint works (`POST {base_url}/chat/completions`).
The model sees the rule-based verdict and an excerpt of the log around the
evidence, with credential-looking strings masked; never the whole log. It may
reword the root cause and the fix; the failure type and the confidence stay
the rules', which are calibrated. Any failure of the model (down, slow, wrong
answer) leaves the rule-based analysis as it is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx
import structlog

from devflowfix.analysis.engine import Analysis
from devflowfix.config import Settings

log = structlog.get_logger(__name__)

EXCERPT_RADIUS_LINES = 30
MAX_EXCERPT_CHARS = 6000
MAX_ANSWER_CHARS = 1000
SECRETS = re.compile(
    r"(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255}"
    r"|glpat-[A-Za-z0-9_\-]{20,255}|AKIA[0-9A-Z]{16}|xox[abpr]-[A-Za-z0-9\-]{10,255}"
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/\-]{16,4096}={0,3}"
    r"|(?i:password|passwd|secret|token|api[_-]?key)\s*[=:]\s*[^\s'\"]{4,255})"
)
# What `LanguageModel.ask` raises when the model gives no usable answer.
MODEL_FAILURES = (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError)
SYSTEM_PROMPT = (
    "You analyse CI/CD failures. Answer with one JSON object with the keys "
    "root_cause and suggested_fix: one or two plain sentences each, naming the "
    "specific module, test, file, command or resource the log shows. Do not "
    "invent facts that are not in the log."
)


@dataclass(frozen=True)
class Refinement:
    root_cause: str
    suggested_fix: str


def mask_secrets(text: str) -> str:
    """`text` with token- and password-looking strings replaced by `***`."""
    return SECRETS.sub("***", text)


def excerpt_for(text: str, analysis: Analysis) -> str:
    """The lines around the evidence (or the end of the log), secrets masked."""
    lines = text.splitlines()
    if analysis.evidence:
        centre = analysis.evidence[0].line_number - 1
        window = lines[
            max(0, centre - EXCERPT_RADIUS_LINES) : centre + EXCERPT_RADIUS_LINES
        ]
    else:
        window = lines[-2 * EXCERPT_RADIUS_LINES :]

    return mask_secrets("\n".join(window))[-MAX_EXCERPT_CHARS:]


class LanguageModel:
    """A chat-completions client that never raises."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_seconds: float = 20.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=timeout_seconds,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LanguageModel | None:
        """The configured model, or None when none is configured."""
        if (
            not settings.llm_enabled
            or not settings.llm_base_url
            or not settings.llm_model
        ):
            return None

        return cls(
            settings.llm_base_url,
            settings.llm_model,
            api_key=settings.llm_api_key,
            timeout_seconds=settings.llm_timeout_seconds,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> LanguageModel:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def ask(self, system: str, prompt: str) -> str:
        """The model's answer to one prompt.

        Raises `MODEL_FAILURES` when the model is down, slow or answers in a
        shape that is not a chat completion.
        """
        request = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": prompt},
            ],
        }
        response = self._client.post("/chat/completions", json=request)
        response.raise_for_status()

        content = response.json()["choices"][0]["message"]["content"]
        if not isinstance(content, str):
            raise TypeError("the message content is not text")

        return content

    def refine(self, analysis: Analysis, log_text: str) -> Refinement | None:
        """A reworded root cause and fix, or None if the model gave none."""
        try:
            content = self.ask(SYSTEM_PROMPT, _prompt(analysis, log_text))
            return _refinement(content)
        except MODEL_FAILURES as exc:
            log.warning(
                "analysis.llm_failed", model=self.model, reason=type(exc).__name__
            )
            return None


def _prompt(analysis: Analysis, log_text: str) -> str:
    return (
        f"Failure type: {analysis.failure_type.value}\n"
        f"Rule-based root cause: {analysis.root_cause}\n"
        f"Rule-based fix: {analysis.suggested_fix}\n"
        f"Log excerpt:\n```\n{excerpt_for(log_text, analysis)}\n```"
    )


def json_object_in(content: str) -> dict[str, object]:
    """The first JSON object in a model's answer (which may wrap it in prose)."""
    start, end = content.find("{"), content.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no JSON object in the answer")

    answer = json.loads(content[start : end + 1])
    if not isinstance(answer, dict):
        raise ValueError("the answer is not a JSON object")
    return answer


def _refinement(content: str) -> Refinement:
    answer = json_object_in(content)
    root_cause = str(answer["root_cause"]).strip()
    suggested_fix = str(answer["suggested_fix"]).strip()
    if not root_cause or not suggested_fix:
        raise ValueError("an empty field in the answer")

    return Refinement(root_cause[:MAX_ANSWER_CHARS], suggested_fix[:MAX_ANSWER_CHARS])

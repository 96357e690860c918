"""The optional language model, played by a local OpenAI-compatible server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import make_settings
from devflowfix.analysis import analyse_log
from devflowfix.analysis.llm import LanguageModel, Refinement, mask_secrets
from provider_server import ProviderServer, Reply, running_server

LOG = (
    "export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"
    "E   ModuleNotFoundError: No module named 'respx'\n"
)
ANSWER = {
    "root_cause": "The test extra does not install respx, which the tests import.",
    "suggested_fix": "Add respx to the [test] extra in pyproject.toml.",
}


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with running_server() as server:
        yield server


def chat_reply(content: str) -> Reply:
    body = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]
    }
    return Reply(
        body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


def refine(server: ProviderServer, timeout: float = 5.0) -> Refinement | None:
    with LanguageModel(
        f"{server.url}/v1", "local-model", api_key="sk-test", timeout_seconds=timeout
    ) as model:
        return model.refine(analyse_log(LOG), LOG)


def test_the_model_refines_the_cause_and_the_fix(server: ProviderServer) -> None:
    server.reply("/v1/chat/completions", chat_reply(json.dumps(ANSWER)))

    refinement = refine(server)

    assert refinement == Refinement(ANSWER["root_cause"], ANSWER["suggested_fix"])
    request = server.received[0]
    assert request.headers["Authorization"] == "Bearer sk-test"
    sent = json.loads(request.body)
    assert sent["model"] == "local-model"
    assert sent["messages"][0]["role"] == "system"
    prompt = sent["messages"][1]["content"]
    assert "Failure type: dependency_error" in prompt
    assert "No module named 'respx'" in prompt
    assert "ghp_" not in prompt


def test_an_answer_wrapped_in_a_code_fence_is_read(server: ProviderServer) -> None:
    server.reply(
        "/v1/chat/completions", chat_reply("```json\n" + json.dumps(ANSWER) + "\n```")
    )

    refinement = refine(server)

    assert refinement is not None
    assert refinement.suggested_fix == ANSWER["suggested_fix"]


@pytest.mark.parametrize(
    "reply",
    [
        Reply(500, b'{"error": "overloaded"}'),
        Reply(200, b"not json"),
        chat_reply("I think it is a dependency problem."),
        chat_reply(json.dumps({"root_cause": "x"})),
        chat_reply(json.dumps({"root_cause": "", "suggested_fix": "y"})),
        Reply(200, b'{"choices": []}'),
    ],
    ids=["error", "not-json", "prose", "missing-key", "empty", "no-choice"],
)
def test_a_model_that_fails_gives_no_refinement(
    server: ProviderServer, reply: Reply
) -> None:
    server.reply("/v1/chat/completions", reply)

    assert refine(server) is None


def test_a_slow_model_times_out_without_raising(server: ProviderServer) -> None:
    server.reply("/v1/chat/completions", Reply(delay_seconds=2.0))

    assert refine(server, timeout=0.3) is None


def test_the_model_is_off_unless_configured(tmp_path: Path) -> None:
    off = make_settings("sqlite://", tmp_path)
    on = make_settings(
        "sqlite://", tmp_path, llm_base_url="http://127.0.0.1:9/v1", llm_model="m"
    )

    assert LanguageModel.from_settings(off) is None
    configured = LanguageModel.from_settings(on)
    assert configured is not None
    assert configured.model == "m"
    configured.close()


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("token: ghp_abcdefghijklmnopqrstuvwxyz0123", "***"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz", "Authorization: ***"),
        ("PASSWORD=hunter2hunter2", "***"),
        ("key AKIAABCDEFGHIJKLMNOP used", "key *** used"),
        ("glpat-abcdefghijklmnopqrstu", "***"),
    ],
)
def test_credentials_are_masked_before_the_model_sees_them(
    text: str, masked: str
) -> None:
    assert mask_secrets(text) == masked

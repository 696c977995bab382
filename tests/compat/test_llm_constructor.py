"""Item 7: `myagent.llm.LLM()` builds the default OpenAI-compatible client from the
environment, as before; `LLM(config_name=...)` says config files are not supported."""

from __future__ import annotations

import pytest

from myagent import LLM as TopLevelLLM
from myagent import create_toolcall_agent
from myagent.llm import LLM, OpenAICompatibleLLM, ScriptedLLM
from myagent.trace import TraceManager
from tests.support.openai_server import OpenAITestServer


async def test_llm_builds_the_default_client_and_an_agent_runs_on_it(
    old_env: OpenAITestServer, manager: TraceManager
) -> None:
    old_env.enqueue("hello from the endpoint")
    llm = LLM()
    assert TopLevelLLM is LLM
    assert isinstance(llm, OpenAICompatibleLLM) and isinstance(llm, LLM)
    assert (llm.model, llm.base_url) == ("gpt-4o-mini", old_env.base_url)
    assert isinstance(LLM(config_name="default"), OpenAICompatibleLLM)
    assert LLM(model="other-model").model == "other-model"
    assert isinstance(ScriptedLLM(), LLM)  # still the protocol every model satisfies

    agent = create_toolcall_agent(name="llm-ctor", llm=llm)
    assert await agent.run("hi") == "hello from the endpoint"
    (trace,) = manager.get_traces_by_agent("llm-ctor")
    assert [r.run_type for r in trace.runs] == ["think"]
    assert old_env.request_headers[0]["authorization"] == "Bearer sk-old-example"


def test_named_configs_are_refused_saying_what_to_set() -> None:
    with pytest.raises(TypeError) as caught:
        LLM(config_name="deepseek")
    message = str(caught.value)
    assert "config_name='deepseek'" in message and "reads no config files" in message
    assert "OPENAI_API_KEY, OPENAI_BASE_URL and LLM_MODEL" in message
    with pytest.raises(TypeError, match="not supported"):
        LLM(llm_config={"model": "x"})


def test_classes_implementing_the_protocol_still_construct_as_their_own() -> None:
    class Own(LLM):
        def __init__(self, model: str) -> None:
            self.model = model

        async def chat(self, *args: object, **kwargs: object) -> object:
            raise NotImplementedError

    own = Own("m1")
    assert type(own) is Own and own.model == "m1" and isinstance(own, LLM)

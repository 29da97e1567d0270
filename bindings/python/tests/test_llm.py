"""The LLM layer of DESIGN §2 from Python: the default model comes from the core, and the
optional system prompt and current conversation are kept per user, async and blocking."""

from __future__ import annotations

import asyncio
import inspect

import pytest

import poto_sessions
from poto_sessions import InMemorySessionProvider, InvalidArgumentError, LLMPotoModule, RedisSessionProvider, user_context


def test_default_model_comes_from_the_core() -> None:
    assert poto_sessions.DEFAULT_MODEL == poto_sessions._native.DEFAULT_MODEL == "llm1"
    module = LLMPotoModule(InMemorySessionProvider())
    assert module.default_model == poto_sessions.DEFAULT_MODEL
    assert module.get_user_model_sync(user_id="u") == poto_sessions.DEFAULT_MODEL
    assert LLMPotoModule(InMemorySessionProvider(), default_model="gpt-x").default_model == "gpt-x"
    assert '"llm1"' not in inspect.getsource(poto_sessions.module)
    assert "'llm1'" not in inspect.getsource(poto_sessions.module)


async def test_system_prompt_and_conversation_async() -> None:
    module = LLMPotoModule(InMemorySessionProvider())
    with user_context("alice"):
        assert await module.get_system_prompt() is None
        assert await module.get_current_conversation_id() is None
        await module.set_system_prompt("You are terse.")
        await module.set_current_conversation_id("conv-1")
        assert await module.get_system_prompt() == "You are terse."
        assert await module.get_current_conversation_id() == "conv-1"
        session = await module.get_user_session()
        assert session["systemPrompt"] == "You are terse." and session["currentConversationId"] == "conv-1"
        assert session["currentModelName"] == poto_sessions.DEFAULT_MODEL
    assert await module.get_system_prompt(user_id="bob") is None
    await module.set_system_prompt("Be kind.", user_id="bob")
    assert await module.get_system_prompt(user_id="bob") == "Be kind."
    assert await module.get_system_prompt(user_id="alice") == "You are terse."


def test_system_prompt_and_conversation_sync() -> None:
    module = LLMPotoModule(InMemorySessionProvider())
    assert module.get_system_prompt_sync(user_id="carol") is None
    module.set_system_prompt_sync("Answer in French.", user_id="carol")
    module.set_current_conversation_id_sync("c-9", user_id="carol")
    with user_context("carol"):
        assert module.get_system_prompt_sync() == "Answer in French."
        assert module.get_current_conversation_id_sync() == "c-9"
    with pytest.raises(InvalidArgumentError):
        module.set_system_prompt_sync(7, user_id="carol")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        module.set_current_conversation_id_sync(None, user_id="carol")  # type: ignore[arg-type]
    assert module.get_system_prompt_sync(user_id="carol") == "Answer in French."


async def test_llm_fields_cross_instances(redis_server, prefix) -> None:
    one = LLMPotoModule(RedisSessionProvider(redis_server.url, prefix=prefix))
    two = LLMPotoModule(RedisSessionProvider(redis_server.url, prefix=prefix))
    await asyncio.gather(
        one.set_system_prompt("p", user_id="dan"),
        two.set_current_conversation_id("c", user_id="dan"),
        one.update_user_model("llm2", user_id="dan"),
    )
    assert await two.get_system_prompt(user_id="dan") == "p"
    assert await one.get_current_conversation_id(user_id="dan") == "c"
    assert await two.get_user_model(user_id="dan") == "llm2"


def test_llm_calls_on_a_generic_module_are_the_cores_one_error() -> None:
    generic = poto_sessions._native.NativeModule(InMemorySessionProvider())
    assert generic.default_model is None
    for call in [lambda: generic.get_user_model_sync("u"), lambda: generic.set_system_prompt_sync("u", "p")]:
        with pytest.raises(InvalidArgumentError, match="not an LLM module"):
            call()

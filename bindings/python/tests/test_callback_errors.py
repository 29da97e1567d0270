"""What a bad result or an exception of a host callback becomes (DESIGN §7, as in Node): a
default factory or update function returning something that is not a session is an
InvalidArgumentError; a factory's exception is the cause of the ProviderError raised; an update
function's exception propagates as is. Nothing is written in any of these cases."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import pytest

from poto_sessions import InMemorySessionProvider, InvalidArgumentError, PotoModule, ProviderError

from .stores import DictStore

NOT_SESSIONS = [None, [1, 2], "text", 7, {"big": 2**64}, {"small": -(2**63) - 1}, {"nan": float("nan")}]


class Boom(Exception):
    pass


def module_with(factory: Callable[[dict[str, Any]], Any], store: Any) -> PotoModule:
    class Custom(PotoModule):
        def create_default_session_data(self, user_id: str) -> Any:
            return factory(super().create_default_session_data(user_id))

    return Custom(store)


def calls(module: PotoModule) -> list[Callable[[], Awaitable[Any]]]:
    """Every module call that creates a missing session from the defaults."""
    return [
        lambda: module.get_user_session(user_id="u"),
        lambda: module.set_session_value("k", 1, user_id="u"),
        lambda: module.update_user_session(lambda s: None, user_id="u"),
        lambda: asyncio.to_thread(module.get_user_session_sync, user_id="u"),
    ]


@pytest.mark.parametrize("store", [InMemorySessionProvider, DictStore])
@pytest.mark.parametrize("bad", NOT_SESSIONS, ids=repr)
async def test_factory_returning_a_non_session_is_invalid_argument(store, bad) -> None:
    provider = store()
    module = module_with(lambda base: bad if not isinstance(bad, dict) else {**base, **bad}, provider)
    for call in calls(module):
        with pytest.raises(InvalidArgumentError, match="create_default_session_data"):
            await call()
    assert (await PotoModule(provider).get_session_stats()).active_sessions == 0


async def test_async_factory_returning_a_non_session_is_invalid_argument() -> None:
    class Custom(PotoModule):
        async def create_default_session_data(self, user_id: str) -> Any:  # type: ignore[override]
            await asyncio.sleep(0)
            return [user_id]

    with pytest.raises(InvalidArgumentError):
        await Custom(InMemorySessionProvider()).get_user_session(user_id="u")


@pytest.mark.parametrize("store", [InMemorySessionProvider, DictStore])
async def test_factory_exception_is_the_cause(store) -> None:
    def explode(base: dict[str, Any]) -> Any:
        raise Boom("no defaults today")

    provider = store()
    module = module_with(explode, provider)
    for call in calls(module):
        with pytest.raises(ProviderError, match="no defaults today") as info:
            await call()
        assert isinstance(info.value.__cause__, Boom)
    assert (await PotoModule(provider).get_session_stats()).active_sessions == 0


async def test_async_factory_exception_is_the_cause() -> None:
    class Custom(PotoModule):
        async def create_default_session_data(self, user_id: str) -> Any:  # type: ignore[override]
            await asyncio.sleep(0)
            raise Boom("async no")

    with pytest.raises(ProviderError) as info:
        await Custom(InMemorySessionProvider()).get_user_session(user_id="u")
    assert isinstance(info.value.__cause__, Boom)


@pytest.mark.parametrize("store", [InMemorySessionProvider, DictStore])
async def test_update_function_results_and_exceptions(store) -> None:
    provider = store()
    module = PotoModule(provider)
    await module.set_session_value("n", 1, user_id="u")
    for bad in [[1], "text", 7, {"big": 2**64}]:
        with pytest.raises(InvalidArgumentError):
            await module.update_user_session(lambda s, bad=bad: bad, user_id="u")
        with pytest.raises(InvalidArgumentError):
            await asyncio.to_thread(module.update_user_session_sync, lambda s, bad=bad: bad, user_id="u")

    async def async_boom(session: dict[str, Any]) -> None:
        session["n"] = 2
        raise Boom("async")

    def boom(session: dict[str, Any]) -> None:
        session["n"] = 2
        raise Boom("sync")

    for fn in [boom, async_boom]:
        with pytest.raises(Boom):
            await module.update_user_session(fn, user_id="u")
    with pytest.raises(Boom):
        await asyncio.to_thread(module.update_user_session_sync, boom, user_id="u")
    assert await module.get_session_value("n", user_id="u") == 1


async def test_custom_provider_exception_is_the_cause() -> None:
    module = PotoModule(DictStore(fail=True))
    with pytest.raises(ProviderError, match="database is down") as info:
        await module.get_user_session(user_id="u")
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(ProviderError) as info:
        await asyncio.to_thread(module.set_session_value_sync, "k", 1, user_id="u")
    assert isinstance(info.value.__cause__, RuntimeError)


async def test_a_provider_returning_a_broken_awaitable_fails_the_call() -> None:
    class NotAwaitable:
        __await__ = None  # looks awaitable to a quick check; asyncio refuses it

    class Broken(DictStore):
        def get_session(self, user_id: str) -> Any:
            return NotAwaitable()

    with pytest.raises(ProviderError) as info:
        await asyncio.wait_for(PotoModule(Broken()).get_user_session(user_id="u"), 5)
    assert isinstance(info.value.__cause__, TypeError)

"""Options through the core's one schema (DESIGN §4 "One options schema"): every option of every
class is a keyword typed by its kind (durations in seconds or as a timedelta), checked by the
core; the stubs list exactly the schema's options; an unknown keyword is a TypeError."""

from __future__ import annotations

import ast
import asyncio
import inspect
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

import poto_sessions
from poto_sessions import (
    InMemorySessionProvider,
    InvalidArgumentError,
    LLMPotoModule,
    PotoModule,
    RedisSessionProvider,
    SessionProvider,
    SessionTooLargeError,
    _native,
)

from .stores import DictStore

SCHEMA: Dict[str, Dict[str, str]] = {cls: dict(options) for cls, options in _native._option_schema()}

#: How each option set is given in Python (the module set: LLMPotoModule, which takes them all).
MAKERS: Dict[str, Callable[..., Any]] = {
    "InMemorySessionProvider": InMemorySessionProvider,
    "RedisSessionProvider": RedisSessionProvider,
    "custom provider": lambda **options: SessionProvider.wrap(DictStore(), **options),
    "PotoModule": lambda **options: LLMPotoModule(InMemorySessionProvider(), **options),
}


def texts(certs: Any) -> Dict[str, str]:
    """A valid value of each text option (TLS and Sentinel ones need a rediss+sentinel:// URL, TLS ones real PEM files)."""
    return {
        "url": "rediss+sentinel://127.0.0.1:1/mymaster",
        "prefix": "opt:",
        "default_model": "m",
        "tls_ca_file": certs.path("ca.crt"),
        "tls_ca_pem": certs.read("ca.crt"),
        "tls_cert_file": certs.path("client.crt"),
        "tls_key_file": certs.path("client.key"),
        "sentinel_username": "sentinel-user",
        "sentinel_password": "sentinel-password",
    }


GOOD: Dict[str, List[Any]] = {
    "duration": [1.5, timedelta(milliseconds=20), 2],
    "duration_or_zero": [0, 1.5, timedelta(milliseconds=20)],
    "count": [1000],
    "count_or_zero": [0, 2],
    "bool": [True, False],
}
BAD: Dict[str, List[Any]] = {
    "duration": ["1", True, -1, 0, float("nan"), [1]],
    "duration_or_zero": ["1", True, -1, float("nan"), [1]],
    "count": [0, -1, 1.5, True, "5", 2**64],
    "count_or_zero": [-1, 1.5, True, "5", 2**64],
    "bool": [1, "yes", 1.0],
    "text": [3, b"bytes", ["x"]],
}


def test_every_option_set_has_a_python_spelling() -> None:
    assert sorted(SCHEMA) == sorted(MAKERS)


def stub_keywords(cls: str, function: str) -> List[str]:
    """The keywords `cls.function` declares in `_native.pyi`, besides `self` and `provider`."""
    tree = ast.parse((Path(poto_sessions.__file__).parent / "_native.pyi").read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == function:
                    args = item.args.args + item.args.kwonlyargs
                    return [a.arg for a in args if a.arg not in ("self", "provider")]
    raise AssertionError(f"{cls}.{function} not in the stubs")


def test_the_signatures_list_exactly_the_schemas_options() -> None:
    assert sorted(stub_keywords("InMemorySessionProvider", "__init__")) == sorted(SCHEMA["InMemorySessionProvider"])
    assert sorted(stub_keywords("RedisSessionProvider", "__init__")) == sorted(SCHEMA["RedisSessionProvider"])
    assert sorted(stub_keywords("SessionProvider", "wrap")) == sorted(SCHEMA["custom provider"])
    native = [k for k in stub_keywords("NativeModule", "__init__") if k not in ("llm", "defaults")]
    assert sorted(native) == sorted(SCHEMA["PotoModule"])
    for module in (PotoModule, LLMPotoModule):
        keywords = [p.name for p in inspect.signature(module.__init__).parameters.values() if p.kind is p.KEYWORD_ONLY]
        assert sorted(keywords) == sorted(SCHEMA["PotoModule"])


@pytest.mark.parametrize("cls", sorted(MAKERS))
def test_every_option_is_accepted_in_its_kind(cls: str, tls_certs: Any) -> None:
    options = SCHEMA[cls]
    TEXTS = texts(tls_certs)
    for index in range(3):
        values = {name: TEXTS[name] if kind == "text" else GOOD[kind][index % len(GOOD[kind])] for name, kind in options.items()}
        MAKERS[cls](**values)
    MAKERS[cls](**{name: None for name in options})  # None: the defaults


@pytest.mark.parametrize("cls", sorted(MAKERS))
def test_values_of_another_kind_are_invalid_arguments(cls: str) -> None:
    for name, kind in SCHEMA[cls].items():
        for bad in BAD[kind]:
            with pytest.raises(InvalidArgumentError, match=name):
                MAKERS[cls](**{name: bad})


@pytest.mark.parametrize("cls", sorted(MAKERS))
def test_an_unknown_keyword_is_a_type_error(cls: str) -> None:
    with pytest.raises(TypeError, match="tll") as info:
        MAKERS[cls](tll=1)
    assert not isinstance(info.value, ValueError)


def test_default_model_is_an_option_of_llm_modules_only() -> None:
    with pytest.raises(InvalidArgumentError, match="LLM modules only"):
        PotoModule(InMemorySessionProvider(), default_model="m")
    assert LLMPotoModule(InMemorySessionProvider(), default_model="m").default_model == "m"
    with pytest.raises(InvalidArgumentError):
        LLMPotoModule(default_model="")


async def test_in_memory_max_session_bytes() -> None:
    provider = InMemorySessionProvider(max_session_bytes=300)
    await provider.set_session("u", {"blob": "z" * 250})
    with pytest.raises(SessionTooLargeError):
        await provider.set_session("u", {"blob": "z" * 300})
    with pytest.raises(SessionTooLargeError):
        await PotoModule(provider).set_session_value("blob", "z" * 300, user_id="u")
    assert (await provider.get_session("u") or {})["blob"] == "z" * 250


async def test_custom_max_session_bytes_and_one_set_of_options_per_object() -> None:
    store = DictStore()
    provider = SessionProvider.wrap(store, max_session_bytes=300)
    with pytest.raises(SessionTooLargeError):
        await provider.set_session("u", {"blob": "z" * 300})
    # The object has one adapter: a module given the object itself uses it, with its limit.
    module = PotoModule(store)
    with pytest.raises(SessionTooLargeError):
        await module.set_session_value("blob", "z" * 300, user_id="u")
    await module.set_session_value("blob", "z" * 250, user_id="u")
    SessionProvider.wrap(store, max_session_bytes=300)  # the same options: the same adapter
    SessionProvider.wrap(store)
    with pytest.raises(InvalidArgumentError, match="one set of options"):
        SessionProvider.wrap(store, max_session_bytes=400)
    with pytest.raises(InvalidArgumentError, match="custom provider objects"):
        SessionProvider.wrap(InMemorySessionProvider(), max_session_bytes=400)
    assert store.rows["u"][0]["blob"] == "z" * 250


async def test_redis_options(redis_server, prefix) -> None:
    provider = RedisSessionProvider(
        redis_server.url,
        prefix=prefix,
        list_page_size=1,
        retry_budget=timedelta(seconds=10),
        retry_base_delay=0.001,
        retry_max_delay=timedelta(milliseconds=5),
        max_session_bytes=4096,
        command_timeout=1,
    )
    ids = sorted(f"user-{i}" for i in range(300))  # several per index shard: several pages of 1
    await asyncio.gather(*(provider.set_session(user_id, {"n": 1}) for user_id in ids))
    assert sorted(await provider.get_active_sessions()) == ids
    assert await provider.count() == len(ids)
    with pytest.raises(SessionTooLargeError):
        await provider.set_session("big", {"blob": "z" * 5000})
    assert await RedisSessionProvider(url=redis_server.url, prefix=prefix).count() == len(ids)
    with pytest.raises(TypeError):
        RedisSessionProvider(redis_server.url, url=redis_server.url)  # type: ignore[misc]


async def test_module_retry_options() -> None:
    def bump(session: dict) -> None:
        session["n"] = session.get("n", 0) + 1

    module = PotoModule(DictStore(), retry_budget=30, retry_base_delay=0.001, retry_max_delay=0.002)
    for _ in range(5):
        await module.update_user_session(bump, user_id="r")
    assert await module.get_session_value("n", user_id="r") == 5

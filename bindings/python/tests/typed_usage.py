"""Checked by mypy --strict against the package's stubs (not collected by pytest)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, List, Optional

import poto_sessions
from poto_sessions import (
    InMemorySessionProvider,
    LLMPotoModule,
    RedisSessionProvider,
    SessionProvider,
    SessionStats,
    user_context,
)


async def typed() -> None:
    provider = RedisSessionProvider(
        "redis://127.0.0.1:6379",
        prefix="t:",
        ttl=timedelta(hours=1),
        command_timeout=0.5,
        retry_base_delay=0.001,
        retry_max_delay=timedelta(milliseconds=50),
        list_page_size=500,
        cluster=False,
    )
    memory = InMemorySessionProvider(ttl=60.0, max_session_bytes=65536)
    custom = SessionProvider.wrap(object(), max_session_bytes=4096)
    touched: bool = await custom.touch("u", ttl=30) or memory.touch_sync("u")
    session: Optional[Dict[str, Any]] = await provider.get_session("u")
    await memory.set_session("u", {"a": 1}, ttl=30)
    ids: List[str] = await memory.get_active_sessions()
    stats: SessionStats = await memory.get_stats()
    n: int = stats.active_sessions + len(ids) + memory.count_sync()
    module = LLMPotoModule(memory, default_model="llm9", retry_budget=2, retry_base_delay=0.001, retry_max_delay=0.05)
    with user_context("alice"):
        model: str = await module.get_user_model()
        written: Dict[str, Any] = await module.update_user_session(lambda s: s.update(n=n))
        await module.set_system_prompt("Be brief.")
        prompt: Optional[str] = await module.get_system_prompt()
        module.set_current_conversation_id_sync("c-1", user_id="bob")
        conversation: Optional[str] = module.get_current_conversation_id_sync(user_id="bob")
        await module.set_current_conversation_id("c-2")
        latest: Optional[str] = await module.get_current_conversation_id()
        module.set_system_prompt_sync("Be kind.", user_id="bob")
        kind: Optional[str] = module.get_system_prompt_sync(user_id="bob")
    default: str = poto_sessions.DEFAULT_MODEL + module.default_model
    report = poto_sessions.run_conformance(memory)
    ok: bool = report["ok"]
    del touched, session, model, written, ok, prompt, conversation, latest, kind, default

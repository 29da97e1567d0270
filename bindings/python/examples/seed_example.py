"""The seed's examples in Python: module API, LLM preference, custom fields, a custom provider,
cleanup and stats. In-memory by default; set REDIS_URL to use Redis.

    python examples/seed_example.py
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Dict, List, Optional

from poto_sessions import (
    InMemorySessionProvider,
    LLMPotoModule,
    PotoModule,
    RedisSessionProvider,
    SessionError,
    set_session_provider,
    user_context,
)

Session = Dict[str, Any]


class MyModule(LLMPotoModule):
    """Adding custom session fields (the seed's Extension Examples)."""

    def create_default_session_data(self, user_id: str) -> Session:
        return {**super().create_default_session_data(user_id), "customField": "default", "anotherField": 0}

    async def my_method(self) -> str:
        session = await self.get_user_session()
        return str(session["customField"])


class MyDatabaseSessionProvider:
    """A custom provider: here a dict stands in for your database."""

    def __init__(self) -> None:
        self.rows: Dict[str, Session] = {}

    async def get_session(self, user_id: str) -> Optional[Session]:
        return self.rows.get(user_id)

    async def set_session(self, user_id: str, data: Session, ttl: Optional[float]) -> None:
        self.rows[user_id] = data

    async def delete_session(self, user_id: str) -> None:
        self.rows.pop(user_id, None)

    async def has_session(self, user_id: str) -> bool:
        return user_id in self.rows

    async def cleanup_old_sessions(self, max_age: float) -> int:
        return 0

    async def get_active_sessions(self) -> List[str]:
        return list(self.rows)

    async def clear(self) -> int:
        n = len(self.rows)
        self.rows.clear()
        return n


async def main() -> None:
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        # Production: set the provider once at start-up.
        set_session_provider(RedisSessionProvider(redis_url, prefix="poto-demo:"))

    module = MyModule()
    with user_context("alice"):
        session = await module.get_user_session()
        print("new session model:", session["currentModelName"], "custom:", await module.my_method())
        await module.update_user_session(lambda s: s.update(someField="value"))
        await module.update_user_model("llm2")
        print("model:", await module.get_user_model())
        stats = await module.get_session_stats()
        print("active sessions:", stats.active_sessions)
        try:
            await module.update_user_session(lambda s: s.update(field=float("nan")))
        except SessionError as error:
            print("session update failed:", error.code)
        await module.delete_user_session()

    custom = PotoModule(MyDatabaseSessionProvider())
    await custom.set_session_value("theme", "dark", user_id="bob")
    print("custom provider value:", await custom.get_session_value("theme", user_id="bob"))

    cleaned = await InMemorySessionProvider().cleanup_old_sessions(24 * 60 * 60)
    print(f"Cleaned {cleaned} old sessions")


if __name__ == "__main__":
    asyncio.run(main())

"""What the framework-adapter tests share: the three kinds of provider (in-memory, a private Redis,
a custom Python provider), a way to count the writes each receives, and id checks."""

from __future__ import annotations

import base64
import threading
from typing import Any, Dict, List, Optional, Tuple

from poto_sessions import InMemorySessionProvider, RedisSessionProvider, SessionProvider

from .stores import AsyncDictStore, DictStore

PROVIDERS = ["memory", "redis", "custom", "custom-async"]
#: Redis commands that write, top-level or inside a script (INFO commandstats counts both).
WRITE_COMMANDS = {"evalsha", "eval", "fcall", "set", "hset", "hdel", "del", "unlink", "expire", "pexpire", "zadd", "zrem", "incr", "multi", "exec"}
#: The commands of one store write (a script call; its nested commands are not counted apart).
SCRIPT_COMMANDS = {"evalsha", "eval", "fcall"}


class RecordingStore(DictStore):
    """A custom provider that records each write it receives: (method, id, ttl)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: List[Tuple[str, str, Optional[float]]] = []
        self.wlock = threading.Lock()

    def set_session(self, user_id: str, data: Dict[str, Any], ttl: Optional[float]) -> None:
        with self.wlock:
            self.writes.append(("set", user_id, ttl))
        super().set_session(user_id, data, ttl)

    def delete_session(self, user_id: str) -> None:
        with self.wlock:
            self.writes.append(("delete", user_id, None))
        super().delete_session(user_id)


class RecordingAsyncStore(AsyncDictStore):
    """The same with async methods (an asyncpg- or motor-style provider)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: List[Tuple[str, str, Optional[float]]] = []

    async def set_session(self, user_id: str, data: Dict[str, Any], ttl: Optional[float]) -> None:  # type: ignore[override]
        self.writes.append(("set", user_id, ttl))
        await super().set_session(user_id, data, ttl)

    async def compare_and_set(self, user_id: str, expected: Optional[int], data: Dict[str, Any], ttl: Optional[float]) -> Optional[int]:  # type: ignore[override]
        self.writes.append(("set", user_id, ttl))
        return await super().compare_and_set(user_id, expected, data, ttl)

    def delete_session(self, user_id: str) -> None:
        self.writes.append(("delete", user_id, None))
        super().delete_session(user_id)


class Store:
    """One provider under test, with what the tests need to look at its writes."""

    def __init__(self, kind: str, redis_server: Any = None, prefix: str = "t:") -> None:
        self.kind = kind
        self.redis = redis_server if kind == "redis" else None
        self.custom: Optional[Any] = None
        if kind == "memory":
            self.provider: Any = InMemorySessionProvider()
        elif kind == "redis":
            self.provider = RedisSessionProvider(redis_server.url, prefix=prefix)
        else:
            self.custom = RecordingStore() if kind == "custom" else RecordingAsyncStore()
            self.provider = self.custom
        # The same store seen through the provider API (a custom object is wrapped once).
        self.api = self.provider if isinstance(self.provider, SessionProvider) else SessionProvider.wrap(self.provider)

    def writes(self, any_command: bool = False) -> Optional[int]:
        """Writes received so far (Redis: its script calls, or with ``any_command`` every write
        command; custom: its set/delete calls); ``None`` for the in-memory provider, which is
        checked through ``lastActivity``."""
        if self.redis is not None:
            names = WRITE_COMMANDS if any_command else SCRIPT_COMMANDS
            total = 0
            for line in self.redis.cli("INFO", "commandstats").splitlines():
                if line.startswith("cmdstat_"):
                    name, _, fields = line[len("cmdstat_"):].partition(":")
                    if name in names:
                        total += int(dict(f.split("=") for f in fields.split(","))["calls"])
            return total
        if self.custom is not None:
            return len(self.custom.writes)
        return None

    def stored(self, sid: str) -> Optional[Dict[str, Any]]:
        return self.api.get_session_sync(sid)

    async def astored(self, sid: str) -> Optional[Dict[str, Any]]:
        return await self.api.get_session(sid)


def id_bits(sid: str) -> int:
    """Bits of randomness in a URL-safe base64 session id."""
    return len(base64.urlsafe_b64decode(sid + "=" * (-len(sid) % 4))) * 8

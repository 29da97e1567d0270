"""Custom providers written in Python, as a user would write around their own database."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

Session = Dict[str, Any]


class DictStore:
    """A synchronous provider over a dict, with TTLs."""

    def __init__(self, fail: bool = False) -> None:
        self.rows: Dict[str, Tuple[Session, float, float, int]] = {}
        self.lock = threading.Lock()
        self.version = 0
        self.fail = fail

    def _check(self) -> None:
        if self.fail:
            raise RuntimeError("database is down")

    def _live(self, user_id: str) -> Optional[Tuple[Session, float, float, int]]:
        row = self.rows.get(user_id)
        if row is not None and row[1] <= time.monotonic():
            del self.rows[user_id]
            return None
        return row

    def _put(self, user_id: str, data: Session, ttl: Optional[float]) -> int:
        self.version += 1
        now = time.monotonic()
        self.rows[user_id] = (data, now + (ttl if ttl is not None else 86400), now, self.version)
        return self.version

    def get_session(self, user_id: str) -> Optional[Session]:
        self._check()
        with self.lock:
            row = self._live(user_id)
            return None if row is None else row[0]

    def set_session(self, user_id: str, data: Session, ttl: Optional[float]) -> None:
        self._check()
        with self.lock:
            self._put(user_id, data, ttl)

    def delete_session(self, user_id: str) -> None:
        self._check()
        with self.lock:
            self.rows.pop(user_id, None)

    def has_session(self, user_id: str) -> bool:
        self._check()
        with self.lock:
            return self._live(user_id) is not None

    def cleanup_old_sessions(self, max_age: float) -> int:
        self._check()
        with self.lock:
            now = time.monotonic()
            removed = 0
            for user_id in list(self.rows):
                if self._live(user_id) is not None and self.rows[user_id][2] < now - max_age:
                    del self.rows[user_id]
                    removed += 1
            return removed

    def get_active_sessions(self) -> List[str]:
        self._check()
        with self.lock:
            return [u for u in list(self.rows) if self._live(u) is not None]

    def clear(self) -> int:
        self._check()
        with self.lock:
            n = len([u for u in list(self.rows) if self._live(u) is not None])
            self.rows.clear()
            return n


class VersionedDictStore(DictStore):
    """Adds compare-and-set, so updates are atomic across processes in a real store."""

    def get_versioned(self, user_id: str) -> Optional[Tuple[Session, int]]:
        self._check()
        with self.lock:
            row = self._live(user_id)
            return None if row is None else (row[0], row[3])

    def compare_and_set(self, user_id: str, expected: Optional[int], data: Session, ttl: Optional[float]) -> Optional[int]:
        self._check()
        with self.lock:
            row = self._live(user_id)
            if (row[3] if row else None) != expected:
                return None
            return self._put(user_id, data, ttl)


class AsyncDictStore(VersionedDictStore):
    """The same store with async methods, as an asyncpg- or motor-based provider would have."""

    async def get_session(self, user_id: str) -> Optional[Session]:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().get_session(user_id)

    async def set_session(self, user_id: str, data: Session, ttl: Optional[float]) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        super().set_session(user_id, data, ttl)

    async def get_versioned(self, user_id: str) -> Optional[Tuple[Session, int]]:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().get_versioned(user_id)

    async def compare_and_set(self, user_id: str, expected: Optional[int], data: Session, ttl: Optional[float]) -> Optional[int]:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().compare_and_set(user_id, expected, data, ttl)

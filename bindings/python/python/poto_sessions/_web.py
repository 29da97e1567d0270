"""What the web-framework adapters (``poto_sessions.asgi``, ``.flask``, ``.django``) share: the
store side of a framework session, over any provider.

A framework session is stored as the provider session ``{"sess": <the framework's session dict>}``
under its session id, exactly as the Node express-session store does, so application keys never
collide with the provider's own (``userId``, ``createdAt``, ``lastActivity``) and a Node server on
the same Redis prefix reads the same shape.

Lazy touch (DESIGN §4.10): a request that only reads its session sends nothing more than the read.
The session's TTL is restarted (a provider ``touch``) only when the stored ``lastActivity`` is
older than ``touch_after`` (default 60 s, capped at half the TTL; ``0``: every request), so a
session read at least every TTL/2 never expires, and ``lastActivity`` is precise to
``touch_after``. The comparison uses this process's clock against the stamp the provider wrote
(for Redis, the server's clock): clock skew between the two moves touches by that much.

Nothing here imports a web framework.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Optional, Union, cast

from ._native import SessionProvider
from .errors import InvalidArgumentError

Session = Dict[str, Any]
Seconds = Union[float, int, timedelta]

#: Bytes of randomness in a session id (256 bits; URL-safe base64, 43 characters).
ID_BYTES = 32
#: Default ``touch_after``, in seconds, as the modules' (DESIGN §4.10).
TOUCH_AFTER = 60.0
#: The member of the provider session that holds the framework's session.
SESS = "sess"


def new_session_id() -> str:
    """A fresh session id: 256 random bits from ``secrets``, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(ID_BYTES)


def seconds(value: Optional[Seconds], name: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a number of seconds >= 0 or a timedelta, got {value!r}")
    return float(value)


def as_provider(provider: Any) -> SessionProvider:
    """A built-in provider as is; any other object as a custom provider (``SessionProvider.wrap``)."""
    if provider is None:
        raise TypeError("a provider is required (InMemorySessionProvider(), RedisSessionProvider(url), or your own)")
    if isinstance(provider, SessionProvider):
        return provider
    return SessionProvider.wrap(provider)


def epoch_seconds(stamp: Any) -> Optional[float]:
    """An RFC 3339 UTC stamp (``2024-05-01T12:00:00.000Z``) as Unix seconds; ``None`` if unreadable."""
    if not isinstance(stamp, str):
        return None
    try:
        if stamp.endswith("Z"):
            stamp = stamp[:-1] + "+00:00"
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


def json_roundtrip(sess: Session) -> Session:
    """``sess`` through ``json``: the usual ``TypeError`` for a value JSON cannot represent,
    JSON's own conversions (tuples to lists, int keys to strings) otherwise."""
    return cast(Session, json.loads(json.dumps(sess)))


class Loaded:
    """A session as read from the store: the framework's dict, and the stored stamps."""

    __slots__ = ("sess", "last_activity", "created_at")

    def __init__(self, sess: Session, last_activity: Optional[float], created_at: Optional[str]) -> None:
        self.sess = sess
        #: Unix seconds of the stored ``lastActivity`` (``None``: unknown, so a touch is due).
        self.last_activity = last_activity
        self.created_at = created_at


class SessionBackend:
    """Framework sessions in a provider: ``{"sess": dict}`` under the session id.

    ``provider``: a built-in provider, or your own object (wrapped with ``SessionProvider.wrap``).
    Give the adapter a provider (for Redis, a ``prefix``) of its own: its ids are session ids,
    not user ids. ``touch_after``: see the module docstring. Each operation has a blocking
    ``_sync`` form and an async one.
    """

    __slots__ = ("provider", "touch_after")

    def __init__(self, provider: Any, *, touch_after: Optional[Seconds] = None) -> None:
        self.provider = as_provider(provider)
        after = seconds(touch_after, "touch_after")
        self.touch_after = TOUCH_AFTER if after is None else after

    # -- reading -----------------------------------------------------------------------------

    @staticmethod
    def _loaded(data: Optional[Session]) -> Optional[Loaded]:
        if data is None:
            return None
        sess = data.get(SESS)
        if not isinstance(sess, dict):
            return None
        return Loaded(sess, epoch_seconds(data.get("lastActivity")), data.get("createdAt"))

    def load_sync(self, sid: str) -> Optional[Loaded]:
        """The session stored under ``sid``, or ``None`` (absent, expired, or not one of ours)."""
        return self._loaded(self.provider.get_session_sync(sid))

    async def load(self, sid: str) -> Optional[Loaded]:
        return self._loaded(await self.provider.get_session(sid))

    def exists_sync(self, sid: str) -> bool:
        return self.provider.has_session_sync(sid)

    async def exists(self, sid: str) -> bool:
        return await self.provider.has_session(sid)

    # -- lazy touch --------------------------------------------------------------------------

    def touch_due(self, loaded: Optional[Loaded], ttl: Optional[float]) -> bool:
        """Whether a request that read ``loaded`` and changed nothing should restart its TTL."""
        if loaded is None or (ttl is not None and ttl <= 0):
            return False
        after = self.touch_after if ttl is None else min(self.touch_after, ttl / 2)
        last = loaded.last_activity
        return after <= 0 or last is None or time.time() - last >= after

    def touch_sync(self, sid: str, ttl: Optional[float]) -> bool:
        """Restarts the TTL now (``ttl`` seconds, else the provider's); ``False`` when absent."""
        return self.provider.touch_sync(sid, ttl)

    async def touch(self, sid: str, ttl: Optional[float]) -> bool:
        return await self.provider.touch(sid, ttl)

    # -- writing -----------------------------------------------------------------------------

    @staticmethod
    def _payload(sess: Session, loaded: Optional[Loaded]) -> Session:
        payload: Session = {SESS: sess}
        if loaded is not None and loaded.created_at is not None:
            payload["createdAt"] = loaded.created_at
        return payload

    def save_sync(
        self,
        sid: str,
        sess: Session,
        ttl: Optional[float],
        loaded: Optional[Loaded] = None,
        normalize: Callable[[Session], Session] = json_roundtrip,
    ) -> None:
        """Stores ``sess`` under ``sid`` for ``ttl`` seconds (``None``: the provider's TTL; ``<= 0``:
        deletes it). A value the store refuses goes through ``normalize`` (the framework's
        serializer: its usual error for what JSON cannot hold, its conversions otherwise) and is
        tried once more. ``loaded``: the session as read, whose ``createdAt`` is kept."""
        if ttl is not None and ttl <= 0:
            self.provider.delete_session_sync(sid)
            return
        try:
            self.provider.set_session_sync(sid, self._payload(sess, loaded), ttl)
        except InvalidArgumentError:
            self.provider.set_session_sync(sid, self._payload(normalize(sess), loaded), ttl)

    async def save(
        self,
        sid: str,
        sess: Session,
        ttl: Optional[float],
        loaded: Optional[Loaded] = None,
        normalize: Callable[[Session], Session] = json_roundtrip,
    ) -> None:
        if ttl is not None and ttl <= 0:
            await self.provider.delete_session(sid)
            return
        try:
            await self.provider.set_session(sid, self._payload(sess, loaded), ttl)
        except InvalidArgumentError:
            await self.provider.set_session(sid, self._payload(normalize(sess), loaded), ttl)

    def delete_sync(self, sid: str) -> None:
        self.provider.delete_session_sync(sid)

    async def delete(self, sid: str) -> None:
        await self.provider.delete_session(sid)

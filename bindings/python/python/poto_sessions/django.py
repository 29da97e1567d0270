"""Django sessions in a poto-sessions provider (in-memory, Redis, or your own): a ``SESSION_ENGINE``.

    # settings.py
    SESSION_ENGINE = "poto_sessions.django"
    POTO_SESSIONS_PROVIDER = "redis://127.0.0.1:6379"    # or a provider object, or a dotted path to one
    POTO_SESSIONS_PREFIX = "django-session:"             # Redis key prefix when the setting is a URL
    POTO_SESSIONS_TOUCH_AFTER = 60                       # seconds between lazy touches (optional)

``POTO_SESSIONS_PROVIDER`` is a provider (``RedisSessionProvider(...)``, ``InMemorySessionProvider()``
or your own object), a dotted path to one or to a function returning one, or a ``redis://`` /
``rediss://`` / ``redis+cluster://`` / ``redis+sentinel://`` URL (a ``RedisSessionProvider`` with
``POTO_SESSIONS_PREFIX``, default ``"django-session:"``); unset, a per-process in-memory provider
(development only: every worker has its own). Give sessions a store (a prefix) of their own.

Everything else is Django's: ``request.session``, ``SESSION_COOKIE_AGE`` and ``set_expiry`` for the
lifetime (the provider's TTL), ``SESSION_EXPIRE_AT_BROWSER_CLOSE``, ``SESSION_SAVE_EVERY_REQUEST``,
``cycle_key()`` (called by ``login()``: same data, new key, the old key deleted), ``flush()``,
the async forms (``aget``, ``aset``, ``aload``, ``asave``, ``acycle_key``...) on Django >= 5, which
use the provider's async methods. The session key (the cookie) is a fresh 256-bit id from
``secrets`` signed with ``django.core.signing`` under ``SECRET_KEY`` (``SECRET_KEY_FALLBACKS`` still
verify): a key whose signature fails is no session. Data is stored as ``{"sess": <the session
dict>}``; values go through ``SESSION_SERIALIZER`` only when JSON cannot hold them as they are
(the default ``JSONSerializer`` gives its usual ``TypeError``).

Lazy touch: a request that only reads its session sends one read; the session's lifetime restarts
(a provider touch, no rewrite) when it is read and its stored ``lastActivity`` is older than
``POTO_SESSIONS_TOUCH_AFTER`` (default 60 s, capped at half the lifetime). With
``SESSION_SAVE_EVERY_REQUEST`` an unchanged session is not rewritten either. Expiry is the
provider's TTL, so ``clear_expired`` has nothing to do.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Optional, Tuple

try:
    from django.conf import settings  # type: ignore[import-untyped,unused-ignore]
    from django.contrib.sessions.backends.base import SessionBase, UpdateError  # type: ignore[import-untyped,unused-ignore]
    from django.core import signing  # type: ignore[import-untyped,unused-ignore]
    from django.utils.module_loading import import_string  # type: ignore[import-untyped,unused-ignore]
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(f"poto_sessions.django needs Django ({e}): pip install 'poto-sessions[django]'") from e

from ._web import Loaded, Session, SessionBackend, new_session_id

__all__ = ["SessionStore"]

SALT = "poto_sessions.django"
DEFAULT_PREFIX = "django-session:"
_URL_SCHEMES = ("redis://", "rediss://", "redis+", "rediss+", "unix://")

_lock = threading.Lock()
_backends: Dict[Tuple[Any, ...], "_Backend"] = {}
_signers: Dict[Tuple[Any, ...], signing.Signer] = {}


def _signer() -> signing.Signer:
    """Django's signer of session keys for the current ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``."""
    secret = settings.SECRET_KEY
    fallbacks = tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ()) or ())
    found = _signers.get((secret, fallbacks))
    if found is None:
        if len(_signers) > 8:
            _signers.clear()
        found = _signers[(secret, fallbacks)] = signing.Signer(key=secret, fallback_keys=list(fallbacks), salt=SALT)
    return found


def _provider_from_setting(value: Any) -> Any:
    from . import InMemorySessionProvider, RedisSessionProvider

    if value is None:
        return InMemorySessionProvider()
    if isinstance(value, str):
        if value.startswith(_URL_SCHEMES):
            return RedisSessionProvider(value, prefix=getattr(settings, "POTO_SESSIONS_PREFIX", DEFAULT_PREFIX))
        value = import_string(value)
        if isinstance(value, type) or (callable(value) and not hasattr(value, "get_session")):
            value = value()
    return value


class _Backend(SessionBackend):
    __slots__ = ("source",)
    source: Any


def backend() -> SessionBackend:
    """The ``SessionBackend`` of the current settings: one per distinct setting, made on first use."""
    value = getattr(settings, "POTO_SESSIONS_PROVIDER", None)
    after = getattr(settings, "POTO_SESSIONS_TOUCH_AFTER", None)
    prefix = getattr(settings, "POTO_SESSIONS_PREFIX", DEFAULT_PREFIX)
    by_value = value is None or isinstance(value, str)
    key = (value if by_value else id(value), after, prefix)
    found = _backends.get(key)
    if found is None or not (by_value or found.source is value):
        with _lock:
            found = _backends.get(key)
            if found is None or not (by_value or found.source is value):
                found = _Backend(_provider_from_setting(value), touch_after=after)
                found.source = value
                _backends[key] = found
    return found


class SessionStore(SessionBase):  # type: ignore[misc,unused-ignore]
    """Django's ``SessionStore`` over a poto-sessions provider (see the module docstring)."""

    _session_key: Optional[str]  # SessionBase's validating property (annotation only)

    def __init__(self, session_key: Optional[str] = None) -> None:
        self._backend = backend()
        #: The session as read from the store in this request, and its key.
        self._loaded: Optional[Loaded] = None
        self._loaded_key: Optional[str] = None
        self._sid_memo: Tuple[Optional[str], Optional[str]] = (None, None)
        super().__init__(session_key)

    # -- keys: a signed 256-bit id -----------------------------------------------------------

    def _sid(self, session_key: Optional[str]) -> Optional[str]:
        """The store id inside a session key, or ``None`` when its signature fails."""
        if not session_key:
            return None
        memo_key, memo_sid = self._sid_memo
        if memo_key == session_key:
            return memo_sid
        try:
            sid: Optional[str] = _signer().unsign(session_key)
        except signing.BadSignature:
            sid = None
        self._sid_memo = (session_key, sid)
        return sid

    def _validate_session_key(self, key: Any) -> bool:
        return isinstance(key, str) and self._sid(key) is not None

    def _get_new_session_key(self) -> str:
        # 256 random bits: no existence check is needed (a collision is not a practical event).
        sid = new_session_id()
        key = str(_signer().sign(sid))
        self._sid_memo = (key, sid)
        return key

    async def _aget_new_session_key(self) -> str:
        return self._get_new_session_key()

    # -- helpers -----------------------------------------------------------------------------

    def _normalize(self, sess: Session) -> Session:
        serializer = self.serializer()
        return serializer.loads(serializer.dumps(sess))  # type: ignore[no-any-return]

    def _ttl(self, sess: Session) -> float:
        return float(self.get_expiry_age(expiry=sess.get("_session_expiry")))

    def _read(self, loaded: Optional[Loaded], key: Optional[str]) -> Tuple[Session, bool]:
        """The data to use, and whether a lazy touch is due."""
        if loaded is None:
            self._loaded = self._loaded_key = None
            self._session_key = None
            return {}, False
        self._loaded, self._loaded_key = loaded, key
        return loaded.sess, self._backend.touch_due(loaded, self._ttl(loaded.sess))

    def _unchanged(self, must_create: bool) -> bool:
        """A save of the session exactly as read (``SESSION_SAVE_EVERY_REQUEST``): nothing to write,
        the read already touched it if due."""
        return not must_create and not self.modified and self._loaded is not None and self._loaded_key == self.session_key

    # -- SessionBase, sync -------------------------------------------------------------------

    def load(self) -> Session:
        key = self.session_key
        sid = self._sid(key)
        loaded = self._backend.load_sync(sid) if sid is not None else None
        data, due = self._read(loaded, key)
        if due and sid is not None:
            try:
                self._backend.touch_sync(sid, self._ttl(data))
            except Exception:
                pass  # a failed touch never fails the read
        return data

    def exists(self, session_key: Optional[str]) -> bool:
        sid = self._sid(session_key)
        return sid is not None and self._backend.exists_sync(sid)

    def create(self) -> None:
        self._session_key = self._get_new_session_key()
        self.save(must_create=True)
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        if self._unchanged(must_create):
            return
        sid = self._sid(self.session_key)
        assert sid is not None
        data = self._get_session(no_load=must_create)
        if not must_create and not self._backend.exists_sync(sid):
            raise UpdateError
        self._backend.save_sync(sid, data, self._ttl(data), self._loaded if self._loaded_key == self.session_key else None, self._normalize)

    def delete(self, session_key: Optional[str] = None) -> None:
        if session_key is None:
            session_key = self.session_key
        sid = self._sid(session_key)
        if sid is not None:
            self._backend.delete_sync(sid)

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: the provider expires sessions by TTL."""

    # -- SessionBase, async (Django >= 5) ----------------------------------------------------

    async def aload(self) -> Session:
        key = self.session_key
        sid = self._sid(key)
        loaded = await self._backend.load(sid) if sid is not None else None
        data, due = self._read(loaded, key)
        if due and sid is not None:
            try:
                await self._backend.touch(sid, self._ttl(data))
            except Exception:
                pass
        return data

    async def aexists(self, session_key: Optional[str]) -> bool:
        sid = self._sid(session_key)
        return sid is not None and await self._backend.exists(sid)

    async def acreate(self) -> None:
        self._session_key = self._get_new_session_key()
        await self.asave(must_create=True)
        self.modified = True

    async def asave(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return await self.acreate()
        if self._unchanged(must_create):
            return
        sid = self._sid(self.session_key)
        assert sid is not None
        data = await self._aget_session(no_load=must_create)
        if not must_create and not await self._backend.exists(sid):
            raise UpdateError
        await self._backend.save(sid, data, self._ttl(data), self._loaded if self._loaded_key == self.session_key else None, self._normalize)

    async def adelete(self, session_key: Optional[str] = None) -> None:
        if session_key is None:
            session_key = self.session_key
        sid = self._sid(session_key)
        if sid is not None:
            await self._backend.delete(sid)

    @classmethod
    async def aclear_expired(cls) -> None:
        """Nothing to do: the provider expires sessions by TTL."""

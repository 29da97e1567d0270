"""Starlette / FastAPI sessions in a poto-sessions provider (in-memory, Redis, or your own): an ASGI
middleware that fills ``request.session`` like Starlette's ``SessionMiddleware``, with the data on
the server and only a signed session id in the cookie.

    from fastapi import FastAPI, Request
    from poto_sessions import RedisSessionProvider
    from poto_sessions.asgi import PotoSessionMiddleware, rotate_session

    app = FastAPI()
    app.add_middleware(PotoSessionMiddleware, provider=RedisSessionProvider(url, prefix="asgi-session:"),
                       secret_key="...")

    @app.post("/login")
    async def login(request: Request):
        rotate_session(request)                 # a new id for the same data
        request.session["user"] = ...

The cookie holds the session id (256 random bits from ``secrets``) signed with ``itsdangerous``
under ``secret_key``; a cookie whose signature fails starts a fresh session. The data lives in the
provider as ``{"sess": <the session dict>}`` for ``max_age`` seconds (default 14 days, as
Starlette's), which is also the cookie's ``Max-Age``; ``max_age=None`` gives a browser-session
cookie and the provider's own TTL.

Writes, as Starlette's ``Session`` tracks them: setting, deleting, ``update``, ``pop``, ``clear``
(after changing a nested value, call ``request.session.mark_modified()``). A request that only
reads writes nothing, except a lazy touch once the stored ``lastActivity`` is older than
``touch_after`` (default 60 s, capped at half ``max_age``), which restarts the TTL and refreshes the
cookie. Emptying the session deletes it and its cookie. Values are JSON's: what ``json.dumps``
refuses is the usual ``TypeError``; NaN and integers beyond 64 bits an ``InvalidArgumentError``.
Everything runs on the provider's async methods: the event loop never waits on Redis. In a
websocket the session is read at connect, and changes are saved when the handler returns (the
cookie cannot change there).
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Tuple, Union

try:
    from itsdangerous import BadSignature
    from starlette.datastructures import MutableHeaders
    from starlette.requests import HTTPConnection
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(f"poto_sessions.asgi needs Starlette ({e}): pip install 'poto-sessions[asgi]'") from e

from ._signing import IdSigner
from ._web import Loaded, Seconds, SessionBackend, new_session_id, seconds

__all__ = ["PotoSessionMiddleware", "Session", "rotate_session"]

SALT = "poto_sessions.asgi"
_ROTATE = "poto_sessions.rotate"


class Session(dict):  # type: ignore[type-arg]
    """``request.session``: a dict that notes being read (``accessed``) and changed
    (``modified``), with the method names of Starlette's own ``Session``."""

    accessed = False
    modified = False

    def mark_accessed(self) -> None:
        self.accessed = True

    def mark_modified(self) -> None:
        self.accessed = True
        self.modified = True

    def __setitem__(self, key: str, value: Any) -> None:
        self.mark_modified()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.mark_modified()
        super().__delitem__(key)

    def clear(self) -> None:
        self.mark_modified()
        super().clear()

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self.mark_modified()
        return super().pop(key, *default)

    def popitem(self) -> Tuple[str, Any]:
        item = super().popitem()
        self.mark_modified()
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self.mark_modified()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.mark_modified()
        super().update(*args, **kwargs)

    def __ior__(self, other: Any) -> "Session":  # type: ignore[override,misc,unused-ignore]
        self.mark_modified()
        super().update(other)
        return self


def rotate_session(request: Any) -> None:
    """Gives the request's session a new id when the response starts: the data stays, the old
    id stops working. Call it at login or on a change of privilege. ``request``: a Starlette
    ``Request`` / ``WebSocket`` (anything with ``.scope``) or the ASGI scope."""
    scope = getattr(request, "scope", request)
    if "session" not in scope:
        raise RuntimeError("rotate_session needs PotoSessionMiddleware")
    scope[_ROTATE] = True
    session = scope["session"]
    if isinstance(session, Session):
        session.mark_modified()


class PotoSessionMiddleware:
    """``app.add_middleware(PotoSessionMiddleware, provider=..., secret_key=...)``.

    ``provider``: a built-in provider or your own object; give it a store (a Redis ``prefix``)
    of its own. ``secret_key`` signs the cookie (a list: the first signs, all verify, for key
    rotation). ``session_cookie``, ``path``, ``same_site``, ``https_only``, ``domain``,
    ``partitioned``: the cookie, as Starlette's ``SessionMiddleware``. ``max_age``: session
    lifetime in seconds after its last write or touch (default 14 days). ``touch_after``:
    seconds between lazy touches of a session only read (default 60; ``0``: every request).
    """

    def __init__(
        self,
        app: Any,
        provider: Any,
        secret_key: Union[str, bytes, list],  # type: ignore[type-arg]
        session_cookie: str = "session",
        max_age: Optional[Seconds] = 14 * 24 * 60 * 60,
        path: str = "/",
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        domain: Optional[str] = None,
        partitioned: bool = False,
        touch_after: Optional[Seconds] = None,
    ) -> None:
        self.app = app
        self.backend = SessionBackend(provider, touch_after=touch_after)
        keys = [str(k) if not isinstance(k, (str, bytes)) else k for k in (secret_key if isinstance(secret_key, list) else [secret_key])]
        if not keys or not all(keys):
            raise ValueError("PotoSessionMiddleware: secret_key is required")
        # itsdangerous signs with the last key and verifies with all of them.
        self.signer = IdSigner(list(reversed(keys)), SALT)
        self.session_cookie = session_cookie
        self.max_age = seconds(max_age, "max_age")
        self.path = path
        flags = "httponly; samesite=" + same_site
        if https_only:
            flags += "; secure"
        if domain is not None:
            flags += f"; domain={domain}"
        if partitioned:
            flags += "; partitioned"
        self.security_flags = flags

    def _cookie(self, sid: str) -> str:
        value = self.signer.sign(sid).decode("ascii")
        max_age = f"Max-Age={int(self.max_age)}; " if self.max_age is not None else ""
        return f"{self.session_cookie}={value}; path={self.path}; {max_age}{self.security_flags}"

    def _expired_cookie(self) -> str:
        return f"{self.session_cookie}=null; path={self.path}; expires=Thu, 01 Jan 1970 00:00:00 GMT; {self.security_flags}"

    async def _open(self, scope: Any) -> Tuple[Optional[str], Optional[Loaded]]:
        cookie = HTTPConnection(scope).cookies.get(self.session_cookie)
        if cookie:
            try:
                sid = self.signer.unsign(cookie).decode("ascii")
            except (BadSignature, UnicodeDecodeError):
                return None, None
            if sid:
                loaded = await self.backend.load(sid)
                if loaded is not None:
                    return sid, loaded
        return None, None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        sid, loaded = await self._open(scope)
        scope["session"] = Session(loaded.sess) if loaded is not None else Session()
        backend = self.backend
        ttl = self.max_age

        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            session = scope["session"]
            if sid is not None and getattr(session, "modified", False):
                if session:
                    await backend.save(sid, dict(session), ttl, loaded)
                else:
                    await backend.delete(sid)
            return

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                session = scope["session"]
                if not isinstance(session, Session):  # replaced by the application: a change
                    session = Session(session)
                    session.modified = True
                headers = MutableHeaders(scope=message)
                if session.accessed:
                    headers.add_vary_header("Cookie")
                cookie = await self._finish(sid, loaded, session, scope.get(_ROTATE, False), ttl)
                if cookie is not None:
                    headers.append("Set-Cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _finish(self, sid: Optional[str], loaded: Optional[Loaded], session: Session, rotate: bool, ttl: Optional[float]) -> Optional[str]:
        """Writes what the request changed; the Set-Cookie header to send, if any."""
        backend = self.backend
        if not session:
            if session.modified and sid is not None:
                await backend.delete(sid)
                return self._expired_cookie()
            return None
        if rotate or sid is None:
            old = sid
            sid = new_session_id()
            await backend.save(sid, dict(session), ttl, loaded)
            if old is not None:
                await backend.delete(old)
        elif session.modified:
            await backend.save(sid, dict(session), ttl, loaded)
        elif backend.touch_due(loaded, ttl):
            await backend.touch(sid, ttl)
            if self.max_age is None:
                return None
        else:
            return None
        return self._cookie(sid)

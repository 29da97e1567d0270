"""Flask sessions in a poto-sessions provider (in-memory, Redis, or your own): a ``SessionInterface``.

    from flask import Flask, session
    from poto_sessions import RedisSessionProvider
    from poto_sessions.flask import PotoSessionInterface, rotate_session

    app = Flask(__name__)
    app.secret_key = "..."                                  # signs the session-id cookie
    app.session_interface = PotoSessionInterface(RedisSessionProvider(url, prefix="flask-session:"))

    @app.post("/login")
    def login():
        rotate_session()                                    # a new id for the same data
        session["user"] = ...

The cookie holds only the session id (256 random bits from ``secrets``), signed with
``itsdangerous`` (HMAC-SHA256) under ``SECRET_KEY`` (older keys in ``SECRET_KEY_FALLBACKS`` still verify); a
cookie whose signature fails starts a fresh session. The data lives in the provider as
``{"sess": <the session dict>}`` for ``PERMANENT_SESSION_LIFETIME``; the cookie expires with it when
``session.permanent`` is set (a browser-session cookie otherwise), as with Flask's own sessions.
Cookie name, domain, path, ``Secure``, ``HttpOnly``, ``SameSite`` and ``Partitioned`` come from the
usual ``SESSION_COOKIE_*`` settings.

Writes: a request whose session is new and non-empty, modified (``session.modified``; set it
yourself after changing a nested value, as with Flask's sessions) or rotated writes it; a request
that only reads writes nothing, except a lazy touch once the stored ``lastActivity`` is older than
``touch_after`` (default 60 s, capped at half the lifetime), which restarts the lifetime and
refreshes a permanent session's cookie. Emptying the session (``session.clear()``) deletes it and
its cookie. Values are JSON's: what ``json.dumps`` refuses (``datetime``, ``bytes``, sets) is the
usual ``TypeError`` when the session is saved; NaN and integers beyond 64 bits are an
``InvalidArgumentError``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

try:
    from flask.sessions import SecureCookieSession, SessionInterface
    from itsdangerous import BadSignature
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(f"poto_sessions.flask needs Flask ({e}): pip install 'poto-sessions[flask]'") from e

from ._signing import IdSigner
from ._web import Loaded, Seconds, SessionBackend, new_session_id

if TYPE_CHECKING:
    from flask import Flask, Request, Response

__all__ = ["PotoSession", "PotoSessionInterface", "rotate_session"]

SALT = "poto_sessions.flask"


class PotoSession(SecureCookieSession):
    """Flask's session dict (``modified`` / ``accessed`` tracking, ``permanent``) with its id."""

    def __init__(self, initial: Optional[Dict[str, Any]] = None, *, sid: str, new: bool, loaded: Optional[Loaded] = None) -> None:
        super().__init__(initial)
        #: The session id (the cookie holds it signed).
        self.sid = sid
        #: True when no stored session came with the request.
        self.new = new
        self.loaded = loaded
        self.rotate_requested = False

    def rotate(self) -> None:
        """Give this session a new id when the response is saved (the data stays; the old id
        stops working): call it when the user logs in or changes privilege."""
        self.rotate_requested = True
        self.modified = True


def rotate_session() -> None:
    """``session.rotate()`` on the current request's session."""
    from flask import session

    rotate = getattr(session, "rotate", None)
    if rotate is None:
        raise RuntimeError("rotate_session needs app.session_interface = PotoSessionInterface(...)")
    rotate()


class PotoSessionInterface(SessionInterface):
    """``app.session_interface = PotoSessionInterface(provider, touch_after=60)``.

    ``provider``: a built-in provider or your own object; give it a store (a Redis ``prefix``)
    of its own. ``touch_after``: seconds (or ``timedelta``) between lazy touches of a session
    that is only read (default 60, capped at half ``PERMANENT_SESSION_LIFETIME``; ``0``: every
    request).
    """

    session_class = PotoSession
    salt = SALT

    def __init__(self, provider: Any, *, touch_after: Optional[Seconds] = None) -> None:
        self.backend = SessionBackend(provider, touch_after=touch_after)
        self._signers: Dict[Tuple[Any, ...], IdSigner] = {}

    # -- cookie signing ----------------------------------------------------------------------

    def get_signer(self, app: "Flask") -> Optional[IdSigner]:
        """The signer of session ids, from ``SECRET_KEY`` (and ``SECRET_KEY_FALLBACKS``); ``None``
        without a secret key (Flask then reports the session as unavailable)."""
        if not app.secret_key:
            return None
        keys = tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()) + (app.secret_key,)
        signer = self._signers.get(keys)
        if signer is None:
            if len(self._signers) > 8:
                self._signers.clear()
            signer = self._signers[keys] = IdSigner(list(keys), self.salt)
        return signer

    @staticmethod
    def lifetime(app: "Flask") -> float:
        value = app.permanent_session_lifetime
        return value.total_seconds() if isinstance(value, timedelta) else float(value)

    # -- SessionInterface --------------------------------------------------------------------

    def open_session(self, app: "Flask", request: "Request") -> Optional[PotoSession]:
        signer = self.get_signer(app)
        if signer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if cookie:
            try:
                sid = signer.unsign(cookie).decode("ascii")
            except (BadSignature, UnicodeDecodeError):
                sid = None
            if sid:
                loaded = self.backend.load_sync(sid)
                if loaded is not None:
                    return self.session_class(loaded.sess, sid=sid, new=False, loaded=loaded)
        return self.session_class(sid=new_session_id(), new=True)

    def save_session(self, app: "Flask", session: Any, response: "Response") -> None:
        if not isinstance(session, PotoSession):
            return
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)
        partitioned = self.get_cookie_partitioned(app) if hasattr(self, "get_cookie_partitioned") else False
        extra = {"partitioned": partitioned} if partitioned else {}
        if session.accessed:
            response.vary.add("Cookie")

        if not session:
            # Emptied: forget it, and the cookie (a new empty session stores nothing).
            if session.modified:
                if not session.new:
                    self.backend.delete_sync(session.sid)
                response.delete_cookie(name, domain=domain, path=path, secure=secure, samesite=samesite, httponly=httponly, **extra)
                response.vary.add("Cookie")
            return

        ttl = self.lifetime(app)
        if session.rotate_requested:
            old = None if session.new else session.sid
            session.sid = new_session_id()
            self.backend.save_sync(session.sid, dict(session), ttl, session.loaded)
            if old is not None:
                self.backend.delete_sync(old)
        elif session.modified or session.new:
            self.backend.save_sync(session.sid, dict(session), ttl, session.loaded)
        elif self.backend.touch_due(session.loaded, ttl):
            self.backend.touch_sync(session.sid, ttl)
            if not session.permanent:
                return  # a browser-session cookie has no expiry to refresh
        else:
            return  # read only: nothing written, the cookie stands

        signer = self.get_signer(app)
        assert signer is not None
        response.set_cookie(
            name,
            signer.sign(session.sid).decode("ascii"),
            expires=self.get_expiration_time(app, session),
            httponly=httponly,
            domain=domain,
            path=path,
            secure=secure,
            samesite=samesite,
            **extra,
        )
        response.vary.add("Cookie")

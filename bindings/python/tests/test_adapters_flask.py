"""poto_sessions.flask through a real Flask app (its test client runs the full request cycle), on
the in-memory provider, a private Redis and a custom Python provider."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta
from typing import Any, Iterator

import pytest

flask = pytest.importorskip("flask", reason="Flask is not installed (pip install 'poto-sessions[flask]')")

from itsdangerous import Signer  # noqa: E402

from poto_sessions.flask import PotoSessionInterface, rotate_session  # noqa: E402

from .adapters_support import PROVIDERS, Store, id_bits  # noqa: E402

SECRET = "flask-test-secret"


def make_app(provider: Any, **options: Any) -> Any:
    app = flask.Flask(__name__)
    app.secret_key = SECRET
    app.testing = True  # errors reach the test, as raised
    app.config.update(options.pop("config", {}))
    app.session_interface = PotoSessionInterface(provider, **options)
    session = flask.session

    @app.get("/count")
    def count() -> Any:
        session["n"] = session.get("n", 0) + 1
        return {"n": session["n"]}

    @app.get("/read")
    def read() -> Any:
        return {"n": session.get("n")}

    @app.get("/async-count")
    async def async_count() -> Any:
        session["n"] = session.get("n", 0) + 1
        return {"n": session["n"]}

    @app.post("/login")
    def login() -> Any:
        rotate_session()
        session["user"] = "alice"
        session.permanent = True
        return {"n": session.get("n")}

    @app.post("/logout")
    def logout() -> Any:
        session.clear()
        return {}

    @app.get("/put/<kind>")
    def put(kind: str) -> Any:
        session["value"] = {"datetime": datetime(2024, 1, 1), "tuple": (1, 2), "nan": float("nan"), "intkey": {1: "a"}}[kind]
        return {}

    return app


@pytest.fixture(params=PROVIDERS)
def store(request: Any, redis_server: Any, prefix: str) -> Iterator[Store]:
    yield Store(request.param, redis_server, prefix)


def sid_of(client: Any) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return Signer([SECRET], salt="poto_sessions.flask", key_derivation="hmac", digest_method=hashlib.sha256).unsign(cookie.value).decode()


def test_counter_across_requests(store: Store) -> None:
    client = make_app(store.provider).test_client()
    assert [client.get("/count").json["n"] for _ in range(3)] == [1, 2, 3]
    sid = sid_of(client)
    assert store.stored(sid)["sess"] == {"n": 3}
    assert "n" not in store.stored(sid)  # the app's keys live under "sess", away from the provider's


def test_async_view(store: Store) -> None:
    pytest.importorskip("asgiref", reason="Flask's async views need asgiref")
    client = make_app(store.provider).test_client()
    assert [client.get("/async-count").json["n"] for _ in range(2)] == [1, 2]


def test_ids_are_random_and_signed(store: Store) -> None:
    app = make_app(store.provider)
    clients = [app.test_client() for _ in range(2)]
    for client in clients:
        client.get("/count")
    sids = [sid_of(c) for c in clients]
    assert sids[0] != sids[1]
    assert all(id_bits(s) >= 128 for s in sids)
    cookie = clients[0].get_cookie("session").value
    assert cookie != sids[0] and cookie.startswith(sids[0] + ".")


def test_tampered_cookie_gets_a_fresh_session(store: Store) -> None:
    client = make_app(store.provider).test_client()
    client.get("/count")
    client.get("/count")
    sid = sid_of(client)
    # The id of a real session, with a signature that does not verify.
    client.set_cookie("session", sid + ".forged")
    assert client.get("/count").json["n"] == 1
    assert sid_of(client) != sid
    # Signed with another key: the same.
    client.set_cookie("session", Signer(["another"], salt="poto_sessions.flask", key_derivation="hmac", digest_method=hashlib.sha256).sign(sid).decode())
    assert client.get("/read").json["n"] is None
    assert store.stored(sid)["sess"] == {"n": 2}


def test_rotation_keeps_data_and_invalidates_the_old_id(store: Store) -> None:
    client = make_app(store.provider).test_client()
    client.get("/count")
    old_cookie = client.get_cookie("session").value
    old = sid_of(client)
    assert client.post("/login").json["n"] == 1
    new = sid_of(client)
    assert new != old and id_bits(new) >= 128
    assert store.stored(old) is None
    assert store.stored(new)["sess"]["user"] == "alice"
    assert client.get("/count").json["n"] == 2
    thief = make_app(store.provider).test_client()
    thief.set_cookie("session", old_cookie)
    assert thief.get("/read").json["n"] is None


def test_clear_deletes_session_and_cookie(store: Store) -> None:
    client = make_app(store.provider).test_client()
    client.get("/count")
    sid = sid_of(client)
    response = client.post("/logout")
    assert "session=;" in response.headers["Set-Cookie"]
    assert store.stored(sid) is None
    assert client.get_cookie("session") is None


def test_lifetime_from_settings(store: Store) -> None:
    config = {"PERMANENT_SESSION_LIFETIME": timedelta(minutes=7)}
    client = make_app(store.provider, config=config).test_client()
    client.get("/count")
    assert client.get_cookie("session").expires is None  # not permanent: a browser-session cookie
    response = client.post("/login")  # permanent from here
    cookie = client.get_cookie("session")
    assert cookie.expires is not None
    assert "Expires=" in response.headers["Set-Cookie"]
    if store.custom is not None:
        assert {ttl for op, _, ttl in store.custom.writes if op == "set"} == {420.0}


def test_expiry_on_redis(redis_server: Any, prefix: str) -> None:
    store = Store("redis", redis_server, prefix)
    client = make_app(store.provider, config={"PERMANENT_SESSION_LIFETIME": timedelta(seconds=1)}).test_client()
    client.get("/count")
    sid = sid_of(client)
    time.sleep(1.3)
    assert store.stored(sid) is None
    assert client.get("/count").json["n"] == 1


def test_read_only_request_writes_nothing(store: Store) -> None:
    client = make_app(store.provider).test_client()
    client.get("/count")
    sid = sid_of(client)
    stamp = store.stored(sid)["lastActivity"]
    writes = store.writes(any_command=True)
    for _ in range(3):
        response = client.get("/read")
        assert response.json["n"] == 1
        assert "Set-Cookie" not in response.headers
    assert store.stored(sid)["lastActivity"] == stamp
    assert store.writes(any_command=True) == writes


def test_due_touch_restarts_the_lifetime(store: Store) -> None:
    if store.kind == "memory":
        pytest.skip("the in-memory provider's touches are seen through Redis and custom providers")
    client = make_app(store.provider, touch_after=0).test_client()
    client.get("/count")
    writes = store.writes()
    response = client.get("/read")
    assert store.writes() == writes + 1  # one touch, no rewrite
    assert "Set-Cookie" not in response.headers  # browser-session cookie: nothing to refresh
    client.post("/login")
    writes = store.writes()
    response = client.get("/read")
    assert store.writes() == writes + 1
    assert "Expires=" in response.headers["Set-Cookie"]  # permanent: the cookie follows the store


def test_json_values(store: Store) -> None:
    app = make_app(store.provider)
    client = app.test_client()
    with pytest.raises(TypeError, match="not JSON serializable"):
        client.get("/put/datetime")
    client.get("/put/tuple")
    assert store.stored(sid_of(client))["sess"] == {"value": [1, 2]}
    client.get("/put/intkey")
    assert store.stored(sid_of(client))["sess"] == {"value": {"1": "a"}}
    with pytest.raises(ValueError, match="NaN"):
        client.get("/put/nan")


def test_secret_key_fallbacks_keep_sessions(store: Store) -> None:
    app = make_app(store.provider)
    client = app.test_client()
    client.get("/count")
    app.secret_key = "a-new-secret"
    app.config["SECRET_KEY_FALLBACKS"] = [SECRET]
    assert client.get("/count").json["n"] == 2
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/read").json["n"] == 2  # the cookie was re-signed with the new key


def test_no_secret_key_is_flasks_error(store: Store) -> None:
    app = make_app(store.provider)
    app.secret_key = None
    with pytest.raises(RuntimeError, match="secret key"):
        app.test_client().get("/count")

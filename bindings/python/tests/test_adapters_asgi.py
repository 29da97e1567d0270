"""poto_sessions.asgi through real Starlette and FastAPI apps (their TestClient drives the ASGI app
through the full request cycle on an event loop), on the in-memory provider, a private Redis and a
custom Python provider."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any, Iterator

import pytest

pytest.importorskip("starlette", reason="Starlette is not installed (pip install 'poto-sessions[asgi]')")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")

from itsdangerous import Signer  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route, WebSocketRoute  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocket  # noqa: E402

from poto_sessions.asgi import PotoSessionMiddleware, rotate_session  # noqa: E402

from .adapters_support import PROVIDERS, Store, id_bits  # noqa: E402

SECRET = "asgi-test-secret"


def sign(sid: str, key: str = SECRET) -> str:
    return Signer([key], salt="poto_sessions.asgi", key_derivation="hmac", digest_method=hashlib.sha256).sign(sid).decode()


def sid_of(client: Any) -> str:
    cookie = client.cookies.get("session")
    assert cookie
    return Signer([SECRET], salt="poto_sessions.asgi", key_derivation="hmac", digest_method=hashlib.sha256).unsign(cookie).decode()


async def count(request: Request) -> JSONResponse:
    request.session["n"] = request.session.get("n", 0) + 1
    return JSONResponse({"n": request.session["n"]})


async def read(request: Request) -> JSONResponse:
    return JSONResponse({"n": request.session.get("n")})


async def login(request: Request) -> JSONResponse:
    rotate_session(request)
    request.session["user"] = "alice"
    return JSONResponse({"n": request.session.get("n")})


async def logout(request: Request) -> JSONResponse:
    request.session.clear()
    return JSONResponse({})


async def nested(request: Request) -> JSONResponse:
    request.session.setdefault("items", [])
    request.session["items"].append(len(request.session["items"]))
    request.session.mark_modified()
    return JSONResponse(request.session["items"])


async def put(request: Request) -> JSONResponse:
    from datetime import datetime

    kind = request.path_params["kind"]
    request.session["value"] = {"datetime": datetime(2024, 1, 1), "tuple": (1, 2), "nan": float("nan")}[kind]
    return JSONResponse({})


async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    websocket.session["ws"] = websocket.session.get("n")
    await websocket.send_json({"n": websocket.session.get("n")})
    await websocket.close()


def starlette_app(provider: Any, **options: Any) -> Starlette:
    routes = [
        Route("/count", count),
        Route("/read", read),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/nested", nested),
        Route("/put/{kind}", put),
        WebSocketRoute("/ws", ws),
    ]
    return Starlette(routes=routes, middleware=[Middleware(PotoSessionMiddleware, provider=provider, secret_key=SECRET, **options)])


def fastapi_app(provider: Any, **options: Any) -> Any:
    fastapi = pytest.importorskip("fastapi", reason="FastAPI is not installed")
    app = fastapi.FastAPI()
    app.add_middleware(PotoSessionMiddleware, provider=provider, secret_key=SECRET, **options)

    @app.get("/count")
    async def count_async(request: Request) -> Any:
        request.session["n"] = request.session.get("n", 0) + 1
        return {"n": request.session["n"]}

    @app.get("/sync-count")
    def count_in_threadpool(request: Request) -> Any:
        request.session["n"] = request.session.get("n", 0) + 1
        return {"n": request.session["n"]}

    @app.get("/read")
    async def read_async(request: Request) -> Any:
        return {"n": request.session.get("n")}

    @app.post("/login")
    async def login_async(request: Request) -> Any:
        rotate_session(request)
        return {"n": request.session.get("n")}

    return app


@pytest.fixture(params=PROVIDERS)
def store(request: Any, redis_server: Any, prefix: str) -> Iterator[Store]:
    yield Store(request.param, redis_server, prefix)


def test_counter_across_requests(store: Store) -> None:
    with TestClient(starlette_app(store.provider)) as client:
        assert [client.get("/count").json()["n"] for _ in range(3)] == [1, 2, 3]
        sid = sid_of(client)
        assert store.stored(sid)["sess"] == {"n": 3}


def test_fastapi_async_and_threadpool_routes(store: Store) -> None:
    with TestClient(fastapi_app(store.provider)) as client:
        assert client.get("/count").json()["n"] == 1
        assert client.get("/sync-count").json()["n"] == 2
        assert client.get("/read").json()["n"] == 2
        old = sid_of(client)
        client.post("/login")
        assert sid_of(client) != old and store.stored(old) is None
        assert client.get("/count").json()["n"] == 3


def test_ids_are_random_and_signed(store: Store) -> None:
    app = starlette_app(store.provider)
    sids = []
    for _ in range(2):
        with TestClient(app) as client:
            client.get("/count")
            sids.append(sid_of(client))
            assert client.cookies["session"].startswith(sids[-1] + ".")
    assert sids[0] != sids[1]
    assert all(id_bits(s) >= 128 for s in sids)


def test_tampered_cookie_gets_a_fresh_session(store: Store) -> None:
    app = starlette_app(store.provider)
    with TestClient(app) as client:
        client.get("/count")
        sid = sid_of(client)
    for forged in (sid + ".forged", sign(sid, "another-key"), sid):
        with TestClient(app, cookies={"session": forged}) as client:
            assert client.get("/read").json()["n"] is None
    with TestClient(app, cookies={"session": sid + ".forged"}) as client:
        response = client.get("/count")
        assert response.json()["n"] == 1
        fresh = Signer([SECRET], salt="poto_sessions.asgi", key_derivation="hmac", digest_method=hashlib.sha256).unsign(response.cookies["session"]).decode()
        assert fresh != sid
    assert store.stored(sid)["sess"] == {"n": 1}


def test_rotation_keeps_data_and_invalidates_the_old_id(store: Store) -> None:
    app = starlette_app(store.provider)
    with TestClient(app) as client:
        client.get("/count")
        old_cookie = client.cookies["session"]
        old = sid_of(client)
        assert client.post("/login").json()["n"] == 1
        new = sid_of(client)
        assert new != old and id_bits(new) >= 128
        assert store.stored(old) is None
        assert store.stored(new)["sess"] == {"n": 1, "user": "alice"}
        assert client.get("/count").json()["n"] == 2
    with TestClient(app, cookies={"session": old_cookie}) as thief:
        assert thief.get("/read").json()["n"] is None


def test_clear_deletes_session_and_cookie(store: Store) -> None:
    with TestClient(starlette_app(store.provider)) as client:
        client.get("/count")
        sid = sid_of(client)
        response = client.post("/logout")
        assert "expires=Thu, 01 Jan 1970" in response.headers["set-cookie"]
        assert store.stored(sid) is None


def test_nested_change_with_mark_modified(store: Store) -> None:
    with TestClient(starlette_app(store.provider)) as client:
        assert client.get("/nested").json() == [0]
        assert client.get("/nested").json() == [0, 1]
        assert store.stored(sid_of(client))["sess"] == {"items": [0, 1]}


def test_max_age_is_the_lifetime(store: Store) -> None:
    with TestClient(starlette_app(store.provider, max_age=420)) as client:
        response = client.get("/count")
        assert "Max-Age=420;" in response.headers["set-cookie"]
        if store.custom is not None:
            assert {ttl for op, _, ttl in store.custom.writes if op == "set"} == {420.0}
    with TestClient(starlette_app(store.provider, max_age=None)) as client:
        response = client.get("/count")
        assert "Max-Age" not in response.headers["set-cookie"]  # a browser-session cookie
        if store.custom is not None:
            assert store.custom.writes[-1][2] is None  # the provider's own TTL


def test_expiry_on_redis(redis_server: Any, prefix: str) -> None:
    store = Store("redis", redis_server, prefix)
    with TestClient(starlette_app(store.provider, max_age=1)) as client:
        client.get("/count")
        sid = sid_of(client)
        time.sleep(1.3)
        assert store.stored(sid) is None
        assert client.get("/count").json()["n"] == 1


def test_read_only_request_writes_nothing(store: Store) -> None:
    with TestClient(starlette_app(store.provider)) as client:
        client.get("/count")
        sid = sid_of(client)
        stamp = store.stored(sid)["lastActivity"]
        writes = store.writes(any_command=True)
        for _ in range(3):
            response = client.get("/read")
            assert response.json()["n"] == 1
            assert "set-cookie" not in response.headers
        assert store.stored(sid)["lastActivity"] == stamp
        assert store.writes(any_command=True) == writes


def test_due_touch_restarts_the_lifetime(store: Store) -> None:
    if store.kind == "memory":
        pytest.skip("touches are counted through Redis and the custom provider")
    with TestClient(starlette_app(store.provider, touch_after=0)) as client:
        client.get("/count")
        writes = store.writes()
        response = client.get("/read")
        assert store.writes() == writes + 1  # one touch, no rewrite
        assert "Max-Age=" in response.headers["set-cookie"]  # the cookie follows the store


def test_websocket_reads_and_saves(store: Store) -> None:
    app = starlette_app(store.provider)
    finished = threading.Event()

    async def app_then_signal(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        if scope["type"] == "websocket":
            finished.set()

    with TestClient(app_then_signal) as client:
        client.get("/count")
        with client.websocket_connect("/ws") as socket:
            assert socket.receive_json() == {"n": 1}
            # The middleware saves after the handler returns; leaving this block cancels the
            # application (the test client's way to end a session), so wait for it here.
            assert finished.wait(60)
        assert store.stored(sid_of(client))["sess"] == {"n": 1, "ws": 1}


def test_json_values(store: Store) -> None:
    with TestClient(starlette_app(store.provider)) as client:
        with pytest.raises(TypeError, match="not JSON serializable"):
            client.get("/put/datetime")
        client.get("/put/tuple")
        assert store.stored(sid_of(client))["sess"] == {"value": [1, 2]}
        with pytest.raises(ValueError, match="NaN"):
            client.get("/put/nan")


def test_secret_key_list_rotates_keys(store: Store) -> None:
    with TestClient(starlette_app(store.provider)) as client:
        client.get("/count")
        cookie = client.cookies["session"]
    app = Starlette(routes=[Route("/count", count)], middleware=[Middleware(PotoSessionMiddleware, provider=store.provider, secret_key=["new-key", SECRET])])
    with TestClient(app, cookies={"session": cookie}) as client:
        assert client.get("/count").json()["n"] == 2

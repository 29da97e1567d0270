"""poto_sessions.django (a SESSION_ENGINE) through a real Django project configured here: Django's
test clients run the full middleware and handler stack (WSGI for Client, ASGI for AsyncClient), on
the in-memory provider, a private Redis and a custom Python provider."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Iterator

import pytest

django = pytest.importorskip("django", reason="Django is not installed (pip install 'poto-sessions[django]')")

from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="django-test-secret",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.sessions"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
        SESSION_ENGINE="poto_sessions.django",
        DATABASES={},
        USE_TZ=True,
    )
    django.setup()

from django.contrib.sessions.backends.base import UpdateError  # noqa: E402
from django.contrib.sessions.exceptions import SessionInterrupted  # noqa: E402
from django.core import signing  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

from poto_sessions.django import SessionStore  # noqa: E402

from .adapters_support import PROVIDERS, Store, id_bits  # noqa: E402

ASYNC_SESSIONS = django.VERSION >= (5, 0)


def count(request: Any) -> JsonResponse:
    request.session["n"] = request.session.get("n", 0) + 1
    return JsonResponse({"n": request.session["n"]})


def read(request: Any) -> JsonResponse:
    return JsonResponse({"n": request.session.get("n")})


def login(request: Any) -> JsonResponse:
    request.session.cycle_key()
    request.session["user"] = "alice"
    return JsonResponse({"n": request.session.get("n")})


def logout(request: Any) -> JsonResponse:
    request.session.flush()
    return JsonResponse({})


def put(request: Any, kind: str) -> JsonResponse:
    request.session["value"] = {"datetime": datetime(2024, 1, 1), "tuple": (1, 2), "intkey": {1: "a"}}[kind]
    return JsonResponse({})


def expire_in(request: Any, seconds: int) -> JsonResponse:
    request.session.set_expiry(seconds)
    return JsonResponse({})


async def acount(request: Any) -> JsonResponse:
    n = await request.session.aget("n", 0) + 1
    await request.session.aset("n", n)
    return JsonResponse({"n": n})


async def aread(request: Any) -> JsonResponse:
    return JsonResponse({"n": await request.session.aget("n")})


async def alogin(request: Any) -> JsonResponse:
    await request.session.acycle_key()
    return JsonResponse({"n": await request.session.aget("n")})


urlpatterns = [
    path("count", count),
    path("read", read),
    path("login", login),
    path("logout", logout),
    path("put/<str:kind>", put),
    path("expire/<int:seconds>", expire_in),
    path("acount", acount),
    path("aread", aread),
    path("alogin", alogin),
]

needs_async = pytest.mark.skipif(not ASYNC_SESSIONS, reason="Django's async session API needs Django >= 5.0")


@pytest.fixture(params=PROVIDERS)
def store(request: Any, redis_server: Any, prefix: str) -> Iterator[Store]:
    s = Store(request.param, redis_server, prefix)
    with override_settings(POTO_SESSIONS_PROVIDER=s.provider):
        yield s


def sid_of(value: str) -> str:
    return signing.Signer(salt="poto_sessions.django").unsign(value)


def cookie(client: Any) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_counter_across_requests(store: Store) -> None:
    client = Client()
    assert [client.get("/count").json()["n"] for _ in range(3)] == [1, 2, 3]
    sid = sid_of(cookie(client))
    assert store.stored(sid)["sess"] == {"n": 3}


@needs_async
async def test_async_views_use_aload_asave(store: Store) -> None:
    client = AsyncClient()
    assert [(await client.get("/acount")).json()["n"] for _ in range(3)] == [1, 2, 3]
    sid = sid_of(client.cookies[settings.SESSION_COOKIE_NAME].value)
    assert (await store.astored(sid))["sess"] == {"n": 3}
    old = sid
    assert (await client.get("/alogin")).json()["n"] == 3
    new = sid_of(client.cookies[settings.SESSION_COOKIE_NAME].value)
    assert new != old and await store.astored(old) is None
    assert (await client.get("/aread")).json()["n"] == 3


def test_ids_are_random_and_signed(store: Store) -> None:
    clients = [Client(), Client()]
    for client in clients:
        client.get("/count")
    sids = [sid_of(cookie(c)) for c in clients]
    assert sids[0] != sids[1]
    assert all(id_bits(s) >= 128 for s in sids)
    assert all(cookie(c).startswith(s + ":") for c, s in zip(clients, sids))


def test_tampered_cookie_gets_a_fresh_session(store: Store) -> None:
    client = Client()
    client.get("/count")
    sid = sid_of(cookie(client))
    other = signing.Signer(key="another-key", salt="poto_sessions.django").sign(sid)
    for forged in (sid, sid + ":forged", other):
        client.cookies[settings.SESSION_COOKIE_NAME] = forged
        assert client.get("/read").json()["n"] is None
    assert client.get("/count").json()["n"] == 1
    assert sid_of(cookie(client)) != sid
    assert store.stored(sid)["sess"] == {"n": 1}


def test_cycle_key_keeps_data_and_invalidates_the_old_key(store: Store) -> None:
    client = Client()
    client.get("/count")
    old_cookie = cookie(client)
    old = sid_of(old_cookie)
    assert client.get("/login").json()["n"] == 1
    new = sid_of(cookie(client))
    assert new != old and id_bits(new) >= 128
    assert store.stored(old) is None
    assert store.stored(new)["sess"] == {"n": 1, "user": "alice"}
    assert client.get("/count").json()["n"] == 2
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    assert thief.get("/read").json()["n"] is None


def test_flush_deletes_the_session(store: Store) -> None:
    client = Client()
    client.get("/count")
    sid = sid_of(cookie(client))
    client.get("/logout")
    assert store.stored(sid) is None
    assert cookie(client) == ""


def test_lifetime_from_settings(store: Store) -> None:
    with override_settings(SESSION_COOKIE_AGE=420):
        client = Client()
        response = client.get("/count")
        assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 420
        client.get("/expire/99")  # set_expiry: this session's own lifetime
        if store.custom is not None:
            assert [ttl for op, _, ttl in store.custom.writes if op == "set"] == [420.0, 99.0]


def test_expiry_on_redis(redis_server: Any, prefix: str) -> None:
    store = Store("redis", redis_server, prefix)
    with override_settings(POTO_SESSIONS_PROVIDER=store.provider, SESSION_COOKIE_AGE=1):
        client = Client()
        client.get("/count")
        sid = sid_of(cookie(client))
        time.sleep(1.3)
        assert store.stored(sid) is None
        assert client.get("/count").json()["n"] == 1


@pytest.mark.parametrize("save_every_request", [False, True])
def test_read_only_request_writes_nothing(store: Store, save_every_request: bool) -> None:
    with override_settings(SESSION_SAVE_EVERY_REQUEST=save_every_request):
        client = Client()
        client.get("/count")
        sid = sid_of(cookie(client))
        stamp = store.stored(sid)["lastActivity"]
        writes = store.writes(any_command=True)
        for _ in range(3):
            assert client.get("/read").json()["n"] == 1
        assert store.stored(sid)["lastActivity"] == stamp
        assert store.writes(any_command=True) == writes
        assert sid_of(cookie(client)) == sid


def test_due_touch_restarts_the_lifetime(store: Store) -> None:
    if store.kind == "memory":
        pytest.skip("touches are counted through Redis and the custom provider")
    with override_settings(POTO_SESSIONS_TOUCH_AFTER=0):
        client = Client()
        client.get("/count")
        writes = store.writes()
        assert client.get("/read").json()["n"] == 1
        assert store.writes() == writes + 1  # one touch, no rewrite
        if store.custom is not None:
            assert store.custom.writes[-1][2] == float(settings.SESSION_COOKIE_AGE)


def test_json_values_follow_the_serializer(store: Store) -> None:
    client = Client(raise_request_exception=True)
    with pytest.raises(TypeError, match="not JSON serializable"):
        client.get("/put/datetime")
    client.get("/put/tuple")
    sid = sid_of(cookie(client))
    assert store.stored(sid)["sess"] == {"value": [1, 2]}
    client.get("/put/intkey")
    assert store.stored(sid)["sess"] == {"value": {"1": "a"}}


def test_secret_key_fallbacks_keep_sessions(store: Store) -> None:
    client = Client()
    client.get("/count")
    with override_settings(SECRET_KEY="a-new-secret", SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert client.get("/count").json()["n"] == 2


def test_store_api_sync(store: Store) -> None:
    s = SessionStore()
    s["a"] = 1
    s.save()
    key = s.session_key
    assert s.exists(key) and not s.exists(key + "x") and not s.exists(None)
    loaded = SessionStore(key)
    assert loaded["a"] == 1
    loaded.cycle_key()
    assert not s.exists(key) and loaded.exists(loaded.session_key) and loaded["a"] == 1
    # A session deleted by another request while this one worked: Django's SessionInterrupted.
    other = SessionStore(loaded.session_key)
    other["b"] = 2
    loaded.delete()
    with pytest.raises(UpdateError):
        other.save()
    assert issubclass(SessionInterrupted, Exception)
    SessionStore.clear_expired()


@needs_async
async def test_store_api_async(store: Store) -> None:
    s = SessionStore()
    await s.aset("a", 1)
    await s.asave()
    key = s.session_key
    assert await s.aexists(key) and not await s.aexists(key + "x")
    loaded = SessionStore(key)
    assert await loaded.aget("a") == 1
    await loaded.acycle_key()
    assert not await s.aexists(key) and await loaded.aget("a") == 1
    other = SessionStore(loaded.session_key)
    await other.aset("b", 2)
    await loaded.adelete()
    with pytest.raises(UpdateError):
        await other.asave()
    await SessionStore.aclear_expired()


def test_provider_from_a_url_setting(redis_server: Any, prefix: str) -> None:
    with override_settings(POTO_SESSIONS_PROVIDER=redis_server.url, POTO_SESSIONS_PREFIX=prefix):
        client = Client()
        assert [client.get("/count").json()["n"] for _ in range(2)] == [1, 2]
        assert Store("redis", redis_server, prefix).stored(sid_of(cookie(client)))["sess"] == {"n": 2}

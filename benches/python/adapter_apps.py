"""The apps of benches/python/adapters.py: one Flask, one Django and one Starlette app, each with a
read route and a change route, over poto-sessions' adapter or what users run today, chosen by
environment variables (so a gunicorn or uvicorn worker imports ``adapter_apps:app``):

    BENCH_FRAMEWORK  flask | django | asgi
    BENCH_IMPL       poto  | baseline  (Flask-Session on Redis, Django's cache sessions on
                     RedisCache, starsessions' RedisStore)
    BENCH_REDIS_URL  the private redis-server
    BENCH_OPTION     extra variant of the baseline (flask: "norefresh" sets
                     SESSION_REFRESH_EACH_REQUEST=False)

GET /change sets up a profile-sized session on first use, then increments a counter; GET /read
reads three keys. Both answer a small JSON body.
"""

from __future__ import annotations

import os
from typing import Any, Dict

FRAMEWORK = os.environ.get("BENCH_FRAMEWORK", "flask")
IMPL = os.environ.get("BENCH_IMPL", "poto")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
OPTION = os.environ.get("BENCH_OPTION", "")
SECRET = "bench-secret-key-0123456789abcdef"
LIFETIME = 14 * 24 * 3600

#: What a logged-in user's session typically holds (~400 bytes of JSON).
PROFILE: Dict[str, Any] = {
    "user_id": "u-8d3f2c1a-5b7e-4c9d-a1f0-2e6b7c8d9e0f",
    "username": "alice.example",
    "roles": ["reader", "editor"],
    "csrf": "b1946ac92492d2347c6235b4d2611184a4b3c2d1e0f9a8b7",
    "locale": "en-GB",
    "theme": "dark",
    "cart": [{"sku": "A-1001", "qty": 2}, {"sku": "B-2002", "qty": 1}],
    "flash": [],
    "last_page": "/account/orders?page=3",
}


def setup_session(session: Any) -> int:
    if "n" not in session:
        session.update(PROFILE)
    session["n"] = session.get("n", 0) + 1
    return int(session["n"])


def read_session(session: Any) -> Dict[str, Any]:
    return {"n": session.get("n"), "user": session.get("username"), "theme": session.get("theme")}


def flask_app() -> Any:
    from flask import Flask, session

    app = Flask(__name__)
    app.secret_key = SECRET
    app.config["PERMANENT_SESSION_LIFETIME"] = LIFETIME
    if IMPL == "poto":
        from poto_sessions import RedisSessionProvider
        from poto_sessions.flask import PotoSessionInterface

        app.session_interface = PotoSessionInterface(RedisSessionProvider(REDIS_URL, prefix="bench-flask:"))
    else:
        import redis
        from flask_session import Session

        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=redis.Redis.from_url(REDIS_URL), SESSION_KEY_PREFIX="bench-flask-session:")
        if OPTION == "norefresh":
            app.config["SESSION_REFRESH_EACH_REQUEST"] = False
        Session(app)

    @app.get("/change")
    def change() -> Any:
        return {"n": setup_session(session)}

    @app.get("/read")
    def read() -> Any:
        return read_session(session)

    return app


def django_app() -> Any:
    from django.conf import settings

    options: Dict[str, Any] = {}
    if IMPL == "poto":
        options.update(SESSION_ENGINE="poto_sessions.django", POTO_SESSIONS_PROVIDER=REDIS_URL, POTO_SESSIONS_PREFIX="bench-django:")
    else:
        options.update(
            SESSION_ENGINE="django.contrib.sessions.backends.cache",
            CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "bench-django-cache"}},
        )
    settings.configure(
        DEBUG=False,
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.sessions"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
        SESSION_COOKIE_AGE=LIFETIME,
        DATABASES={},
        USE_TZ=True,
        **options,
    )
    import django
    from django.core.wsgi import get_wsgi_application

    django.setup()
    return get_wsgi_application()


def django_urls() -> Any:
    from django.http import JsonResponse
    from django.urls import path

    def change(request: Any) -> Any:
        return JsonResponse({"n": setup_session(request.session)})

    def read(request: Any) -> Any:
        return JsonResponse(read_session(request.session))

    return [path("change", change), path("read", read)]


def asgi_app() -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def change(request: Request) -> JSONResponse:
        return JSONResponse({"n": setup_session(request.session)})

    async def read(request: Request) -> JSONResponse:
        return JSONResponse(read_session(request.session))

    if IMPL == "poto":
        from poto_sessions import RedisSessionProvider
        from poto_sessions.asgi import PotoSessionMiddleware

        middleware = [Middleware(PotoSessionMiddleware, provider=RedisSessionProvider(REDIS_URL, prefix="bench-asgi:"), secret_key=SECRET, max_age=LIFETIME)]
    else:
        from redis.asyncio import Redis
        from starsessions import SessionAutoloadMiddleware, SessionMiddleware
        from starsessions.stores.redis import RedisStore

        store = RedisStore(connection=Redis.from_url(REDIS_URL), prefix="bench-starsessions:")
        middleware = [Middleware(SessionMiddleware, store=store, lifetime=LIFETIME, rolling=True), Middleware(SessionAutoloadMiddleware)]
    return Starlette(routes=[Route("/change", change), Route("/read", read)], middleware=middleware)


if FRAMEWORK == "django":
    urlpatterns = django_urls()
    app = django_app()
elif FRAMEWORK == "asgi":
    app = asgi_app()
else:
    app = flask_app()

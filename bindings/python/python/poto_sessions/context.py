"""The current user of a request, in a context variable (per asyncio task and per thread)."""

from __future__ import annotations

import functools
import inspect
from contextvars import ContextVar, Token
from typing import Any, Callable, Optional, TypeVar

from .errors import NotAuthenticatedError

_current_user: ContextVar[Optional[str]] = ContextVar("poto_sessions_current_user", default=None)

F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> Optional[str]:
    """The user set by ``user_context`` / ``set_current_user`` in this context, or ``None``."""
    return _current_user.get()


def set_current_user(user_id: Optional[str]) -> Token[Optional[str]]:
    """Sets the current user (e.g. in middleware); pass the token to ``reset_current_user``."""
    return _current_user.set(user_id)


def reset_current_user(token: Token[Optional[str]]) -> None:
    _current_user.reset(token)


def resolve_user(user_id: Optional[str]) -> str:
    """``user_id`` if given, else the current user; ``NotAuthenticatedError`` when neither."""
    user = user_id if user_id is not None else _current_user.get()
    if user is None:
        raise NotAuthenticatedError("not authenticated: no current user", "POTO_NOT_AUTHENTICATED")
    return user


class user_context:
    """Makes ``user_id`` the current user: ``with user_context("alice"): ...`` or as a decorator
    of a sync or async function."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self._tokens: list[Token[Optional[str]]] = []

    def __enter__(self) -> str:
        self._tokens.append(_current_user.set(self.user_id))
        return self.user_id

    def __exit__(self, *exc: object) -> None:
        _current_user.reset(self._tokens.pop())

    def __call__(self, fn: F) -> F:
        user_id = self.user_id
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with user_context(user_id):
                    return await fn(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with user_context(user_id):
                return fn(*args, **kwargs)

        return run  # type: ignore[return-value]

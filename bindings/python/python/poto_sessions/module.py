"""``PotoModule`` and ``LLMPotoModule``: the seed's session API for the current user."""

from __future__ import annotations

import inspect
import weakref
from datetime import timedelta
from typing import Any, Awaitable, Callable, Dict, Optional, Union

from . import _native
from ._native import DEFAULT_MODEL
from .context import resolve_user

Session = Dict[str, Any]
Seconds = Union[float, timedelta]
#: An update function: mutates the session (returning ``None``) or returns the one to write;
#: it may be async. It may run more than once when other writers race.
UpdateFn = Callable[[Session], Union[Optional[Session], Awaitable[Optional[Session]]]]


def _apply(fn: UpdateFn, session: Session) -> Any:
    result = fn(session)
    if inspect.isawaitable(result):

        async def finish() -> Session:
            returned = await result
            return session if returned is None else returned

        return finish()
    return session if result is None else result


class PotoModule:
    """Generic session management for a module (the seed's ``PotoModule``).

    Methods act on the current user (``user_context``) unless ``user_id=`` is given. Every method
    is async; each has a ``_sync`` twin for synchronous frameworks.

    Cancelling a call (``task.cancel()``, ``asyncio.wait_for`` timing out) stops it: a call
    cancelled before its write is sent writes nothing, and its update function is not run (again;
    an async one is cancelled). A call cancelled after its write was sent has an unknown outcome,
    as with ``OutcomeUnknownError``: the write may or may not have been applied. (A Redis field
    write such as ``set_session_value`` can be sent as soon as the call starts.)
    """

    _llm = False

    def __init__(
        self,
        provider: Optional[Any] = None,
        *,
        ttl: Optional[Seconds] = None,
        touch_after: Optional[Seconds] = None,
        retry_budget: Optional[Seconds] = None,
        retry_base_delay: Optional[Seconds] = None,
        retry_max_delay: Optional[Seconds] = None,
        default_model: Optional[str] = None,
    ) -> None:
        """``provider``: this module's own store (default: the global one, in-memory unless
        ``set_session_provider`` was called). ``ttl``: lifetime of the sessions it writes
        (default: the provider's). ``touch_after``: a read touches the session only when its
        ``lastActivity`` is older than this (default 60 s, capped at half the TTL; ``0``: every
        read), so a read-only request costs one read. ``retry_budget``, ``retry_base_delay``, ``retry_max_delay``:
        how long ``update_user_session`` retries under contention and its backoff (default: the
        provider's). ``default_model``: the model of new sessions, ``LLMPotoModule`` only
        (default ``DEFAULT_MODEL``). ``None`` leaves an option at its default."""
        hook = None
        if type(self).create_default_session_data is not PotoModule.create_default_session_data:
            owner = weakref.ref(self)

            def hook(user_id: str, base: Session) -> Any:
                module = owner()
                return base if module is None else module.create_default_session_data(user_id)

        self._native = _native.NativeModule(
            provider,
            llm=self._llm,
            defaults=hook,
            ttl=ttl,
            touch_after=touch_after,
            retry_budget=retry_budget,
            retry_base_delay=retry_base_delay,
            retry_max_delay=retry_max_delay,
            default_model=default_model,
        )

    def create_default_session_data(self, user_id: str) -> Session:
        """Data of a new session. Override to add fields; call ``super()`` for the base. An
        override may be async. Returning anything but a ``dict`` of JSON values is an
        ``InvalidArgumentError``; an exception it raises becomes a ``ProviderError`` whose
        ``__cause__`` it is. Nothing is written in either case."""
        return self._native.base_session_data(user_id)

    @staticmethod
    def set_session_provider(provider: Any) -> None:
        """The seed's ``PotoModule.setSessionProvider``: the store of every module without its own."""
        _native.set_session_provider(provider)

    async def get_user_session(self, user_id: Optional[str] = None) -> Session:
        """The user's session, created from the defaults when absent; extends its life."""
        return await self._native.get_user_session(resolve_user(user_id))

    def get_user_session_sync(self, user_id: Optional[str] = None) -> Session:
        return self._native.get_user_session_sync(resolve_user(user_id))

    async def update_user_session(self, fn: UpdateFn, user_id: Optional[str] = None) -> Session:
        """Applies ``fn`` atomically and returns the session as ``fn`` left it (the store stamps
        the write's ``lastActivity`` itself; this copy does not show it). An exception from
        ``fn`` writes nothing and propagates unchanged."""
        return await self._native.update_user_session(resolve_user(user_id), lambda s: _apply(fn, s))

    def update_user_session_sync(self, fn: UpdateFn, user_id: Optional[str] = None) -> Session:
        return self._native.update_user_session_sync(resolve_user(user_id), lambda s: _apply(fn, s))

    async def delete_user_session(self, user_id: Optional[str] = None) -> None:
        await self._native.delete_user_session(resolve_user(user_id))

    def delete_user_session_sync(self, user_id: Optional[str] = None) -> None:
        self._native.delete_user_session_sync(resolve_user(user_id))

    async def get_session_stats(self) -> _native.SessionStats:
        """``.active_sessions`` and ``.user_ids`` of the store."""
        return await self._native.get_session_stats()

    def get_session_stats_sync(self) -> _native.SessionStats:
        return self._native.get_session_stats_sync()

    async def set_session_value(self, key: str, value: Any, user_id: Optional[str] = None) -> None:
        """Sets one top-level key atomically, without conflicting with writes to other keys."""
        await self._native.set_session_value(resolve_user(user_id), key, value)

    def set_session_value_sync(self, key: str, value: Any, user_id: Optional[str] = None) -> None:
        self._native.set_session_value_sync(resolve_user(user_id), key, value)

    async def get_session_value(self, key: str, user_id: Optional[str] = None) -> Any:
        """One top-level value, or ``None`` when unset."""
        return await self._native.get_session_value(resolve_user(user_id), key)

    def get_session_value_sync(self, key: str, user_id: Optional[str] = None) -> Any:
        return self._native.get_session_value_sync(resolve_user(user_id), key)


class LLMPotoModule(PotoModule):
    """A ``PotoModule`` whose sessions remember the user's model (``currentModelName``, default
    ``default_model``, else ``DEFAULT_MODEL``), and optionally a system prompt (``systemPrompt``)
    and the current conversation (``currentConversationId``)."""

    _llm = True

    @property
    def default_model(self) -> str:
        """The model of new sessions, and of sessions that record none."""
        return self._native.default_model or DEFAULT_MODEL

    async def update_user_model(self, model: str, user_id: Optional[str] = None) -> None:
        await self._native.update_user_model(resolve_user(user_id), model)

    def update_user_model_sync(self, model: str, user_id: Optional[str] = None) -> None:
        self._native.update_user_model_sync(resolve_user(user_id), model)

    async def get_user_model(self, user_id: Optional[str] = None) -> str:
        """The user's model, or the default model when none is recorded."""
        return await self._native.get_user_model(resolve_user(user_id))

    def get_user_model_sync(self, user_id: Optional[str] = None) -> str:
        return self._native.get_user_model_sync(resolve_user(user_id))

    async def set_system_prompt(self, prompt: str, user_id: Optional[str] = None) -> None:
        """Records the user's system prompt (``systemPrompt``)."""
        await self._native.set_system_prompt(resolve_user(user_id), prompt)

    def set_system_prompt_sync(self, prompt: str, user_id: Optional[str] = None) -> None:
        self._native.set_system_prompt_sync(resolve_user(user_id), prompt)

    async def get_system_prompt(self, user_id: Optional[str] = None) -> Optional[str]:
        """The user's system prompt, or ``None`` when none is recorded."""
        return await self._native.get_system_prompt(resolve_user(user_id))

    def get_system_prompt_sync(self, user_id: Optional[str] = None) -> Optional[str]:
        return self._native.get_system_prompt_sync(resolve_user(user_id))

    async def set_current_conversation_id(self, conversation_id: str, user_id: Optional[str] = None) -> None:
        """Records the user's current conversation (``currentConversationId``)."""
        await self._native.set_current_conversation_id(resolve_user(user_id), conversation_id)

    def set_current_conversation_id_sync(self, conversation_id: str, user_id: Optional[str] = None) -> None:
        self._native.set_current_conversation_id_sync(resolve_user(user_id), conversation_id)

    async def get_current_conversation_id(self, user_id: Optional[str] = None) -> Optional[str]:
        """The user's current conversation, or ``None`` when none is recorded."""
        return await self._native.get_current_conversation_id(resolve_user(user_id))

    def get_current_conversation_id_sync(self, user_id: Optional[str] = None) -> Optional[str]:
        return self._native.get_current_conversation_id_sync(resolve_user(user_id))


def set_session_provider(provider: Any) -> None:
    """Makes ``provider`` (built-in or custom) the store of every module without its own."""
    _native.set_session_provider(provider)

"""Types of the Rust extension (``poto_sessions._native``); use the ``poto_sessions`` package.

Every awaitable method can be cancelled: a call cancelled before its write is sent writes
nothing, and runs no further callback (update function, default factory, custom provider
method); a call cancelled after its write was sent has an unknown outcome, as with
``OutcomeUnknownError``.
"""

from datetime import timedelta
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, TypedDict, Union

Session = Dict[str, Any]
Seconds = Union[float, timedelta]

#: The model of a new LLM session unless configured otherwise (``"llm1"``, as in the original Poto).
DEFAULT_MODEL: str

class SessionStats:
    @property
    def active_sessions(self) -> int: ...
    @property
    def user_ids(self) -> List[str]: ...

class SessionProvider:
    """Base of the built-in providers; ``wrap`` turns a custom provider object into one."""

    @staticmethod
    def wrap(provider: Any, *, max_session_bytes: Optional[int] = None) -> SessionProvider:
        """The provider over a custom provider object: one with the seed's methods
        (``get_session``, ``set_session``, ``delete_session``, ``has_session``,
        ``cleanup_old_sessions``, ``get_active_sessions``, ``clear``), sync or async, and
        optionally ``count``, ``get_stats`` and the pair ``get_versioned`` / ``compare_and_set``.

        ``max_session_bytes``: largest session accepted (default 1 MiB).

        An object has one adapter (and so one per-user update lock) however often it is
        wrapped or passed to a module: the options of its first wrap stay while that adapter
        lives, and wrapping it again with other options is an ``InvalidArgumentError``.
        """
    def get_session(self, user_id: str) -> Awaitable[Optional[Session]]: ...
    def get_session_sync(self, user_id: str) -> Optional[Session]: ...
    def set_session(self, user_id: str, data: Session, ttl: Optional[Seconds] = None) -> Awaitable[None]: ...
    def set_session_sync(self, user_id: str, data: Session, ttl: Optional[Seconds] = None) -> None: ...
    def delete_session(self, user_id: str) -> Awaitable[None]: ...
    def delete_session_sync(self, user_id: str) -> None: ...
    def has_session(self, user_id: str) -> Awaitable[bool]: ...
    def has_session_sync(self, user_id: str) -> bool: ...
    def touch(self, user_id: str, ttl: Optional[Seconds] = None) -> Awaitable[bool]:
        """Restarts the session's TTL (``ttl``, else the provider's) and stamps ``lastActivity``;
        ``False`` when there is no session."""
    def touch_sync(self, user_id: str, ttl: Optional[Seconds] = None) -> bool: ...
    def cleanup_old_sessions(self, max_age: Seconds) -> Awaitable[int]: ...
    def cleanup_old_sessions_sync(self, max_age: Seconds) -> int: ...
    def get_active_sessions(self) -> Awaitable[List[str]]: ...
    def get_active_sessions_sync(self) -> List[str]: ...
    def get_stats(self) -> Awaitable[SessionStats]: ...
    def get_stats_sync(self) -> SessionStats: ...
    def count(self) -> Awaitable[int]: ...
    def count_sync(self) -> int: ...
    def clear(self) -> Awaitable[int]: ...
    def clear_sync(self) -> int: ...

class InMemorySessionProvider(SessionProvider):
    def __init__(self, *, ttl: Optional[Seconds] = None, max_session_bytes: Optional[int] = None) -> None:
        """``ttl``: lifetime of a session after its last write or touch (default 24 h).
        ``max_session_bytes``: largest session accepted (default 1 MiB)."""

class RedisSessionProvider(SessionProvider):
    def __init__(
        self,
        url: Optional[str] = None,
        *,
        prefix: Optional[str] = None,
        ttl: Optional[Seconds] = None,
        connect_timeout: Optional[Seconds] = None,
        command_timeout: Optional[Seconds] = None,
        retry_budget: Optional[Seconds] = None,
        retry_base_delay: Optional[Seconds] = None,
        retry_max_delay: Optional[Seconds] = None,
        max_session_bytes: Optional[int] = None,
        cluster: Optional[bool] = None,
        list_page_size: Optional[int] = None,
        sentinel_username: Optional[str] = None,
        sentinel_password: Optional[str] = None,
        tls_ca_file: Optional[str] = None,
        tls_ca_pem: Optional[str] = None,
        tls_cert_file: Optional[str] = None,
        tls_key_file: Optional[str] = None,
        tls_insecure: Optional[bool] = None,
        wait_replicas: Optional[int] = None,
        wait_timeout: Optional[Seconds] = None,
    ) -> None:
        """``url``: ``redis://``, ``rediss://`` (TLS), ``redis+cluster://`` or
        ``redis+sentinel://h1:26379,h2:26379/<service>[/db]`` (``rediss+sentinel://``: TLS) (default
        ``REDIS_URL``, else ``redis://127.0.0.1:6379``). ``prefix``: namespace of every key
        (default ``"poto:"``). ``ttl``: lifetime of a session after its last write or touch
        (default 24 h). ``connect_timeout`` (default 5 s), ``command_timeout`` (one reply,
        default 2 s). ``retry_budget``: time an atomic update keeps retrying (default 5 s), with
        a jittered backoff from ``retry_base_delay`` (default 0.5 ms, doubled per retry) up to
        ``retry_max_delay`` (default 50 ms). ``max_session_bytes``: largest session accepted
        (default 1 MiB). ``cluster``: Redis Cluster, ``url`` listing seed nodes
        comma-separated. ``list_page_size``: ids per shard in one listing reply (default 2000).
        ``sentinel_username`` / ``sentinel_password``: credentials of the Redis Sentinels of a
        ``redis+sentinel://`` URL (the URL's own credentials are the data nodes').
        TLS (a ``rediss://`` URL; the system's trust store is always used): ``tls_ca_file``, a
        PEM bundle of CAs to trust besides it, or the same inline as ``tls_ca_pem``;
        ``tls_cert_file`` with ``tls_key_file``, a client certificate for servers that require
        one; ``tls_insecure``: no verification of the server at all, **for development only**.
        Files are read here: an unreadable one, a bad PEM or a certificate without its key is an
        ``InvalidArgumentError``; a failed handshake an ``UnavailableError`` saying what failed.
        ``wait_replicas``: replicas that must acknowledge each write (Redis ``WAIT`` on the
        write's node), else ``OutcomeUnknownError`` (default 0: no ``WAIT``); ``wait_timeout``:
        how long that ``WAIT`` waits (default 1 s, at most ``command_timeout``).
        ``None`` leaves an option at its default."""

class NativeModule:
    def __init__(
        self,
        provider: Optional[Any] = None,
        *,
        llm: bool = False,
        defaults: Optional[Callable[[str, Session], Any]] = None,
        ttl: Optional[Seconds] = None,
        touch_after: Optional[Seconds] = None,
        retry_budget: Optional[Seconds] = None,
        retry_base_delay: Optional[Seconds] = None,
        retry_max_delay: Optional[Seconds] = None,
        default_model: Optional[str] = None,
    ) -> None: ...
    @property
    def default_model(self) -> Optional[str]: ...
    def base_session_data(self, user_id: str) -> Session: ...
    def get_user_session(self, user_id: str) -> Awaitable[Session]: ...
    def get_user_session_sync(self, user_id: str) -> Session: ...
    def update_user_session(self, user_id: str, apply: Callable[[Session], Any]) -> Awaitable[Session]: ...
    def update_user_session_sync(self, user_id: str, apply: Callable[[Session], Any]) -> Session: ...
    def delete_user_session(self, user_id: str) -> Awaitable[None]: ...
    def delete_user_session_sync(self, user_id: str) -> None: ...
    def get_session_stats(self) -> Awaitable[SessionStats]: ...
    def get_session_stats_sync(self) -> SessionStats: ...
    def set_session_value(self, user_id: str, key: str, value: Any) -> Awaitable[None]: ...
    def set_session_value_sync(self, user_id: str, key: str, value: Any) -> None: ...
    def get_session_value(self, user_id: str, key: str) -> Awaitable[Any]: ...
    def get_session_value_sync(self, user_id: str, key: str) -> Any: ...
    def update_user_model(self, user_id: str, model: str) -> Awaitable[None]: ...
    def update_user_model_sync(self, user_id: str, model: str) -> None: ...
    def get_user_model(self, user_id: str) -> Awaitable[str]: ...
    def get_user_model_sync(self, user_id: str) -> str: ...
    def set_system_prompt(self, user_id: str, prompt: str) -> Awaitable[None]: ...
    def set_system_prompt_sync(self, user_id: str, prompt: str) -> None: ...
    def get_system_prompt(self, user_id: str) -> Awaitable[Optional[str]]: ...
    def get_system_prompt_sync(self, user_id: str) -> Optional[str]: ...
    def set_current_conversation_id(self, user_id: str, conversation_id: str) -> Awaitable[None]: ...
    def set_current_conversation_id_sync(self, user_id: str, conversation_id: str) -> None: ...
    def get_current_conversation_id(self, user_id: str) -> Awaitable[Optional[str]]: ...
    def get_current_conversation_id_sync(self, user_id: str) -> Optional[str]: ...

class NamedReason(TypedDict):
    name: str
    reason: str

class ConformanceReport(TypedDict):
    ok: bool
    passed: List[str]
    #: Checks that do not apply (an ability the provider lacks, an option not given).
    skipped: List[NamedReason]
    failed: List[NamedReason]

def set_session_provider(provider: Any) -> None: ...
def _option_schema() -> List[Tuple[str, List[Tuple[str, str]]]]: ...
def _admin_main(argv: List[str]) -> int: ...
def run_conformance_sync(
    provider: Any,
    other: Optional[Any] = None,
    *,
    ttl_unit: Optional[Seconds] = None,
    max_session_bytes: Optional[int] = None,
) -> ConformanceReport: ...

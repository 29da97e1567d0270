"""TLS from Python against a real `redis-server --tls-port` with a CA the test makes with openssl
(tests/support/redis_servers.py, TestCerts): a verified connection with `tls_ca_file` (and the
inline `tls_ca_pem`), a client certificate, a wrong CA as UnavailableError saying so within the
connect timeout (no call left waiting, no panic text on stderr), and options refused at
construction. The full set of TLS failures is core/tests/tls.rs."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

from poto_sessions import InvalidArgumentError, RedisSessionProvider, UnavailableError


async def test_a_verified_connection_with_the_ca_file(tls_server: Any, tls_certs: Any, prefix: str) -> None:
    for trust in ({"tls_ca_file": tls_certs.path("ca.crt")}, {"tls_ca_pem": tls_certs.read("ca.crt")}):
        provider = RedisSessionProvider(tls_server.tls_url, prefix=prefix, **trust)
        await provider.set_session("alice", {"theme": "dark"})
        assert (await provider.get_session("alice") or {})["theme"] == "dark"
        await provider.delete_session("alice")


async def test_a_client_certificate(tls_certs: Any, prefix: str) -> None:
    # Imported here: the launcher is on sys.path once conftest ran.
    from redis_servers import RedisServer

    with RedisServer(tls=tls_certs, auth_clients=True) as server:
        without = RedisSessionProvider(server.tls_url, prefix=prefix, tls_ca_file=tls_certs.path("ca.crt"))
        with pytest.raises(UnavailableError, match="requires a client certificate"):
            await without.get_session("alice")
        provider = RedisSessionProvider(server.tls_url, prefix=prefix, tls_ca_file=tls_certs.path("ca.crt"),
                                        tls_cert_file=tls_certs.path("client.crt"), tls_key_file=tls_certs.path("client.key"))
        await provider.set_session("alice", {"n": 1})
        assert await provider.has_session("alice")


async def test_a_wrong_ca_is_unavailable_within_the_connect_timeout(tls_server: Any, tls_certs: Any, prefix: str) -> None:
    provider = RedisSessionProvider(tls_server.tls_url, prefix=prefix, connect_timeout=1.5,
                                    tls_ca_file=tls_certs.path("other-ca.crt"))
    started = time.monotonic()
    with pytest.raises(UnavailableError, match="unknown CA"):
        await provider.get_session("alice")
    assert time.monotonic() - started < 1.5 + 5  # generous: this is no latency test


def test_the_sync_forms_over_tls(tls_server: Any, tls_certs: Any, prefix: str) -> None:
    provider = RedisSessionProvider(tls_server.tls_url, prefix=prefix, tls_ca_file=tls_certs.path("ca.crt"))
    provider.set_session_sync("bob", {"n": 2})
    assert (provider.get_session_sync("bob") or {})["n"] == 2
    wrong = RedisSessionProvider(tls_server.tls_url, prefix=prefix, tls_ca_file=tls_certs.path("other-ca.crt"))
    with pytest.raises(UnavailableError, match="unknown CA"):
        wrong.has_session_sync("bob")


def test_no_panic_text_on_stderr(tls_server: Any, tls_certs: Any) -> None:
    """The issue's report: a TLS connect used to panic on a runtime thread ("Could not
    automatically determine the process-level CryptoProvider") and never return."""
    script = (
        "import asyncio, sys\n"
        "from poto_sessions import RedisSessionProvider, UnavailableError\n"
        "async def main():\n"
        f"    ok = RedisSessionProvider({tls_server.tls_url!r}, tls_ca_file={tls_certs.path('ca.crt')!r})\n"
        "    await ok.set_session('u', {'a': 1})\n"
        f"    bad = RedisSessionProvider({tls_server.tls_url!r}, connect_timeout=1)\n"
        "    try:\n"
        "        await bad.get_session('u')\n"
        "    except UnavailableError as e:\n"
        "        print('unavailable:', e)\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "unavailable:" in out.stdout and "unknown CA" in out.stdout, out.stdout
    assert "panic" not in out.stderr.lower(), out.stderr


def test_options_that_cannot_work_are_invalid_at_construction(tls_certs: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="tls_cert_file given without tls_key_file"):
        RedisSessionProvider("rediss://localhost:1", tls_cert_file=tls_certs.path("client.crt"))
    with pytest.raises(InvalidArgumentError, match="tls_ca_file: cannot read"):
        RedisSessionProvider("rediss://localhost:1", tls_ca_file="/nonexistent/ca.pem")
    with pytest.raises(InvalidArgumentError, match="tls_ca_pem: no certificate found"):
        RedisSessionProvider("rediss://localhost:1", tls_ca_pem="not a PEM")
    with pytest.raises(InvalidArgumentError, match="is not TLS: use rediss://"):
        RedisSessionProvider("redis://localhost:1", tls_insecure=True)

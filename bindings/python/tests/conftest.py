"""Fixtures: a private redis-server per test session, on a free loopback port (the launcher shared
by every Python test and benchmark: tests/support/redis_servers.py)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "support"))
from redis_servers import RedisServer, TestCerts  # noqa: E402


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def tls_certs() -> Iterator[TestCerts]:
    """A test CA and certificates made with openssl (redis_servers.TestCerts)."""
    with TestCerts() as certs:
        yield certs


@pytest.fixture(scope="session")
def tls_server(tls_certs: TestCerts) -> Iterator[RedisServer]:
    """A redis-server that also speaks TLS (`tls_url`), with the test CA's certificate."""
    with RedisServer(tls=tls_certs) as server:
        yield server


@pytest.fixture
def prefix() -> str:
    """A fresh key prefix per test, so tests sharing the server never see each other."""
    return f"py-{uuid.uuid4().hex[:8]}:"

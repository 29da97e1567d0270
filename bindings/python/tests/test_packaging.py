"""The wheel of dist/ (what users install) installed in a fresh venv runs the seed's example;
the type stubs match what a typed program uses (mypy --strict)."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def wheel() -> str:
    found = os.environ.get("POTO_WHEEL") or next(iter(sorted(glob.glob(str(ROOT / "../../dist/poto_sessions-*.whl")))), None)
    if not found:
        pytest.fail("no wheel in dist/: run scripts/dist.sh (scripts/test-python.sh does) first")
    return found


def test_wheel_in_fresh_venv(tmp_path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", wheel()], check=True)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    out = subprocess.run([python, ROOT / "examples" / "seed_example.py"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert "model: llm2" in out.stdout
    assert "custom provider value: dark" in out.stdout
    assert "session update failed: POTO_INVALID_ARGUMENT" in out.stdout


def test_stubs_type_check() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(ROOT / "examples"), str(ROOT / "tests" / "typed_usage.py")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_chat_server_example(redis_server, prefix) -> None:
    import json
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "REDIS_URL": redis_server.url}
    server = subprocess.Popen([sys.executable, ROOT / "examples" / "chat_server.py", "--port", str(port)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and "listening" in server.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        urllib.request.urlopen(urllib.request.Request(f"{base}/model?user=zoe&model=llm2", method="POST"))
        reply = json.load(urllib.request.urlopen(f"{base}/chat?user=zoe&message=hi"))
        assert reply["model"] == "llm2" and reply["messages"] == 1
    finally:
        server.kill()
        server.wait()
    # Another instance (here: this test) sees the same session through Redis.
    from poto_sessions import LLMPotoModule, RedisSessionProvider

    other = LLMPotoModule(RedisSessionProvider(redis_server.url, prefix="poto-chat:"))
    assert other.get_user_model_sync(user_id="zoe") == "llm2"


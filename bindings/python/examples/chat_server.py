"""A minimal chat server (standard library only) that keeps each user's model choice with
LLMPotoModule. In-memory by default; with REDIS_URL every instance shares the sessions.

    python examples/chat_server.py --port 8080
    curl -X POST 'localhost:8080/model?user=alice&model=llm2'
    curl 'localhost:8080/chat?user=alice&message=hi'
"""

from __future__ import annotations

import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from poto_sessions import LLMPotoModule, RedisSessionProvider, SessionError, set_session_provider, user_context

if os.environ.get("REDIS_URL"):
    set_session_provider(RedisSessionProvider(prefix="poto-chat:"))
llm = LLMPotoModule()


class Handler(BaseHTTPRequestHandler):
    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        user = query.get("user")
        if not user:
            return self._reply(401, {"error": "no user"})
        try:
            with user_context(user):  # the blocking API suits a threaded server
                if url.path == "/model" and self.command == "POST":
                    llm.update_user_model_sync(query.get("model", ""))
                    return self._reply(200, {"model": llm.get_user_model_sync()})
                if url.path == "/chat":
                    model = llm.get_user_model_sync()
                    session = llm.update_user_session_sync(lambda s: s.update(messages=s.get("messages", 0) + 1))
                    return self._reply(200, {"model": model, "reply": f"[{model}] echo: {query.get('message', '')}", "messages": session["messages"]})
                if url.path == "/session":
                    return self._reply(200, llm.get_user_session_sync())
        except SessionError as error:
            return self._reply(400, {"error": str(error), "code": error.code})
        self._reply(404, {"error": "not found"})

    do_GET = do_POST = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

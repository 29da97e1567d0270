"""One Python server instance of the cross-language test (same commands as the other workers)."""

import json
import os
import sys

from poto_sessions import LLMPotoModule, RedisSessionProvider

llm = LLMPotoModule(RedisSessionProvider(prefix=os.environ.get("POTO_PREFIX", "poto:")))
command, args = sys.argv[1], sys.argv[2:]
if command == "set-model":
    llm.update_user_model_sync(args[1], user_id=args[0])
elif command == "get-model":
    print(llm.get_user_model_sync(user_id=args[0]))
elif command == "set-value":
    llm.set_session_value_sync(args[1], json.loads(args[2]), user_id=args[0])
elif command == "get-value":
    print(json.dumps(llm.get_session_value_sync(args[1], user_id=args[0]), separators=(",", ":")))
elif command == "increment":
    for _ in range(int(args[1])):
        llm.update_user_session_sync(lambda s: s.update(n=s.get("n", 0) + 1), user_id=args[0])
else:
    sys.exit(f"unknown command {command}")

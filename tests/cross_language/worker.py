"""One Python server instance of the cross-language test (same commands as the other workers)."""

import asyncio
import json
import os
import random
import sys
import time

from poto_sessions import LLMPotoModule, RedisSessionProvider, SessionError

timeout = float(os.environ["POTO_TIMEOUT_MS"]) / 1000 if "POTO_TIMEOUT_MS" in os.environ else None
provider = RedisSessionProvider(prefix=os.environ.get("POTO_PREFIX", "poto:"), connect_timeout=timeout, command_timeout=timeout)
llm = LLMPotoModule(provider)


def increment(session):
    session["n"] = session.get("n", 0) + 1


def load(user: str, seconds: float) -> None:
    """Field writes k1, k2, ... for `seconds`, one line per call (see run.py), through any error."""
    end, i = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        i += 1
        try:
            llm.set_session_value_sync(f"k{i}", i, user_id=user)
            print(f"ok {i} {time.time_ns() // 1_000_000}", flush=True)
        except SessionError as error:
            print(f"err {i} {time.time_ns() // 1_000_000} {error.code}", flush=True)
            time.sleep(0.01)


async def bench(prefix: str, seconds: float, in_flight: int) -> dict:
    """`in_flight` concurrent tasks running the mix of benches/cross_language/bench.py on random users."""
    if "POTO_BENCH_WAIT" in os.environ:  # warm up, then start when benches/cross_language/bench.py says so
        await llm.get_user_session(user_id=f"{prefix}0")
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    names = ["get_user_session", "set_session_value", "update_user_session"]
    latencies: dict[str, list[int]] = {name: [] for name in names}
    errors = 0
    end = time.monotonic() + seconds

    async def run(seed: int) -> None:
        nonlocal errors
        rng, i = random.Random(seed), 0
        while time.monotonic() < end:
            user, op = f"{prefix}{rng.randrange(1000)}", i % 3
            started = time.perf_counter_ns()
            try:
                if op == 0:
                    await llm.get_user_session(user_id=user)
                elif op == 1:
                    await llm.set_session_value("v", i, user_id=user)
                else:
                    await llm.update_user_session(increment, user_id=user)
                latencies[names[op]].append((time.perf_counter_ns() - started) // 1000)
            except SessionError:
                errors += 1
            i += 1

    started = time.monotonic()
    await asyncio.gather(*(run(seed) for seed in range(in_flight)))
    elapsed = time.monotonic() - started

    def percentiles(values: list[int]) -> dict:
        values = sorted(values)
        pick = lambda q: values[min(len(values) - 1, int(len(values) * q))] if values else 0  # noqa: E731
        return {"count": len(values), "p50_us": pick(0.5), "p99_us": pick(0.99)}

    everything = [v for values in latencies.values() for v in values]
    report = {"ops": len(everything), "errors": errors, "seconds": round(elapsed, 3), "all": percentiles(everything)}
    report.update({name: percentiles(values) for name, values in latencies.items()})
    return report


command, args = sys.argv[1], sys.argv[2:]
if command == "set-model":
    llm.update_user_model_sync(args[1], user_id=args[0])
elif command == "get-model":
    print(llm.get_user_model_sync(user_id=args[0]))
elif command == "set-value":
    llm.set_session_value_sync(args[1], json.loads(args[2]), user_id=args[0])
elif command == "get-value":
    print(json.dumps(llm.get_session_value_sync(args[1], user_id=args[0]), separators=(",", ":")))
elif command == "get-session":
    print(json.dumps(llm.get_user_session_sync(user_id=args[0]), separators=(",", ":")))
elif command == "touch-field":  # an update that sets one field and carries every other one
    llm.update_user_session_sync(lambda session: session.__setitem__(args[1], "x"), user_id=args[0])
elif command == "increment":
    for _ in range(int(args[1])):
        llm.update_user_session_sync(increment, user_id=args[0])
elif command == "load":
    load(args[0], float(args[1]))
elif command == "bench":
    print(json.dumps(asyncio.run(bench(args[0], float(args[1]), int(args[2])))))
else:
    sys.exit(f"unknown command {command}")

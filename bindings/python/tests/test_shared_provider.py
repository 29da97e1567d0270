"""One custom provider object is one store, however many modules wrap it: modules over the same
object share its per-user update lock (a provider without compare-and-set is atomic within this
process), and the adapter neither keeps the object alive nor outlives it."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref

from poto_sessions import PotoModule, SessionProvider, set_session_provider

from .stores import DictStore


def bump(session: dict) -> None:
    session["n"] = session.get("n", 0) + 1


async def test_two_modules_over_one_provider_lose_no_update() -> None:
    store = DictStore()  # no get_versioned / compare_and_set: the per-process lock applies
    modules = [PotoModule(store), PotoModule(store)]
    await asyncio.gather(*(modules[i % 2].update_user_session(bump, user_id="c") for i in range(200)))
    assert (await modules[0].get_user_session(user_id="c"))["n"] == 200


async def test_global_and_wrapped_forms_share_the_lock() -> None:
    store = DictStore()
    set_session_provider(store)
    try:
        modules = [PotoModule(), PotoModule(store), PotoModule(SessionProvider.wrap(store))]
        await asyncio.gather(*(modules[i % 3].update_user_session(bump, user_id="g") for i in range(150)))
        assert (await modules[1].get_user_session(user_id="g"))["n"] == 150
    finally:
        from poto_sessions import InMemorySessionProvider

        set_session_provider(InMemorySessionProvider())


def test_blocking_updates_from_threads_through_two_modules() -> None:
    store = DictStore()
    modules = [PotoModule(store), PotoModule(store)]

    def worker(i: int) -> None:
        for _ in range(25):
            modules[i % 2].update_user_session_sync(bump, user_id="t")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert modules[0].get_user_session_sync(user_id="t")["n"] == 100


def test_adapter_does_not_keep_the_provider_alive() -> None:
    store = DictStore()
    ref = weakref.ref(store)
    first, second = PotoModule(store), PotoModule(store)
    first.set_session_value_sync("k", 1, user_id="u")
    assert second.get_session_value_sync("k", user_id="u") == 1
    del first, second, store
    gc.collect()
    assert ref() is None


def test_a_new_object_at_a_reused_address_is_a_new_store() -> None:
    for _ in range(100):
        store = DictStore()
        module = PotoModule(store)
        assert module.get_session_value_sync("k", user_id="u") is None
        module.set_session_value_sync("k", 1, user_id="u")
        del module, store

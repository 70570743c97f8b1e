"""Log context: bind/bound, isolation across threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import flightlog
from flightlog.sdk.context import bound_fields
from flightlog.testing import capture_records


def test_bound_restores_previous_context() -> None:
    """Leaving a bound() block restores exactly the fields bound before it."""
    flightlog.bind(run_id="r1")
    with flightlog.bound(request_id="q1", run_id="r2"):
        assert flightlog.current_context() == {"run_id": "r2", "request_id": "q1"}
    assert flightlog.current_context() == {"run_id": "r1"}


def test_unbind_removes_fields() -> None:
    """unbind drops the named fields only."""
    flightlog.bind(a=1, b=2)
    flightlog.unbind("a", "missing")
    assert flightlog.current_context() == {"b": 2}


def test_bound_fields_are_read_only() -> None:
    """The context mapping cannot be mutated behind bind's back."""
    flightlog.bind(a=1)
    try:
        bound_fields()["a"] = 2  # type: ignore[index]
    except TypeError:
        pass
    assert flightlog.current_context() == {"a": 1}


def test_threads_see_context_copied_at_start_and_do_not_leak_back() -> None:
    """A thread run in a copied context sees the parent's fields; its binds stay its own."""
    flightlog.bind(run_id="parent")
    seen: dict[str, object] = {}

    def work() -> None:
        seen["before"] = flightlog.current_context()
        flightlog.bind(worker=1)
        seen["after"] = flightlog.current_context()

    thread = threading.Thread(target=contextvars.copy_context().run, args=(work,))
    thread.start()
    thread.join()
    assert seen["before"] == {"run_id": "parent"}
    assert seen["after"] == {"run_id": "parent", "worker": 1}
    assert flightlog.current_context() == {"run_id": "parent"}


def test_asyncio_tasks_have_separate_contexts() -> None:
    """Concurrent tasks binding different request IDs log their own ID only."""

    async def handle(request_id: str) -> None:
        with flightlog.bound(request_id=request_id):
            await asyncio.sleep(0)
            import logging

            logging.getLogger("svc").info("handled")

    async def main() -> None:
        await asyncio.gather(*(handle(f"req-{i}") for i in range(20)))

    with capture_records() as records:
        asyncio.run(main())
    handled = [r for r in records if r["logger"] == "svc"]
    assert sorted(r["request_id"] for r in handled) == sorted(f"req-{i}" for i in range(20))
    assert flightlog.current_context() == {}

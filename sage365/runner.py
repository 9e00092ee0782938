"""Run a command's reads on one event loop: uvloop's where it exists, the standard one elsewhere.

uvloop (libuv, in C) runs asyncio's loop and socket transports for about a third less CPU
than the standard loop on a fleet read (benchmarks/drift_fleet.py); it has no Windows
build, so there the standard loop runs the same code.
`freeze`: before a long read of a whole fleet, everything alive so far (imported modules,
loaded tenants, the catalogue) is moved out of the cyclic garbage collector's reach
(gc.freeze): those objects live until the process ends anyway, and every full collection
during the read would otherwise walk all of them again (~0.4 ms of CPU per tenant at
1,000 tenants).
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any, Callable, Coroutine, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None (the standard loop) where uvloop is not installed."""
    try:
        import uvloop
    except ImportError:  # Windows: uvloop is not installed there (pyproject's marker)
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], *, freeze: bool = False) -> T:
    """`main` run to completion on a new event loop (asyncio.run's semantics)."""
    if freeze:
        gc.collect()
        gc.freeze()
    factory = loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        if factory is not None:
            runner.run(_start_workers())
        return runner.run(main)


async def _start_workers() -> None:
    """Start libuv's worker threads (they resolve host names) with the stopping signals held.

    A thread inherits its creator's signal mask, and libuv starts all its workers at its first
    piece of work. Started with SIGTERM, SIGHUP, SIGINT and SIGQUIT held, they never take one:
    those signals always reach the main thread, where sage365.files.write_atomic holds them
    while a report takes its name. Otherwise the kernel may hand SIGTERM to a worker, whose
    default action ends the process at once, half way through a write.
    """
    from sage365.files import signals_deferred

    with signals_deferred():
        try:
            await asyncio.get_running_loop().getaddrinfo("localhost", None)
        except OSError:  # no resolver configured: the work was submitted all the same
            pass

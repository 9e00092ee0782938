"""`sage365 drift` with timing hooks, for benchmarks/drift_fleet.py: the same process, measured.

Run: python benchmarks/timed_drift.py OUT.json [sage365 drift arguments ...]
Records each tenant's read latency (engine.read_tenant, semaphore wait excluded), the wall
clock of the first tenant read starting (its first request follows at once), and which msgraph model modules were
imported, then writes them to OUT.json when the process exits. Everything else is
`sage365 drift` itself.
"""

from __future__ import annotations

import atexit
import json
import sys
import time

from sage365 import engine

_out, _argv = sys.argv[1], sys.argv[2:]
_latencies: list[float] = []
_first_request: list[float] = []
_read = engine.read_tenant


async def _timed_read(*args, **kwargs):
    # The first tenant's read starts with its client and its first request, a fraction of a
    # millisecond apart: its start is the process's time to first request, whichever HTTP
    # stack (httpx's or aiohttp) the sources measured use.
    if not _first_request:
        _first_request.append(time.time())
    started = time.perf_counter()
    try:
        return await _read(*args, **kwargs)
    finally:
        _latencies.append(time.perf_counter() - started)


def _write() -> None:
    models = sorted(m for m in sys.modules if m.startswith("msgraph.generated.models."))
    with open(_out, "w", encoding="utf-8") as f:
        json.dump({"latencies": _latencies, "first_request": _first_request[0] if _first_request else None,
                   "msgraph_model_modules": len(models)}, f)


engine.read_tenant = _timed_read
atexit.register(_write)
sys.argv = ["sage365", "drift", *_argv]

from sage365.cli import main  # noqa: E402 (after the hooks, as the command would run)

main()

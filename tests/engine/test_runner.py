"""sage365.runner: the event loop every command's reads run on."""

from __future__ import annotations

import asyncio
import gc
import signal
import subprocess
import sys
import textwrap

import pytest

from sage365 import runner

uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed on this platform (Windows)")


def test_run_returns_what_the_coroutine_returns_on_uvloop():
    async def main():
        return type(asyncio.get_running_loop()).__module__, 42

    assert runner.run(main()) == ("uvloop", 42)


def test_freeze_moves_what_is_alive_out_of_the_collector_s_reach():
    async def main():
        return gc.get_freeze_count()

    try:
        assert runner.run(main(), freeze=True) > 0
    finally:
        gc.unfreeze()


def test_libuv_workers_never_take_a_stopping_signal():
    """The kernel hands a process-wide SIGTERM to any thread not holding it; a libuv worker
    taking it would end the process in the middle of sage365.files.write_atomic."""
    child = textwrap.dedent("""
        import asyncio, os
        from sage365 import runner

        async def main():
            await asyncio.get_running_loop().getaddrinfo("localhost", 80)

        runner.run(main())
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/self/task/{task}/status") as f:
                blocked = next(int(line.split()[1], 16) for line in f if line.startswith("SigBlk:"))
            print(name, blocked)
    """)
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True, timeout=60)
    threads = [line.rsplit(" ", 1) for line in done.stdout.splitlines()]
    workers = [int(mask) for name, mask in threads if name == "libuv-worker"]
    held = sum(1 << (s - 1) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT))
    assert len(workers) >= 1
    assert [mask & held for mask in workers] == [held] * len(workers)
    assert [int(mask) & held for name, mask in threads if name != "libuv-worker"] == [0]  # the main thread holds none

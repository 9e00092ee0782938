"""Benchmark: the drift engine over a synthetic fleet of N tenants served by the Graph sandbox.

Run: .venv/bin/python benchmarks/drift_fleet.py [--tenants 1000] [--concurrency 16] [--in-process]
Clones the demo tenants (contoso, fabrikam, northwind, in turn) into N tenants with fresh
tenant ids: a sandbox state and a tenants folder in a temporary folder. The sandbox runs as
a subprocess by default (`sage365 sandbox serve`), so it does not share the engine's CPU
and GIL; --in-process starts it on a thread instead. Prints tenants/s, HTTP requests per
tenant and p50/p95/max per-tenant read latency. Writes nothing outside a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

from sage365 import engine
from sage365.catalog import load_catalog
from sage365.declaration import load_tenant
from sage365.sandbox.state import read_raw

ROOT = Path(__file__).resolve().parents[1]
DEMO = {
    "contoso": "11111111-1111-4111-8111-111111111111",
    "fabrikam": "22222222-2222-4222-8222-222222222222",
    "northwind": "33333333-3333-4333-8333-333333333333",
}


def write_fleet(folder: Path, count: int) -> Path:
    """N tenants cloned from the demo into folder/state.json and folder/tenants/*.yaml."""
    raw = read_raw(ROOT / "sandbox" / "demo.yaml")
    templates = list(DEMO.items())
    tenants: dict[str, object] = {}
    (folder / "tenants").mkdir()
    for index in range(count):
        source, source_id = templates[index % len(templates)]
        tenant_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sage365-bench-{index}"))
        name = f"{source}-{index:05d}"
        state = copy.deepcopy(raw["tenants"][source_id])
        state["organization"][0]["id"] = tenant_id
        tenants[tenant_id] = state
        text = (ROOT / "tenants" / f"{source}.yaml").read_text()
        text = text.replace(f"name: {source}", f"name: {name}", 1).replace(source_id, tenant_id)
        (folder / "tenants" / f"{name}.yaml").write_text(text)
    path = folder / "state.json"
    path.write_text(json.dumps({**{k: v for k, v in raw.items() if k != "tenants"}, "tenants": tenants}))
    return path


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(folder: Path, graph_url: str, concurrency: int) -> tuple[float, list[float], Counter]:
    catalog = load_catalog(ROOT / "catalog" / "catalog.yaml")
    tenants = [load_tenant(p) for p in sorted((folder / "tenants").iterdir())]
    latencies: list[float] = []
    original = engine.read_tenant

    async def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            latencies.append(time.perf_counter() - started)

    engine.read_tenant = timed  # per-tenant read latency, semaphore wait excluded
    started = time.perf_counter()
    results = asyncio.run(engine.check_tenants(tenants, catalog, graph_url=graph_url, concurrency=concurrency,
                                               today=dt.date(2026, 11, 28)))
    elapsed = time.perf_counter() - started
    engine.read_tenant = original
    return elapsed, latencies, Counter(r.status.value for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--in-process", action="store_true", help="run the sandbox on a thread of this process")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sage365-drift-bench-") as tmp:
        folder = Path(tmp)
        state = write_fleet(folder, args.tenants)
        process = server = None
        if args.in_process:
            from sage365.sandbox import SandboxServer, load_state

            server = SandboxServer(load_state(state)).start()
            graph_url = server.base_url
        else:
            process = subprocess.Popen(
                [sys.executable, "-c", "from sage365.cli import main; main()", "sandbox", "serve", "--state", str(state), "--port", "0"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )
            graph_url = process.stdout.readline().strip()
        try:
            elapsed, latencies, statuses = run(folder, graph_url, args.concurrency)
            if server is not None:
                requests = server.stats.requests()
            else:
                with urllib.request.urlopen(graph_url.removesuffix("/v1.0") + "/_sandbox/stats") as response:
                    requests = json.load(response)["requests"]["total"]
        finally:
            if server is not None:
                server.stop()
            if process is not None:
                process.terminate()
                process.wait(timeout=10)

    n = args.tenants
    where = "in-process" if args.in_process else "subprocess"
    print(f"drift: {n} tenants, concurrency {args.concurrency}, sandbox {where}")
    print(f"  {n / elapsed:.1f} tenants/s ({elapsed:.2f} s in all)")
    print(f"  {requests / n:.2f} HTTP requests per tenant ({requests} in all)")
    print(f"  per-tenant read latency: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
          f"p95 {percentile(latencies, 95) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms, "
          f"mean {statistics.fmean(latencies) * 1000:.1f} ms")
    print(f"  statuses: {dict(sorted(statuses.items()))}")
    return 0 if statuses.get("error", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

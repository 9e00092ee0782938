"""Benchmark: the whole `sage365 drift` process over a synthetic fleet, against a sandbox with latency,
side by side with a naive msgraph-sdk reader in the same run.

Run: .venv/bin/python benchmarks/drift_fleet.py [--tenants 1000] [--concurrency 64] [--latency-ms 50]
                                                [--naive-sample 5] [--baseline-src DIR]
Clones the demo tenants (contoso, fabrikam, northwind, in turn) into N tenants with fresh
tenant ids (a sandbox state and a tenants folder in a temporary folder), starts the sandbox
in its own process (`sage365 sandbox serve --latency-ms`), then measures:
- `sage365 --help`: wall time, best of 3;
- `sage365 drift DIR --format json --concurrency C` as a process of its own
  (benchmarks/timed_drift.py): wall time, CPU time (user + system) per tenant, time to its
  first HTTP request, HTTP requests per tenant (the sandbox's counters), per-tenant read
  latency p50/p95, and how many msgraph model modules it imported;
- the naive reader (benchmarks/naive_reader.py: msgraph-sdk's fluent API, one request per
  object, tenants one after another; Exchange and Graph beta too, for the tenants sage365
  reads them for) on the first `--naive-sample` tenants of the fleet, and the ratio of
  its time per tenant to the fleet's (wall / N).
`--baseline-src DIR` (repeatable) also runs the drift process on other checkouts' sources (e.g.
main before a change, from `git archive`), in the same run, against the same sandbox.
Writes nothing outside a temporary folder. Targets are in the README (Benchmarks); this
script reports, it does not assert.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
DEMO = {
    "contoso": "11111111-1111-4111-8111-111111111111",
    "fabrikam": "22222222-2222-4222-8222-222222222222",
    "northwind": "33333333-3333-4333-8333-333333333333",
}


def write_fleet(folder: Path, count: int, templates_root: Path = ROOT, tenants_dir: str = "tenants") -> Path:
    """N tenants cloned from the demo into folder/state.json and folder/<tenants_dir>/*.yaml; the
    tenant files from `templates_root` (a baseline checkout's own, which its schema accepts)."""
    from sage365.sandbox.state import read_raw

    raw = read_raw(ROOT / "sandbox" / "demo.yaml")
    templates = list(DEMO.items())
    tenants: dict[str, object] = {}
    (folder / tenants_dir).mkdir()
    for index in range(count):
        source, source_id = templates[index % len(templates)]
        tenant_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sage365-bench-{index}"))
        name = f"{source}-{index:05d}"
        state = copy.deepcopy(raw["tenants"][source_id])
        state["organization"][0]["id"] = tenant_id
        tenants[tenant_id] = state
        text = (templates_root / "tenants" / f"{source}.yaml").read_text()
        text = text.replace(f"name: {source}", f"name: {name}", 1).replace(source_id, tenant_id)
        (folder / tenants_dir / f"{name}.yaml").write_text(text)
    path = folder / "state.json"
    path.write_text(json.dumps({**{k: v for k, v in raw.items() if k != "tenants"}, "tenants": tenants}))
    return path


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def sandbox_requests(graph_url: str) -> Counter:
    """HTTP requests the sandbox has served so far, by service: Graph v1.0, Graph beta, Exchange."""
    with urllib.request.urlopen(graph_url.removesuffix("/v1.0") + "/_sandbox/stats") as response:
        by_tenant = json.load(response)["requests"]["byTenantEndpoint"]
    counts: Counter = Counter()
    for endpoints in by_tenant.values():
        for endpoint, n in endpoints.items():
            path = endpoint.partition(" ")[2]
            service = "exchange" if path.startswith("/adminapi/") else "beta" if path.startswith("/beta/") else "graph"
            counts[service] += n
    return counts


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def help_time(env: dict[str, str], cwd: Path) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        # cwd: not the repository, whose folder on sys.path would shadow PYTHONPATH's sources.
        subprocess.run([sys.executable, "-c", "from sage365.cli import main; main()", "--help"],
                       env=env, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def run_drift(folder: Path, graph_url: str, concurrency: int, env: dict[str, str], sandbox_pid: int,
              tenants_dir: str = "tenants", cwd: Path = ROOT) -> dict:
    """One `sage365 drift` process over the fleet: its wall, CPU, first request and latencies."""
    timings = folder / f"timings-{uuid.uuid4().hex}.json"
    report = folder / "report.json"
    requests_before = sandbox_requests(graph_url)
    cpu_before, sandbox_before = children_cpu(), process_cpu(sandbox_pid)
    started_wall, started = time.time(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / "timed_drift.py"), str(timings), str(folder / tenants_dir), "--format", "json",
         "--output", str(report), "--concurrency", str(concurrency), "--graph-url", graph_url, "--today", "2026-11-28"],
        env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
    )
    elapsed = time.perf_counter() - started
    cpu, sandbox_cpu = children_cpu() - cpu_before, process_cpu(sandbox_pid) - sandbox_before
    requests = sandbox_requests(graph_url) - requests_before
    data = json.loads(timings.read_text())
    statuses = Counter(t["status"] for t in json.loads(report.read_text())["tenants"]) if report.exists() else Counter()
    return {"elapsed": elapsed, "cpu": cpu, "requests": requests, "exit": done.returncode, "stderr": done.stderr[-2000:],
            "first_request": (data["first_request"] - started_wall) if data["first_request"] else float("nan"),
            "latencies": data["latencies"], "sandbox_cpu": sandbox_cpu, "models": data["msgraph_model_modules"], "statuses": statuses}


def run_naive(folder: Path, graph_url: str, sample: int) -> tuple[float, int]:
    """(seconds per tenant, requests per tenant) of the naive reader over the first `sample` tenants."""
    from benchmarks.naive_reader import read_tenant_naively
    from sage365.catalog import load_catalog
    from sage365.declaration import load_tenant

    catalog = load_catalog(ROOT / "catalog" / "catalog.yaml")
    # In fleet order (contoso, fabrikam, northwind in turn), not by name: a sample of one template only would
    # not do the fleet's mix of work (Exchange and beta reads for two tenants in three).
    files = sorted((folder / "tenants").iterdir(), key=lambda p: int(p.stem.rpartition("-")[2]))
    tenants = [load_tenant(p) for p in files[:sample]]
    before = sandbox_requests(graph_url)

    async def all_in_turn() -> None:
        for tenant in tenants:
            await read_tenant_naively(tenant, catalog, graph_url)

    started = time.perf_counter()
    asyncio.run(all_in_turn())
    elapsed = time.perf_counter() - started
    return elapsed / len(tenants), sum((sandbox_requests(graph_url) - before).values()) // len(tenants)


def report(label: str, n: int, result: dict) -> None:
    lat = result["latencies"]
    print(f"{label}: {n} tenants, exit {result['exit']}, statuses {dict(sorted(result['statuses'].items()))}")
    print(f"  wall {result['elapsed']:.2f} s for the whole process ({n / result['elapsed']:.0f} tenants/s)")
    print(f"  CPU {result['cpu']:.2f} s = {result['cpu'] / n * 1000:.2f} ms per tenant")
    print(f"  (the sandbox process used {result['sandbox_cpu']:.2f} s of CPU meanwhile)")
    requests = result["requests"]
    print(f"  {requests['graph'] / n:.2f} Graph v1.0 HTTP requests per tenant ({requests['graph']} in all); "
          f"beyond Graph v1.0 (issue 12's reads, for tenants that need them): Exchange "
          f"{requests['exchange'] / n:.2f}, Graph beta {requests['beta'] / n:.2f} per tenant")
    print(f"  time to first request {result['first_request'] * 1000:.0f} ms; msgraph model modules imported: {result['models']}")
    if lat:
        print(f"  per-tenant read latency p50 {percentile(lat, 50) * 1000:.0f} ms, p95 {percentile(lat, 95) * 1000:.0f} ms")
    if result["exit"] not in (0, 1, 2) or not lat:
        print(f"  stderr: {result['stderr']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--naive-sample", type=int, default=5, help="tenants read by the naive reader (0: skip)")
    parser.add_argument("--baseline-src", type=Path, action="append",
                        help="another checkout whose sage365 to run too, for before/after (repeatable)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # benchmarks.naive_reader

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="sage365-drift-bench-") as tmp:
        folder = Path(tmp)
        state = write_fleet(folder, args.tenants)
        sandbox = subprocess.Popen(
            [sys.executable, "-c", "from sage365.cli import main; main()", "sandbox", "serve", "--state", str(state),
             "--port", "0", "--latency-ms", str(args.latency_ms)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        graph_url = sandbox.stdout.readline().strip()
        try:
            print(f"drift fleet: {args.tenants} tenants, concurrency {args.concurrency}, sandbox in its own process "
                  f"with {args.latency_ms:g} ms latency per request")
            print(f"sage365 --help: {help_time(env, folder):.3f} s (best of 3)")
            results = {}
            for index, source in enumerate(args.baseline_src or ()):
                baseline = source.resolve()
                base_env = {**os.environ, "PYTHONPATH": str(baseline)}
                tenants_dir = f"baseline-{index}-tenants"
                write_fleet(folder, args.tenants, baseline, tenants_dir)  # same ids, its own schema
                print(f"sage365 --help (baseline {source}): {help_time(base_env, folder):.3f} s (best of 3)")
                results[f"baseline-{index}"] = run_drift(folder, graph_url, args.concurrency, base_env, sandbox.pid,
                                                         tenants_dir=tenants_dir, cwd=baseline)
                report(f"baseline ({source})", args.tenants, results[f"baseline-{index}"])
            results["drift"] = run_drift(folder, graph_url, args.concurrency, env, sandbox.pid)
            report("sage365 drift", args.tenants, results["drift"])
            if args.naive_sample:
                per_tenant, requests = run_naive(folder, graph_url, min(args.naive_sample, args.tenants))
                fleet = results["drift"]["elapsed"] / args.tenants
                print(f"naive reader (fluent API, one request per object, tenants in turn, {args.naive_sample} tenants): "
                      f"{per_tenant * 1000:.0f} ms per tenant, {requests} requests per tenant")
                print(f"  ratio: {per_tenant / fleet:.0f}x (naive per tenant / sage365 drift wall per tenant "
                      f"{fleet * 1000:.2f} ms)")
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=10)
    return 0 if results["drift"]["statuses"].get("error", 0) == 0 and results["drift"]["latencies"] else 1


if __name__ == "__main__":
    sys.exit(main())

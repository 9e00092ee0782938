"""Benchmark: `sage365 export` as a process of its own over a synthetic fleet, sandbox in its own process.

Run: .venv/bin/python benchmarks/export_fleet.py [--tenants 200] [--concurrency 16] [--latency-ms 0]
Clones the demo's contoso into N tenants (own tenant ids and organization names), starts
`sage365 sandbox serve` (with `--latency-ms` when given), then times, in one run:
- one tenant exported alone (`--tenant-id`): wall time;
- the N tenants (`--tenant-ids FILE --snapshot FILE`): wall time, CPU (user + system) of the
  export process per tenant, HTTP requests per tenant (the sandbox's counters).
Writes nothing outside a temporary folder; reports, never asserts.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = "11111111-1111-4111-8111-111111111111"
SAGE365 = [sys.executable, "-c", "from sage365.cli import main; main()"]


def write_state(folder: Path, count: int) -> list[str]:
    from sage365.sandbox.state import read_raw

    raw = read_raw(ROOT / "sandbox" / "demo.yaml")
    template = raw["tenants"][CONTOSO]
    tenants = {}
    for index in range(count):
        tenant_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sage365-export-bench-{index}"))
        clone = copy.deepcopy(template)
        clone["organization"][0].update(id=tenant_id, displayName=f"Customer {index:05d}")
        tenants[tenant_id] = clone
    (folder / "state.json").write_text(json.dumps({"applications": raw["applications"], "tenants": tenants}))
    return list(tenants)


def requests(graph_url: str) -> int:
    with urllib.request.urlopen(graph_url.removesuffix("/v1.0") + "/_sandbox/stats") as response:
        return int(json.load(response)["requests"]["total"])


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def export(args: list[str]) -> tuple[float, float, int]:
    cpu, start = children_cpu(), time.perf_counter()
    done = subprocess.run([*SAGE365, "export", *args], cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - start, children_cpu() - cpu, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=int, default=0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sage365-export-bench-") as folder_name:
        folder = Path(folder_name)
        ids = write_state(folder, options.tenants)
        (folder / "ids.txt").write_text("\n".join(ids) + "\n")
        serve = [*SAGE365, "sandbox", "serve", "--state", str(folder / "state.json"), "--port", "0"]
        if options.latency_ms:
            serve += ["--latency-ms", str(options.latency_ms)]
        sandbox = subprocess.Popen(serve, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = sandbox.stdout.readline().strip()
            one_wall, _, one_rc = export(["--tenant-id", ids[0], "--graph-url", url, "--output", str(folder / "one")])
            before = requests(url)
            wall, cpu, rc = export(["--tenant-ids", str(folder / "ids.txt"), "--graph-url", url, "--output",
                                    str(folder / "fleet"), "--snapshot", str(folder / "fleet.yaml"),
                                    "--concurrency", str(options.concurrency)])
            sent = requests(url) - before
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=10)
        written = len(list((folder / "fleet" / "tenants").glob("*.yaml"))) if (folder / "fleet" / "tenants").is_dir() else 0
        print(f"one tenant (process, incl. start-up): {one_wall:.2f} s (exit {one_rc})")
        print(f"{options.tenants} tenants at concurrency {options.concurrency}, latency {options.latency_ms} ms: "
              f"{wall:.2f} s wall, {options.tenants / wall:.1f} tenants/s, {1000 * cpu / options.tenants:.1f} ms CPU/tenant, "
              f"{sent / options.tenants:.2f} HTTP requests/tenant, {written} declarations written (exit {rc})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the CPU cost of reading tenant files and of `sage365 drift`'s start-up, side by side
with a baseline checkout in the same run.

Run: .venv/bin/python benchmarks/load_speed.py [--tenants 300] [--runs 5] [--baseline-src DIR] [--callgrind]
- per tenant file: sage365.declaration.load_tenant (read, YAML, JSON Schema, dataclasses) over
  N files cloned from the demo tenants, in a process of its own per run (best of 3 passes
  over the files, after one warm-up file); CPU time (time.process_time), best and median of
  --runs processes;
- start-up: `sage365 drift ONE-TENANT --format json` as a process of its own against the
  sandbox (its own process, no latency): the process's CPU time (user + system), best and
  median of --runs;
- with --callgrind (valgrind): instructions instead of time, which the other engineers'
  load on the machine does not change: per file (a process loading N files minus one
  loading 10, divided by N - 10) and per start-up (one process each).
Baseline and current runs alternate, so a burst of load elsewhere hits both alike. Each runs
with PYTHONPATH set to its own sources (--baseline-src: e.g. `git archive main` unpacked) on
its own copy of the tenant files (its own schema accepts them). Writes nothing outside a
temporary folder; reports, never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.drift_fleet import write_fleet  # noqa: E402 (after the path)

# One process: load every file of a folder, best of 3 passes, CPU seconds per file (or only the
# files when counting instructions: the difference of two counts is the files' cost).
LOAD = """
import json, sys, time
from pathlib import Path
from sage365.declaration import load_tenant
files = sorted(Path(sys.argv[1]).glob("*.yaml"))[:int(sys.argv[2])]
passes = int(sys.argv[3])
load_tenant(files[0])  # schema loaded, first-use caches filled
best = float("inf")
for _ in range(passes):
    started = time.process_time()
    for path in files:
        load_tenant(path)
    best = min(best, (time.process_time() - started) / len(files))
print(json.dumps(best))
"""
DRIFT = "from sage365.cli import main; main()"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load_cpu(src: Path, tenants: Path, count: int) -> float:
    done = subprocess.run([sys.executable, "-c", LOAD, str(tenants), str(count), "3"], env=env_for(src),
                          cwd=tenants.parent, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def drift_args(tenant: Path, graph_url: str) -> list[str]:
    return ["drift", str(tenant), "--format", "json", "--graph-url", graph_url, "--today", "2026-11-28"]


def drift_cpu(src: Path, tenant: Path, graph_url: str) -> float:
    before = children_cpu()
    # cwd: the checkout, whose catalog/ the command reads (and whose sage365 is the one on PYTHONPATH).
    done = subprocess.run([sys.executable, "-c", DRIFT, *drift_args(tenant, graph_url)], env=env_for(src),
                          cwd=src, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"drift exited {done.returncode}: {done.stderr[-1000:]}")
    return children_cpu() - before


def instructions(src: Path, cwd: Path, args: list[str]) -> int:
    """Instructions the process executes (valgrind's callgrind, its own output discarded)."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, *args],
                          env=env_for(src), cwd=cwd, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if not found:
        raise SystemExit(f"valgrind: {done.stderr[-1000:]}")
    return int(found.group(1))


def env_for(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src)}


def line(label: str, values: list[float], unit: str, scale: float) -> str:
    return (f"  {label:<9} best {min(values) * scale:8.3f} {unit}, median {statistics.median(values) * scale:8.3f} {unit}"
            f" ({len(values)} runs)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=300, help="tenant files (at least 20)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-src", type=Path, help="another checkout's sources to measure too (before/after)")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions with valgrind")
    args = parser.parse_args()
    if args.callgrind and not shutil.which("valgrind"):
        parser.error("--callgrind needs valgrind (apt-get install valgrind)")
    sources = {"current": ROOT}
    if args.baseline_src:
        sources = {"baseline": args.baseline_src.resolve(), **sources}

    with tempfile.TemporaryDirectory(prefix="sage365-load-bench-") as tmp:
        folder = Path(tmp)
        state = write_fleet(folder, args.tenants, ROOT, "tenants-current")
        if args.baseline_src:
            write_fleet(folder, args.tenants, args.baseline_src.resolve(), "tenants-baseline")
        tenants = {label: folder / f"tenants-{label}" for label in sources}
        first = {label: sorted(path.glob("*.yaml"))[0] for label, path in tenants.items()}
        sandbox = subprocess.Popen(
            [sys.executable, "-c", DRIFT, "sandbox", "serve", "--state", str(state), "--port", "0"],
            env=env_for(ROOT), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        graph_url = sandbox.stdout.readline().strip()
        try:
            per_file: dict[str, list[float]] = {label: [] for label in sources}
            startup: dict[str, list[float]] = {label: [] for label in sources}
            for _ in range(args.runs):
                for label, src in sources.items():  # alternating: noise hits both alike
                    per_file[label].append(load_cpu(src, tenants[label], args.tenants))
                    startup[label].append(drift_cpu(src, first[label], graph_url))
            print(f"load_tenant, CPU per tenant file ({args.tenants} files cloned from the demo tenants):")
            for label in sources:
                print(line(label, per_file[label], "ms", 1000))
            print("`sage365 drift` on one tenant (sandbox, no latency), CPU of the whole process:")
            for label in sources:
                print(line(label, startup[label], "ms", 1000))
            if args.callgrind:
                print("instructions (valgrind --tool=callgrind), load-independent:")
                for label, src in sources.items():
                    base = ["-c", LOAD, str(tenants[label])]
                    small = instructions(src, folder, [*base, "10", "1"])
                    large = instructions(src, folder, [*base, str(args.tenants), "1"])
                    drift = instructions(src, src, ["-c", DRIFT, *drift_args(first[label], graph_url)])
                    print(f"  {label:<9} {(large - small) / (args.tenants - 10) / 1e6:6.3f} M instructions per tenant file, "
                          f"{drift / 1e6:7.1f} M per drift start-up (one tenant)")
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

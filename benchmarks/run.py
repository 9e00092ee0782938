"""`make bench`: every benchmark, in turn, with its numbers on stdout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = [
    ["validate_fleet.py", "--tenants", "2000"],
    ["load_speed.py", "--tenants", "300", "--runs", "5"],
    ["drift_fleet.py", "--tenants", "1000", "--concurrency", "64", "--latency-ms", "50"],
    ["export_fleet.py", "--tenants", "200", "--concurrency", "64", "--latency-ms", "50"],
]


def main() -> int:
    status = 0
    for script, *args in BENCHMARKS:
        path = HERE / script
        if not path.exists():
            print(f"{script}: missing", file=sys.stderr)
            status = 1
            continue
        print(f"== {script} {' '.join(args)}", flush=True)
        status |= subprocess.run([sys.executable, str(path), *args], check=False).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())

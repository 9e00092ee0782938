"""`make bench`: every benchmark, in turn, with its numbers on stdout.

`make bench BASELINE=<git revision>` (e.g. `BASELINE=main`, `BASELINE=130c9e5`) also measures that
revision's sources side by side, in the same run, where a benchmark can (`--baseline-src`):
`git archive` writes them to a temporary folder, removed afterwards.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
# (script, its arguments, whether it takes --baseline-src)
BENCHMARKS = [
    ["validate_fleet.py", ["--tenants", "2000"], False],
    ["load_speed.py", ["--tenants", "300", "--runs", "5"], True],
    ["drift_fleet.py", ["--tenants", "1000", "--concurrency", "64", "--latency-ms", "50"], True],
    ["export_fleet.py", ["--tenants", "200", "--concurrency", "64", "--latency-ms", "50"], False],
]


def baseline_sources(revision: str, folder: Path) -> Path:
    """`revision`'s tracked files, unpacked into `folder`; SystemExit(2) with git's words when it is unknown."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision], capture_output=True, check=False)
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip().splitlines()
        print(f"bench: BASELINE={revision}: {message[-1] if message else 'git archive failed'}", file=sys.stderr)
        raise SystemExit(2)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="", help="a git revision to measure side by side (BASELINE=...)")
    args = parser.parse_args()
    status = 0
    with tempfile.TemporaryDirectory(prefix="sage365-bench-baseline-") as tmp:
        baseline = baseline_sources(args.baseline, Path(tmp)) if args.baseline else None
        for script, arguments, takes_baseline in BENCHMARKS:
            path = HERE / script
            if not path.exists():
                print(f"{script}: missing", file=sys.stderr)
                status = 1
                continue
            if baseline is not None and takes_baseline:
                arguments = [*arguments, "--baseline-src", str(baseline)]
            print(f"== {script} {' '.join(arguments)}", flush=True)
            status |= subprocess.run([sys.executable, str(path), *arguments], check=False).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())

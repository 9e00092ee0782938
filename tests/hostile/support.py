"""Running `sage365` as a subprocess for the hostile-input and hostile-server tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TODAY = "2026-11-28"
CONTOSO_FILE = "tenants/contoso.yaml"
CONTOSO = "11111111-1111-4111-8111-111111111111"
LAUNCH = "from sage365.cli import main; main()"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGE365_", "AZURE_"))}
    env.update(extra)
    return env


def sage365(*args: str, env: dict[str, str] | None = None, prelude: str = "", timeout: float = 120,
            **options: Any) -> subprocess.CompletedProcess[str]:
    """`sage365 ARGS` from the repository root; `prelude` is Python run first in the process
    (e.g. an audit hook that sends a signal at an exact moment)."""
    code = f"{prelude}\n{LAUNCH}" if prelude else LAUNCH
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                          env=env if env is not None else environment(), timeout=timeout, **options)


def drift(graph_url: str, *args: str, files: tuple[str, ...] = (CONTOSO_FILE,),
          **options: Any) -> subprocess.CompletedProcess[str]:
    """`sage365 drift FILES --graph-url URL --today TODAY ARGS`."""
    return sage365("drift", *files, "--graph-url", graph_url, "--today", TODAY, *args, **options)

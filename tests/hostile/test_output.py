"""--output through the CLI as a subprocess: refused up front when it is no regular file,
and never left empty or partial: signals at the worst moments, a file-size limit."""

from __future__ import annotations

import json
import os
import resource
import signal
from pathlib import Path

import pytest

from tests.hostile.server import HostileServer, Reply
from tests.hostile.support import drift

pytestmark = pytest.mark.slow
OLD = '{"previous": "report"}\n'


@pytest.fixture
def graph(demo_sandbox):
    """The demo sandbox behind a recording proxy: what reached 'Graph' can be asserted."""
    with HostileServer(upstream=demo_sandbox.base_url) as server:
        yield server


def test_a_fifo_as_output_is_refused_before_any_tenant_is_read(graph, tmp_path: Path):
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    done = drift(graph.base_url, "--output", str(fifo), timeout=60)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"sage365 drift: --output {fifo}: is a FIFO, not a regular file; "
                           "reports are written to regular files only\n")
    assert graph.received() == []


def test_a_folder_or_a_device_as_output_is_refused_before_any_tenant_is_read(graph, tmp_path: Path):
    folder = drift(graph.base_url, "--output", str(tmp_path))
    device = drift(graph.base_url, "--output", "/dev/null")
    missing = drift(graph.base_url, "--output", str(tmp_path / "no" / "report.json"))
    assert (folder.returncode, folder.stderr) == (2, f"sage365 drift: --output {tmp_path}: is a folder; give a file name\n")
    assert (device.returncode, device.stderr) == (
        2, "sage365 drift: --output /dev/null: is a device, not a regular file; reports are written to regular files only\n")
    assert (missing.returncode, missing.stderr) == (
        2, f"sage365 drift: --output {tmp_path / 'no' / 'report.json'}: folder {tmp_path / 'no'} does not exist\n")
    assert graph.received() == []


def test_the_report_replaces_the_previous_one_whole(graph, tmp_path: Path):
    out = tmp_path / "report.json"
    out.write_text(OLD)
    out.chmod(0o640)
    done = drift(graph.base_url, "--format", "json", "--output", str(out))
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "")
    assert json.loads(out.read_text())["summary"]["compliant"] == 1
    assert oct(out.stat().st_mode & 0o777) == "0o640"  # the file keeps its permissions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def _limit_file_size(size: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return apply


def test_a_file_size_limit_leaves_the_previous_report_intact(graph, tmp_path: Path):
    out = tmp_path / "report.json"
    out.write_text(OLD)
    done = drift(graph.base_url, "--format", "json", "--output", str(out), preexec_fn=_limit_file_size(1024))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"sage365 drift: --output {out}: File too large; the previous file, if any, is unchanged\n"
    assert out.read_text() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temporary file left


def _signal_on(event: str, signum: int) -> str:
    """Python for the child: send itself `signum` at the first audit `event` inside the output folder."""
    return f"""
import os, sys
def _hook(event, args, _sent=[]):
    if event == {event!r} and not _sent and 'report.json' in str(args[0]):
        _sent.append(1)
        os.kill(os.getpid(), {int(signum)})
sys.addaudithook(_hook)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
@pytest.mark.parametrize("event", ["open", "os.rename"])  # the temporary file's creation; the rename
def test_a_signal_while_the_report_is_written_leaves_a_whole_report(graph, tmp_path: Path, event: str, signum: int):
    out = tmp_path / "report.json"
    out.write_text(OLD)
    done = drift(graph.base_url, "--format", "json", "--output", str(out), prelude=_signal_on(event, signum))
    # The signal waits for the rename: the new report is whole, then the process stops as the signal says.
    assert done.returncode == {signal.SIGTERM: -signal.SIGTERM, signal.SIGHUP: -signal.SIGHUP, signal.SIGINT: 130}[signum]
    assert json.loads(out.read_text())["summary"]["compliant"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_signal_while_tenants_are_read_leaves_the_previous_report(demo_sandbox, tmp_path: Path):
    out = tmp_path / "report.json"
    out.write_text(OLD)
    slow = HostileServer(lambda request: Reply(200, json={"value": []}, byte_every=5.0), upstream=demo_sandbox.base_url)
    with slow:
        prelude = "import signal; signal.alarm(2)"  # SIGALRM ends the process mid-read, as a CI cancel would
        done = drift(slow.base_url, "--format", "json", "--output", str(out), prelude=prelude)
    assert done.returncode == -signal.SIGALRM
    assert out.read_text() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]

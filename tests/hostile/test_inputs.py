"""Hostile input files through `sage365 validate` and `drift` as subprocesses: each one
line `PATH:LINE:COL: message`, exit 1 (validate) or 2 (drift), never a traceback, a
crash or a hang (the subprocess timeout is the bound)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hostile.support import ROOT, sage365

pytestmark = pytest.mark.slow
FABRIKAM = (ROOT / "tenants" / "fabrikam.yaml").read_text()
CATALOG = str(ROOT / "catalog" / "catalog.yaml")
GUID = "22222222-2222-4222-8222-222222222222"


def validate(*paths: Path | str, catalog: str = CATALOG):
    return sage365("validate", *map(str, paths), "--catalog", catalog, timeout=60)


def drift(*paths: Path | str):
    return sage365("drift", *map(str, paths), "--graph-url", "http://127.0.0.1:9/v1.0", timeout=60)


def tenant(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text.replace("name: fabrikam", f"name: {name}"))
    return path


CASES = {
    # name: (file text, expected problem after the path); depth counts the document's own mapping
    "bigint": (FABRIKAM + "x: " + "1" * 5000 + "\n", "16:4: a number of 5000 characters: at most 100 (quote it if it is text)"),
    "deep": ("spec: " + "[" * 1200 + "]" * 1200 + "\n", "1:70: nested more than 64 levels deep"),
    "brackets": ("[" * 50000, "1:65: nested more than 64 levels deep"),
    "rawcontrol": (FABRIKAM.replace("primaryDomain: fabrikam", "primaryDomain: fab\x1brikam"),
                   "10:21: control character U+001B is not allowed in YAML: write it as an escape in a double-quoted string"),
    "newline": (FABRIKAM.replace(f"tenantId: {GUID}", f'tenantId: "{GUID}\\n"'),
                f"9:3: spec.tenantId: '{GUID}\\n' is not a valid GUID"),
    "quotedcontrol": (FABRIKAM.replace("userPrincipalName: admin@fabrikam.onmicrosoft.com",
                                       'userPrincipalName: "admin@fabrikam.onmicrosoft.com\\e[2J\\n"'),
                      "12:5: spec.administrator.userPrincipalName: 'admin@fabrikam.onmicrosoft.com\\x1b[2J\\n' is not a "
                      "valid user principal name"),
}


def test_the_fabrikam_lines_these_cases_rely_on():
    lines = FABRIKAM.splitlines()
    assert lines[8] == f"  tenantId: {GUID}" and lines[9].startswith("  primaryDomain: fabrikam")
    assert lines[11].strip() == "userPrincipalName: admin@fabrikam.onmicrosoft.com"
    assert len(lines) == 15  # the last two: spec.connector


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_file_is_one_line_and_exit_1(tmp_path: Path, case: str):
    text, expected = CASES[case]
    path = tenant(tmp_path, case, text)
    done = validate(path)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"{path}:{expected}\n1 error(s) in 1 file(s)\n"


def test_drift_refuses_the_same_files_before_reading_anything(tmp_path: Path):
    paths = [tenant(tmp_path, case, CASES[case][0]) for case in sorted(CASES)]
    done = drift(tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        *(f"{path}:{CASES[case][1]}" for path, case in zip(paths, sorted(CASES))),
        f"sage365 drift: {len(CASES)} problem(s) in the tenant files: nothing was read"]


def test_files_that_cannot_be_read_in_a_folder_are_each_reported(tmp_path: Path):
    (tmp_path / "loop.yaml").symlink_to("loop.yaml")
    (tmp_path / "dangling.yaml").symlink_to("missing.yaml")
    (tmp_path / "unreadable.yaml").symlink_to("/proc/self/mem")  # a read error even for root
    os.mkfifo(tmp_path / "fifo.yaml")  # no writer: opening it must not hang
    done = validate(tmp_path)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        f"{tmp_path}/dangling.yaml:1:1: cannot read file: No such file or directory",
        f"{tmp_path}/fifo.yaml:1:1: is a FIFO, not a regular file",
        f"{tmp_path}/loop.yaml:1:1: cannot read file: Too many levels of symbolic links",
        f"{tmp_path}/unreadable.yaml:1:1: cannot read file: Input/output error",
        "4 error(s) in 4 file(s)"]


def test_a_device_or_a_fifo_given_as_the_input_is_refused_without_blocking(tmp_path: Path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    zero, pipe = validate("/dev/zero"), drift(fifo)
    assert (zero.returncode, zero.stderr) == (1, "/dev/zero:1:1: is a device, not a regular file\n1 error(s) in 1 file(s)\n")
    assert (pipe.returncode, pipe.stderr) == (
        2, f"{fifo}:1:1: is a FIFO, not a regular file\nsage365 drift: 1 problem(s) in the tenant files: nothing was read\n")


def test_the_size_limit_is_counted_while_reading(tmp_path: Path):
    big = tmp_path / "big.yaml"
    big.write_text("x: " + "a" * (1024 * 1024))
    done = validate(big)
    assert (done.returncode, done.stderr) == (1, f"{big}:1:1: file is 1048579 bytes, over the 1 MiB limit\n1 error(s) in 1 file(s)\n")


def test_a_folder_as_the_catalogue_is_one_line(tmp_path: Path):
    done = validate(ROOT / "tenants" / "fabrikam.yaml", catalog=str(tmp_path))
    assert (done.returncode, done.stdout, done.stderr) == (1, "", f"{tmp_path}:1:1: is a folder, not a YAML file\n")


def test_drift_refuses_two_declarations_of_one_tenant(tmp_path: Path):
    copy = tenant(tmp_path, "fabrikam-copy", FABRIKAM)
    done = drift(ROOT / "tenants" / "fabrikam.yaml", copy)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"{copy}:9:3: spec.tenantId: {GUID} is also declared in {ROOT}/tenants/fabrikam.yaml "
                           "('fabrikam')\nsage365 drift: 1 problem(s) in the tenant files: nothing was read\n")


def _patterns(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return own + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


def test_every_schema_pattern_refuses_a_trailing_newline():
    """`$` alone matches before a final newline in Python's re (jsonschema's engine), not in ECMA-262."""
    import json
    import re

    from sage365.schemas import NO_TRAILING_NEWLINE, SCHEMA_DIR

    patterns = [p for path in sorted(SCHEMA_DIR.glob("*.schema.json")) for p in _patterns(json.loads(path.read_text()))]
    assert len(patterns) >= 14 and all(p.endswith(NO_TRAILING_NEWLINE) for p in patterns)
    guid = next(p for p in patterns if p.startswith("^[0-9a-fA-F]{8}"))
    assert re.search(guid, GUID) and not re.search(guid, GUID + "\n")

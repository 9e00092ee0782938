"""Atomic file writes: a reader sees the old file or the whole new one, never a part.

The text goes to a temporary file in the same folder (same file system), is flushed to
disk, then takes the target's name in one step. `create_text` never replaces an existing
file: it takes the name with a hard link, which fails when the name exists.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary(path: Path, text: str, mode: int | None) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); unless asked otherwise (a token), the result
        # gets the usual permissions.
        os.fchmod(handle, 0o666 & ~_umask() if mode is None else mode)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace (or create) `path` with `text` in one step; `mode` for private files."""
    temporary = _temporary(path, text, mode)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def create_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """Create `path` with `text` in one step; FileExistsError if it exists (nothing is replaced)."""
    temporary = _temporary(path, text, mode)
    try:
        os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)

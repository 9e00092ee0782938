"""Files sage365 writes: checked before any work starts, replaced atomically.

A report or a saved sandbox state is either the complete new file or the previous one,
never an empty or partial file: the text goes to a temporary file in the same folder,
is flushed to disk (fsync), then renamed over the target (rename is atomic within one
file system). A path that is not a regular file (a folder, a FIFO that would block, a
device) is refused up front, before any tenant is read.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
from pathlib import Path
from typing import Iterator

# Signals that would otherwise end the process between the temporary file and the
# rename: held back for the few milliseconds of the write, delivered right after it.
_DEFERRED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name))


class OutputError(ValueError):
    """A path sage365 cannot write to, in one line naming the path."""


def check_output(path: Path) -> Path:
    """The file to write for `path` (symbolic links followed), or OutputError saying why not."""
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"{path}: {exc.strerror or exc}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"{path}: is a folder; give a file name")
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
        raise OutputError(f"{path}: is {kind}, not a regular file; reports are written to regular files only")
    if mode is not None and not os.access(target, os.W_OK):
        raise OutputError(f"{path}: permission denied")
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: folder {folder} is not writable")
    return target


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM, SIGHUP and SIGQUIT for the calling thread until the block ends
    (then a held signal acts). Threads started inside inherit the hold for good."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_atomic(path: Path, text: str, *, mode: int | None = None, replace: bool = True) -> None:
    """Replace `path` with `text` (UTF-8) atomically; on any failure the previous file stays.

    `mode`: the new file's permissions (0o600 for a token), set before it takes the name;
    otherwise the existing file's, or the umask's for a new one. `replace=False` never
    replaces an existing file: the name is taken with a hard link, which fails when it
    exists (FileExistsError, nothing changed).
    Raises OutputError (one line) when the file cannot be written, e.g. disk full or over
    a file-size limit (RLIMIT_FSIZE: Python ignores SIGXFSZ, so the write fails with EFBIG).
    """
    target = check_output(path)
    data = text.encode("utf-8")
    try:
        existing_mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        existing_mode = 0o666 & ~umask
    with signals_deferred():
        try:
            fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        except OSError as exc:
            raise OutputError(f"{path}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, existing_mode if mode is None else mode)
            if replace:
                os.replace(temporary, target)
            else:
                try:
                    os.link(temporary, target)
                finally:
                    os.unlink(temporary)
        except FileExistsError:
            raise
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise OutputError(f"{path}: {exc.strerror or exc}; the previous file, if any, is unchanged") from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable; some file systems cannot, which is no failure."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

"""Directories that appear complete or not at all, and cleanup after killed runs.

A result is built in ``.NAME.tmp-PID-RANDOM`` beside its destination and renamed into place once
finished. The process id in the name lets a later run tell a dead run's leftovers (removed) from a
live run's work in progress (left alone), however old either is.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_TEMP = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)-[A-Za-z0-9_]+$")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def staged(destination: Path) -> Iterator[Path]:
    """Yield a fresh directory beside ``destination``, removed again unless it was published."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{destination.name}.tmp-{os.getpid()}-", dir=destination.parent))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o755 & ~mask)
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def publish_new(staged_dir: Path, destination: Path) -> None:
    """Rename a finished directory to ``destination``, which must not exist yet.

    ``os.rename`` onto an existing non-empty directory fails, so two runs can never both publish
    the same version.
    """
    if destination.exists():
        raise FileExistsError(f"{destination} already exists; refusing to replace it")
    os.rename(staged_dir, destination)
    with contextlib.suppress(OSError):
        fd = os.open(destination.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_dead_temp_dirs(parent: Path) -> list[Path]:
    """Delete ``.NAME.tmp-PID-*`` directories under ``parent`` whose process is gone."""
    removed = []
    if not parent.is_dir():
        return removed
    for entry in parent.iterdir():
        match = _TEMP.match(entry.name)
        if match and entry.is_dir() and not pid_alive(int(match.group("pid"))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed

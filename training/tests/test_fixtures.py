"""The committed tiny-model fixtures that the TypeScript tests read: consistent and up to date."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

from shammah_training.files import sha256_file, sha256_tree
from shammah_training.onnx_runner import OnnxCausalLM
from shammah_training.tiny_models import DEFAULT_OUTPUT, REFERENCE_FORMAT, TINY_MODELS, build_checkpoint

MAX_FIXTURE_BYTES = 1_500_000
MAX_REFERENCE_BYTES = 300_000


@pytest.fixture(params=TINY_MODELS, ids=[spec.name for spec in TINY_MODELS])
def fixture_dir(request: pytest.FixtureRequest) -> Path:
    path = DEFAULT_OUTPUT / request.param.name
    assert (path / "shammah_manifest.json").exists(), (
        f"{path} is missing; run training/.venv/bin/python -m shammah_training.tiny_models"
    )
    return path


def test_layout_and_size(fixture_dir: Path) -> None:
    for name in (
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "chat_template.jinja",
        "onnx/model.onnx",
        "onnx/model_q4.onnx",
        "reference.json",
        "shammah_manifest.json",
    ):
        assert (fixture_dir / name).is_file(), name
    assert sum(p.stat().st_size for p in fixture_dir.rglob("*") if p.is_file()) < MAX_FIXTURE_BYTES
    assert (fixture_dir / "reference.json").stat().st_size < MAX_REFERENCE_BYTES
    manifest = json.loads((fixture_dir / "shammah_manifest.json").read_text())
    for entry in manifest["variants"].values():
        assert sha256_file(fixture_dir / entry["file"]) == entry["sha256"]


def test_onnx_reproduces_the_reference(fixture_dir: Path) -> None:
    reference = json.loads((fixture_dir / "reference.json").read_text())
    assert reference["format"] == REFERENCE_FORMAT
    ids = reference["prompt"]["input_ids"]
    expected = np.asarray(reference["logits"]["values"], dtype=np.float32)
    assert list(expected.shape) == reference["logits"]["shape"] == [len(ids), expected.shape[1]]
    model = OnnxCausalLM(fixture_dir / "onnx" / "model.onnx")
    logits, _ = model.forward(ids)
    positions = reference["logits"]["positions"]
    assert np.abs(logits[positions] - expected).max() < reference["tolerance"]["logits_max_abs_diff"]
    greedy = reference["greedy"]
    assert greedy["with_cache"] == greedy["without_cache"]
    assert model.greedy(ids, greedy["max_new_tokens"], use_cache=True) == greedy["with_cache"]
    assert model.greedy(ids, greedy["max_new_tokens"], use_cache=False) == greedy["without_cache"]


def test_fixtures_match_the_generator(fixture_dir: Path) -> None:
    spec = next(spec for spec in TINY_MODELS if spec.name == fixture_dir.name)
    manifest = json.loads((fixture_dir / "shammah_manifest.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        build_checkpoint(spec, Path(tmp) / "checkpoint")
        assert sha256_tree(Path(tmp) / "checkpoint") == manifest["source"]["sha256"], (
            "the tiny-model generator changed; regenerate the fixtures with "
            "training/.venv/bin/python -m shammah_training.tiny_models"
        )

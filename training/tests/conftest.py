"""Shared fixtures: tiny checkpoints converted once per session with the real converter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from shammah_training.convert import ConvertOptions, convert
from shammah_training.tiny_models import EXPECT_TOKENS, TINY_MODELS, TinySpec, build_checkpoint


@dataclass(frozen=True)
class Converted:
    """A tiny checkpoint and the model directory the converter made from it."""

    spec: TinySpec
    checkpoint: Path
    model_dir: Path
    manifest: dict


@pytest.fixture(scope="session", params=TINY_MODELS, ids=[spec.name for spec in TINY_MODELS])
def converted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Converted:
    spec: TinySpec = request.param
    root = tmp_path_factory.mktemp(spec.name)
    checkpoint = root / "checkpoint"
    build_checkpoint(spec, checkpoint)
    options = ConvertOptions(
        variants=("q4", "int8"),
        check_contains=None,
        expect_tokens=dict(EXPECT_TOKENS),
        max_new_tokens=8,
        log=lambda _message: None,
    )
    manifest = convert(checkpoint, root / "model", options)
    return Converted(spec, checkpoint, root / "model", manifest)


@pytest.fixture(scope="session")
def torch_model(converted: Converted):
    """The PyTorch model the tiny ONNX graphs were exported from (transformers 5)."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(2)
    return AutoModelForCausalLM.from_pretrained(str(converted.checkpoint), dtype=torch.float32).eval()

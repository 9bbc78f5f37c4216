"""The real dev model (SmolLM2-135M-Instruct from the GGUF), as `pnpm models:dev` installs it.

Skipped when it is not installed; setup installs it in CI, so it runs there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shammah_training.convert import FRANCE_PROMPT
from shammah_training.dev_model import REPO_ID
from shammah_training.hf_cache import hub_cache_root, is_complete, read_ref, snapshot_path
from shammah_training.onnx_runner import OnnxCausalLM


@pytest.fixture(scope="module")
def snapshot() -> Path:
    cache = hub_cache_root()
    revision = read_ref(cache, REPO_ID)
    path = snapshot_path(cache, REPO_ID, revision) if revision else None
    if path is None or not is_complete(path):
        pytest.skip(
            f"the real dev model is not installed in {cache} (run `pnpm models:dev`, "
            "i.e. bash scripts/models-dev.sh; CI's setup does)"
        )
    return path


def test_special_tokens_and_template(snapshot: Path) -> None:
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(snapshot / "tokenizer.json"))
    assert raw.token_to_id("<|im_start|>") == 1
    assert raw.token_to_id("<|im_end|>") == 2
    config = json.loads((snapshot / "tokenizer_config.json").read_text())
    assert config["eos_token"] == "<|im_end|>"
    assert config["chat_template"].startswith("{% for message in messages %}")
    assert json.loads((snapshot / "generation_config.json").read_text())["eos_token_id"] == 2
    # Spaces and newlines must be ordinary byte-level pieces, not unknown ids (the 4.57 trap).
    ids = raw.encode("The capital of France is Paris.\n").ids
    assert 0 not in ids
    assert raw.decode(ids) == "The capital of France is Paris.\n"


def test_fp32_answers_paris(snapshot: Path) -> None:
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(snapshot / "tokenizer.json"))
    prompt = (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
        f"<|im_end|>\n<|im_start|>user\n{FRANCE_PROMPT}<|im_end|>\n<|im_start|>assistant\n"
    )
    ids = raw.encode(prompt).ids
    assert ids[0] == 1 and ids.count(1) == 3
    model = OnnxCausalLM(snapshot / "onnx" / "model.onnx")
    answer_ids = model.greedy(ids, 24, eos_token_ids=(2,))
    assert answer_ids[-1] == 2
    assert "Paris" in raw.decode(answer_ids, skip_special_tokens=True)


def test_manifest_records_the_checks(snapshot: Path) -> None:
    manifest = json.loads((snapshot / "shammah_manifest.json").read_text())
    assert manifest["source"]["name"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert manifest["checks"]["generation"]["variants"]["fp32"]["contains_expected"]
    assert {"fp32", "q4", "int8"} <= set(manifest["variants"])
    for entry in manifest["variants"].values():
        assert (snapshot / entry["file"]).stat().st_size == entry["bytes"]

"""The converter on tiny checkpoints: parity with PyTorch, graph layout, variants, tokenizer files."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from shammah_training import convert as convert_module
from shammah_training.convert import ConvertOptions, compare_logits, convert
from shammah_training.files import sha256_file
from shammah_training.onnx_runner import OnnxCausalLM
from shammah_training.tiny_models import EXPECT_TOKENS, PROMPT_MESSAGES

from .conftest import Converted

TOLERANCE = 1e-4


def prompt_ids(model_dir: Path) -> list[int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    text = tokenizer.apply_chat_template(PROMPT_MESSAGES, add_generation_prompt=True, tokenize=False)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def torch_logits(model, ids: list[int]) -> np.ndarray:
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].numpy()


def test_fp32_logits_equal_pytorch_without_past(converted: Converted, torch_model) -> None:
    ids = prompt_ids(converted.model_dir)
    onnx_logits, _ = OnnxCausalLM(converted.model_dir / "onnx" / "model.onnx").forward(ids)
    assert onnx_logits.shape == (len(ids), converted.manifest["model"]["vocab_size"])
    assert np.abs(onnx_logits - torch_logits(torch_model, ids)).max() < TOLERANCE


def test_fp32_logits_equal_pytorch_with_past(converted: Converted, torch_model) -> None:
    ids = prompt_ids(converted.model_dir)
    model = OnnxCausalLM(converted.model_dir / "onnx" / "model.onnx")
    # A prefill, a chunk on top of the cache, then single tokens: what a runtime does.
    chunks = [ids[:12], ids[12:20]] + [[token] for token in ids[20:]]
    past, pieces = None, []
    for chunk in chunks:
        logits, past = model.forward(chunk, past)
        pieces.append(logits)
    assert past[0].shape[2] == len(ids)
    assert np.abs(np.concatenate(pieces) - torch_logits(torch_model, ids)).max() < TOLERANCE


def test_greedy_with_and_without_cache_equals_pytorch(converted: Converted, torch_model) -> None:
    ids = prompt_ids(converted.model_dir)
    with torch.no_grad():
        expected = torch_model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            max_new_tokens=12,
            min_new_tokens=12,
            do_sample=False,
            eos_token_id=None,
            pad_token_id=2,
        )[0, len(ids) :].tolist()
    model = OnnxCausalLM(converted.model_dir / "onnx" / "model.onnx")
    assert model.greedy(ids, 12, use_cache=True) == expected
    assert model.greedy(ids, 12, use_cache=False) == expected


def test_graph_inputs_outputs_and_shapes(converted: Converted) -> None:
    spec = converted.spec
    head_dim = spec.hidden // spec.heads
    model = OnnxCausalLM(converted.model_dir / "onnx" / "model.onnx")
    past_names = [
        f"past_key_values.{layer}.{kind}" for layer in range(spec.layers) for kind in ("key", "value")
    ]
    present_names = [f"present.{layer}.{kind}" for layer in range(spec.layers) for kind in ("key", "value")]
    assert model.input_names == ["input_ids", "attention_mask", "position_ids", *past_names]
    assert model.output_names == ["logits", *present_names]
    inputs = {i.name: i for i in model.session.get_inputs()}
    assert inputs["input_ids"].type == "tensor(int64)"
    assert inputs["attention_mask"].type == "tensor(int64)"
    assert inputs["position_ids"].type == "tensor(int64)"
    key = inputs["past_key_values.0.key"]
    assert key.type == "tensor(float)"
    assert key.shape[1:4:2] == [spec.kv_heads, head_dim]
    assert isinstance(key.shape[0], str) and isinstance(key.shape[2], str)  # batch, past length

    logits, present = model.forward([1, 5, 6, 7])
    logits2, present2 = model.forward([8, 9], present)
    assert logits.shape == (4, converted.manifest["model"]["vocab_size"])
    assert logits2.shape == (2, converted.manifest["model"]["vocab_size"])
    assert present2[0].shape == (1, spec.kv_heads, 6, head_dim)
    assert len(present2) == 2 * spec.layers


def test_quantized_variants_load_and_mostly_agree_on_top1(converted: Converted) -> None:
    ids = prompt_ids(converted.model_dir)
    onnx_dir = converted.model_dir / "onnx"
    reference, _ = OnnxCausalLM(onnx_dir / "model.onnx").forward(ids)
    # Random weights spread logits like noise, so fp32's top two are often near-ties that any 4-bit
    # rounding flips. Judge top-1 where fp32 has a clear winner, and top-5 everywhere.
    ranked = np.sort(reference, axis=-1)
    clear = (ranked[:, -1] - ranked[:, -2]) > 0.25 * reference.std(axis=-1)
    top5 = np.argsort(reference, axis=-1)[:, -5:]
    assert clear.sum() >= 8
    for name in ("model_q4.onnx", "model_int8.onnx"):
        logits, _ = OnnxCausalLM(onnx_dir / name).forward(ids)
        agree = reference.argmax(-1) == logits.argmax(-1)
        in_top5 = np.mean([logits[i].argmax() in top5[i] for i in range(len(ids))])
        assert agree[clear].mean() >= 0.85, f"{name}: top-1 {agree[clear].mean():.2f} at clear positions"
        assert agree.mean() >= 0.4, f"{name}: top-1 {agree.mean():.2f} overall"
        assert in_top5 >= 0.7, f"{name}: top-1 in fp32's top 5 at {in_top5:.2f} of positions"
        assert compare_logits(reference, logits)["mean_kl"] < 0.5
    q4_ops = {node.op_type for node in onnx.load(str(onnx_dir / "model_q4.onnx")).graph.node}
    int8_ops = {node.op_type for node in onnx.load(str(onnx_dir / "model_int8.onnx")).graph.node}
    assert "MatMulNBits" in q4_ops
    assert "MatMulInteger" in int8_ops


def test_tokenizer_files(converted: Converted) -> None:
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    model_dir = converted.model_dir
    raw = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    for content, expected in EXPECT_TOKENS.items():
        assert raw.token_to_id(content) == expected
    config = json.loads((model_dir / "tokenizer_config.json").read_text())
    assert config["chat_template"] == (model_dir / "chat_template.jinja").read_text()
    assert config["eos_token"] == "<|im_end|>"
    assert config["bos_token"] == "<|im_start|>"
    assert config["added_tokens_decoder"]["2"]["content"] == "<|im_end|>"
    assert config["tokenizer_class"] != "TokenizersBackend"
    special = json.loads((model_dir / "special_tokens_map.json").read_text())
    assert special["eos_token"] == "<|im_end|>"
    generation = json.loads((model_dir / "generation_config.json").read_text())
    assert generation["eos_token_id"] == 2

    # Plain text gets no token added by a post-processor; the template brings <|im_start|> itself.
    assert raw.encode("hello world", add_special_tokens=True).ids == raw.encode("hello world").ids
    assert 1 not in raw.encode("hello world", add_special_tokens=True).ids
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    text = tokenizer.apply_chat_template(PROMPT_MESSAGES, add_generation_prompt=True, tokenize=False)
    ids = raw.encode(text, add_special_tokens=True).ids
    assert ids == list(tokenizer(text, add_special_tokens=False)["input_ids"])
    assert ids[0] == 1 and ids.count(1) == len(PROMPT_MESSAGES) + 1
    assert raw.decode(ids, skip_special_tokens=False) == text
    assert raw.decode(raw.encode(" Paris,\n  x").ids) == " Paris,\n  x"


def test_config_and_manifest(converted: Converted) -> None:
    model_dir, spec, manifest = converted.model_dir, converted.spec, converted.manifest
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == spec.model_type
    assert config["num_key_value_heads"] == spec.kv_heads
    assert config["rope_theta"] == spec.rope_theta
    assert set(manifest["variants"]) == {"fp32", "q4", "int8"}
    for entry in manifest["variants"].values():
        path = model_dir / entry["file"]
        assert path.stat().st_size == entry["bytes"]
        assert sha256_file(path) == entry["sha256"]
    assert manifest["variants"]["q4"]["quantization"] == {
        "block_size": 32,
        "is_symmetric": True,
        "accuracy_level": 4,
    }
    assert manifest["tools"]["export"]["optimum-onnx"] == "0.1.0"
    assert manifest["tools"]["transformers"].startswith("5.")
    assert json.loads((model_dir / "shammah_manifest.json").read_text()) == manifest


def test_second_conversion_is_a_no_op(converted: Converted) -> None:
    before = {p: p.stat().st_mtime_ns for p in converted.model_dir.rglob("*")}
    options = ConvertOptions(
        variants=("q4", "int8"), check_contains=None, expect_tokens=dict(EXPECT_TOKENS), log=lambda _m: None
    )
    started = time.monotonic()
    convert(converted.checkpoint, converted.model_dir, options)
    assert time.monotonic() - started < 5
    assert {p: p.stat().st_mtime_ns for p in converted.model_dir.rglob("*")} == before


def test_killed_conversion_leaves_no_output_and_keeps_the_old_one(
    converted: Converted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand in for optimum (already exercised by the session fixture) to keep this test fast.
    def copy_export(checkpoint, scratch, onnx_dir, options):
        shutil.copyfile(converted.model_dir / "onnx" / "model.onnx", onnx_dir / "model.onnx")
        return converted.manifest["tools"]["export"]

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed during checks")

    monkeypatch.setattr(convert_module, "export_graph", copy_export)
    options = ConvertOptions(
        variants=("q4",), check_contains=None, expect_tokens=dict(EXPECT_TOKENS), log=lambda _m: None
    )
    output = tmp_path / "model"
    with monkeypatch.context() as patch:
        patch.setattr(convert_module, "run_checks", killed)
        with pytest.raises(KeyboardInterrupt):
            convert(converted.checkpoint, output, options)
    assert os.listdir(tmp_path) == []  # neither the model nor a temp dir

    convert(converted.checkpoint, output, options)
    manifest = json.loads((output / "shammah_manifest.json").read_text())
    options.force = True
    with monkeypatch.context() as patch:
        patch.setattr(convert_module, "run_checks", killed)
        with pytest.raises(KeyboardInterrupt):
            convert(converted.checkpoint, output, options)
    assert os.listdir(tmp_path) == ["model"]
    assert json.loads((output / "shammah_manifest.json").read_text()) == manifest
    assert (output / "onnx" / "model_q4.onnx").stat().st_size == manifest["variants"]["q4"]["bytes"]


def test_rejects_a_source_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(convert_module.ConversionError, match=r"neither a \.gguf file nor a directory"):
        convert(tmp_path / "notes.txt", tmp_path / "out")
    assert not (tmp_path / "out").exists()

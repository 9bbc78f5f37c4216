"""Fused graphs: the exact Q4_1/Q8_0 block transfer, and the fused graphs against PyTorch (tiny model)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import gguf
import numpy as np
import onnx
import pytest
import torch
from gguf import quants
from onnx import TensorProto, helper, numpy_helper

from shammah_training.files import sha256_file, sha256_tree
from shammah_training.fused import (
    BLOCK,
    FUSED_FILES,
    LOGITS_ROWS_DIM,
    LOGITS_TO_KEEP,
    NotQuantizedBlocksError,
    build_fused_variants,
    pack_4bit,
    quantize_fused_graph,
    split_q4_1,
    split_q8_0,
    unpack_4bit,
)
from shammah_training.fused_fixture import NAME, SPEC, build_gguf_like_checkpoint, quantize_like_gguf
from shammah_training.onnx_runner import OnnxCausalLM
from shammah_training.tiny_models import DEFAULT_OUTPUT, PROMPT_MESSAGES, REFERENCE_FORMAT, VOCAB_SIZE

EXACT = ("fused_fp32", "fused_q41_exact")
TOLERANCE = 1e-4
MAX_FIXTURE_BYTES = 1_500_000


def bits(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)


def awkward_weight(rows: int = 48, columns: int = 128, seed: int = 3) -> np.ndarray:
    """Gaussian weights plus the blocks that break naive splitting."""
    rng = np.random.default_rng(seed)
    weight = rng.normal(0.0, 0.05, (rows, columns)).astype(np.float32)
    weight[0, :BLOCK] = 0.25  # constant block: scale 0
    weight[1, :BLOCK] = 0.0
    weight[2, :BLOCK] = rng.normal(0, 1e-6, BLOCK)  # scale in fp16's subnormal range
    weight[3, :BLOCK] = rng.normal(0, 30.0, BLOCK)  # large range
    weight[4, :BLOCK] = -np.abs(weight[4, :BLOCK]) - 1.0  # all negative
    return weight


def q4_1_round_trip(weight: np.ndarray) -> np.ndarray:
    kind = gguf.GGMLQuantizationType.Q4_1
    return quants.dequantize(quants.quantize(weight, kind), kind).astype(np.float32)


# --- the block split -------------------------------------------------------------------------


def test_q4_1_blocks_split_back_exactly_into_the_ggufs_codes_scales_and_minimums() -> None:
    weight = awkward_weight()
    raw = quants.quantize(weight, gguf.GGMLQuantizationType.Q4_1)
    dequantized = quants.dequantize(raw, gguf.GGMLQuantizationType.Q4_1).astype(np.float32)

    blocks = split_q4_1(dequantized)

    assert np.array_equal(bits(blocks.dequantize()), bits(dequantized))  # zero error, bit for bit
    # ...and they are the very numbers the GGUF stores: fp16 d, fp16 m, 4-bit codes (GGUF packs
    # value j in the low nibble and value j + 16 in the high one).
    stored = raw.reshape(weight.shape[0], -1, 20)
    assert np.array_equal(blocks.scales, stored[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32))
    assert np.array_equal(blocks.mins, stored[..., 2:4].copy().view(np.float16)[..., 0].astype(np.float32))
    qs = stored[..., 4:]
    codes = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).reshape(weight.shape)
    nonconstant = (blocks.scales > 0).repeat(BLOCK, axis=1)
    assert np.array_equal(blocks.codes[nonconstant], codes[nonconstant])


def test_q4_1_split_refuses_weights_that_are_not_q4_1_blocks() -> None:
    weight = awkward_weight()
    with pytest.raises(NotQuantizedBlocksError, match=r"blocks of 32 are not Q4_1 blocks"):
        split_q4_1(weight, what="proj.weight")
    # One nudged value in an otherwise exact weight is caught too.
    dequantized = q4_1_round_trip(weight)
    dequantized[7, 40] = np.nextafter(dequantized[7, 40], np.float32(1))
    with pytest.raises(NotQuantizedBlocksError, match=r"1 of 192 blocks"):
        split_q4_1(dequantized)
    with pytest.raises(NotQuantizedBlocksError, match=r"multiple of 32"):
        split_q4_1(np.zeros((4, 40), np.float32))


def test_q8_0_blocks_split_back_exactly() -> None:
    weight = awkward_weight(columns=64)
    raw = quants.quantize(weight, gguf.GGMLQuantizationType.Q8_0)
    dequantized = quants.dequantize(raw, gguf.GGMLQuantizationType.Q8_0).astype(np.float32)
    blocks = split_q8_0(dequantized)
    # Equal values (ggml writes -0.0 where a block's fp16 scale underflows to 0 and a code is negative).
    assert np.array_equal(blocks.dequantize(), dequantized)
    stored = raw.reshape(weight.shape[0], -1, 34)
    assert np.array_equal(blocks.scales, stored[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32))
    with pytest.raises(NotQuantizedBlocksError, match="not Q8_0 blocks"):
        split_q8_0(weight)


def test_pack_4bit_round_trips() -> None:
    codes = np.random.default_rng(0).integers(0, 16, (5, 96)).astype(np.uint8)
    packed = pack_4bit(codes)
    assert packed.shape == (5, 3, 16) and packed.dtype == np.uint8
    assert np.array_equal(unpack_4bit(packed), codes)


@pytest.mark.parametrize(("accuracy", "tolerance"), [(1, 1e-5), (4, 0.05)])
def test_matmulnbits_with_the_minimum_side_branch_computes_the_q4_1_product(
    accuracy: int, tolerance: float
) -> None:
    """The node pattern the graph uses, alone: onnxruntime's result equals x @ W.T in float64."""
    import onnxruntime as ort

    rows, columns = 40, 128
    weight = q4_1_round_trip(awkward_weight(rows, columns))
    blocks = split_q4_1(weight)
    offsets = (blocks.mins + 8 * blocks.scales).T.astype(np.float32)
    inits = [
        numpy_helper.from_array(pack_4bit(blocks.codes), "codes"),
        numpy_helper.from_array(blocks.scales, "scales"),
        numpy_helper.from_array(np.ascontiguousarray(offsets), "offsets"),
        numpy_helper.from_array(np.array([0, 0, columns // BLOCK, BLOCK], np.int64), "shape"),
        numpy_helper.from_array(np.array([-1], np.int64), "axes"),
    ]
    nodes = [
        helper.make_node(
            "MatMulNBits",
            ["x", "codes", "scales"],
            ["product"],
            domain="com.microsoft",
            K=columns,
            N=rows,
            bits=4,
            block_size=BLOCK,
            accuracy_level=accuracy,
        ),
        helper.make_node("Reshape", ["x", "shape"], ["blocked"]),
        helper.make_node("ReduceSum", ["blocked", "axes"], ["sums"], keepdims=0),
        helper.make_node("MatMul", ["sums", "offsets"], ["side"]),
        helper.make_node("Add", ["product", "side"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "q41",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "s", columns])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, "s", rows])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)]
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).normal(0, 1, (1, 7, columns)).astype(np.float32)
    (y,) = session.run(None, {"x": x})
    expected = x.astype(np.float64) @ weight.T.astype(np.float64)
    assert np.abs(y - expected).max() < tolerance * np.abs(expected).max()


# --- fused graphs of the GGUF-like tiny model, built now -----------------------------------------


@pytest.fixture(scope="module")
def fused_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory: the GGUF-like tiny checkpoint (with tokenizer) and its fused graphs."""
    directory = tmp_path_factory.mktemp("fused") / "model"
    build_gguf_like_checkpoint(directory)
    results = build_fused_variants(directory, directory / "onnx", list(FUSED_FILES))
    assert all("file" in result for result in results.values()), results
    return directory


@pytest.fixture(scope="module")
def torch_reference(fused_dir: Path):
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(2)
    return AutoModelForCausalLM.from_pretrained(str(fused_dir), dtype=torch.float32).eval()


def prompt_ids(model_dir: Path) -> list[int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    text = tokenizer.apply_chat_template(PROMPT_MESSAGES, add_generation_prompt=True, tokenize=False)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def torch_logits(model, ids: list[int]) -> np.ndarray:
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].numpy()


@pytest.mark.parametrize("variant", EXACT)
def test_exact_fused_graphs_equal_pytorch_with_and_without_cache(
    fused_dir: Path, torch_reference, variant: str
) -> None:
    ids = prompt_ids(fused_dir)
    expected = torch_logits(torch_reference, ids)
    model = OnnxCausalLM(fused_dir / "onnx" / FUSED_FILES[variant])
    logits, _ = model.forward(ids)
    assert np.abs(logits - expected).max() < TOLERANCE
    # A prefill, a chunk on top of the cache, then single tokens: what a runtime does.
    past, pieces = None, []
    for chunk in [ids[:12], ids[12:20]] + [[token] for token in ids[20:]]:
        piece, past = model.forward(chunk, past)
        pieces.append(piece)
    assert past[0].shape == (1, SPEC.kv_heads, len(ids), SPEC.hidden // SPEC.heads)
    assert np.abs(np.concatenate(pieces) - expected).max() < TOLERANCE

    with torch.no_grad():
        greedy = torch_reference.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            max_new_tokens=12,
            min_new_tokens=12,
            do_sample=False,
            eos_token_id=None,
            pad_token_id=2,
        )[0, len(ids) :].tolist()
    assert model.greedy(ids, 12, use_cache=True) == greedy
    assert model.greedy(ids, 12, use_cache=False) == greedy


def test_fast_fused_graph_stays_close_to_pytorch(fused_dir: Path, torch_reference) -> None:
    from shammah_training.quality import compare

    ids = prompt_ids(fused_dir)
    logits, _ = OnnxCausalLM(fused_dir / "onnx" / FUSED_FILES["fused_q41"]).forward(ids)
    figures = compare(torch_logits(torch_reference, ids), logits)
    assert figures["mean_kl"] < 0.005
    assert figures["top1_agreement"] >= 0.9
    assert 1e-4 < figures["max_abs_diff"] < 0.5  # int8 activations: close, but not exact


@pytest.mark.parametrize("variant", list(FUSED_FILES))
def test_fused_graph_signature_and_ops(fused_dir: Path, variant: str) -> None:
    model = onnx.load(str(fused_dir / "onnx" / FUSED_FILES[variant]))
    head_dim = SPEC.hidden // SPEC.heads
    past = [f"past_key_values.{layer}.{kind}" for layer in range(SPEC.layers) for kind in ("key", "value")]
    present = [f"present.{layer}.{kind}" for layer in range(SPEC.layers) for kind in ("key", "value")]

    def signature(values) -> dict[str, tuple[int, list]]:
        return {
            v.name: (
                v.type.tensor_type.elem_type,
                [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim],
            )
            for v in values
        }

    inputs, outputs = signature(model.graph.input), signature(model.graph.output)
    assert list(inputs)[:2] == ["input_ids", "attention_mask"]
    assert set(inputs) == {"input_ids", "attention_mask", LOGITS_TO_KEEP, *past}  # no position_ids
    assert inputs[LOGITS_TO_KEEP] == (TensorProto.INT64, [])
    assert inputs["input_ids"] == (TensorProto.INT64, ["batch_size", "sequence_length"])
    assert inputs["attention_mask"] == (TensorProto.INT64, ["batch_size", "total_sequence_length"])
    for name in past:
        assert inputs[name] == (
            TensorProto.FLOAT,
            ["batch_size", SPEC.kv_heads, "past_sequence_length", head_dim],
        )
    assert next(iter(outputs)) == "logits"
    assert outputs["logits"] == (TensorProto.FLOAT, ["batch_size", LOGITS_ROWS_DIM, 384])
    for name in present:
        assert outputs[name] == (
            TensorProto.FLOAT,
            ["batch_size", SPEC.kv_heads, "total_sequence_length", head_dim],
        )
    assert set(outputs) == {"logits", *present}

    ops = {(node.domain or "ai.onnx", node.op_type) for node in model.graph.node}
    assert ("com.microsoft", "GroupQueryAttention") in ops
    assert ("com.microsoft", "SkipSimplifiedLayerNormalization") in ops
    if variant == "fused_fp32":
        assert ("com.microsoft", "MatMulNBits") not in ops
    else:
        assert ("com.microsoft", "MatMulNBits") in ops
        assert ("com.microsoft", "GatherBlockQuantized") in ops
        levels = {
            next(a.i for a in node.attribute if a.name == "accuracy_level")
            for node in model.graph.node
            if node.op_type == "MatMulNBits"
        }
        assert levels == ({4} if variant == "fused_q41" else {1})
        big_floats = [
            init.name
            for init in model.graph.initializer
            if init.data_type == TensorProto.FLOAT
            and np.prod(init.dims) >= SPEC.hidden * SPEC.hidden
            and init.name not in ("cos_cache", "sin_cache")
        ]
        assert big_floats == [], "projection weights and the LM head must all be 4- or 8-bit"


@pytest.mark.parametrize("variant", list(FUSED_FILES))
def test_num_logits_to_keep_returns_the_last_rows_and_zero_returns_all(fused_dir: Path, variant: str) -> None:
    model = OnnxCausalLM(fused_dir / "onnx" / FUSED_FILES[variant])
    assert model.logits_to_keep_input == LOGITS_TO_KEEP
    ids = prompt_ids(fused_dir)
    every, past_all = model.forward(ids, logits_to_keep=0)
    assert every.shape == (len(ids), VOCAB_SIZE)
    last, past_last = model.forward(ids, logits_to_keep=1)
    assert last.shape == (1, VOCAB_SIZE)
    # Only rows are dropped: the last row is the k=0 run's last row, and the cache is the same.
    assert np.abs(last[0] - every[-1]).max() < 1e-5
    for kept, full in zip(past_last, past_all, strict=True):
        assert np.array_equal(kept, full)
    three, _ = model.forward(ids, logits_to_keep=3)
    assert three.shape == (3, VOCAB_SIZE) and np.abs(three - every[-3:]).max() < 1e-5
    more, _ = model.forward(ids, logits_to_keep=len(ids) + 5)  # more than there are: every row
    assert more.shape == every.shape and np.abs(more - every).max() < 1e-5
    # On top of a cache, as a chunked prefill runs.
    _, past = model.forward(ids[:12], logits_to_keep=1)
    chunk, _ = model.forward(ids[12:], past, logits_to_keep=1)
    assert chunk.shape == (1, VOCAB_SIZE) and np.abs(chunk[0] - every[-1]).max() < 1e-5


def test_a_weight_off_the_q4_1_grid_is_refused(fused_dir: Path, tmp_path: Path) -> None:
    model = onnx.load(str(fused_dir / "onnx" / FUSED_FILES["fused_fp32"]))
    init = next(i for i in model.graph.initializer if i.name.endswith("o_proj.MatMul.weight"))
    weight = numpy_helper.to_array(init).copy()
    weight[5, 3] += 1e-3
    init.CopyFrom(numpy_helper.from_array(weight, init.name))
    onnx.save(model, str(tmp_path / "nudged.onnx"))
    with pytest.raises(NotQuantizedBlocksError, match=r"o_proj\.MatMul\.weight: 1 of \d+ blocks"):
        quantize_fused_graph(tmp_path / "nudged.onnx", tmp_path / "q41.onnx", 4, 1)
    assert not (tmp_path / "q41.onnx").exists()


def test_quantize_like_gguf_keeps_norms_and_rounds_matrices() -> None:
    rng = np.random.default_rng(2)
    weights = {
        "model.norm.weight": rng.normal(1, 0.1, 64).astype(np.float32),
        "model.embed_tokens.weight": rng.normal(0, 0.1, (8, 64)).astype(np.float32),
        "model.layers.0.mlp.up_proj.weight": rng.normal(0, 0.1, (16, 64)).astype(np.float32),
    }
    rounded = quantize_like_gguf(weights)
    assert np.array_equal(rounded["model.norm.weight"], weights["model.norm.weight"])
    split_q8_0(rounded["model.embed_tokens.weight"])
    split_q4_1(rounded["model.layers.0.mlp.up_proj.weight"])
    with pytest.raises(NotQuantizedBlocksError):
        split_q4_1(rounded["model.embed_tokens.weight"])


# --- the committed fixture -----------------------------------------------------------------------

FIXTURE = DEFAULT_OUTPUT / NAME


def test_fixture_layout_size_and_manifest() -> None:
    assert (FIXTURE / "shammah_manifest.json").exists(), (
        f"{FIXTURE} is missing; run training/.venv/bin/python -m shammah_training.fused_fixture"
    )
    for name in (
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "chat_template.jinja",
        "onnx/model.onnx",
        *(f"onnx/{file}" for file in FUSED_FILES.values()),
        "reference.json",
        "README.md",
    ):
        assert (FIXTURE / name).is_file(), name
    assert sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file()) < MAX_FIXTURE_BYTES
    manifest = json.loads((FIXTURE / "shammah_manifest.json").read_text())
    assert set(manifest["variants"]) == {"fp32", *FUSED_FILES}
    for entry in manifest["variants"].values():
        assert sha256_file(FIXTURE / entry["file"]) == entry["sha256"]
        assert entry["quality"]["passed"], entry
    for file in FUSED_FILES.values():
        inputs = {value.name for value in onnx.load(str(FIXTURE / "onnx" / file)).graph.input}
        assert LOGITS_TO_KEEP in inputs, (
            f"{file} predates {LOGITS_TO_KEEP}; regenerate the fixture with "
            "training/.venv/bin/python -m shammah_training.fused_fixture --force"
        )


def test_fixture_graphs_reproduce_the_reference() -> None:
    reference = json.loads((FIXTURE / "reference.json").read_text())
    assert reference["format"] == REFERENCE_FORMAT
    ids = reference["prompt"]["input_ids"]
    positions = reference["logits"]["positions"]
    expected = np.asarray(reference["logits"]["values"], dtype=np.float32)
    greedy = reference["greedy"]
    assert greedy["with_cache"] == greedy["without_cache"]
    tolerances = reference["tolerance"]["variants"]
    assert set(tolerances) == set(FUSED_FILES)
    from shammah_training.quality import compare

    for variant, tolerance in tolerances.items():
        model = OnnxCausalLM(FIXTURE / tolerance["file"])
        logits, _ = model.forward(ids)
        figures = compare(expected, logits[positions])
        assert figures["max_abs_diff"] < tolerance["logits_max_abs_diff"], (variant, figures)
        if tolerance["greedy_must_match"]:
            assert model.greedy(ids, greedy["max_new_tokens"], use_cache=True) == greedy["with_cache"]
            assert model.greedy(ids, greedy["max_new_tokens"], use_cache=False) == greedy["without_cache"]
        else:
            assert figures["top1_agreement"] >= tolerance["top1_agreement_min"], (variant, figures)
            assert figures["mean_kl"] <= tolerance["mean_kl_max"], (variant, figures)


def test_fixture_matches_the_generator() -> None:
    manifest = json.loads((FIXTURE / "shammah_manifest.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        build_gguf_like_checkpoint(Path(tmp) / "checkpoint")
        assert sha256_tree(Path(tmp) / "checkpoint") == manifest["source"]["sha256"], (
            "the fused fixture generator changed; regenerate it with "
            "training/.venv/bin/python -m shammah_training.fused_fixture"
        )

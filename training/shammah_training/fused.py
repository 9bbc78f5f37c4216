"""Fused ONNX graphs (GroupQueryAttention) with the GGUF's Q4_1 blocks carried over exactly.

onnxruntime-genai's model builder writes the fused fp32 graph: GroupQueryAttention with rotary
embedding inside (positions come from the attention mask, so there is no ``position_ids`` input),
SkipSimplifiedLayerNormalization and a packed QKV projection. Its own int4 mode re-quantizes weights
that a GGUF already rounded once, and that second rounding costs too much quality (see
``/work/shared/model-notes.md``). So the 4-bit graphs are made here from the fp32 one by graph editing:

* every body projection's weight splits back into the GGUF's Q4_1 blocks (block 32: 4-bit codes, a
  scale and a minimum, ``w = scale * code + minimum``) with zero error; ``MatMulNBits`` takes the codes
  and scales, and the minimums come back through a side branch, the block sums of the input times the
  minimums, added to the product (what llama.cpp's Q4_1 kernels do);
* the tied embedding / LM head splits back into its Q8_0 blocks (int8 codes, one scale per 32),
  stored once: ``GatherBlockQuantized`` reads them for the embedding; the head is an 8-bit
  ``MatMulNBits`` at accuracy level 4, or, for the exact variant, constant nodes that onnxruntime
  folds into the fp32 weight when the session loads (its 8-bit kernel at level 1 is a slow path).

Every MatMulNBits in a graph uses one accuracy level: 4 (int8 activations, like llama.cpp's Q4_1 x
Q8_1 dot products) or 1 (fp32 activations, exact to float rounding).

Variants (file names under the model directory's ``onnx/``):

``fused_fp32``       ``model_fused_fp32.onnx``        the builder's fp32 graph, exact
``fused_q41``        ``model_fused_q41.onnx``         Q4_1 body, Q8_0 head, accuracy level 4 (int8
                                                     activations, as llama.cpp does): the fast one
``fused_q41_exact``  ``model_fused_q41_exact.onnx``   Q4_1 body at level 1, head expanded to fp32: exact

Example::

    training/.venv/bin/python -m shammah_training.fused CHECKPOINT_DIR OUT_DIR --variants fused_q41
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BLOCK = 32
"""Block length of GGUF's Q4_0/Q4_1/Q8_0 formats along the input dimension."""

FUSED_FILES = {
    "fused_fp32": "model_fused_fp32.onnx",
    "fused_q41": "model_fused_q41.onnx",
    "fused_q41_exact": "model_fused_q41_exact.onnx",
}
"""Fused variant name -> file name under ``onnx/``."""

FUSED_SETTINGS: dict[str, dict[str, Any]] = {
    "fused_fp32": {"graph": "fused", "weights": "fp32"},
    "fused_q41": {
        "graph": "fused",
        "weights": "q4_1 blocks carried over exactly (MatMulNBits + minimum side branch)",
        "block_size": BLOCK,
        "accuracy_level": 4,
        "lm_head": "q8_0 blocks carried over exactly (MatMulNBits 8-bit, accuracy level 4)",
    },
    "fused_q41_exact": {
        "graph": "fused",
        "weights": "q4_1 blocks carried over exactly (MatMulNBits + minimum side branch)",
        "block_size": BLOCK,
        "accuracy_level": 1,
        "lm_head": "q8_0 blocks carried over exactly, expanded to fp32 at load (fp32 MatMul)",
    },
}
"""What each fused variant is, as recorded in the manifest."""

_ACCURACY = {"fused_q41": (4, 4), "fused_q41_exact": (1, 1)}  # (body, head) accuracy levels

MS_DOMAIN = "com.microsoft"

BUILDER_OPTIONS = ("fuse_mlp_gate_up=true",)
"""Extra model-builder options: gate and up projections as one MatMul (then Split), so the 4-bit
graph has one MatMulNBits and one minimum side branch for both."""


class FusedExportError(RuntimeError):
    """A fused variant cannot be built; the message says why and what to do."""


class NotQuantizedBlocksError(FusedExportError):
    """A weight is not made of the expected GGUF blocks, so it cannot be carried over exactly."""


# ---------------------------------------------------------------------------------------------
# Splitting dequantized GGUF blocks back into codes, scales and minimums


@dataclass(frozen=True)
class Q41Blocks:
    """A ``[N, K]`` weight as Q4_1 blocks along K: ``w[n, k] = scales[n, b] * codes[n, k] + mins[n, b]``."""

    codes: np.ndarray  # uint8 [N, K], 0..15
    scales: np.ndarray  # float32 [N, K // BLOCK], each an fp16 value
    mins: np.ndarray  # float32 [N, K // BLOCK], each an fp16 value

    def dequantize(self) -> np.ndarray:
        """Return the float32 weight, computed as ggml does (``d * q + m`` in float32)."""
        n, k = self.codes.shape
        blocks = self.codes.reshape(n, k // BLOCK, BLOCK).astype(np.float32)
        return (self.scales[..., None] * blocks + self.mins[..., None]).reshape(n, k)


@dataclass(frozen=True)
class Q80Blocks:
    """A ``[N, K]`` weight as Q8_0 blocks along K: ``w[n, k] = scales[n, b] * codes[n, k]``."""

    codes: np.ndarray  # int8 [N, K], -127..127
    scales: np.ndarray  # float32 [N, K // BLOCK], each an fp16 value

    def dequantize(self) -> np.ndarray:
        n, k = self.codes.shape
        blocks = self.codes.reshape(n, k // BLOCK, BLOCK).astype(np.float32)
        return (self.scales[..., None] * blocks).reshape(n, k)


def _fp16(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float16).astype(np.float32)


def _blocks(weight: np.ndarray, what: str) -> np.ndarray:
    if weight.ndim != 2 or weight.shape[1] % BLOCK:
        raise NotQuantizedBlocksError(
            f"{what}: shape {list(weight.shape)} is not [N, K] with K a multiple of {BLOCK}"
        )
    weight = np.ascontiguousarray(weight, dtype=np.float32)
    return weight.reshape(weight.shape[0], weight.shape[1] // BLOCK, BLOCK)


def _fp16_neighbours(values: np.ndarray) -> list[np.ndarray]:
    """fp16 values one step below and above ``values`` (already fp16), as float32."""
    half = values.astype(np.float16)
    return [
        np.nextafter(half, np.float16(-np.inf)).astype(np.float32),
        np.nextafter(half, np.float16(np.inf)).astype(np.float32),
    ]


def split_q4_1(weight: np.ndarray, what: str = "weight") -> Q41Blocks:
    """Split a dequantized Q4_1 weight ``[N, K]`` back into its blocks, exactly.

    In every Q4_1 block the smallest value has code 0, so the minimum is the block's smallest value;
    the largest has code 15, so the scale is the fp16 nearest to (max - min) / 15. The result is
    checked: it must rebuild the weight bit for bit, or :class:`NotQuantizedBlocksError` is raised.
    """
    blocks = _blocks(weight, what)
    mins = blocks.min(axis=-1)
    scales = _fp16((blocks.max(axis=-1) - mins) / np.float32(15))

    def codes_for(scale: np.ndarray) -> np.ndarray:
        safe = np.where(scale > 0, scale, np.float32(1))[..., None]
        codes = np.rint((blocks - mins[..., None]) / safe)
        return np.clip(np.where(scale[..., None] > 0, codes, 0), 0, 15).astype(np.uint8)

    def mismatched(scale: np.ndarray, codes: np.ndarray) -> np.ndarray:
        rebuilt = scale[..., None] * codes.astype(np.float32) + mins[..., None]
        return (rebuilt != blocks).any(axis=-1)

    codes = codes_for(scales)
    bad = mismatched(scales, codes)
    # Rounding (max - min) / 15 can land one fp16 step off the stored scale; try the neighbours.
    for candidate in _fp16_neighbours(scales) if bad.any() else []:
        trial = np.where(bad, candidate, scales)
        trial_codes = codes_for(trial)
        fixed = bad & ~mismatched(trial, trial_codes)
        scales = np.where(fixed, trial, scales)
        codes = np.where(fixed[..., None], trial_codes, codes)
        bad &= ~fixed
    not_half = _fp16(mins) != mins
    if bad.any() or not_half.any():
        raise NotQuantizedBlocksError(
            f"{what}: {int((bad | not_half).sum())} of {bad.size} blocks of {BLOCK} are not Q4_1 blocks "
            "(4-bit codes with an fp16 scale and minimum); only weights dequantized from a Q4_1 GGUF "
            "can be carried over exactly"
        )
    n, k = weight.shape
    return Q41Blocks(codes.reshape(n, k), scales.astype(np.float32), mins.astype(np.float32))


def split_q8_0(weight: np.ndarray, what: str = "weight") -> Q80Blocks:
    """Split a dequantized Q8_0 weight ``[N, K]`` back into int8 codes and fp16 scales, exactly."""
    blocks = _blocks(weight, what)
    scales = _fp16(np.abs(blocks).max(axis=-1) / np.float32(127))

    def codes_for(scale: np.ndarray) -> np.ndarray:
        safe = np.where(scale > 0, scale, np.float32(1))[..., None]
        return np.clip(np.rint(blocks / safe), -127, 127).astype(np.int8)

    def mismatched(scale: np.ndarray, codes: np.ndarray) -> np.ndarray:
        return (scale[..., None] * codes.astype(np.float32) != blocks).any(axis=-1)

    codes = codes_for(scales)
    bad = mismatched(scales, codes)
    for candidate in _fp16_neighbours(scales) if bad.any() else []:
        trial = np.where(bad, candidate, scales)
        trial_codes = codes_for(trial)
        fixed = bad & ~mismatched(trial, trial_codes)
        scales = np.where(fixed, trial, scales)
        codes = np.where(fixed[..., None], trial_codes, codes)
        bad &= ~fixed
    if bad.any():
        raise NotQuantizedBlocksError(
            f"{what}: {int(bad.sum())} of {bad.size} blocks of {BLOCK} are not Q8_0 blocks "
            "(int8 codes with an fp16 scale)"
        )
    n, k = weight.shape
    return Q80Blocks(codes.reshape(n, k), scales.astype(np.float32))


def pack_4bit(codes: np.ndarray) -> np.ndarray:
    """Pack uint8 codes ``[N, K]`` (0..15) as MatMulNBits wants them: ``[N, K/32, 16]``, low nibble first."""
    n, k = codes.shape
    pairs = codes.reshape(n, k // BLOCK, BLOCK // 2, 2)
    return (pairs[..., 0] | (pairs[..., 1] << 4)).astype(np.uint8)


def unpack_4bit(packed: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack_4bit`."""
    n, blocks, half = packed.shape
    out = np.empty((n, blocks, half, 2), dtype=np.uint8)
    out[..., 0] = packed & 0x0F
    out[..., 1] = packed >> 4
    return out.reshape(n, blocks * BLOCK)


# ---------------------------------------------------------------------------------------------
# The builder's fp32 graph


def build_fp32_graph(
    checkpoint: Path,
    output: Path,
    tokenizer_dir: Path | None = None,
    threads: int = 2,
    log: Callable[[str], None] = lambda _message: None,
) -> dict[str, Any]:
    """Write the model builder's fused fp32 graph of ``checkpoint`` to ``output`` (one file).

    The builder reads ``config.json``, the weights and a tokenizer from one directory;
    ``tokenizer_dir`` supplies the tokenizer files when the checkpoint has none. Returns tool info.
    """
    from importlib import metadata

    import onnx

    with tempfile.TemporaryDirectory(prefix="shammah-builder-", dir=output.parent) as tmp:
        staged = Path(tmp) / "input"
        staged.mkdir()
        for directory in (tokenizer_dir, checkpoint):  # the checkpoint's own files win
            if directory is None:
                continue
            for entry in Path(directory).iterdir():
                if entry.is_file():
                    target = staged / entry.name
                    if target.exists() or target.is_symlink():
                        target.unlink()
                    os.symlink(entry.resolve(), target)
        built = Path(tmp) / "built"
        command = [
            sys.executable,
            "-m",
            "onnxruntime_genai.models.builder",
            "-i",
            str(staged),
            "-o",
            str(built),
            "-p",
            "fp32",
            "-e",
            "cpu",
            "-c",
            str(Path(tmp) / "cache"),
            "--extra_options",
            *BUILDER_OPTIONS,
        ]
        env = dict(os.environ, HF_HUB_OFFLINE="1", TQDM_DISABLE="1")
        env.setdefault("OMP_NUM_THREADS", str(threads))
        started = time.monotonic()
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not (built / "model.onnx").exists():
            raise FusedExportError(
                f"onnxruntime-genai's model builder failed (exit {result.returncode}): "
                f"{' '.join(command)}\n{result.stderr[-4000:]}"
            )
        log(f"model builder wrote the fused fp32 graph in {time.monotonic() - started:.1f}s")
        model = onnx.load(str(built / "model.onnx"))  # pulls model.onnx.data in
        fix_cache_dims(model)
        add_logits_to_keep(model)
        save_model(model, output)
    return {
        "onnxruntime-genai": metadata.version("onnxruntime-genai"),
        "precision": "fp32",
        "extra_options": list(BUILDER_OPTIONS),
    }


def fix_cache_dims(model: Any) -> None:
    """Give ``past_key_values.*`` / ``present.*`` a static head dimension, as the plain export has.

    The builder names it ``kv_cache_dim``; runtimes size an empty cache from the graph's inputs.
    """
    head_dim = None
    for node in model.graph.node:
        if node.op_type == "GroupQueryAttention":
            attrs = {a.name: a for a in node.attribute}
            num_heads = attrs["num_heads"].i
            head_dim = _hidden_of_qkv(model, node, num_heads, attrs["kv_num_heads"].i)
            break
    if head_dim is None:
        raise FusedExportError("the builder's graph has no GroupQueryAttention node")
    for value in [*model.graph.input, *model.graph.output]:
        if value.name.startswith(("past_key_values.", "present.")):
            dims = value.type.tensor_type.shape.dim
            dims[3].Clear()
            dims[3].dim_value = head_dim


LOGITS_TO_KEEP = "num_logits_to_keep"
"""Scalar int64 input of every fused graph: how many of the last positions get logits (0: all)."""

LOGITS_ROWS_DIM = "logits_sequence_length"
"""Name of the ``logits`` output's second dimension: ``num_logits_to_keep`` rows, or all when it is 0."""


def add_logits_to_keep(model: Any) -> None:
    """Give the graph a ``num_logits_to_keep`` input (int64 scalar), as optimum's graphs have.

    The final norm's output is sliced along the sequence axis before the LM head, so a prefill that
    needs only the next token's logits runs the head (hidden x vocab) once instead of once per prompt
    position. ``k > 0`` keeps the last ``k`` positions (all of them when ``k`` exceeds the sequence);
    ``k <= 0`` keeps every position. ``logits`` keeps its name and its batch and vocab dims.
    """
    from onnx import TensorProto, helper

    graph = model.graph
    if any(value.name == LOGITS_TO_KEEP for value in graph.input):
        return
    index, head = next(
        ((i, n) for i, n in enumerate(graph.node) if n.op_type == "MatMul" and "logits" in n.output),
        (None, None),
    )
    if head is None:
        raise FusedExportError("the builder's graph has no MatMul that produces `logits`")
    hidden = head.input[0]
    base = "/lm_head/LogitsToKeep"
    zero = f"{base}/zero"
    int64_max = f"{base}/int64_max"
    axis = f"{base}/axis"
    graph.initializer.extend(
        [
            helper.make_tensor(zero, TensorProto.INT64, [1], [0]),
            helper.make_tensor(int64_max, TensorProto.INT64, [1], [np.iinfo(np.int64).max]),
            helper.make_tensor(axis, TensorProto.INT64, [1], [1]),
        ]
    )

    def out(name: str) -> str:
        return f"{base}/{name}/output_0"

    nodes = [
        helper.make_node("Shape", [hidden], [out("Length")], name=f"{base}/Length", start=1, end=2),
        helper.make_node("Reshape", [LOGITS_TO_KEEP, axis], [out("Keep")], name=f"{base}/Keep"),
        helper.make_node("Sub", [out("Length"), out("Keep")], [out("Sub")], name=f"{base}/Sub"),
        helper.make_node("Max", [out("Sub"), zero], [out("Last")], name=f"{base}/Last"),
        helper.make_node("Greater", [out("Keep"), zero], [out("Some")], name=f"{base}/Some"),
        helper.make_node("Where", [out("Some"), out("Last"), zero], [out("Start")], name=f"{base}/Start"),
        helper.make_node(
            "Slice", [hidden, out("Start"), int64_max, axis], [out("Slice")], name=f"{base}/Slice"
        ),
    ]
    head.input[0] = out("Slice")
    ordered = [*graph.node[:index], *nodes, *graph.node[index:]]
    del graph.node[:]
    graph.node.extend(ordered)
    graph.input.append(helper.make_tensor_value_info(LOGITS_TO_KEEP, TensorProto.INT64, []))
    logits = next(value for value in graph.output if value.name == "logits")
    rows = logits.type.tensor_type.shape.dim[1]
    rows.Clear()
    rows.dim_param = LOGITS_ROWS_DIM


def _hidden_of_qkv(model: Any, node: Any, num_heads: int, kv_heads: int) -> int:
    """head_dim from the packed QKV projection feeding a GroupQueryAttention node."""
    from onnx import numpy_helper

    producer = {out: n for n in model.graph.node for out in n.output}
    inits = {i.name: i for i in model.graph.initializer}
    qkv = producer.get(node.input[0])
    while qkv is not None and qkv.op_type not in ("MatMul", "MatMulNBits"):
        qkv = producer.get(qkv.input[0])
    if qkv is None:
        raise FusedExportError("cannot find the QKV projection of the first attention node")
    if qkv.op_type == "MatMul":
        width = numpy_helper.to_array(inits[qkv.input[1]]).shape[1] if qkv.input[1] in inits else None
    else:
        width = next(a.i for a in qkv.attribute if a.name == "N")
    if not width or width % (num_heads + 2 * kv_heads):
        raise FusedExportError(f"QKV width {width} does not split into {num_heads}+2x{kv_heads} heads")
    return width // (num_heads + 2 * kv_heads)


def save_model(model: Any, path: Path) -> None:
    """Save ``model`` as one file (all weights inside), atomically."""
    import onnx

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        onnx.save_model(model, tmp, save_as_external_data=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------
# Graph editing: fp32 MatMuls -> MatMulNBits with exact Q4_1 / Q8_0 blocks


class _Graph:
    """Small helpers over an onnx GraphProto being edited in place."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.graph = model.graph
        self.inits = {init.name: init for init in self.graph.initializer}
        self.producer = {out: node for node in self.graph.node for out in node.output}
        self.consumers: dict[str, list[Any]] = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.new_inits: list[Any] = []
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, name: str) -> np.ndarray:
        from onnx import numpy_helper

        if name not in self._arrays:
            self._arrays[name] = numpy_helper.to_array(self.inits[name])
        return self._arrays[name]

    def add_init(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.new_inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def finish(self, nodes: list[Any]) -> None:
        """Replace the node list (kept in topological order by the caller) and prune initializers."""
        del self.graph.node[:]
        self.graph.node.extend(nodes)
        self.graph.initializer.extend(self.new_inits)
        used = {name for node in self.graph.node for name in node.input}
        used |= {o.name for o in self.graph.output}
        keep = [init for init in self.graph.initializer if init.name in used]
        del self.graph.initializer[:]
        self.graph.initializer.extend(keep)


def quantize_fused_graph(
    fp32_path: Path,
    output: Path,
    body_accuracy: int,
    head_accuracy: int,
    log: Callable[[str], None] = lambda _message: None,
) -> dict[str, Any]:
    """Write a copy of the fused fp32 graph whose weights are the GGUF's blocks, carried over exactly.

    Body projections (``MatMul`` against a ``[K, N]`` initializer, except the LM head) must be Q4_1
    blocks, or :class:`NotQuantizedBlocksError` is raised. The LM head (and, when tied, the embedding)
    becomes 8-bit if it is made of Q8_0 blocks and stays fp32 otherwise. Returns what was done.
    """
    import onnx

    model = onnx.load(str(fp32_path))
    g = _Graph(model)
    head = next((n for n in g.graph.node if n.op_type == "MatMul" and "logits" in n.output), None)
    if head is None:
        raise FusedExportError(f"{fp32_path}: no MatMul produces `logits`")

    nodes: list[Any] = []
    block_sums: dict[str, str] = {}  # input tensor -> its block sums [.., K/32]
    summary: dict[str, Any] = {"q4_1_matmuls": 0, "lm_head": "fp32", "embedding": "fp32"}
    head_blocks = _head_blocks(g, head)
    shared_head = None
    if head_blocks is not None:
        shared_head = _add_8bit(g, "lm_head", head_blocks)

    for node in g.graph.node:
        if node is head and shared_head is not None:
            nodes.extend(_head_nodes(g, node, shared_head, head_blocks.codes.shape, head_accuracy))
            summary["lm_head"] = (
                "q8_0 blocks, MatMulNBits 8-bit, accuracy level 4"
                if head_accuracy == 4
                else "q8_0 blocks, expanded to fp32 when the session loads (constant folding)"
            )
            continue
        if shared_head is not None and _is_tied_embedding(g, node, head):
            nodes.extend(_embedding_nodes(g, node, shared_head, head_blocks.codes.shape))
            summary["embedding"] = "q8_0 blocks, GatherBlockQuantized 8-bit (shares the LM head's codes)"
            continue
        if node.op_type == "Transpose" and shared_head is not None and node.input[0] == head.input[1]:
            continue  # the fp32 tied embedding's transpose; replaced by GatherBlockQuantized
        if node.op_type == "MatMul" and node is not head and node.input[1] in g.inits:
            weight = g.array(node.input[1])
            if weight.ndim == 2:
                blocks = split_q4_1(weight.T, what=node.input[1])
                nodes.extend(_q41_nodes(g, node, blocks, body_accuracy, block_sums))
                summary["q4_1_matmuls"] += 1
                continue
        nodes.append(node)

    if summary["q4_1_matmuls"] == 0:
        raise FusedExportError(f"{fp32_path}: found no projection MatMul to carry over")
    g.finish(nodes)
    _ensure_opset(model, MS_DOMAIN, 1)
    save_model(model, output)
    log(f"wrote {output.name}: {summary}")
    return summary


def _head_blocks(g: _Graph, head: Any) -> Q80Blocks | None:
    if head.input[1] not in g.inits:
        return None
    try:
        return split_q8_0(g.array(head.input[1]).T, what="lm_head")
    except NotQuantizedBlocksError:
        return None


def _add_8bit(g: _Graph, name: str, blocks: Q80Blocks) -> tuple[str, str]:
    n, k = blocks.codes.shape
    codes = (blocks.codes.astype(np.int16) + 128).astype(np.uint8).reshape(n, k // BLOCK, BLOCK)
    return (
        g.add_init(f"{name}.MatMulNBits.qweight", codes),
        g.add_init(f"{name}.MatMulNBits.scales", blocks.scales.astype(np.float32)),
    )


def _head_nodes(
    g: _Graph, node: Any, shared: tuple[str, str], shape: tuple[int, int], accuracy: int
) -> list[Any]:
    """The LM head on the shared 8-bit codes.

    At accuracy level 4 this is an 8-bit MatMulNBits (int8 activations). Otherwise the codes are
    expanded back to the exact fp32 weight by constant nodes (Cast, Mul, Reshape, Transpose) that
    onnxruntime folds once when the session loads, so the file stays small and the product is fp32:
    MatMulNBits' own 8-bit path at accuracy level 1 is a slow reference kernel (~0.5 s per token).
    """
    from onnx import helper

    b_name, s_name = shared
    n, k = shape
    if accuracy == 4:
        return [
            helper.make_node(
                "MatMulNBits",
                [node.input[0], b_name, s_name],
                list(node.output),
                name=node.name + "NBits",
                domain=MS_DOMAIN,
                K=k,
                N=n,
                bits=8,
                block_size=BLOCK,
                accuracy_level=accuracy,
            )
        ]
    base = f"{node.name}/Dequantize"
    offset = g.add_init(f"{b_name}.zero_point", np.array(128, dtype=np.float32))
    scales_shape = g.add_init(f"{s_name}.block_shape", np.array([n, k // BLOCK, 1], dtype=np.int64))
    flat_shape = g.add_init(f"{b_name}.matrix_shape", np.array([n, k], dtype=np.int64))
    return [
        helper.make_node("Cast", [b_name], [f"{base}/Cast/output_0"], name=f"{base}/Cast", to=1),
        helper.make_node(
            "Sub", [f"{base}/Cast/output_0", offset], [f"{base}/Sub/output_0"], name=f"{base}/Sub"
        ),
        helper.make_node(
            "Reshape", [s_name, scales_shape], [f"{base}/Scales/output_0"], name=f"{base}/Scales"
        ),
        helper.make_node(
            "Mul",
            [f"{base}/Sub/output_0", f"{base}/Scales/output_0"],
            [f"{base}/Mul/output_0"],
            name=f"{base}/Mul",
        ),
        helper.make_node(
            "Reshape",
            [f"{base}/Mul/output_0", flat_shape],
            [f"{base}/Reshape/output_0"],
            name=f"{base}/Reshape",
        ),
        helper.make_node(
            "Transpose",
            [f"{base}/Reshape/output_0"],
            [f"{base}/output_0"],
            name=f"{base}/Transpose",
            perm=[1, 0],
        ),
        helper.make_node("MatMul", [node.input[0], f"{base}/output_0"], list(node.output), name=node.name),
    ]


def _is_tied_embedding(g: _Graph, node: Any, head: Any) -> bool:
    if node.op_type != "Gather":
        return False
    source = g.producer.get(node.input[0])
    return source is not None and source.op_type == "Transpose" and source.input[0] == head.input[1]


def _embedding_nodes(g: _Graph, gather: Any, shared: tuple[str, str], shape: tuple[int, int]) -> list[Any]:
    from onnx import helper

    b_name, s_name = shared
    n, k = shape
    flat_shape = g.add_init(f"{b_name}.embedding_shape", np.array([n, k], dtype=np.int64))
    flat = f"{gather.name}/Reshape/output_0"
    return [
        helper.make_node("Reshape", [b_name, flat_shape], [flat], name=f"{gather.name}/Reshape"),
        helper.make_node(
            "GatherBlockQuantized",
            [flat, gather.input[1], s_name],
            list(gather.output),
            name=f"{gather.name}BlockQuantized",
            domain=MS_DOMAIN,
            bits=8,
            block_size=BLOCK,
            gather_axis=0,
            quantize_axis=1,
        ),
    ]


def _q41_nodes(
    g: _Graph, node: Any, blocks: Q41Blocks, accuracy: int, block_sums: dict[str, str]
) -> list[Any]:
    """MatMulNBits on the codes and scales, plus ``block_sums(x) @ minimums`` added to it.

    MatMulNBits without zero points computes ``(code - 8) * scale``; the 8 goes into the side branch:
    ``w = scale * (code - 8) + (minimum + 8 * scale)``.
    """
    from onnx import helper

    n, k = blocks.codes.shape
    base = node.input[1].removesuffix(".weight")
    x = node.input[0]
    out: list[Any] = []
    b_name = g.add_init(f"{base}.q4_1.codes", pack_4bit(blocks.codes))
    s_name = g.add_init(f"{base}.q4_1.scales", blocks.scales)
    offsets = (blocks.mins + np.float32(8) * blocks.scales).astype(np.float32)  # [N, K/32]
    m_name = g.add_init(f"{base}.q4_1.offsets", np.ascontiguousarray(offsets.T))  # [K/32, N]
    if x not in block_sums:
        shape = g.add_init(f"{node.name}/BlockSum/shape", np.array([0, 0, k // BLOCK, BLOCK], dtype=np.int64))
        axes = g.add_init(f"{node.name}/BlockSum/axes", np.array([-1], dtype=np.int64))
        reshaped = f"{node.name}/BlockSum/Reshape/output_0"
        sums = f"{node.name}/BlockSum/output_0"
        out += [
            helper.make_node("Reshape", [x, shape], [reshaped], name=f"{node.name}/BlockSum/Reshape"),
            helper.make_node("ReduceSum", [reshaped, axes], [sums], name=f"{node.name}/BlockSum", keepdims=0),
        ]
        block_sums[x] = sums
    product = f"{node.name}NBits/output_0"
    side = f"{node.name}/Offsets/output_0"
    out += [
        helper.make_node(
            "MatMulNBits",
            [x, b_name, s_name],
            [product],
            name=f"{node.name}NBits",
            domain=MS_DOMAIN,
            K=k,
            N=n,
            bits=4,
            block_size=BLOCK,
            accuracy_level=accuracy,
        ),
        helper.make_node("MatMul", [block_sums[x], m_name], [side], name=f"{node.name}/Offsets"),
        helper.make_node("Add", [product, side], list(node.output), name=f"{node.name}/AddOffsets"),
    ]
    return out


def _ensure_opset(model: Any, domain: str, version: int) -> None:
    if not any(op.domain == domain for op in model.opset_import):
        from onnx import helper

        model.opset_import.append(helper.make_opsetid(domain, version))


# ---------------------------------------------------------------------------------------------
# Building the variants


def build_fused_variants(
    checkpoint: Path,
    onnx_dir: Path,
    variants: Iterable[str],
    *,
    tokenizer_dir: Path | None = None,
    threads: int = 2,
    log: Callable[[str], None] = lambda _message: None,
) -> dict[str, dict[str, Any]]:
    """Write the requested fused variants of ``checkpoint`` into ``onnx_dir``.

    Returns ``{variant: {"file", "settings"} | {"error"}}``: a variant whose weights are not GGUF
    blocks gets an ``error`` instead of a file. The fp32 graph is always built (the others derive
    from it) but only kept if ``fused_fp32`` is asked for.
    """
    variants = list(variants)
    unknown = [v for v in variants if v not in FUSED_FILES]
    if unknown:
        raise FusedExportError(f"unknown fused variants {unknown}; choose from {sorted(FUSED_FILES)}")
    onnx_dir.mkdir(parents=True, exist_ok=True)
    fp32_path = onnx_dir / FUSED_FILES["fused_fp32"]
    tools = build_fp32_graph(checkpoint, fp32_path, tokenizer_dir, threads, log)
    results: dict[str, dict[str, Any]] = {}
    for name in variants:
        if name == "fused_fp32":
            results[name] = {"file": FUSED_FILES[name], "settings": dict(FUSED_SETTINGS[name], tools=tools)}
            continue
        body, head = _ACCURACY[name]
        started = time.monotonic()
        try:
            summary = quantize_fused_graph(fp32_path, onnx_dir / FUSED_FILES[name], body, head, log)
        except NotQuantizedBlocksError as error:
            log(f"{name}: not built: {error}")
            results[name] = {"error": str(error)}
            continue
        log(f"{name} built in {time.monotonic() - started:.1f}s")
        results[name] = {
            "file": FUSED_FILES[name],
            "settings": dict(FUSED_SETTINGS[name], tools=tools, transfer=summary),
        }
    if "fused_fp32" not in variants:
        fp32_path.unlink()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shammah_training.fused", description=__doc__.splitlines()[0]
    )
    parser.add_argument("checkpoint", type=Path, help="a Hugging Face checkpoint directory (transformers 5)")
    parser.add_argument("output", type=Path, help="directory to write the fused .onnx files into")
    parser.add_argument("--variants", default=",".join(FUSED_FILES), help="comma-separated fused variants")
    parser.add_argument("--tokenizer-dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"fused: {message}", file=sys.stderr, flush=True)

    try:
        results = build_fused_variants(
            args.checkpoint,
            args.output,
            [v for v in args.variants.split(",") if v],
            tokenizer_dir=args.tokenizer_dir,
            threads=args.threads,
            log=log,
        )
    except FusedExportError as error:
        print(f"fused: error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(results, indent=2))
    return 0 if all("file" in entry for entry in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

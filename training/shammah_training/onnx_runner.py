"""A minimal greedy decoder over an onnx-community style causal-LM graph, for checks and tests.

The graph takes ``input_ids``, ``attention_mask``, ``position_ids`` and ``past_key_values.N.key/value``
and returns ``logits`` and ``present.N.key/value``; an empty past (length 0) starts a sequence. A graph
with a ``num_logits_to_keep`` / ``logits_to_keep`` input (the fused graphs) is fed 0, every position's
logits, unless the caller asks for fewer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PAST_NAME = re.compile(r"^past_key_values\.(\d+)\.(key|value)$")
LOGITS_TO_KEEP_NAMES = ("num_logits_to_keep", "logits_to_keep")


@dataclass(frozen=True)
class CacheShape:
    """Shape of one layer's key or value cache: ``[batch, kv_heads, length, head_dim]``."""

    layers: int
    kv_heads: int
    head_dim: int


class OnnxCausalLM:
    """Runs one ONNX decoder graph with onnxruntime on the CPU."""

    def __init__(self, model_path: Path, threads: int = 2) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        layers, kv_heads, head_dim = 0, 0, 0
        for spec in self.session.get_inputs():
            match = PAST_NAME.match(spec.name)
            if match:
                layers = max(layers, int(match.group(1)) + 1)
                kv_heads, head_dim = spec.shape[1], spec.shape[3]
        if not (isinstance(kv_heads, int) and isinstance(head_dim, int)):
            raise ValueError(
                f"{model_path}: past_key_values inputs need static head dims, got "
                f"[{kv_heads}, {head_dim}]; re-export with optimum's text-generation-with-past task"
            )
        self.cache = CacheShape(layers, kv_heads, head_dim)
        self.logits_to_keep_input = next((n for n in LOGITS_TO_KEEP_NAMES if n in self.input_names), None)

    def empty_past(self) -> list[np.ndarray]:
        """Return a zero-length cache: per layer a key and a value of shape [1, kv_heads, 0, head_dim]."""
        shape = (1, self.cache.kv_heads, 0, self.cache.head_dim)
        return [np.zeros(shape, dtype=np.float32) for _ in range(2 * self.cache.layers)]

    def forward(
        self, input_ids: list[int], past: list[np.ndarray] | None = None, logits_to_keep: int = 0
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Run ``input_ids`` after ``past``; return logits [seq, vocab] and the new cache.

        ``logits_to_keep`` > 0 asks for the last that many rows only ([k, vocab]); a graph without
        a logits-to-keep input returns every row regardless.
        """
        past = self.empty_past() if past is None else past
        past_length = past[0].shape[2]
        total = past_length + len(input_ids)
        feeds = {
            "input_ids": np.asarray([input_ids], dtype=np.int64),
            "attention_mask": np.ones((1, total), dtype=np.int64),
            "position_ids": np.arange(past_length, total, dtype=np.int64)[None, :],
        }
        for layer in range(self.cache.layers):
            feeds[f"past_key_values.{layer}.key"] = past[2 * layer]
            feeds[f"past_key_values.{layer}.value"] = past[2 * layer + 1]
        if self.logits_to_keep_input is not None:
            feeds[self.logits_to_keep_input] = np.array(logits_to_keep, dtype=np.int64)
        feeds = {name: value for name, value in feeds.items() if name in self.input_names}
        outputs = self.session.run(None, feeds)
        named = dict(zip(self.output_names, outputs, strict=True))
        present = []
        for layer in range(self.cache.layers):
            present += [named[f"present.{layer}.key"], named[f"present.{layer}.value"]]
        return named["logits"][0], present

    def greedy(
        self,
        input_ids: list[int],
        max_new_tokens: int,
        eos_token_ids: tuple[int, ...] = (),
        use_cache: bool = True,
    ) -> list[int]:
        """Greedy-decode up to ``max_new_tokens`` new ids, stopping after an EOS id."""
        generated: list[int] = []
        past = None
        step_ids = list(input_ids)
        for _ in range(max_new_tokens):
            if use_cache:
                logits, past = self.forward(step_ids, past, logits_to_keep=1)
            else:
                logits, _ = self.forward(list(input_ids) + generated, logits_to_keep=1)
            token = int(np.argmax(logits[-1]))
            generated.append(token)
            if token in eos_token_ids:
                break
            step_ids = [token]
        return generated

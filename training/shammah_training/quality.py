"""Quality of an ONNX variant against the PyTorch model of the same source weights.

Teacher forcing over a fixed conversation (a prompt and a written answer, 600+ positions for a
real tokenizer): the graph sees the prompt in one pass, then the answer's first tokens one at a time
on its KV cache (the decode path a runtime takes), then the rest in one more pass. Its logits at every
position are compared with PyTorch's:

* ``top1_agreement``: how often both pick the same next token;
* ``mean_kl``: mean KL(PyTorch || graph) of the next-token distributions, in nats;
* ``max_abs_diff``: the largest logit difference anywhere.

The bar a variant must pass before it is installed (speed only counts at equal quality):

* an fp32 graph (``fp32``, ``fused_fp32``) and the exact Q4_1 transfer (``fused_q41_exact``): max
  logit difference below 1e-3;
* every other quantized graph: top-1 agreement >= 96% and mean KL <= 0.005 (llama.cpp on the same
  Q4_1 GGUF: 96.8% and 0.0026).

Example::

    training/.venv/bin/python -m shammah_training.quality MODEL_DIR --variant fused_q41 \\
        --reference path/to/model.Q4_1.gguf --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shammah_training.fused import FUSED_FILES

VARIANT_FILES = {"fp32": "model.onnx", "q4": "model_q4.onnx", "int8": "model_int8.onnx", **FUSED_FILES}
"""Variant name -> file under ``onnx/`` (the manifest, when there is one, takes precedence)."""

FP32_MAX_ABS_DIFF = 1e-3
MIN_TOP1_AGREEMENT = 0.96
MAX_MEAN_KL = 0.005
EXACT_VARIANTS = frozenset({"fp32", "fused_fp32", "fused_q41_exact"})
"""Variants that must match PyTorch to float rounding; the rest are held to the quantized bar."""

BARS = {
    "exact_variants": sorted(EXACT_VARIANTS),
    "exact_max_abs_diff": FP32_MAX_ABS_DIFF,
    "min_top1_agreement": MIN_TOP1_AGREEMENT,
    "max_mean_kl": MAX_MEAN_KL,
}
"""The bars, as recorded in a model's manifest."""

DECODE_STEPS = 32
"""Answer tokens fed one at a time on the KV cache, after the prompt's single pass."""

QUALITY_MESSAGES = (
    {
        "role": "user",
        "content": (
            "I maintain a small Python service that reads orders from a CSV export, totals them per "
            "customer, and writes a JSON report. It has become slow and a colleague says the loop is "
            "quadratic. Here is the core of it:\n\n"
            "```python\n"
            "def totals(rows):\n"
            "    customers = []\n"
            "    result = []\n"
            "    for row in rows:\n"
            "        if row['customer'] not in customers:\n"
            "            customers.append(row['customer'])\n"
            "            total = 0\n"
            "            for other in rows:\n"
            "                if other['customer'] == row['customer']:\n"
            "                    total += float(other['amount'])\n"
            "            result.append({'customer': row['customer'], 'total': total})\n"
            "    return result\n"
            "```\n\n"
            "Can you explain what is slow, rewrite it, and tell me how to test that the new version "
            "gives the same answers?"
        ),
    },
    {
        "role": "assistant",
        "content": (
            "Your colleague is right. For every row, the function checks whether the customer is "
            "already in a list, which scans the list, and for every new customer it walks through all "
            "the rows again to add up the amounts. With n rows and c customers that is about n times c "
            "steps for the inner loop, plus the membership tests on a growing list. When most rows "
            "belong to different customers, c is close to n and the work grows with the square of the "
            "file size: ten times more orders take a hundred times longer.\n\n"
            "The fix is to make one pass over the rows and keep running totals in a dictionary, which "
            "finds a key in constant time on average:\n\n"
            "```python\n"
            "from collections import defaultdict\n"
            "from decimal import Decimal\n\n\n"
            "def totals(rows):\n"
            "    sums = defaultdict(Decimal)\n"
            "    for row in rows:\n"
            "        sums[row['customer']] += Decimal(row['amount'])\n"
            "    return [{'customer': name, 'total': total} for name, total in sums.items()]\n"
            "```\n\n"
            "A dictionary remembers insertion order, so customers come out in the order they first "
            "appear, exactly as before. I used Decimal instead of float because money should not pick "
            "up rounding errors such as 0.1 + 0.2 giving 0.30000000000000004.\n\n"
            "To test that nothing changed, keep the old function under a new name and compare both on "
            "real and generated data:\n\n"
            "```python\n"
            "import random\n\n\n"
            "def test_same_totals_as_before():\n"
            "    rng = random.Random(7)\n"
            "    rows = [\n"
            "        {'customer': f'c{rng.randrange(50)}', 'amount': f'{rng.randrange(100, 9999) / 100}'}\n"
            "        for _ in range(2000)\n"
            "    ]\n"
            "    old = old_totals(rows)\n"
            "    new = totals(rows)\n"
            "    assert [r['customer'] for r in new] == [r['customer'] for r in old]\n"
            "    for a, b in zip(old, new):\n"
            "        assert abs(a['total'] - float(b['total'])) < 1e-6\n"
            "```"
        ),
    },
)


@dataclass(frozen=True)
class Quality:
    """How closely a variant's logits follow PyTorch's over ``positions`` teacher-forced positions."""

    positions: int
    top1_agreement: float
    mean_kl: float
    max_abs_diff: float
    bar: str
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(reference: np.ndarray, other: np.ndarray) -> dict[str, float | int]:
    """Top-1 agreement, mean KL(reference || other) and max |difference| of two [positions, vocab] arrays."""
    if reference.shape != other.shape:
        raise ValueError(f"logits shapes differ: {reference.shape} vs {other.shape}")

    def log_softmax(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64)
        x = x - x.max(axis=-1, keepdims=True)
        return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))

    p, q = log_softmax(reference), log_softmax(other)
    kl = np.maximum((np.exp(p) * (p - q)).sum(axis=-1), 0.0)
    return {
        "positions": int(reference.shape[0]),
        "top1_agreement": round(float((reference.argmax(-1) == other.argmax(-1)).mean()), 4),
        "mean_kl": round(float(kl.mean()), 6),
        "max_abs_diff": round(float(np.abs(reference.astype(np.float64) - other).max()), 6),
    }


def judge(variant: str, figures: dict[str, float | int]) -> Quality:
    """Apply the variant's bar to ``figures`` (from :func:`compare`)."""
    if variant in EXACT_VARIANTS:
        bar = f"max_abs_diff < {FP32_MAX_ABS_DIFF:g}"
        passed = figures["max_abs_diff"] < FP32_MAX_ABS_DIFF
    else:
        bar = f"top1_agreement >= {MIN_TOP1_AGREEMENT:g} and mean_kl <= {MAX_MEAN_KL:g}"
        passed = figures["top1_agreement"] >= MIN_TOP1_AGREEMENT and figures["mean_kl"] <= MAX_MEAN_KL
    return Quality(bar=bar, passed=bool(passed), **figures)  # type: ignore[arg-type]


def quality_ids(
    model_dir: Path, max_positions: int | None = None, template: Any = None
) -> tuple[list[int], int]:
    """The quality conversation as the model's tokenizer.json encodes its chat template rendering.

    Returns the ids, cut to ``max_positions`` (default: the model's ``max_position_embeddings``), and
    the prompt length: where the answer starts (at most half the ids, so both parts are measured).
    ``template`` is a transformers tokenizer with the chat template, loaded from ``model_dir`` if None.
    """
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    template = template or AutoTokenizer.from_pretrained(str(model_dir))
    raw = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    text = template.apply_chat_template(list(QUALITY_MESSAGES), tokenize=False)
    prompt = template.apply_chat_template(
        list(QUALITY_MESSAGES[:1]), add_generation_prompt=True, tokenize=False
    )
    ids = raw.encode(text, add_special_tokens=False).ids
    if max_positions is None:
        config = json.loads((model_dir / "config.json").read_text())
        max_positions = config.get("max_position_embeddings") or len(ids)
    ids = ids[:max_positions]
    prompt_length = len(raw.encode(prompt, add_special_tokens=False).ids)
    return ids, min(prompt_length, max(1, len(ids) // 2))


def load_reference(reference: Path, threads: int = 2) -> Any:
    """A PyTorch causal LM (fp32, eval mode) from a checkpoint directory or a GGUF file."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(threads)
    reference = Path(reference)
    if reference.is_file() and reference.suffix == ".gguf":
        model = AutoModelForCausalLM.from_pretrained(
            str(reference.parent), gguf_file=reference.name, dtype=torch.float32
        )
    else:
        model = AutoModelForCausalLM.from_pretrained(str(reference), dtype=torch.float32)
    return model.eval()


def reference_logits(model: Any, ids: Sequence[int]) -> np.ndarray:
    """PyTorch's logits ``[positions, vocab]`` for ``ids`` in one pass."""
    import torch

    with torch.no_grad():
        return model(torch.tensor([list(ids)])).logits[0].float().numpy()


def onnx_logits(model_path: Path, ids: Sequence[int], prompt: int, threads: int = 2) -> np.ndarray:
    """The graph's logits for ``ids``: the prompt in one pass, DECODE_STEPS single tokens, then the rest."""
    from shammah_training.onnx_runner import OnnxCausalLM

    model = OnnxCausalLM(model_path, threads)
    ids = list(ids)
    chunks = [ids[:prompt]]
    chunks += [[token] for token in ids[prompt : prompt + DECODE_STEPS]]
    if len(ids) > prompt + DECODE_STEPS:
        chunks.append(ids[prompt + DECODE_STEPS :])
    past, pieces = None, []
    for chunk in chunks:
        logits, past = model.forward(chunk, past)
        pieces.append(logits)
    return np.concatenate(pieces)


def variant_file(model_dir: Path, variant: str) -> Path:
    """The .onnx file of ``variant`` in ``model_dir``."""
    try:
        manifest = json.loads((model_dir / "shammah_manifest.json").read_text())
        return model_dir / manifest["variants"][variant]["file"]
    except (OSError, KeyError, json.JSONDecodeError):
        if variant not in VARIANT_FILES:
            raise ValueError(f"unknown variant {variant!r}; choose from {sorted(VARIANT_FILES)}") from None
        return model_dir / "onnx" / VARIANT_FILES[variant]


class QualityCheck:
    """Computes the reference logits once, then measures any number of variants against them."""

    def __init__(
        self,
        model_dir: Path,
        reference: Any,
        threads: int = 2,
        max_positions: int | None = None,
        template: Any = None,
    ):
        """``reference`` is a checkpoint directory, a GGUF file or an already loaded PyTorch model;
        ``template`` an already loaded transformers tokenizer of the model (else it is loaded)."""
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.ids, self.prompt = quality_ids(self.model_dir, max_positions, template)
        model = load_reference(reference, threads) if isinstance(reference, (str, Path)) else reference
        self.reference = reference_logits(model, self.ids)

    def measure(self, variant: str, path: Path | None = None) -> Quality:
        """Figures and verdict for ``variant`` (its file in the model directory, or ``path``)."""
        path = path or variant_file(self.model_dir, variant)
        return judge(variant, compare(self.reference, onnx_logits(path, self.ids, self.prompt, self.threads)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shammah_training.quality",
        description="Teacher-forced quality of an ONNX variant against PyTorch (top-1, mean KL, max diff).",
    )
    parser.add_argument("model_dir", type=Path, help="an onnx-community model directory")
    parser.add_argument(
        "--variant", action="append", required=True, help=f"repeatable; one of {sorted(VARIANT_FILES)}"
    )
    parser.add_argument("--reference", type=Path, required=True, help="checkpoint directory or .gguf file")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-positions", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print one JSON object keyed by variant")
    args = parser.parse_args(argv)

    started = time.monotonic()
    try:
        files = {variant: variant_file(args.model_dir, variant) for variant in args.variant}
        missing = [str(path) for path in files.values() if not path.is_file()]
        if missing:
            raise ValueError(f"no such graph: {', '.join(missing)}")
        if not args.reference.exists():
            raise ValueError(
                f"reference {str(args.reference)!r} does not exist; pass a checkpoint dir or .gguf"
            )
    except ValueError as error:
        print(f"quality: error: {error}", file=sys.stderr)
        return 1
    check = QualityCheck(args.model_dir, args.reference, args.threads, args.max_positions)
    results = {}
    for variant, path in files.items():
        quality = check.measure(variant, path)
        results[variant] = quality.as_dict()
        if not args.json:
            print(
                f"{variant}: top-1 {quality.top1_agreement:.2%}, mean KL {quality.mean_kl:.5f}, "
                f"max diff {quality.max_abs_diff:.5f} over {quality.positions} positions -> "
                f"{'pass' if quality.passed else 'FAIL'} ({quality.bar})"
            )
    if args.json:
        print(json.dumps(results, indent=2))
    print(f"quality: done in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0 if all(r["passed"] for r in results.values()) else 2


if __name__ == "__main__":
    raise SystemExit(main())

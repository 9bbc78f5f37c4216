"""Tiny random-weight models for fast tests, converted the same way as real ones.

Two families, each a few hundred kilobytes:

* ``tiny-llama``: Llama, 2 layers, hidden 64, 4 heads over 2 KV heads (GQA), tied embeddings.
* ``tiny-qwen2``: Qwen2, 3 layers, hidden 64, 4 heads over 2 KV heads, q/k/v biases, untied head.

Both share a byte-level BPE tokenizer trained here with ``tokenizers`` (vocab 384) whose first ids are
``<|endoftext|>`` = 0, ``<|im_start|>`` = 1 and ``<|im_end|>`` = 2, like SmolLM2's, and a ChatML
template. Everything is seeded, so a rerun rebuilds the same checkpoints (and skips the conversion).

Each model directory gets the onnx-community layout (``onnx/model.onnx`` fp32 and
``onnx/model_q4.onnx``) plus ``reference.json``: a fixed prompt's ids, PyTorch's logits at every
position, and PyTorch's greedy continuation with and without the KV cache.

Usage::

    training/.venv/bin/python -m shammah_training.tiny_models [--out packages/core-inference/fixtures]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shammah_training.convert import ConvertOptions, convert, read_manifest
from shammah_training.files import publish_dir, sha256_tree, staging_dir, write_json

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO_ROOT / "packages" / "core-inference" / "fixtures"
SEED = 20240611
VOCAB_SIZE = 384
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
EXPECT_TOKENS = {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2}
REFERENCE_FORMAT = "shammah-tiny-reference/1"
GREEDY_TOKENS = 16
PROMPT_MESSAGES = [
    {"role": "system", "content": "You are a tiny test model."},
    {"role": "user", "content": "Hello! What is the capital of France?"},
]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# A small, fixed corpus: the tokenizer only needs merges that make prompts a sensible length.
CORPUS = [
    "The capital of France is Paris. The capital of Italy is Rome. The capital of Spain is Madrid.",
    "Hello! How can I help you today? I am a helpful assistant, and I answer questions.",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n",
    "const answer = await model.generate({ prompt, maxTokens: 16 });\n",
    "You are a tiny test model. What is 2 + 2? Two plus two is four.",
    "system\nuser\nassistant\n",
    "Rivers carry water from mountains to the sea; along the way they shape valleys and feed farms.",
]


@dataclass(frozen=True)
class TinySpec:
    """One tiny model family."""

    name: str
    model_type: str
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    rope_theta: float
    tie_embeddings: bool


TINY_MODELS = (
    TinySpec("tiny-llama", "llama", 2, 64, 128, 4, 2, 10000.0, tie_embeddings=True),
    TinySpec("tiny-qwen2", "qwen2", 3, 64, 96, 4, 2, 1000000.0, tie_embeddings=False),
)


def train_tokenizer() -> Any:
    """Train the shared byte-level BPE tokenizer and wrap it as a transformers 5 tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        unk_token="<|endoftext|>",
        pad_token="<|im_end|>",
        model_max_length=512,
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def build_checkpoint(spec: TinySpec, directory: Path, seed: int = SEED) -> None:
    """Write a seeded random-weight checkpoint of ``spec`` (with tokenizer) into ``directory``."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig, Qwen2Config

    tokenizer = train_tokenizer()
    common = {
        "vocab_size": len(tokenizer),
        "hidden_size": spec.hidden,
        "intermediate_size": spec.intermediate,
        "num_hidden_layers": spec.layers,
        "num_attention_heads": spec.heads,
        "num_key_value_heads": spec.kv_heads,
        "head_dim": spec.hidden // spec.heads,
        "max_position_embeddings": 512,
        "rope_parameters": {"rope_type": "default", "rope_theta": spec.rope_theta},
        "tie_word_embeddings": spec.tie_embeddings,
        "rms_norm_eps": 1e-6,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "pad_token_id": 2,
        # Wider than the usual 0.02 so logits are spread out and greedy picks are not near-ties.
        "initializer_range": 0.15,
    }
    config = LlamaConfig(**common) if spec.model_type == "llama" else Qwen2Config(**common)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            # Norm weights start at 1 and biases at 0; perturb them so a mistake there shows.
            if name.endswith("norm.weight"):
                parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator))
            elif name.endswith(".bias"):
                parameter.copy_(0.1 * torch.randn(parameter.shape, generator=generator))
    model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=2, pad_token_id=2)
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))


def build_reference(checkpoint: Path, max_new_tokens: int = GREEDY_TOKENS) -> dict[str, Any]:
    """PyTorch's answers for the fixed prompt: logits at every position and greedy continuations."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
    text = tokenizer.apply_chat_template(PROMPT_MESSAGES, add_generation_prompt=True, tokenize=False)
    input_ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    ids = torch.tensor([input_ids])
    with torch.no_grad():
        logits = model(ids).logits[0]
    greedy = {}
    for key, use_cache in (("with_cache", True), ("without_cache", False)):
        with torch.no_grad():
            out = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=max_new_tokens,
                min_new_tokens=max_new_tokens,
                do_sample=False,
                use_cache=use_cache,
                eos_token_id=None,
                pad_token_id=2,
            )
        greedy[key] = out[0, len(input_ids) :].tolist()
    return {
        "format": REFERENCE_FORMAT,
        "prompt": {"messages": PROMPT_MESSAGES, "text": text, "input_ids": input_ids},
        "logits": {
            "shape": list(logits.shape),
            "positions": list(range(len(input_ids))),
            "values": [[round(float(v), 5) for v in row] for row in logits],
        },
        "greedy": {
            "max_new_tokens": max_new_tokens,
            "stops_at_eos": False,
            "with_cache": greedy["with_cache"],
            "without_cache": greedy["without_cache"],
            "text": tokenizer.decode(greedy["with_cache"], skip_special_tokens=False),
        },
        "tolerance": {"logits_max_abs_diff": 1e-4},
    }


def generate(
    spec: TinySpec, output_root: Path, force: bool = False, options: ConvertOptions | None = None
) -> Path:
    """Build, convert and write one tiny model directory under ``output_root``; return it."""
    destination = output_root / spec.name
    with tempfile.TemporaryDirectory(prefix=f"shammah-{spec.name}-") as tmp:
        checkpoint = Path(tmp) / "checkpoint"
        build_checkpoint(spec, checkpoint)
        existing = read_manifest(destination)
        if (
            not force
            and existing
            and existing.get("source", {}).get("sha256") == sha256_tree(checkpoint)
            and (destination / "reference.json").exists()
        ):
            print(f"tiny-models: {destination} is up to date", file=sys.stderr)
            return destination
        options = options or ConvertOptions()
        options.variants = ("q4",)
        options.check_contains = None
        options.expect_tokens = dict(EXPECT_TOKENS)
        options.max_new_tokens = GREEDY_TOKENS
        options.force = True
        with staging_dir(destination) as staged:
            model_dir = staged / "model"
            manifest = convert(checkpoint, model_dir, options)
            manifest["source"]["path"] = f"generated by shammah_training.tiny_models (seed {SEED})"
            manifest.pop("timings_seconds", None)
            write_json(model_dir / "shammah_manifest.json", manifest)
            write_json(model_dir / "reference.json", build_reference(checkpoint), compact=True)
            publish_dir(model_dir, destination)
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shammah_training.tiny_models", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT}")
    parser.add_argument("--only", choices=[spec.name for spec in TINY_MODELS], default=None)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    for spec in TINY_MODELS:
        if args.only and spec.name != args.only:
            continue
        started = time.monotonic()
        path = generate(spec, args.out, force=args.force)
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        print(f"{path}\t{size / 1e3:.0f} kB\t{time.monotonic() - started:.1f}s")
        summary = json.loads((path / "reference.json").read_text())["greedy"]
        print(f"  greedy: {summary['with_cache']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

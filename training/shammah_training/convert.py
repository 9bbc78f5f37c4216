"""Convert a Hugging Face checkpoint directory or a GGUF file into an onnx-community model directory.

Output layout::

    config.json  generation_config.json  shammah_manifest.json
    tokenizer.json  tokenizer_config.json (with chat_template)  chat_template.jinja
    special_tokens_map.json
    onnx/model.onnx  onnx/model_q4.onnx  onnx/model_int8.onnx
    onnx/model_fused_fp32.onnx  onnx/model_fused_q41.onnx  onnx/model_fused_q41_exact.onnx

The fused graphs (GroupQueryAttention, no ``position_ids``; see ``fused.py``) come from
onnxruntime-genai's model builder, and the two q41 ones carry a Q4_1 GGUF's blocks over exactly.
Every variant's quality is measured against the PyTorch model of the same weights (``quality.py``)
and recorded in the manifest; a fused variant that fails its bar is not installed, and for a GGUF
source a failing ``fused_q41`` (the fast one) fails the conversion.

Two venvs take part: this one (transformers 5) dequantizes a GGUF and writes the tokenizer files,
and ``training/.venv-export`` (optimum-onnx, transformers 4.57) exports the graph, run as a
subprocess. The directory is built beside the destination and renamed into place at the end, so a
killed run never leaves a directory that looks complete.

Example::

    training/.venv/bin/python -m shammah_training.convert model.Q4_1.gguf out/my-model \\
        --expect-token '<|im_start|>=1' --expect-token '<|im_end|>=2'
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from shammah_training import CONVERTER_VERSION
from shammah_training.files import (
    publish_dir,
    remove_stale_temp_dirs,
    sha256_file,
    sha256_tree,
    staging_dir,
    write_json,
)
from shammah_training.fused import FUSED_FILES, build_fused_variants
from shammah_training.quantize import QUANTIZERS, VARIANT_FILES
from shammah_training.tokenizer_files import load_tokenizer, token_id, write_tokenizer_files

TRAINING_DIR = Path(__file__).resolve().parents[1]
DEFAULT_EXPORT_PYTHON = TRAINING_DIR / ".venv-export" / "bin" / "python"
MANIFEST = "shammah_manifest.json"
MANIFEST_FORMAT = "shammah-onnx-model/1"

FRANCE_PROMPT = "What is the capital of France?"
# Teacher-forced text for comparing quantized variants with fp32 (judge quality over many
# positions, never by one greedy string).
QUALITY_TEXT = (
    "Write a short paragraph about rivers.",
    "Rivers carry water from mountains and hills down to lakes and the sea. Along the way they shape "
    "valleys, feed farms and forests, and give towns water, food and a road for boats. Many of the "
    "oldest cities in the world grew up on the banks of a river.",
)


class ConversionError(RuntimeError):
    """A conversion step failed; the message says which and what to do."""


@dataclass
class ConvertOptions:
    """What to build and which checks must pass."""

    variants: tuple[str, ...] = ("q4", "int8", *FUSED_FILES)
    check_prompt: str | None = FRANCE_PROMPT
    check_contains: str | None = "Paris"
    expect_tokens: dict[str, int] = field(default_factory=dict)
    max_new_tokens: int = 32
    export_python: Path = field(
        default_factory=lambda: Path(os.environ.get("SHAMMAH_EXPORT_PYTHON", DEFAULT_EXPORT_PYTHON))
    )
    force: bool = False
    threads: int = 2
    log: Callable[[str], None] = field(
        default=lambda message: print(f"convert: {message}", file=sys.stderr, flush=True)
    )


@dataclass
class Source:
    """The thing being converted: a GGUF file or a checkpoint directory."""

    path: Path
    kind: str  # "gguf" or "checkpoint"
    sha256: str

    @classmethod
    def resolve(cls, path: Path) -> Source:
        path = path.expanduser().resolve()
        if path.is_file() and path.suffix == ".gguf":
            return cls(path, "gguf", sha256_file(path))
        if path.is_dir() and (path / "config.json").exists():
            return cls(path, "checkpoint", sha256_tree(path))
        raise ConversionError(
            f"source {str(path)!r} is neither a .gguf file nor a directory with a config.json; "
            "pass a GGUF file or a Hugging Face checkpoint directory"
        )


def convert(source_path: Path, output: Path, options: ConvertOptions | None = None) -> dict[str, Any]:
    """Convert ``source_path`` into the model directory ``output``; return its manifest.

    A directory whose manifest already records the same source, converter version and variants
    is left as it is (pass ``force`` to rebuild).
    """
    options = options or ConvertOptions()
    log = options.log
    started = time.monotonic()
    source = Source.resolve(Path(source_path))
    output = Path(output).expanduser().resolve()
    unknown = [v for v in options.variants if v not in QUANTIZERS and v not in FUSED_FILES]
    if unknown:
        known = sorted({*QUANTIZERS, *FUSED_FILES})
        raise ConversionError(f"unknown variants {unknown}; choose from {known}")

    existing = read_manifest(output)
    if existing and not options.force and manifest_matches(existing, source, options):
        log(f"{output} is up to date (source sha256 {source.sha256[:12]}…)")
        return existing

    remove_stale_temp_dirs(output.parent, output.name)
    with staging_dir(output) as tmp:
        work = tmp / ".work"
        work.mkdir()
        (tmp / "onnx").mkdir()
        timings: dict[str, float] = {}

        def step(name: str, since: float) -> float:
            now = time.monotonic()
            timings[name] = round(now - since, 2)
            log(f"{name} done in {now - since:.1f}s")
            return now

        mark = time.monotonic()
        log(f"reading {source.kind} {source.path}")
        checkpoint, config, generation = prepare_checkpoint(source, work / "checkpoint", options)
        mark = step("checkpoint", mark)

        export_info = export_graph(checkpoint, work / "export", tmp / "onnx", options)
        mark = step("export", mark)

        tokenizer = load_tokenizer(source.path)
        tokenizer_config = write_tokenizer_files(
            tokenizer,
            tmp,
            work / "tokenizer",
            model_max_length=config.get("max_position_embeddings"),
        )
        write_model_configs(tmp, config, generation, tokenizer_config, log)
        mark = step("metadata", mark)

        variants = {"fp32": variant_entry(tmp, "fp32", {})}
        for name in options.variants:
            if name not in QUANTIZERS:
                continue
            quantize, settings = QUANTIZERS[name]
            quantize(tmp / "onnx" / VARIANT_FILES["fp32"], tmp / "onnx" / VARIANT_FILES[name])
            variants[name] = variant_entry(tmp, name, settings)
            mark = step(f"quantize {name}", mark)

        rejected: dict[str, Any] = {}
        fused = [name for name in options.variants if name in FUSED_FILES]
        if fused:
            built = build_fused_variants(
                checkpoint, tmp / "onnx", fused, tokenizer_dir=tmp, threads=options.threads, log=log
            )
            for name, result in built.items():
                if "file" in result:
                    variants[name] = variant_entry(tmp, name, result["settings"])
                else:
                    rejected[name] = {"reason": result["error"]}
            mark = step("fused variants", mark)

        quality = check_quality(
            tmp, checkpoint, options, source, tokenizer=tokenizer, variants=variants, rejected=rejected
        )
        mark = step("quality", mark)

        checks = run_checks(tmp, tokenizer, options, variants)
        checks["quality"] = quality
        mark = step("checks", mark)

        shutil.rmtree(work)
        manifest = {
            "format": MANIFEST_FORMAT,
            "converter_version": CONVERTER_VERSION,
            "source": {
                "kind": source.kind,
                "name": source.path.name,
                "path": str(source.path),
                "sha256": source.sha256,
                # With the sha256, how base.locate_source finds the file once this path is gone.
                **({"bytes": source.path.stat().st_size} if source.kind == "gguf" else {}),
            },
            "model": {
                key: config.get(key)
                for key in (
                    "model_type",
                    "num_hidden_layers",
                    "num_attention_heads",
                    "num_key_value_heads",
                    "head_dim",
                    "hidden_size",
                    "vocab_size",
                    "max_position_embeddings",
                    "tie_word_embeddings",
                )
            },
            "variants": variants,
            **({"rejected_variants": rejected} if rejected else {}),
            "checks": checks,
            "tools": tool_versions(export_info),
            "timings_seconds": timings,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        write_json(tmp / MANIFEST, manifest)
        publish_dir(tmp, output)
    log(f"wrote {output} in {time.monotonic() - started:.1f}s")
    return manifest


def read_manifest(model_dir: Path) -> dict[str, Any] | None:
    """Return the manifest of a finished model directory, or None."""
    try:
        return json.loads((model_dir / MANIFEST).read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def manifest_matches(manifest: dict[str, Any], source: Source, options: ConvertOptions) -> bool:
    """Whether ``manifest`` describes what converting ``source`` with ``options`` would produce."""
    return (
        manifest.get("format") == MANIFEST_FORMAT
        and manifest.get("converter_version") == CONVERTER_VERSION
        and manifest.get("source", {}).get("sha256") == source.sha256
        and {*manifest.get("variants", {}), *manifest.get("rejected_variants", {})}
        == {"fp32", *options.variants}
    )


def prepare_checkpoint(
    source: Source, scratch: Path, options: ConvertOptions
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """Return a checkpoint directory to export, with its transformers 5 config and generation config."""
    import torch
    from transformers import AutoConfig, GenerationConfig

    torch.set_num_threads(options.threads)
    scratch.mkdir(parents=True)
    if source.kind == "gguf":
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(
            str(source.path.parent), gguf_file=source.path.name, dtype=torch.float32
        )
        # save_pretrained refuses a model still marked as GGUF-quantized; its weights are already
        # dequantized to plain float tensors at this point.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(scratch))
        del model
        checkpoint = scratch
    else:
        config = AutoConfig.from_pretrained(str(source.path))
        config.save_pretrained(str(scratch))
        try:
            generation = GenerationConfig.from_pretrained(str(source.path))
        except OSError:
            generation = GenerationConfig.from_model_config(config)
        generation.save_pretrained(str(scratch))
        checkpoint = source.path
    config_dict = json.loads((scratch / "config.json").read_text())
    generation_dict = json.loads((scratch / "generation_config.json").read_text())
    return checkpoint, config_dict, generation_dict


def export_graph(checkpoint: Path, scratch: Path, onnx_dir: Path, options: ConvertOptions) -> dict[str, Any]:
    """Export ``checkpoint`` with optimum in the export venv; move the graph into ``onnx_dir``."""
    python = options.export_python
    if not Path(python).exists():
        raise ConversionError(
            f"export venv python {str(python)!r} not found; run `bash scripts/setup-python.sh` "
            "(or set SHAMMAH_EXPORT_PYTHON)"
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TRAINING_DIR), env.get("PYTHONPATH")]))
    env.setdefault("OMP_NUM_THREADS", str(options.threads))
    env["HF_HUB_OFFLINE"] = "1"
    command = [str(python), "-m", "shammah_training.export_onnx", str(checkpoint), str(scratch)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ConversionError(
            f"ONNX export failed (exit {result.returncode}): {' '.join(command)}\n{result.stderr[-4000:]}"
        )
    moved = False
    for entry in scratch.iterdir():
        if entry.name.startswith("model.onnx"):  # model.onnx and, above 2 GB, model.onnx_data
            shutil.move(str(entry), onnx_dir / entry.name)
            moved = True
    if not moved:
        raise ConversionError(f"optimum wrote no model.onnx into {scratch}; stderr:\n{result.stderr}")
    return json.loads((scratch / "export_info.json").read_text())


def write_model_configs(
    output: Path,
    config: dict[str, Any],
    generation: dict[str, Any],
    tokenizer_config: dict[str, Any],
    log: Callable[[str], None],
) -> None:
    """Write config.json and generation_config.json, with eos ids that match the tokenizer."""
    config = dict(config)
    config.pop("_model_name_or_path", None)
    config.pop("quantization_config", None)
    rope = config.get("rope_parameters")
    if isinstance(rope, dict) and "rope_theta" in rope:
        # transformers 4 and most runtimes read the rope base from the top level.
        config.setdefault("rope_theta", rope["rope_theta"])
    write_json(output / "config.json", config)

    generation = dict(generation)
    generation.pop("_from_model_config", None)
    eos_token = tokenizer_config.get("eos_token")
    eos_id = token_id(output / "tokenizer.json", eos_token) if eos_token else None
    eos_ids = generation.get("eos_token_id")
    eos_ids = [] if eos_ids is None else [eos_ids] if isinstance(eos_ids, int) else list(eos_ids)
    if eos_id is not None and eos_id not in eos_ids:
        log(f"adding the tokenizer's eos {eos_token!r} ({eos_id}) to generation_config eos ids")
        eos_ids.insert(0, eos_id)
    if eos_ids:
        generation["eos_token_id"] = eos_ids[0] if len(eos_ids) == 1 else eos_ids
    for key in ("bos_token_id", "pad_token_id"):
        if key not in generation and config.get(key) is not None:
            generation[key] = config[key]
    write_json(output / "generation_config.json", generation)


def variant_entry(model_dir: Path, name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Describe one ONNX file of ``model_dir`` for the manifest."""
    path = model_dir / "onnx" / {**VARIANT_FILES, **FUSED_FILES}[name]
    entry: dict[str, Any] = {
        "file": f"onnx/{path.name}",
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }
    data = path.with_name(path.name + "_data")
    if data.exists():
        entry["external_data"] = f"onnx/{data.name}"
        entry["bytes"] += data.stat().st_size
    if settings:
        entry["quantization"] = settings
    return entry


def check_quality(
    model_dir: Path,
    checkpoint: Path,
    options: ConvertOptions,
    source: Source,
    *,
    tokenizer: Any,
    variants: dict[str, Any],
    rejected: dict[str, Any],
) -> dict[str, Any]:
    """Measure every variant against PyTorch (``quality.py``); record the figures in ``variants``.

    A fused variant that fails its bar is deleted and moved to ``rejected``. The plain fp32 graph
    failing, or ``fused_q41`` failing for a GGUF source, is an error; the plain q4/int8 variants keep
    their (failing) figures.
    """
    from shammah_training.quality import BARS, QualityCheck

    log = options.log
    check = QualityCheck(model_dir, checkpoint, options.threads, template=tokenizer)
    for name in list(variants):
        quality = check.measure(name, model_dir / variants[name]["file"])
        variants[name]["quality"] = quality.as_dict()
        log(
            f"quality {name}: top-1 {quality.top1_agreement:.2%}, mean KL {quality.mean_kl:.5f}, max diff "
            f"{quality.max_abs_diff:.5f} over {quality.positions} positions: "
            f"{'passes' if quality.passed else 'FAILS'} {quality.bar}"
        )
        if quality.passed:
            continue
        if name == "fp32":
            raise ConversionError(
                f"the fp32 graph does not match PyTorch ({quality.as_dict()}); the export is broken"
            )
        if name in FUSED_FILES:
            (model_dir / variants[name]["file"]).unlink()
            rejected[name] = {"reason": f"fails the quality bar {quality.bar}", "quality": quality.as_dict()}
            del variants[name]
    if source.kind == "gguf" and "fused_q41" in rejected and "fused_q41" in options.variants:
        raise ConversionError(
            f"the fast fused variant fused_q41 was not built from {source.path.name}: "
            f"{rejected['fused_q41']['reason']}. Leave it out with --variants if this GGUF is not Q4_1."
        )
    return {
        "reference": "PyTorch fp32, the same weights (the dequantized checkpoint)",
        "text": "quality.QUALITY_MESSAGES, teacher-forced",
        "positions": len(check.ids),
        "prompt_positions": check.prompt,
        "bars": BARS,
    }


def run_checks(
    model_dir: Path, tokenizer: Any, options: ConvertOptions, variants: dict[str, Any]
) -> dict[str, Any]:
    """Check the tokenizer files and the graphs; raise ConversionError on a failed requirement."""
    from tokenizers import Tokenizer

    from shammah_training.onnx_runner import OnnxCausalLM

    log = options.log
    raw = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer_config = json.loads((model_dir / "tokenizer_config.json").read_text())
    generation = json.loads((model_dir / "generation_config.json").read_text())
    checks: dict[str, Any] = {}

    # Special tokens: ids as expected, and generation stops on the tokenizer's eos.
    ids = {}
    for content, expected in options.expect_tokens.items():
        actual = token_id(model_dir / "tokenizer.json", content)
        ids[content] = actual
        if actual != expected:
            raise ConversionError(
                f"special token {content!r} has id {actual} in tokenizer.json, expected {expected}"
            )
    eos_ids = generation.get("eos_token_id")
    eos_ids = tuple([eos_ids] if isinstance(eos_ids, int) else eos_ids or [])
    eos_id = token_id(model_dir / "tokenizer.json", tokenizer_config.get("eos_token", ""))
    if eos_id is None or eos_id not in eos_ids:
        raise ConversionError(
            f"eos token {tokenizer_config.get('eos_token')!r} (id {eos_id}) is not among "
            f"generation_config eos ids {list(eos_ids)}"
        )
    checks["special_tokens"] = {
        "expected": ids,
        "eos_token": tokenizer_config["eos_token"],
        "eos_token_id": list(eos_ids),
    }

    # The raw tokenizer.json (what a non-Python runtime uses) must tokenize the rendered chat
    # template exactly as transformers does, adding nothing of its own.
    prompt = options.check_prompt or FRANCE_PROMPT
    messages = [{"role": "user", "content": prompt}]
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    expected_ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    raw_ids = raw.encode(text, add_special_tokens=True).ids
    if raw_ids != expected_ids:
        raise ConversionError(
            f"tokenizer.json encodes the chat prompt as {raw_ids[:12]}…, transformers as "
            f"{expected_ids[:12]}…; the tokenizer files are wrong"
        )
    if raw.decode(raw_ids, skip_special_tokens=False) != text:
        raise ConversionError("tokenizer.json does not decode the chat prompt back to its text")
    checks["tokenizer"] = {"prompt_tokens": len(raw_ids), "round_trip": True}

    # Greedy answer of every graph; the fp32 one must contain the expected text.
    answers: dict[str, Any] = {}
    quality_ids = _quality_ids(tokenizer, raw)
    reference_logits = None
    for name in variants:  # one session alive at a time: the fp32 graph alone is 0.5 GB
        model = OnnxCausalLM(model_dir / variants[name]["file"], options.threads)
        new_ids = model.greedy(raw_ids, options.max_new_tokens, eos_ids)
        answer = raw.decode(new_ids, skip_special_tokens=True)
        passed = options.check_contains is None or options.check_contains in answer
        answers[name] = {"answer": answer, "contains_expected": passed}
        log(f"{name}: {prompt!r} -> {answer!r}")
        logits, _ = model.forward(quality_ids)
        if reference_logits is None:
            reference_logits = logits
        else:
            answers[name]["teacher_forced"] = compare_logits(reference_logits, logits)
            log(f"{name} vs fp32 teacher-forced: {answers[name]['teacher_forced']}")
        del model
    if options.check_contains is not None and not answers["fp32"]["contains_expected"]:
        raise ConversionError(
            f"the fp32 graph answered {answers['fp32']['answer']!r} to {prompt!r}, which does not "
            f"contain {options.check_contains!r}; the export is broken"
        )
    checks["generation"] = {
        "prompt": prompt,
        "expected": options.check_contains,
        "max_new_tokens": options.max_new_tokens,
        "variants": answers,
    }
    return checks


def _quality_ids(tokenizer: Any, raw: Any) -> list[int]:
    messages = [
        {"role": "user", "content": QUALITY_TEXT[0]},
        {"role": "assistant", "content": QUALITY_TEXT[1]},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    return raw.encode(text, add_special_tokens=False).ids


def compare_logits(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Top-1 agreement, mean KL(reference || other) and max abs difference over positions."""

    def log_softmax(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64)
        x = x - x.max(axis=-1, keepdims=True)
        return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))

    p, q = log_softmax(reference), log_softmax(other)
    kl = (np.exp(p) * (p - q)).sum(axis=-1)
    return {
        "positions": int(reference.shape[0]),
        "top1_agreement": round(float((reference.argmax(-1) == other.argmax(-1)).mean()), 4),
        "mean_kl": round(float(kl.mean()), 5),
        "max_abs_diff": round(float(np.abs(reference - other).max()), 4),
    }


def tool_versions(export_info: dict[str, Any]) -> dict[str, Any]:
    """Versions of everything that shaped the output."""
    versions: dict[str, Any] = {"python": platform.python_version()}
    for package in ("transformers", "tokenizers", "torch", "gguf", "onnx", "onnxruntime"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    versions["export"] = export_info
    return versions


def parse_expect_token(value: str) -> tuple[str, int]:
    """Parse ``TOKEN=ID`` for ``--expect-token``."""
    token, sep, number = value.rpartition("=")
    if not sep or not token or not number.isdigit():
        raise argparse.ArgumentTypeError(f"expected TOKEN=ID, got {value!r}")
    return token, int(number)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shammah_training.convert",
        description="Convert a Hugging Face checkpoint directory or a GGUF file to an onnx-community "
        "model directory (fp32 + quantized variants), with sanity checks.",
    )
    parser.add_argument("source", type=Path, help="a .gguf file or a checkpoint directory")
    parser.add_argument("output", type=Path, help="the model directory to write")
    parser.add_argument(
        "--variants",
        default=",".join(ConvertOptions().variants),
        help="comma-separated variants besides fp32: q4, int8, fused_fp32, fused_q41, fused_q41_exact, "
        "or none (default: all)",
    )
    parser.add_argument("--check-prompt", default=FRANCE_PROMPT)
    parser.add_argument(
        "--check-contains",
        default="Paris",
        help="text the fp32 greedy answer must contain; empty to skip (random-weight models)",
    )
    parser.add_argument(
        "--expect-token",
        action="append",
        type=parse_expect_token,
        default=[],
        metavar="TOKEN=ID",
        help="require a special token's id, e.g. '<|im_end|>=2' (repeatable)",
    )
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--export-python", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)

    variants = tuple(v for v in args.variants.split(",") if v and v != "none")
    options = ConvertOptions(
        variants=variants,
        check_prompt=args.check_prompt,
        check_contains=args.check_contains or None,
        expect_tokens=dict(args.expect_token),
        max_new_tokens=args.max_new_tokens,
        force=args.force,
        threads=args.threads,
    )
    if args.export_python is not None:
        options.export_python = args.export_python
    try:
        manifest = convert(args.source, args.output, options)
    except ConversionError as error:
        print(f"convert: error: {error}", file=sys.stderr)
        return 1
    for name, entry in manifest["variants"].items():
        print(f"{name}\t{entry['bytes'] / 1e6:.1f} MB\t{args.output / entry['file']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

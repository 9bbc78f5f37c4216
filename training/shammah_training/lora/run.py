"""One training job, end to end: base checkpoint → LoRA → merge → ONNX export → publish.

The job file (written by ``@shammah/lora``)::

    {
      "format": "shammah-lora-job/1",
      "version": "v3",                         # the directory name to publish under adapters_dir
      "adapters_dir": "/home/me/.shammah/adapters",
      "examples": "/tmp/…/examples.jsonl",     # see shammah_training.lora.examples
      "base": {
        "model_id": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "revision": "dbac3fec…",               # optional, recorded in the manifest
        "dir": "/…/snapshots/dbac3fec…",       # the model directory the runtime serves
        "checkpoint": null,                     # optional: a checkpoint with the same weights
        "cache_dir": "/home/me/.shammah/adapters/_base"   # where derived checkpoints are kept
      },
      "hyperparameters": {"epochs": 3, "learning_rate": 0.0005, "rank": 8, "alpha": 16, …},
      "export": {"variants": []},               # variants besides fp32, e.g. ["fused_fp32"]
      "threads": 1,                            # default: half the cores (training is background work)
      "nice": 10,                              # default 10: the interactive model keeps priority
      "device": "auto"                          # auto | cpu | cuda | mps
    }

The result, ``<adapters_dir>/<version>/``, appears by one rename once complete::

    manifest.json        base model id, revision and sha256, examples, hyperparameters, metrics
    examples.jsonl       the examples trained on
    adapter/             the PEFT adapter (adapter_config.json, adapter_model.safetensors)
    model/               the merged model in the onnx-community layout (what the runtime loads)
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import resource
import shutil
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any

from shammah_training.files import sha256_file, write_json
from shammah_training.lora import ADAPTER_FORMAT, JOB_FORMAT, TRAINER_VERSION
from shammah_training.lora.base import BaseModelError, ensure_base_checkpoint
from shammah_training.lora.examples import ExampleError, read_examples
from shammah_training.lora.protocol import EXIT_CANCELLED, PROTOCOL, Cancelled, CancelWatch, Reporter
from shammah_training.lora.staging import publish_new, remove_dead_temp_dirs, staged
from shammah_training.lora.train import Hyperparameters, pick_device, train_lora

CHECKPOINT_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "generation_config.json",
)
EXPORT_PARITY_TOLERANCE = 0.05


class JobError(ValueError):
    """The job file is wrong; the message says which field and how."""

    code = "bad_job"


def log(message: str) -> None:
    print(f"lora: {message}", file=sys.stderr, flush=True)


def load_job(path: Path) -> dict[str, Any]:
    """Read and check a job file."""
    try:
        job = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise JobError(f"cannot read job file {path}: {error}") from error
    if job.get("format") != JOB_FORMAT:
        raise JobError(f"job format is {job.get('format')!r}, this trainer reads {JOB_FORMAT!r}")
    for key in ("version", "adapters_dir", "examples", "base"):
        if not job.get(key):
            raise JobError(f"the job has no {key!r}")
    version = job["version"]
    if not isinstance(version, str) or "/" in version or version.startswith("."):
        raise JobError(f"version {version!r} must be a plain directory name")
    if not job["base"].get("dir") and not job["base"].get("checkpoint"):
        raise JobError("the job's base needs 'dir' (the runtime model directory)")
    return job


def default_threads() -> int:
    """Half the cores: training runs in the background, beside the model that answers the user.

    Measured on a shared 2-core machine: with 2 threads a step took 30-36 s whenever another process
    was busy (the threads wait on each other at every barrier), with 1 thread 1.2-1.5 s.
    """
    return max(1, (os.cpu_count() or 2) // 2)


def lower_priority(niceness: int) -> None:
    """Run at a lower CPU priority (inherited by the exporter), so chatting stays responsive."""
    if niceness > 0 and hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(niceness)


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its largest finished child (the exporter), in MB."""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / (1024 * 1024)  # KB on Linux, bytes on macOS
    return {
        "trainer": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale, 1),
        "exporter": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale, 1),
    }


def run_job(job: dict[str, Any], reporter: Reporter, cancel: CancelWatch) -> dict[str, Any]:
    """Run ``job``; return the published adapter's manifest. Raises on failure or cancellation."""
    import torch

    started = time.monotonic()
    timings: dict[str, float] = {}
    mark = started

    def phase(name: str) -> None:
        nonlocal mark
        cancel.check()
        now = time.monotonic()
        reporter.emit("phase", phase=name)
        log(f"phase {name}")
        mark = now

    def took(name: str) -> None:
        timings[name] = round(time.monotonic() - mark, 2)

    lower_priority(int(job.get("nice", 10)))
    version = job["version"]
    adapters = Path(job["adapters_dir"]).expanduser().resolve()
    adapters.mkdir(parents=True, exist_ok=True)
    remove_dead_temp_dirs(adapters)
    destination = adapters / version
    if destination.exists():
        raise JobError(f"adapter {destination} already exists; choose a new version")
    base = job["base"]
    hp = Hyperparameters.from_dict(job.get("hyperparameters"))
    variants = tuple(job.get("export", {}).get("variants", []))
    threads = int(job.get("threads") or default_threads())
    device = pick_device(job.get("device", "auto"))
    examples_path = Path(job["examples"])
    examples = read_examples(examples_path)
    torch.set_num_threads(threads)

    phase("base")
    base_dir = Path(base["dir"]).expanduser().resolve() if base.get("dir") else None
    cache_dir = Path(base.get("cache_dir") or adapters / "_base").expanduser()
    checkpoint = ensure_base_checkpoint(
        base_dir or Path(base["checkpoint"]),
        cache_dir,
        explicit=Path(base["checkpoint"]) if base.get("checkpoint") else None,
        threads=threads,
        log=log,
        check=cancel.check,
    )
    took("base")

    with staged(destination) as stage:
        work = stage / ".work"
        work.mkdir()
        phase("train")
        result = train_lora(
            checkpoint.path,
            examples,
            hp,
            device=device,
            threads=threads,
            on_step=lambda event: reporter.emit("progress", **event),
            check=cancel.check,
        )
        took("train")

        phase("merge")
        peft_model = result.model
        peft_model.save_pretrained(str(stage / "adapter"))
        _rewrite_adapter_config(stage / "adapter" / "adapter_config.json", base.get("model_id"))
        merged = peft_model.merge_and_unload().to("cpu").eval()
        merged_dir = work / "merged"
        merged.save_pretrained(str(merged_dir))
        for name in CHECKPOINT_FILES:
            if (checkpoint.path / name).is_file():
                shutil.copyfile(checkpoint.path / name, merged_dir / name)
        parity_ids = result.encoded[0].input_ids
        reference = _reference_logits(merged, parity_ids)
        # The export loads the model again (twice, in two processes): free this copy first.
        del merged, peft_model
        result.model = None
        gc.collect()
        took("merge")

        phase("export")
        from shammah_training.convert import FRANCE_PROMPT, ConvertOptions, convert

        model_manifest = convert(
            merged_dir,
            stage / "model",
            ConvertOptions(
                variants=variants,
                check_prompt=FRANCE_PROMPT,
                check_contains=None,
                threads=threads,
                log=lambda message: log(f"convert: {message}"),
            ),
        )
        cancel.check()
        parity = _export_parity(reference, parity_ids, stage / "model" / "onnx" / "model.onnx", threads)
        log(f"exported graph vs trained model: {parity}")
        if parity["max_abs_diff"] > EXPORT_PARITY_TOLERANCE:
            raise RuntimeError(
                f"the exported graph's logits differ from the trained model's by {parity['max_abs_diff']}; "
                "the export is broken"
            )
        took("export")

        phase("publish")
        shutil.copyfile(examples_path, stage / "examples.jsonl")
        shutil.rmtree(work)
        by_weight: dict[str, int] = {}
        for example in examples:
            key = f"{example.weight:g}"
            by_weight[key] = by_weight.get(key, 0) + 1
        answer = model_manifest["checks"]["generation"]["variants"]["fp32"]["answer"]
        manifest = {
            "format": ADAPTER_FORMAT,
            "version": version,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "trainer_version": TRAINER_VERSION,
            "base": {
                "model_id": base.get("model_id"),
                "revision": base.get("revision"),
                "dir": str(base_dir) if base_dir else None,
                "sha256": checkpoint.manifest.get("source", {}).get("sha256"),
                "source": checkpoint.manifest.get("source"),
            },
            "examples": {
                "count": len(examples),
                "total_weight": sum(e.weight for e in examples),
                "by_weight": by_weight,
                "ids": [e.id for e in examples],
                "file": "examples.jsonl",
                "sha256": sha256_file(stage / "examples.jsonl"),
            },
            "hyperparameters": hp.to_dict(),
            "weighting": "repeat-by-weight",
            "device": device,
            "threads": threads,
            "metrics": {
                **{k: v for k, v in result.metrics.items()},
                "export_parity": parity,
                "france_answer": answer,
                "timings_seconds": {**timings, "total": round(time.monotonic() - started, 2)},
                "peak_rss_mb": peak_rss_mb(),
            },
            "model": {
                "dir": "model",
                "variants": sorted(model_manifest["variants"]),
                "files": {name: entry["file"] for name, entry in model_manifest["variants"].items()},
            },
            "adapter": {"dir": "adapter"},
            "tools": _versions(),
        }
        write_json(stage / "manifest.json", manifest)
        cancel.check()
        publish_new(stage, destination)
    return manifest


def _rewrite_adapter_config(path: Path, model_id: str | None) -> None:
    # PEFT records the local checkpoint path; the model id is what a reader can find again.
    config = json.loads(path.read_text())
    if model_id:
        config["base_model_name_or_path"] = model_id
    write_json(path, config)


def _reference_logits(model: Any, ids: list[int]) -> Any:
    """The trained model's logits for ``ids`` ([len(ids), vocab]), to compare the export with."""
    import torch

    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].numpy()


def _export_parity(reference: Any, ids: list[int], graph: Path, threads: int) -> dict[str, Any]:
    """Max logit difference between the trained PyTorch model and the exported fp32 graph."""
    import numpy as np

    from shammah_training.onnx_runner import OnnxCausalLM

    runtime = OnnxCausalLM(graph, threads)
    logits, _ = runtime.forward(ids)
    return {
        "positions": len(ids),
        "max_abs_diff": round(float(np.abs(reference - logits).max()), 5),
        "top1_agreement": round(float((reference.argmax(-1) == logits.argmax(-1)).mean()), 4),
    }


def _versions() -> dict[str, Any]:
    versions: dict[str, Any] = {"python": platform.python_version()}
    for package in ("torch", "transformers", "peft", "onnx", "onnxruntime"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def main_train(job_path: Path) -> int:
    """Run a job file with the protocol on stdout; return the exit status."""
    reporter = Reporter()
    cancel = CancelWatch()
    cancel.install()
    try:
        job = load_job(job_path)
        reporter.emit("start", protocol=PROTOCOL, pid=os.getpid(), version=job["version"])
        manifest = run_job(job, reporter, cancel)
    except Cancelled as cancelled:
        log(f"cancelled: {cancelled.reason}; nothing was published")
        reporter.emit("cancelled", reason=cancelled.reason)
        return EXIT_CANCELLED
    except (JobError, ExampleError, BaseModelError, ValueError, FileExistsError) as error:
        code = getattr(error, "code", "bad_input")
        log(f"error: {error}")
        reporter.emit("error", code=code, message=str(error))
        return 1
    except Exception as error:
        traceback.print_exc()
        reporter.emit("error", code="internal", message=f"{type(error).__name__}: {error}")
        return 1
    reporter.emit(
        "done",
        version=manifest["version"],
        dir=str(Path(job["adapters_dir"]).expanduser().resolve() / manifest["version"]),
        metrics=manifest["metrics"],
    )
    return 0

"""Export a Hugging Face checkpoint to ONNX with optimum-onnx. Runs in the export venv only.

optimum-onnx 0.1.0 needs transformers < 4.58, while checkpoints here are written by transformers 5,
whose ``config.json`` moved ``rope_theta`` into ``rope_parameters``. Transformers 4.57 would silently
fall back to its default rope base, so the checkpoint is staged with a config it reads correctly.

Usage (from the main venv's converter, as a subprocess):
    training/.venv-export/bin/python -m shammah_training.export_onnx CHECKPOINT_DIR OUTPUT_DIR
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

TASK = "text-generation-with-past"


def legacy_config(config: dict) -> dict:
    """Return a copy of a transformers 5 config that transformers 4.57 reads the same way."""
    legacy = dict(config)
    rope = legacy.pop("rope_parameters", None)
    if rope is not None:
        legacy["rope_theta"] = rope["rope_theta"]
        rope_type = rope.get("rope_type", "default")
        if rope_type != "default":
            scaling = {key: value for key, value in rope.items() if key != "rope_theta"}
            scaling["type"] = rope_type
            legacy["rope_scaling"] = scaling
        else:
            legacy["rope_scaling"] = None
    if "dtype" in legacy and "torch_dtype" not in legacy:
        legacy["torch_dtype"] = legacy.pop("dtype")
    legacy.pop("transformers_version", None)
    return legacy


def stage_checkpoint(checkpoint: Path, staging: Path) -> None:
    """Link the weights of ``checkpoint`` into ``staging`` next to a legacy config.json."""
    for entry in checkpoint.iterdir():
        if entry.name.endswith((".safetensors", ".safetensors.index.json", ".bin")):
            os.symlink(entry.resolve(), staging / entry.name)
    config = json.loads((checkpoint / "config.json").read_text())
    (staging / "config.json").write_text(json.dumps(legacy_config(config), indent=2))
    generation = checkpoint / "generation_config.json"
    if generation.exists():
        shutil.copyfile(generation, staging / "generation_config.json")


def export(checkpoint: Path, output: Path) -> None:
    """Export ``checkpoint`` to ``output/model.onnx`` (fp32, with past key/values)."""
    import warnings

    warnings.filterwarnings("ignore")
    from optimum.exporters.onnx import main_export

    with tempfile.TemporaryDirectory(prefix="shammah-export-") as tmp:
        staging = Path(tmp)
        stage_checkpoint(checkpoint, staging)
        main_export(
            str(staging),
            output=str(output),
            task=TASK,
            device="cpu",
            dtype="fp32",
            do_validation=False,
            local_files_only=True,
            library_name="transformers",
        )
    info = {"task": TASK}
    for package in ("optimum-onnx", "optimum", "transformers", "torch"):
        info[package] = metadata.version(package)
    (output / "export_info.json").write_text(json.dumps(info, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    started = time.monotonic()
    export(args.checkpoint, args.output)
    print(f"export-onnx: {TASK} exported in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

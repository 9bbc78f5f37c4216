"""LoRA training for Shammah's local model, run by ``@shammah/lora`` as a subprocess.

``python -m shammah_training.lora train JOB.json`` reads a job (examples, base model, hyperparameters,
where to publish), trains a LoRA adapter on the base model's exact weights, merges it, exports the
merged model to the onnx-community layout with the converter, and publishes
``<adapters>/<version>/`` atomically. Progress goes to stdout as JSON lines (see
:mod:`shammah_training.lora.protocol`); logs go to stderr.

Nothing here imports torch or transformers at package import time.
"""

JOB_FORMAT = "shammah-lora-job/1"
"""The ``format`` of the job file the TypeScript side writes."""

ADAPTER_FORMAT = "shammah-lora-adapter/1"
"""The ``format`` of ``<adapters>/<version>/manifest.json``."""

BASE_FORMAT = "shammah-lora-base/1"
"""The ``format`` of the derived base checkpoint's ``base_manifest.json``."""

TRAINER_VERSION = "1"
"""Bumped whenever the trainer's output changes; recorded in every adapter manifest."""

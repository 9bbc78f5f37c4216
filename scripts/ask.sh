#!/usr/bin/env bash
# Asks Shammah one question with the local development model, as a user would from the shell.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec node "$root/apps/cli/bin/shammah.js" --local --model HuggingFaceTB/SmolLM2-135M-Instruct "$@"

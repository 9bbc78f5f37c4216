#!/usr/bin/env bash
# Prints the path of a pnpm 10 binary, installing one into .tools/ (no root, no global install) when
# the machine has none. Sourced by the other scripts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want="$(node -p "require('$root/package.json').packageManager.split('@')[1]")"
local_pnpm="$root/.tools/node_modules/.bin/pnpm"
if [ -x "$local_pnpm" ] && [ "$("$local_pnpm" --version 2>/dev/null)" = "$want" ]; then
  echo "$local_pnpm"; exit 0
fi
if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$want" ]; then
  command -v pnpm; exit 0
fi
echo "setup: installing pnpm $want into .tools/" >&2
npm install --silent --no-audit --no-fund --prefix "$root/.tools" "pnpm@$want" >&2
echo "$local_pnpm"

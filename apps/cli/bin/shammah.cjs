#!/usr/bin/env node
// CommonJS on purpose: Node runs a CommonJS script without starting its ES module loader, which
// made up most of the time between Node's own start-up and the prompt. dist/bin.cjs is the entry
// bundled with what draws the first frame (scripts/bundle-entry.ts); the rest loads after it.
require('../dist/bin.cjs');

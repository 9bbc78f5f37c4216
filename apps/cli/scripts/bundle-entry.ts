// Bundles the `shammah` entry (src/bin.ts) and what it imports statically — argument parsing and
// the instant frame — into one CommonJS file, dist/bin.cjs. Node runs a CommonJS script without
// starting its ES module loader, which resolves, reads and links each file through promises: on
// the benchmark machine that was most of Shammah's time between Node's start-up and the prompt.
// Every dynamic import() stays as it is, pointing at the files tsc emits next to the bundle in
// dist/, so the UI, the model and each command still load after the prompt is on screen.
// Run after tsc (`pnpm --filter shammah build` does both).
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

const packageDir = join(import.meta.dirname, '..');
const outfile = join(packageDir, 'dist', 'bin.cjs');

/** Leaves every dynamic import() to Node at run time, loaded from dist/ after the prompt. */
const dynamicImportsStayDynamic: Plugin = {
  name: 'dynamic-imports-stay-dynamic',
  setup(builder) {
    builder.onResolve({ filter: /.*/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined,
    );
  },
};

const result = await build({
  absWorkingDir: packageDir,
  entryPoints: ['src/bin.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20.12',
  // src/bin.ts finds package.json from import.meta.url, which CommonJS lacks.
  banner: { js: 'const entryUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { 'import.meta.url': 'entryUrl' },
  plugins: [dynamicImportsStayDynamic],
  metafile: true,
  write: false,
  logLevel: 'warning',
});

const problems: string[] = [];
// Whatever the entry imports statically runs before the prompt: only our own small modules.
const foreign = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('src/'));
if (foreign.length) {
  problems.push(
    `src/bin.ts pulls ${foreign.length} files from outside src/ into the start-up path (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}), so they would load before the prompt. Import what needs them with import() where it is used.`,
  );
}
for (const output of Object.values(result.metafile.outputs)) {
  for (const entry of output.imports) {
    if (entry.kind === 'dynamic-import' && !existsSync(resolve(dirname(outfile), entry.path))) {
      problems.push(
        `src/bin.ts imports "${entry.path}", which is not in dist/. Run tsc first (the build script does).`,
      );
    }
  }
}
if (problems.length) {
  process.stderr.write(`bundle-entry: ${problems.join('\n')}\n`);
  process.exitCode = 1;
} else {
  for (const file of result.outputFiles) await writeFile(file.path, file.contents);
}

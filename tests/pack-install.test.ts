// Third parties embed single layers of Shammah: every published package, packed as it would be
// published and installed with plain npm into an empty project, must import and work.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');

interface PackageJson {
  name: string;
  private?: boolean;
  bin?: Record<string, string>;
}

const expectedExports: Record<string, string[]> = {
  '@shammah/provider': ['collectStream', 'ShammahError', 'ApiCallError'],
  '@shammah/config': ['loadConfig', 'saveConfig', 'shammahPaths'],
  '@shammah/core-inference': ['Generator', 'downloadModel', 'recommendModel', 'listCachedModels'],
  '@shammah/router': ['createRouter', 'detectCrisis', 'RoutingLearning'],
  '@shammah/tools': ['createMcpManager', 'createConversationTools', 'PlanTracker'],
  '@shammah/session': [
    'createSessionStore',
    'loadProjectInstructions',
    'compactConversation',
    'createCompactor',
  ],
  '@shammah/teachers': ['createTeacher', 'createTeacherChain', 'createOpenAICompatibleTeacher'],
  '@shammah/lora': ['createTrainingQueue', 'createAdapterStore', 'createTrainingCoordinator'],
  '@shammah/daemon': [],
  shammah: ['answerOnce'],
};

describe('published packages', () => {
  let project: string;
  let packages: PackageJson[];

  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'shammah-pack-'));
    const tarballs = join(project, 'tarballs');
    packages = [];
    for (const group of ['packages', 'apps']) {
      for (const name of await readdir(join(root, group))) {
        const dir = join(root, group, name);
        const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
        if (manifest.private) continue;
        packages.push(manifest);
        await run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir });
      }
    }
    const app = join(project, 'app');
    await run('mkdir', ['-p', app]);
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({ name: 'embedder', private: true, type: 'module' }),
    );
    const files = (await readdir(tarballs)).map((file) => join(tarballs, file));
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files], {
      cwd: app,
      // onnxruntime-node's install script downloads CUDA files; its CPU runtime needs no script.
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
      maxBuffer: 64 * 1024 * 1024,
    });
  }, 600_000);

  afterAll(async () => {
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('packs every package with a README, types and only its dist', async () => {
    expect(packages.map((manifest) => manifest.name).sort()).toEqual(Object.keys(expectedExports).sort());
    for (const manifest of packages) {
      const installed = join(project, 'app', 'node_modules', manifest.name);
      const files = await readdir(installed);
      expect(files, manifest.name).toContain('README.md');
      expect(files, manifest.name).toContain('dist');
      expect(files, manifest.name).not.toContain('src');
      expect(await readdir(join(installed, 'dist')), manifest.name).toContain('index.d.ts');
    }
  });

  it('imports each package with plain Node from the installed project', async () => {
    for (const [name, names] of Object.entries(expectedExports)) {
      const script = `const m = await import(${JSON.stringify(name)}); console.log(JSON.stringify(Object.keys(m)));`;
      const { stdout } = await run('node', ['--input-type=module', '-e', script], {
        cwd: join(project, 'app'),
      });
      const exported = JSON.parse(stdout) as string[];
      for (const expected of names) expect(exported, `${name} exports ${expected}`).toContain(expected);
    }
  });

  it('installs the shammah command', async () => {
    const { stdout } = await run(join(project, 'app', 'node_modules', '.bin', 'shammah'), ['--help']);
    expect(stdout).toMatch(/Usage:\s+shammah/);
  });
});

import { totalmem } from 'node:os';
import * as prompts from '@clack/prompts';
import {
  loadConfig,
  type PermissionRuleEntry,
  parseConfig,
  type ShammahConfig,
  saveConfig,
  shammahPaths,
  type TeacherEntry,
} from '@shammah/config';
import { downloadModel, listCachedModels, MODEL_LADDER, recommendModel } from '@shammah/core-inference';
import { defaultModels, resolveProvider } from '@shammah/teachers';
import type { CliArguments } from '../cli-arguments.js';
import { maskSecret } from './config-command.js';
import { checkTeacherKey, KEY_VARIABLES } from './key-check.js';
import { formatBytes } from './progress-bar.js';

/** The providers the wizard offers, with the name written to `provider`. */
const PROVIDERS = [
  { value: 'claude', provider: 'anthropic', label: 'Claude (Anthropic)' },
  { value: 'openai', provider: 'openai', label: 'OpenAI' },
  { value: 'gemini', provider: 'gemini', label: 'Gemini (Google)' },
  { value: 'grok', provider: 'xai', label: 'Grok (xAI)' },
  { value: 'mistral', provider: 'mistral', label: 'Mistral' },
  { value: 'groq', provider: 'groq', label: 'Groq' },
  {
    value: 'openai-compatible',
    provider: 'openai-compatible',
    label: 'OpenAI-compatible server (Ollama, vLLM, LM Studio, …)',
  },
] as const;

type PermissionMode = 'ask' | 'edits' | 'all';

const PERMISSION_RULES: Record<PermissionMode, PermissionRuleEntry[]> = {
  ask: [],
  edits: [
    { tool: 'Write', pattern: '**', action: 'allow' },
    { tool: 'Edit', pattern: '**', action: 'allow' },
  ],
  all: [],
};

class SetupCancelled extends Error {}

function answer<T>(value: T): Exclude<T, symbol> {
  if (prompts.isCancel(value)) throw new SetupCancelled();
  return value as Exclude<T, symbol>;
}

function providerOf(entry: TeacherEntry): string {
  try {
    return resolveProvider(entry.provider);
  } catch {
    return entry.provider;
  }
}

async function askTeacher(
  choice: (typeof PROVIDERS)[number],
  existing: TeacherEntry | undefined,
): Promise<TeacherEntry> {
  const provider = choice.provider;
  const variable = KEY_VARIABLES[provider];
  let baseUrl: string | undefined = existing?.base_url;
  if (provider === 'openai-compatible') {
    baseUrl = answer(
      await prompts.text({
        message: `${choice.label}: the server's address (with /v1)`,
        placeholder: 'http://127.0.0.1:11434/v1',
        ...(existing?.base_url ? { initialValue: existing.base_url } : {}),
        defaultValue: 'http://127.0.0.1:11434/v1',
        validate: (value) =>
          !value || /^https?:\/\/\S+$/.test(value) ? undefined : 'Give an http:// or https:// address.',
      }),
    );
  }
  const defaultModel = provider === 'openai-compatible' ? '' : defaultModels[provider];
  const model = answer(
    await prompts.text({
      message: `${choice.label}: model`,
      placeholder: defaultModel || 'the model name the server knows, e.g. qwen2.5-coder:7b',
      ...(existing?.model ? { initialValue: existing.model } : {}),
      defaultValue: defaultModel,
      validate: (value) =>
        provider === 'openai-compatible' && !value && !defaultModel
          ? 'This server needs a model name.'
          : undefined,
    }),
  ).trim();
  for (;;) {
    const envKey = variable ? process.env[variable] : undefined;
    const hint = existing?.api_key
      ? ` (Enter keeps ${maskSecret(existing.api_key)})`
      : envKey
        ? ` (Enter uses $${variable})`
        : provider === 'openai-compatible'
          ? ' (Enter for none)'
          : '';
    const typed = answer(
      await prompts.password({ message: `${choice.label}: API key${hint}`, mask: '•' }),
    ).trim();
    const apiKey = typed || existing?.api_key || '';
    const effective = apiKey || envKey || '';
    if (!effective && provider !== 'openai-compatible') {
      prompts.log.warn(`No key given. Shammah will read $${variable} when it runs.`);
      return entry(choice, model, '', baseUrl, existing);
    }
    const spin = prompts.spinner();
    spin.start('Checking the key…');
    const check = await checkTeacherKey({ provider, apiKey: effective, ...(baseUrl ? { baseUrl } : {}) });
    if (check.status === 'valid') spin.stop('The key works.');
    else if (check.status === 'offline')
      spin.stop(`Not checked: ${check.detail}. It is saved as given; it is tried when you ask.`);
    else if (check.status === 'unknown') spin.stop(`Could not tell (${check.detail}). It is saved as given.`);
    else {
      spin.error(`The key was rejected (${check.detail}).`);
      const again = answer(await prompts.confirm({ message: 'Enter it again?', initialValue: true }));
      if (again) continue;
    }
    return entry(choice, model, apiKey, baseUrl, existing);
  }
}

function entry(
  choice: (typeof PROVIDERS)[number],
  model: string,
  apiKey: string,
  baseUrl: string | undefined,
  existing: TeacherEntry | undefined,
): TeacherEntry {
  return {
    ...existing,
    provider: choice.value,
    name: existing?.name ?? choice.label.replace(/ \(.*$/, ''),
    ...(model ? { model } : {}),
    ...(apiKey ? { api_key: apiKey } : {}),
    ...(baseUrl ? { base_url: baseUrl } : {}),
  };
}

/** The config `shammah setup --yes` writes: the current one, with a downloaded local model chosen. */
async function defaultsFor(config: ShammahConfig): Promise<ShammahConfig> {
  const cached = await listCachedModels().catch(() => []);
  const recommended = recommendModel();
  const usable = cached.some((model) => model.repoId === recommended.repoId)
    ? recommended.repoId
    : MODEL_LADDER.find((choice) => cached.some((model) => model.repoId === choice.repoId))?.repoId;
  return {
    ...config,
    backend: { ...config.backend, ...(config.backend.model_repo || !usable ? {} : { model_repo: usable }) },
  };
}

/**
 * `shammah setup`: a wizard for the teachers (several providers, in order, keys checked with a
 * cheap authenticated request where the network allows), the local model (by this machine's
 * memory, with sizes, downloaded on request), permissions and the daemon. Writes config.toml
 * atomically at the end, only if the user confirms. `--yes` writes the defaults without asking.
 */
export async function runSetup(args: CliArguments): Promise<number> {
  const paths = shammahPaths();
  let config: ShammahConfig;
  try {
    config = await loadConfig();
  } catch (error) {
    process.stderr.write(`shammah: ${(error as Error).message}\nThe wizard starts from the defaults.\n`);
    config = parseConfig('');
  }
  if (args.flags.yes) {
    const next = await defaultsFor(config);
    await saveConfig(next);
    process.stdout.write(
      `Wrote ${paths.config}${next.backend.model_repo ? ` (local model ${next.backend.model_repo})` : ''}.\n`,
    );
    return 0;
  }
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write(
      'shammah: setup asks questions and needs a terminal. Run it in one, or `shammah setup --yes` to write the defaults, or `shammah config set <key> <value>`.\n',
    );
    return 2;
  }
  try {
    prompts.intro('Shammah setup');
    prompts.note(
      `Answers go to ${paths.config} when you confirm at the end.\nShammah works without setup: a local model and no teachers.`,
      'Welcome',
    );

    // Teachers.
    const existing = new Map(config.teachers.map((teacher) => [providerOf(teacher), teacher]));
    const picked = answer(
      await prompts.multiselect({
        message:
          'Teachers: cloud models that answer when the local model cannot (space to pick, enter to go on)',
        options: PROVIDERS.map((choice) => ({
          value: choice.value,
          label: choice.label,
          ...(existing.has(choice.provider) ? { hint: 'configured' } : {}),
        })),
        initialValues: PROVIDERS.filter((choice) => existing.has(choice.provider)).map(
          (choice) => choice.value,
        ),
        required: false,
      }),
    );
    let teachers: TeacherEntry[] = [];
    for (const value of picked) {
      const choice = PROVIDERS.find((candidate) => candidate.value === value)!;
      teachers.push(await askTeacher(choice, existing.get(choice.provider)));
    }
    if (teachers.length > 1) {
      const primary = answer(
        await prompts.select({
          message: 'Which teacher is asked first? (the others are fallbacks, in order)',
          options: teachers.map((teacher, index) => ({
            value: index,
            label: `${teacher.name} (${teacher.model ?? 'default model'})`,
          })),
        }),
      );
      teachers = [teachers[primary]!, ...teachers.filter((_, index) => index !== primary)];
    }

    // The local model.
    const cached = await listCachedModels().catch(() => []);
    const recommended = recommendModel();
    const memory = `${Math.round(totalmem() / 1024 ** 3)} GB`;
    const current = config.backend.model_repo;
    const modelChoice = answer(
      await prompts.select({
        message: `Local model (this machine has ${memory} of memory)`,
        options: [
          ...MODEL_LADDER.map((choice) => {
            const have = cached.some((model) => model.repoId === choice.repoId);
            const notes = [
              choice.parameters,
              have ? 'downloaded' : `~${formatBytes(choice.downloadMB * 1e6)}`,
              choice.minimumRamGiB ? `${choice.minimumRamGiB} GB RAM` : 'any RAM',
            ];
            return {
              value: choice.repoId,
              label: `${choice.repoId} · ${notes.join(' · ')}${choice.repoId === recommended.repoId ? ' · recommended' : ''}`,
            };
          }),
          ...cached
            .filter((model) => !MODEL_LADDER.some((choice) => choice.repoId === model.repoId))
            .map((model) => ({
              value: model.repoId,
              label: `${model.repoId} · downloaded · ${formatBytes(model.sizeBytes)}`,
            })),
          { value: '', label: 'No local model · teachers answer everything' },
        ],
        initialValue: current ?? recommended.repoId,
      }),
    );
    const variant = answer(
      await prompts.select({
        message: 'Model precision (ONNX variant)',
        options: [
          { value: 'auto', label: 'auto', hint: 'the smallest the repository has (usually 4-bit)' },
          { value: 'q4', label: 'q4', hint: '4-bit: smallest, fastest' },
          { value: 'int8', label: 'int8', hint: '8-bit' },
          { value: 'fp32', label: 'fp32', hint: 'full precision: best answers from small models, slowest' },
        ],
        initialValue: config.backend.variant,
      }),
    );
    if (modelChoice && !cached.some((model) => model.repoId === modelChoice)) {
      const download = answer(
        await prompts.confirm({
          message: `${modelChoice} is not downloaded. Download it now?`,
          initialValue: true,
        }),
      );
      if (download) {
        const bar = prompts.progress({ max: 1000 });
        bar.start(`Downloading ${modelChoice}`);
        let shown = 0;
        try {
          await downloadModel({
            repoId: modelChoice,
            variant,
            onProgress: (progress) => {
              const target = Math.floor(progress.fraction * 1000);
              if (target > shown) {
                bar.advance(
                  target - shown,
                  `${formatBytes(progress.downloadedBytes)} / ${formatBytes(progress.totalBytes)}`,
                );
                shown = target;
              }
            },
          });
          bar.stop(`Downloaded ${modelChoice}.`);
        } catch (error) {
          bar.error(`Not downloaded: ${(error as Error).message}`);
          prompts.log.info(`Later: shammah models pull ${modelChoice}`);
        }
      } else prompts.log.info(`Later: shammah models pull ${modelChoice}`);
    }

    // Permissions.
    const permissionMode = answer(
      await prompts.select<PermissionMode>({
        message: 'Tool permissions (reads inside the project are always allowed)',
        options: [
          {
            value: 'ask',
            label: 'Ask before writing files, running commands or fetching pages',
            hint: 'recommended',
          },
          { value: 'edits', label: 'Allow file edits inside the project; ask for commands and fetches' },
          { value: 'all', label: 'Allow everything without asking', hint: 'for sandboxes only' },
        ],
        initialValue: config.features.auto_approve_tools ? 'all' : 'ask',
      }),
    );

    const useDaemon = answer(
      await prompts.confirm({
        message: 'Run the model in a background daemon? (the REPL starts at once and the model stays loaded)',
        initialValue: config.client.use_daemon,
      }),
    );

    const keptRules = config.permissions.filter(
      (rule) =>
        !PERMISSION_RULES.edits.some(
          (preset) => preset.tool === rule.tool && preset.pattern === rule.pattern,
        ),
    );
    const next: ShammahConfig = {
      ...config,
      teachers,
      backend: {
        ...config.backend,
        enabled: modelChoice !== '',
        variant,
        ...(modelChoice ? { model_repo: modelChoice } : {}),
      },
      features: { ...config.features, auto_approve_tools: permissionMode === 'all' },
      permissions: [...keptRules, ...PERMISSION_RULES[permissionMode]],
      client: { ...config.client, use_daemon: useDaemon },
    };
    if (!modelChoice) delete next.backend.model_repo;

    prompts.note(
      [
        `Teachers:     ${teachers.length ? teachers.map((teacher) => `${teacher.name} (${teacher.model ?? 'default'})`).join(' → ') : 'none'}`,
        `Local model:  ${modelChoice || 'none'} (${variant})`,
        `Permissions:  ${permissionMode === 'ask' ? 'ask' : permissionMode === 'edits' ? 'edits allowed in the project' : 'everything allowed'}`,
        `Daemon:       ${useDaemon ? 'yes' : 'no (in-process)'}`,
      ].join('\n'),
      'Summary',
    );
    const confirmed = answer(
      await prompts.confirm({ message: `Write ${paths.config}?`, initialValue: true }),
    );
    if (!confirmed) {
      prompts.outro('Nothing written.');
      return 0;
    }
    await saveConfig(next);
    prompts.outro(`Saved ${paths.config}. Run \`shammah\` to start.`);
    return 0;
  } catch (error) {
    if (error instanceof SetupCancelled) {
      prompts.cancel('Setup cancelled; nothing written.');
      return 130;
    }
    throw error;
  }
}

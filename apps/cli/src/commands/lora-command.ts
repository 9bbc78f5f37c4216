import { parseArgs } from 'node:util';
import { loadConfig, shammahPaths } from '@shammah/config';
import {
  type AdapterInfo,
  createAdapterStore,
  createTrainingCoordinator,
  createTrainingQueue,
  NoExamplesError,
  TrainingCancelledError,
  type TrainingEvent,
  type TrainingHyperparameters,
} from '@shammah/lora';
import { chooseLocalModel } from '../backend/local-model-choice.js';
import { UsageError } from '../cli-arguments.js';
import { createLogger } from '../logger.js';
import { modelDirectory, resolveServedModel } from '../lora/served-model.js';
import { ProgressBar } from './progress-bar.js';

/** `shammah lora --help`. */
export const LORA_USAGE = `Usage:
  shammah lora list [--json]       trained adapters (* marks the one served) and the queue
  shammah lora train [options]     train an adapter on the queued feedback now, and serve it
      --epochs <n>  --max-steps <n>  --learning-rate <x>  --rank <n>
      --force       train even when every queued example is already in the newest adapter
      --no-activate publish the adapter without serving it
  shammah lora use <version>       serve an adapter (e.g. v2)
  shammah lora rollback            serve the base model again

Feedback (/feedback, /critical, /medium, /good in the REPL, or POST /v1/feedback) fills the queue.
Training needs the Python trainer: run \`bash scripts/setup-python.sh\` in a Shammah checkout, or set
SHAMMAH_TRAINING_DIR to its training/ folder.`;

const PHASES: Record<string, string> = {
  base: 'Preparing the base model…',
  train: 'Training…',
  merge: 'Merging the adapter into the model…',
  export: 'Exporting the adapted model to ONNX…',
  publish: 'Publishing…',
};

function positiveNumber(name: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!(Number.isFinite(number) && number > 0 && (!integer || Number.isInteger(number)))) {
    throw new UsageError(
      `--${name} must be a positive ${integer ? 'whole number' : 'number'}, not "${value}".`,
    );
  }
  return number;
}

function parse(args: readonly string[]) {
  try {
    return parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        epochs: { type: 'string' },
        'max-steps': { type: 'string' },
        'learning-rate': { type: 'string' },
        rank: { type: 'string' },
        force: { type: 'boolean' },
        'no-activate': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run shammah lora --help for the options.`);
  }
}

/** `2025-06-01 10:00`, in local time. */
function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso || '?';
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** `5 (10×2, 1×3)`: how many examples, by weight. */
function formatExamples(adapter: AdapterInfo): string {
  const { count, by_weight: byWeight } = adapter.manifest.examples;
  const weights = Object.entries(byWeight ?? {})
    .sort(([a], [b]) => Number(b) - Number(a))
    .map(([weight, n]) => `${weight}×${n}`);
  return weights.length > 0 ? `${count} (${weights.join(', ')})` : String(count);
}

function formatLoss(adapter: AdapterInfo): string {
  const { loss_first_epoch: first, loss_last_epoch: last } = adapter.manifest.metrics ?? {};
  return typeof first === 'number' && typeof last === 'number'
    ? `${first.toFixed(2)} → ${last.toFixed(2)}`
    : '';
}

/** The configured local model, which adapters are trained on and served with. */
async function baseModel(config: Awaited<ReturnType<typeof loadConfig>>) {
  const choice = await chooseLocalModel(config);
  const dir = await modelDirectory(choice.modelId);
  return { modelId: choice.modelId, dir };
}

/**
 * `shammah lora`: `list` the trained adapters (version, date, examples, which one is served), `train`
 * one on the queued feedback now (with a progress bar; Ctrl-C cancels and publishes nothing), `use`
 * a version, or `rollback` to the base model.
 */
export async function runLoraCommand(
  args: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const { values, positionals } = parse(args);
  const [action = 'list', version, ...extra] = positionals;
  if (values.help || action === 'help') {
    out.write(`${LORA_USAGE}\n`);
    return 0;
  }
  const paths = shammahPaths();
  const store = createAdapterStore({ dir: paths.adapters });
  switch (action) {
    case 'list':
    case 'ls': {
      const config = await loadConfig();
      const [adapters, pointer, base, queue] = await Promise.all([
        store.list(),
        store.readPointer(),
        baseModel(config),
        createTrainingQueue({ path: paths.trainingQueue }).read(),
      ]);
      const trained = new Set(adapters.at(-1)?.manifest.examples.ids ?? []);
      const fresh = queue.examples.filter((example) => !trained.has(example.id)).length;
      const served = await resolveServedModel(base.modelId, store);
      if (values.json) {
        out.write(
          `${JSON.stringify({
            active: pointer.version,
            served: { model: base.modelId, adapter: served.adapter ?? null, reason: served.reason },
            adapters: adapters.map((adapter) => ({
              version: adapter.version,
              createdAt: adapter.manifest.created_at,
              examples: adapter.manifest.examples.count,
              baseModel: adapter.manifest.base.model_id,
              active: adapter.active,
              dir: adapter.dir,
            })),
            queue: { path: paths.trainingQueue, examples: queue.examples.length, new: fresh },
          })}\n`,
        );
        return 0;
      }
      if (adapters.length === 0) {
        out.write('No adapters yet. Give feedback on answers, then run shammah lora train.\n');
      } else {
        out.write(`  ${'VERSION'.padEnd(8)} ${'CREATED'.padEnd(16)}  ${'EXAMPLES'.padEnd(18)} LOSS\n`);
        for (const adapter of [...adapters].reverse()) {
          out.write(
            `${adapter.active ? '*' : ' '} ${adapter.version.padEnd(8)} ${formatDate(adapter.manifest.created_at).padEnd(16)}  ${formatExamples(adapter).padEnd(18)} ${formatLoss(adapter)}`.trimEnd() +
              '\n',
          );
        }
      }
      out.write(
        `${pointer.version === null ? '*' : ' '} base     ${base.modelId}${pointer.version === null ? ' (no adapter active)' : ''}\n`,
      );
      if (pointer.version !== null && served.adapter !== pointer.version) {
        out.write(`\nNote: ${served.reason}; the base model is served.\n`);
      }
      out.write(
        `\nQueue: ${queue.examples.length} example${queue.examples.length === 1 ? '' : 's'}, ${fresh} not trained on yet (${paths.trainingQueue}).\n`,
      );
      return 0;
    }
    case 'use':
    case 'activate': {
      if (!version || extra.length > 0)
        throw new UsageError('Usage: shammah lora use <version>, e.g. shammah lora use v2');
      const adapter = await store.activate(version);
      out.write(
        `Now serving adapter ${adapter.version} (${formatExamples(adapter)} examples, trained ${formatDate(adapter.manifest.created_at)}).\n` +
          'New sessions load it; restart a running daemon (shammah daemon restart) for it to serve it too.\n',
      );
      return 0;
    }
    case 'rollback': {
      const pointer = await store.rollback();
      out.write(
        pointer.previous
          ? `Rolled back from ${pointer.previous} to the base model. shammah lora use ${pointer.previous} serves it again.\n`
          : 'The base model was already served; nothing changed.\n',
      );
      return 0;
    }
    case 'train':
      return train(values, store, paths);
    default:
      throw new UsageError(`Unknown lora action "${action}". Use list, train, use <version> or rollback.`);
  }
}

async function train(
  values: ReturnType<typeof parse>['values'],
  store: ReturnType<typeof createAdapterStore>,
  paths: ReturnType<typeof shammahPaths>,
): Promise<number> {
  const hyperparameters: TrainingHyperparameters = {};
  const epochs = positiveNumber('epochs', values.epochs, true);
  const maxSteps = positiveNumber('max-steps', values['max-steps'], true);
  const learningRate = positiveNumber('learning-rate', values['learning-rate'], false);
  const rank = positiveNumber('rank', values.rank, true);
  if (epochs) hyperparameters.epochs = epochs;
  if (maxSteps) hyperparameters.maxSteps = maxSteps;
  if (learningRate) hyperparameters.learningRate = learningRate;
  if (rank) hyperparameters.rank = rank;

  const config = await loadConfig();
  const base = await baseModel(config);
  if (!base.dir) {
    throw new UsageError(
      `The local model ${base.modelId} is not downloaded, and adapters are trained on it. Run \`shammah models pull ${base.modelId}\` first.`,
    );
  }
  const queue = createTrainingQueue({ path: paths.trainingQueue });
  const { examples } = await queue.read();
  if (examples.length === 0) throw new NoExamplesError(queue.path);
  const latest = await store.latest();
  const trained = new Set(latest?.manifest.examples.ids ?? []);
  const fresh = examples.filter((example) => !trained.has(example.id)).length;
  if (fresh === 0 && !values.force) {
    process.stderr.write(
      `shammah: nothing new to train on: the ${examples.length} queued example${examples.length === 1 ? ' is' : 's are'} all in ${latest?.version}. ` +
        'Give more feedback first, or pass --force to train again on the same examples.\n',
    );
    return 1;
  }

  const logger = await createLogger(paths.home, config.features.debug_logging);
  const coordinator = createTrainingCoordinator({
    base: { modelId: base.modelId, dir: base.dir },
    settings: config.lora,
    store,
    queue,
    hyperparameters,
    logger,
  });
  const controller = new AbortController();
  const err = process.stderr;
  const bar = new ProgressBar(err);
  const onSigint = () => {
    if (controller.signal.aborted) return;
    bar.done('Cancelling…');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const run = await coordinator.train({
      signal: controller.signal,
      ...(values['no-activate'] ? { activate: false } : {}),
    });
    err.write(
      `Training ${run.version} on ${run.examples} example${run.examples === 1 ? '' : 's'} (${fresh} new) with ${base.modelId}. Ctrl-C cancels.\n`,
    );
    const onEvent = (event: TrainingEvent) => {
      if (event.type === 'phase') bar.done(PHASES[event.phase] ?? `${event.phase}…`);
      else if (event.type === 'progress') {
        const loss = event.loss === null ? '' : `  loss ${event.loss.toFixed(3)}`;
        const eta = event.step < event.totalSteps ? `  ${Math.ceil(event.etaSeconds)} s left` : '';
        bar.update(event.step / event.totalSteps, `step ${event.step}/${event.totalSteps}${loss}${eta}`);
      }
    };
    for await (const event of run.events()) onEvent(event);
    const result = await run.result;
    const { adapter } = result;
    const before = adapter.manifest.metrics?.mean_logprob_before;
    const after = adapter.manifest.metrics?.mean_logprob_after;
    bar.done();
    process.stdout.write(
      `Trained ${adapter.version} in ${Math.round(result.durationMs / 1000)} s${formatLoss(adapter) ? ` (loss ${formatLoss(adapter)})` : ''}` +
        (typeof before === 'number' && typeof after === 'number'
          ? `; mean log-probability of the wanted answers ${before.toFixed(2)} → ${after.toFixed(2)}`
          : '') +
        '.\n' +
        (result.activated
          ? `${adapter.version} is now served; shammah lora rollback returns to the base model.\n`
          : `Not served yet: shammah lora use ${adapter.version}.\n`),
    );
    return 0;
  } catch (error) {
    bar.done();
    if (error instanceof TrainingCancelledError || controller.signal.aborted) {
      err.write('Cancelled: nothing was published and the served model is unchanged.\n');
      return 130;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

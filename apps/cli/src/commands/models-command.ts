import { configuredModel, loadConfig } from '@shammah/config';
import {
  downloadModel,
  listCachedModels,
  MODEL_LADDER,
  recommendModel,
  removeCachedModel,
  VARIANT_FILES,
} from '@shammah/core-inference';
import { type CliArguments, UsageError } from '../cli-arguments.js';
import { formatBytes, ProgressBar } from './progress-bar.js';

/** `model_int8.onnx` → `int8`. */
function variantName(file: string): string {
  return VARIANT_FILES.find(([, name]) => name === file)?.[0] ?? file;
}

/**
 * `shammah models`: `list` (downloaded models, and the ladder of recommended ones with their
 * sizes), `pull <repo>` (download with a progress bar; resumes), `rm <repo>`.
 */
export async function runModelsCommand(
  args: readonly string[],
  flags: CliArguments['flags'],
  out: NodeJS.WriteStream = process.stdout,
): Promise<number> {
  const [action = 'list', repo] = args;
  switch (action) {
    case 'list':
    case 'ls': {
      const [cached, config] = await Promise.all([listCachedModels(), loadConfig()]);
      const configured = configuredModel(config);
      const recommended = recommendModel();
      if (flags.json) {
        out.write(
          `${JSON.stringify({ cached, configured: configured ?? null, recommended, ladder: MODEL_LADDER })}\n`,
        );
        return 0;
      }
      out.write('Downloaded:\n');
      if (cached.length === 0) out.write('  (none) — shammah models pull <repo> downloads one\n');
      for (const model of cached) {
        const marks = [
          model.repoId === configured ? 'configured' : '',
          model.repoId === recommended.repoId ? 'recommended' : '',
        ]
          .filter(Boolean)
          .join(', ');
        out.write(
          `  ${model.repoId.padEnd(44)} ${formatBytes(model.sizeBytes).padStart(8)}  ${model.variants.map(variantName).sort().join(', ')}${marks ? `  (${marks})` : ''}\n`,
        );
      }
      out.write(
        `\nRecommended by memory (this machine: ${recommended.parameters} → ${recommended.repoId}):\n`,
      );
      for (const choice of MODEL_LADDER) {
        const have = cached.some((model) => model.repoId === choice.repoId);
        out.write(
          `  ${choice.repoId.padEnd(44)} ${choice.parameters.padStart(5)}  ${`~${formatBytes(choice.downloadMB * 1e6)}`.padStart(8)}  ${choice.minimumRamGiB ? `${choice.minimumRamGiB} GB RAM` : 'any RAM'}${have ? '  downloaded' : ''}\n`,
        );
      }
      return 0;
    }
    case 'pull': {
      if (!repo)
        throw new UsageError(
          'Usage: shammah models pull <repo>, e.g. shammah models pull onnx-community/Qwen2.5-1.5B-Instruct',
        );
      const bar = new ProgressBar(process.stderr);
      const variant = flags.variant ?? (await loadConfig()).backend.variant;
      process.stderr.write(`Downloading ${repo} (${variant} variant)…\n`);
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        const path = await downloadModel({
          repoId: repo,
          variant,
          signal: controller.signal,
          onProgress: (progress) =>
            bar.update(
              progress.fraction,
              `${formatBytes(progress.downloadedBytes)} / ${formatBytes(progress.totalBytes)}  ${progress.file}`,
            ),
        });
        bar.done(`Downloaded ${repo} to ${path}`);
        return 0;
      } catch (error) {
        bar.done();
        if (controller.signal.aborted) {
          process.stderr.write('Cancelled. Run the same command again to resume.\n');
          return 130;
        }
        throw error;
      } finally {
        process.off('SIGINT', onSigint);
      }
    }
    case 'rm':
    case 'remove': {
      if (!repo) throw new UsageError('Usage: shammah models rm <repo>');
      const removed = await removeCachedModel(repo);
      if (!removed) {
        process.stderr.write(`shammah: ${repo} is not downloaded (shammah models list shows what is).\n`);
        return 1;
      }
      out.write(`Removed ${repo}.\n`);
      return 0;
    }
    default:
      throw new UsageError(`Unknown models action "${action}". Use list, pull <repo> or rm <repo>.`);
  }
}

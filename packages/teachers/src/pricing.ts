import type { Usage } from '@shammah/provider';
import { findModel, type ModelPrice, type TeacherProvider } from './model-catalog.js';

/** Price overrides keyed by model id (or id prefix), in USD per million tokens. */
export type PriceTable = Record<string, ModelPrice>;

/**
 * The price of `modelId`. An override applies to its exact id and the ids it is a prefix of
 * (`gpt-4o` covers `gpt-4o-2024-11-20`), unless the table knows a more specific model (`gpt-4o-mini`);
 * the key `*` covers every model. Otherwise the known price, if any.
 */
export function priceFor(
  modelId: string,
  overrides: PriceTable = {},
  provider: TeacherProvider = 'openai-compatible',
): ModelPrice | undefined {
  const id = modelId.toLowerCase();
  const known = findModel(provider, modelId);
  const overrideKey = Object.keys(overrides)
    .filter((key) => {
      const candidate = key.toLowerCase();
      return id === candidate || id.startsWith(`${candidate}-`);
    })
    .sort((a, b) => b.length - a.length)[0];
  if (overrideKey !== undefined && (!known || overrideKey.length >= known.id.length))
    return overrides[overrideKey];
  if (known?.price) return known.price;
  return overrides['*'];
}

/**
 * Estimated cost in US dollars of one request's usage, or `undefined` when the model's price is
 * unknown. `usage.inputTokens` includes cached tokens, which are charged at the cached price.
 *
 * @example
 * ```ts
 * costOf({ inputTokens: 1_000_000, outputTokens: 0 }, 'claude-sonnet-4-5'); // 3
 * ```
 */
export function costOf(
  usage: Usage,
  modelId: string,
  overrides: PriceTable = {},
  provider: TeacherProvider = 'openai-compatible',
): number | undefined {
  const price = priceFor(modelId, overrides, provider);
  if (!price) return undefined;
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const fresh = usage.inputTokens - cached;
  return (
    (fresh * price.input + cached * (price.cachedInput ?? price.input) + usage.outputTokens * price.output) /
    1_000_000
  );
}

/** Running totals of one teacher's usage and estimated cost. */
export interface UsageTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** Estimated US dollars; requests whose model has no known price add nothing. */
  costUsd: number;
  /** Requests whose cost could not be estimated because the model's price is unknown. */
  unpricedRequests: number;
}

/** Accumulates {@link UsageTotals} for one teacher. */
export class CostTracker {
  #totals: UsageTotals = {
    requests: 0,
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    costUsd: 0,
    unpricedRequests: 0,
  };

  constructor(
    private readonly provider: TeacherProvider,
    private readonly overrides: PriceTable = {},
  ) {}

  /** Adds one request's usage; returns its estimated cost. */
  add(usage: Usage, modelId: string): number | undefined {
    const cost = costOf(usage, modelId, this.overrides, this.provider);
    const totals = this.#totals;
    totals.requests += 1;
    totals.inputTokens += usage.inputTokens;
    totals.outputTokens += usage.outputTokens;
    totals.cachedInputTokens += usage.cachedInputTokens ?? 0;
    if (cost === undefined) totals.unpricedRequests += 1;
    else totals.costUsd += cost;
    return cost;
  }

  /** The estimated cost of `usage` on `modelId`, without adding it. */
  costOf(usage: Usage, modelId: string): number | undefined {
    return costOf(usage, modelId, this.overrides, this.provider);
  }

  /** A snapshot of the totals. */
  get totals(): UsageTotals {
    return { ...this.#totals };
  }
}

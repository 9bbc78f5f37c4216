import { readFile, rename } from 'node:fs/promises';
import { type Logger, silentLogger } from '@shammah/provider';
import { writeFileAtomic } from './atomic-write.js';
import { RouterConfigError } from './errors.js';

/** What the user thought of an answer: the original's /good, /medium (improve) and /critical. */
export type FeedbackRating = 'good' | 'improve' | 'critical';

/** Settings of {@link RoutingLearning}. */
export interface RoutingLearningSettings {
  /**
   * The JSON file the statistics live in (the app uses `~/.shammah/router.json`). Without one,
   * learning lasts as long as the process.
   */
  path?: string;
  /** The success rate a category needs on the local model to stay local. Default 0.75. */
  initialThreshold?: number;
  /** Bounds of the adaptive threshold. Default 0.60 and 0.95. */
  minThreshold?: number;
  maxThreshold?: number;
  /** Judged answers a category needs before it can be sent to a teacher. Default 3. */
  minSamples?: number;
  /**
   * Imagined earlier answers every category starts with, so one bad answer does not condemn it.
   * Default 4 successes and 1 failure (a prior rate of 0.8).
   */
  prior?: { successes: number; failures: number };
  /** Weight of each rating: good counts as a success, improve and critical as failures. Default 1, 1, 3. */
  feedbackWeights?: Partial<Record<FeedbackRating, number>>;
  /** Failure weight of a local answer escalated for low confidence. Default 1; 0 to ignore. */
  lowConfidenceWeight?: number;
  /**
   * How much a category's earlier evidence keeps with each new one (0–1). Default 0.95, so about
   * the last twenty judgements count: a category can recover after a bad period.
   */
  decay?: number;
  /**
   * While a category is sent to teachers, every `probeEvery`-th request of it still goes to the
   * local model, so that the model (perhaps improved by training) gets a chance to win it back.
   * Default 10; 0 turns probing off.
   */
  probeEvery?: number;
  /** Requests before the threshold starts adapting, as in the original. Default 50. */
  adaptAfter?: number;
  /** The share of requests the router aims to send to teachers. Default 0.05. */
  targetEscalationRate?: number;
  /** Wait this long after a change before writing the file, to batch changes. Default 200 ms. */
  saveDelayMs?: number;
  logger?: Logger;
}

/** One category's statistics, as stored. */
interface CategoryRecord {
  /** Decayed, weighted successes of local answers. */
  successes: number;
  /** Decayed, weighted failures of local answers. */
  failures: number;
  /** Judged local answers, ever. */
  observations: number;
  /** Requests sent to teachers since the category was last local (drives probing). */
  escalatedRequests: number;
}

/** The file's content. */
interface LearningFile {
  version: 1;
  threshold: number;
  /** Requests the learning was consulted on, ever. */
  queries: number;
  /** Decayed counts of recent requests and of those sent to teachers. */
  recent: { queries: number; escalations: number };
  /** Decayed, weighted judgements of local answers across all categories. */
  judged: { successes: number; failures: number };
  categories: Record<string, CategoryRecord>;
  updatedAt: string;
}

/** One category as shown by `/status` and `/metrics`. */
export interface CategorySnapshot {
  name: string;
  /** Decayed, weighted successes and failures of local answers. */
  successes: number;
  failures: number;
  /** Judged local answers, ever. */
  observations: number;
  /** Success rate including the prior. */
  successRate: number;
  /** Whether requests of this category now go to a teacher. */
  escalated: boolean;
}

/** The learning state, for `/status` and `/metrics`. */
export interface LearningSnapshot {
  threshold: number;
  minSamples: number;
  queries: number;
  /** Share of recent requests sent to a teacher by learning. */
  escalationRate: number;
  /** Share of recent judged local answers that were good. */
  localSuccessRate: number | undefined;
  categories: CategorySnapshot[];
  /** The file, if any. */
  path: string | undefined;
  /** Where the state came from: the file, a fresh start, or a fresh start after a corrupt file. */
  source: 'file' | 'fresh' | 'corrupt-file';
  /** Where a corrupt file was moved to. */
  corruptBackup?: string;
}

/** What the learning advises for one request. */
export interface LearningAdvice {
  category: string;
  /** Send the request to a teacher. */
  escalate: boolean;
  /** The category is escalated, but this request probes the local model. */
  probe: boolean;
  successRate: number;
  threshold: number;
  observations: number;
}

/** What a piece of feedback changed. */
export interface FeedbackOutcome {
  applied: boolean;
  category: string;
  /** Why it was not applied. */
  reason?: 'teacher-answer' | 'unknown-answer' | 'learning-off';
  /** The category afterwards. */
  snapshot?: CategorySnapshot;
}

function fresh(threshold: number): LearningFile {
  return {
    version: 1,
    threshold,
    queries: 0,
    recent: { queries: 0, escalations: 0 },
    judged: { successes: 0, failures: 0 },
    categories: {},
    updatedAt: new Date().toISOString(),
  };
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const nonNegative = (value: unknown): value is number => finite(value) && value >= 0;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a parsed file; returns a description of the first problem, or undefined. */
function problemOf(value: unknown): string | undefined {
  if (!isObject(value)) return 'not a JSON object';
  if (value.version !== 1) return `unknown version ${JSON.stringify(value.version)}`;
  if (!finite(value.threshold)) return 'threshold is not a number';
  if (!nonNegative(value.queries)) return 'queries is not a count';
  const { recent, judged, categories } = value;
  if (!isObject(recent) || !nonNegative(recent.queries) || !nonNegative(recent.escalations))
    return 'bad "recent"';
  if (!isObject(judged) || !nonNegative(judged.successes) || !nonNegative(judged.failures))
    return 'bad "judged"';
  if (!isObject(categories)) return 'categories is not an object';
  for (const [name, record] of Object.entries(categories)) {
    if (
      !isObject(record) ||
      !nonNegative(record.successes) ||
      !nonNegative(record.failures) ||
      !nonNegative(record.observations) ||
      !nonNegative(record.escalatedRequests)
    ) {
      return `bad category "${name}"`;
    }
  }
  return undefined;
}

function checkUnit(name: string, value: number, low = 0, high = 1): void {
  if (!(value >= low && value <= high)) {
    throw new RouterConfigError(
      `The routing learning setting ${name} is ${value}; give a number from ${low} to ${high}.`,
    );
  }
}

/**
 * Learns, per category of request, how often the local model's answers are good, and sends a
 * category to a teacher when its success rate falls under an adaptive threshold: the original
 * Shammah's threshold router, with evidence that fades so a category can come back, and probes
 * that give the local model a chance to win it back. The state is kept in a JSON file, written
 * atomically; a missing file starts fresh, a corrupt one is moved aside.
 *
 * @example
 * ```ts
 * const learning = await RoutingLearning.open({ path: join(homedir(), '.shammah', 'router.json') });
 * learning.recordFeedback('debug', 'critical');
 * console.log(learning.snapshot().categories);
 * await learning.close();
 * ```
 */
export class RoutingLearning {
  readonly #settings: Required<
    Omit<RoutingLearningSettings, 'path' | 'logger' | 'feedbackWeights' | 'prior'>
  >;
  readonly #prior: { successes: number; failures: number };
  readonly #weights: Record<FeedbackRating, number>;
  readonly #path: string | undefined;
  readonly #log: Logger;
  #state: LearningFile;
  #source: LearningSnapshot['source'] = 'fresh';
  #corruptBackup: string | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;

  private constructor(settings: RoutingLearningSettings) {
    this.#settings = {
      initialThreshold: settings.initialThreshold ?? 0.75,
      minThreshold: settings.minThreshold ?? 0.6,
      maxThreshold: settings.maxThreshold ?? 0.95,
      minSamples: settings.minSamples ?? 3,
      lowConfidenceWeight: settings.lowConfidenceWeight ?? 1,
      decay: settings.decay ?? 0.95,
      probeEvery: settings.probeEvery ?? 10,
      adaptAfter: settings.adaptAfter ?? 50,
      targetEscalationRate: settings.targetEscalationRate ?? 0.05,
      saveDelayMs: settings.saveDelayMs ?? 200,
    };
    const s = this.#settings;
    checkUnit('minThreshold', s.minThreshold);
    checkUnit('maxThreshold', s.maxThreshold, s.minThreshold, 1);
    checkUnit('initialThreshold', s.initialThreshold, s.minThreshold, s.maxThreshold);
    checkUnit('decay', s.decay, Number.MIN_VALUE, 1);
    checkUnit('targetEscalationRate', s.targetEscalationRate);
    this.#prior = settings.prior ?? { successes: 4, failures: 1 };
    this.#weights = { good: 1, improve: 1, critical: 3, ...settings.feedbackWeights };
    this.#path = settings.path;
    this.#log = (settings.logger ?? silentLogger).child({ module: 'routing-learning' });
    this.#state = fresh(s.initialThreshold);
  }

  /** Learning kept in memory only. */
  static inMemory(settings: Omit<RoutingLearningSettings, 'path'> = {}): RoutingLearning {
    return new RoutingLearning({ ...settings, path: undefined });
  }

  /**
   * Loads the learning from `settings.path`. A missing file starts fresh; an unreadable or corrupt
   * one is renamed to `<path>.corrupt-<time>` (kept for inspection) and learning starts fresh.
   */
  static async open(settings: RoutingLearningSettings): Promise<RoutingLearning> {
    const learning = new RoutingLearning(settings);
    await learning.#load();
    return learning;
  }

  async #load(): Promise<void> {
    const path = this.#path;
    if (path === undefined) return;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    let problem: string | undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
      problem = problemOf(parsed);
    } catch (error) {
      problem = `not valid JSON (${(error as Error).message})`;
    }
    if (problem === undefined) {
      const state = parsed as LearningFile;
      state.threshold = this.#clamp(state.threshold);
      this.#state = state;
      this.#source = 'file';
      this.#log.debug(
        { path, categories: Object.keys(state.categories).length },
        'routing statistics loaded',
      );
      return;
    }
    const backup = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      await rename(path, backup);
      this.#corruptBackup = backup;
    } catch (error) {
      this.#log.warn(
        { path, error: (error as Error).message },
        'could not move the corrupt routing statistics aside',
      );
    }
    this.#source = 'corrupt-file';
    this.#log.warn(
      { path, backup, problem },
      'the routing statistics file is corrupt; it was moved aside and learning starts afresh',
    );
  }

  #clamp(threshold: number): number {
    return Math.min(this.#settings.maxThreshold, Math.max(this.#settings.minThreshold, threshold));
  }

  #category(name: string): CategoryRecord {
    let record = this.#state.categories[name];
    if (!record) {
      record = { successes: 0, failures: 0, observations: 0, escalatedRequests: 0 };
      this.#state.categories[name] = record;
    }
    return record;
  }

  #rate(record: CategoryRecord | undefined): number {
    const prior = this.#prior;
    const successes = (record?.successes ?? 0) + prior.successes;
    const failures = (record?.failures ?? 0) + prior.failures;
    return successes + failures === 0 ? 1 : successes / (successes + failures);
  }

  #isEscalated(record: CategoryRecord | undefined): boolean {
    return (
      record !== undefined &&
      record.observations >= this.#settings.minSamples &&
      this.#rate(record) < this.#state.threshold
    );
  }

  /** The current threshold a category's success rate must reach to stay local. */
  get threshold(): number {
    return this.#state.threshold;
  }

  /**
   * Advises on one request of `category` that the local model could take, and counts it: the
   * escalation rate it feeds is what the threshold adapts to.
   */
  consult(category: string): LearningAdvice {
    const state = this.#state;
    const record = state.categories[category];
    const escalated = this.#isEscalated(record);
    let probe = false;
    if (escalated && record) {
      record.escalatedRequests += 1;
      probe = this.#settings.probeEvery > 0 && record.escalatedRequests % this.#settings.probeEvery === 0;
    } else if (record) {
      record.escalatedRequests = 0;
    }
    const windowDecay = 1 - 1 / this.#settings.adaptAfter;
    state.queries += 1;
    state.recent.queries = state.recent.queries * windowDecay + 1;
    state.recent.escalations = state.recent.escalations * windowDecay + (escalated && !probe ? 1 : 0);
    this.#adapt();
    this.#changed();
    return {
      category,
      escalate: escalated && !probe,
      probe,
      successRate: this.#rate(record),
      threshold: state.threshold,
      observations: record?.observations ?? 0,
    };
  }

  /** Records a judgement of a local answer in `category`: user feedback or a failed confidence check. */
  #judge(category: string, success: boolean, weight: number): CategorySnapshot {
    const { decay } = this.#settings;
    const record = this.#category(category);
    const wasEscalated = this.#isEscalated(record);
    record.successes = record.successes * decay + (success ? weight : 0);
    record.failures = record.failures * decay + (success ? 0 : weight);
    record.observations += 1;
    const judged = this.#state.judged;
    judged.successes = judged.successes * decay + (success ? weight : 0);
    judged.failures = judged.failures * decay + (success ? 0 : weight);
    this.#adapt();
    const snapshot = this.#snapshotOf(category, record);
    if (snapshot.escalated !== wasEscalated) {
      this.#log.info(
        { category, successRate: snapshot.successRate, threshold: this.#state.threshold },
        snapshot.escalated ? 'category now goes to a teacher' : 'category back on the local model',
      );
      if (!snapshot.escalated) record.escalatedRequests = 0;
    }
    this.#changed();
    return snapshot;
  }

  /**
   * Records the user's rating of a local answer in `category`: good counts as a success,
   * improve and critical as (weighted) failures.
   */
  recordFeedback(category: string, rating: FeedbackRating): CategorySnapshot {
    return this.#judge(category, rating === 'good', this.#weights[rating]);
  }

  /** Records that a local answer in `category` was escalated because its confidence was low. */
  recordLowConfidence(category: string): CategorySnapshot {
    const weight = this.#settings.lowConfidenceWeight;
    if (weight <= 0) return this.#snapshotOf(category, this.#state.categories[category]);
    return this.#judge(category, false, weight);
  }

  /** Adapts the threshold as the original did, once there is enough history. */
  #adapt(): void {
    const state = this.#state;
    const s = this.#settings;
    if (state.queries < s.adaptAfter) return;
    const escalationRate = state.recent.queries > 0 ? state.recent.escalations / state.recent.queries : 0;
    const judged = state.judged.successes + state.judged.failures;
    if (escalationRate > s.targetEscalationRate + 0.1) {
      // Sending too much to teachers: trust the local model a little more.
      state.threshold *= 0.995;
    } else if (judged > 0 && state.judged.successes / judged < 0.7) {
      // Local answers are often judged bad: be a little more careful.
      state.threshold *= 1.005;
    }
    state.threshold = this.#clamp(state.threshold);
  }

  /** Forgets a category's statistics, or all of them (for example after changing the local model). */
  reset(category?: string): void {
    if (category === undefined) {
      this.#state = fresh(this.#settings.initialThreshold);
    } else {
      delete this.#state.categories[category];
    }
    this.#changed();
  }

  #snapshotOf(name: string, record: CategoryRecord | undefined): CategorySnapshot {
    return {
      name,
      successes: record?.successes ?? 0,
      failures: record?.failures ?? 0,
      observations: record?.observations ?? 0,
      successRate: this.#rate(record),
      escalated: this.#isEscalated(record),
    };
  }

  /** The state, for `/status` and `/metrics`. */
  snapshot(): LearningSnapshot {
    const state = this.#state;
    const judged = state.judged.successes + state.judged.failures;
    return {
      threshold: state.threshold,
      minSamples: this.#settings.minSamples,
      queries: state.queries,
      escalationRate: state.recent.queries > 0 ? state.recent.escalations / state.recent.queries : 0,
      localSuccessRate: judged > 0 ? state.judged.successes / judged : undefined,
      categories: Object.entries(state.categories)
        .map(([name, record]) => this.#snapshotOf(name, record))
        .sort((a, b) => a.name.localeCompare(b.name)),
      path: this.#path,
      source: this.#source,
      ...(this.#corruptBackup ? { corruptBackup: this.#corruptBackup } : {}),
    };
  }

  #changed(): void {
    if (this.#path === undefined) return;
    this.#dirty = true;
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch((error: unknown) => {
        this.#log.warn(
          { path: this.#path, error: (error as Error).message },
          'could not save routing statistics',
        );
      });
    }, this.#settings.saveDelayMs);
    this.#timer.unref?.();
  }

  /** Writes pending changes to the file now. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const path = this.#path;
    const write = async () => {
      if (!this.#dirty || path === undefined) return;
      this.#dirty = false;
      this.#state.updatedAt = new Date().toISOString();
      try {
        await writeFileAtomic(path, `${JSON.stringify(this.#state, null, 2)}\n`);
      } catch (error) {
        this.#dirty = true;
        throw error;
      }
    };
    // One write at a time, in order; a failed write does not block the next.
    const next = this.#writing.then(write, write);
    this.#writing = next.catch(() => undefined);
    return next;
  }

  /** Writes pending changes and stops the save timer. */
  async close(): Promise<void> {
    await this.flush();
  }
}

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The daemon's Prometheus metrics, on a registry of its own (so several daemons in one process, as in
 * tests, never share counters).
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly generations: Counter<'route' | 'provider' | 'finish_reason'>;
  readonly promptTokens: Counter<'route'>;
  readonly cachedPromptTokens: Counter<'route'>;
  readonly completionTokens: Counter<'route'>;
  readonly tokensPerSecond: Histogram<'route'>;
  readonly timeToFirstToken: Histogram<'route'>;
  readonly queueDepth: Gauge;
  readonly queueActive: Gauge;
  readonly queueRejected: Counter;
  readonly cancelled: Counter<'stage'>;
  readonly errors: Counter<'code'>;
  readonly sessions: Gauge;
  readonly modelState: Gauge<'state'>;
  readonly inFlight: Gauge;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'shammah_http_requests_total',
      help: 'HTTP requests by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'shammah_http_request_duration_seconds',
      help: 'Time from request to the end of the response (the end of the stream for SSE).',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.generations = new Counter({
      name: 'shammah_generations_total',
      help: 'Answers generated, by route (local, teacher, builtin), provider and finish reason.',
      labelNames: ['route', 'provider', 'finish_reason'],
      registers,
    });
    this.promptTokens = new Counter({
      name: 'shammah_prompt_tokens_total',
      help: 'Prompt tokens read, by route.',
      labelNames: ['route'],
      registers,
    });
    this.cachedPromptTokens = new Counter({
      name: 'shammah_cached_prompt_tokens_total',
      help: 'Prompt tokens served from a prefix cache, by route.',
      labelNames: ['route'],
      registers,
    });
    this.completionTokens = new Counter({
      name: 'shammah_completion_tokens_total',
      help: 'Tokens generated, by route.',
      labelNames: ['route'],
      registers,
    });
    this.tokensPerSecond = new Histogram({
      name: 'shammah_decode_tokens_per_second',
      help: 'Generation speed of each answer, in tokens per second.',
      labelNames: ['route'],
      buckets: [1, 2, 5, 10, 20, 40, 80, 160, 320],
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: 'shammah_time_to_first_token_seconds',
      help: 'Time from the model call to its first token.',
      labelNames: ['route'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'shammah_queue_depth',
      help: 'Requests waiting for the local model.',
      registers,
    });
    this.queueActive = new Gauge({
      name: 'shammah_queue_active',
      help: 'Requests the local model is working on.',
      registers,
    });
    this.queueRejected = new Counter({
      name: 'shammah_queue_rejected_total',
      help: 'Requests refused with 429 because the local queue was full.',
      registers,
    });
    this.cancelled = new Counter({
      name: 'shammah_requests_cancelled_total',
      help: 'Requests whose client went away (or that shutdown cancelled) before the answer ended, by stage.',
      labelNames: ['stage'],
      registers,
    });
    this.errors = new Counter({
      name: 'shammah_errors_total',
      help: 'Failed requests, by error code.',
      labelNames: ['code'],
      registers,
    });
    this.sessions = new Gauge({ name: 'shammah_sessions', help: 'Sessions kept.', registers });
    this.modelState = new Gauge({
      name: 'shammah_local_model_state',
      help: 'The local model state: 1 for the current state, 0 for the others.',
      labelNames: ['state'],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'shammah_requests_in_flight',
      help: 'Chat requests being answered now.',
      registers,
    });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Records the local model's state (absent, downloading, loading, ready, failed). */
  setModelState(state: string | undefined): void {
    for (const name of ['absent', 'downloading', 'loading', 'ready', 'failed']) {
      this.modelState.set({ state: name }, name === state ? 1 : 0);
    }
  }
}

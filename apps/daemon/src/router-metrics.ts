import type { RouteDecision, RouterSnapshot } from '@shammah/router';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The router's Prometheus metrics: every decision by route and reason, fallbacks, teacher cost, and
 * what learning has found per category (read from the router's snapshot at each scrape).
 */
export class RouterMetrics {
  readonly decisions: Counter<'route' | 'reason'>;
  readonly fallbacks: Counter;
  readonly teacherCost: Counter<'provider' | 'model'>;
  readonly categorySuccessRate: Gauge<'category'>;
  readonly categoryEscalated: Gauge<'category'>;
  readonly categoryObservations: Gauge<'category'>;
  readonly learningThreshold: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.decisions = new Counter({
      name: 'shammah_router_decisions_total',
      help: "The router's decisions, by route (local, teacher, builtin, none) and reason code.",
      labelNames: ['route', 'reason'],
      registers,
    });
    this.fallbacks = new Counter({
      name: 'shammah_router_fallbacks_total',
      help: 'Answers that came from another model than the first one tried.',
      registers,
    });
    this.teacherCost = new Counter({
      name: 'shammah_teacher_cost_usd_total',
      help: "Teachers' estimated cost in US dollars, by provider and model (where the teacher prices its usage).",
      labelNames: ['provider', 'model'],
      registers,
    });
    this.categorySuccessRate = new Gauge({
      name: 'shammah_router_category_success_rate',
      help: "The local model's success rate per request category, learnt from feedback (prior included).",
      labelNames: ['category'],
      registers,
    });
    this.categoryEscalated = new Gauge({
      name: 'shammah_router_category_escalated',
      help: 'Whether requests of a category go to a teacher because their local success rate is low (1) or not (0).',
      labelNames: ['category'],
      registers,
    });
    this.categoryObservations = new Gauge({
      name: 'shammah_router_category_judged_answers',
      help: 'Local answers judged by feedback, per category, ever.',
      labelNames: ['category'],
      registers,
    });
    this.learningThreshold = new Gauge({
      name: 'shammah_router_learning_threshold',
      help: 'The success rate a category needs to stay on the local model (adapts between 0.60 and 0.95).',
      registers,
    });
  }

  /** Counts one decision. */
  observe(decision: RouteDecision): void {
    this.decisions.inc({ route: decision.route, reason: decision.reason });
    if (decision.fallback) this.fallbacks.inc();
    if (decision.route === 'teacher' && decision.costUsd !== undefined && decision.costUsd > 0) {
      this.teacherCost.inc({ provider: decision.provider, model: decision.modelId }, decision.costUsd);
    }
  }

  /** Sets the learning gauges from the router's state (before each scrape). */
  update(snapshot: RouterSnapshot): void {
    const learning = snapshot.learning;
    if (!learning) return;
    this.learningThreshold.set(learning.threshold);
    for (const category of learning.categories) {
      const label = { category: category.name };
      this.categorySuccessRate.set(label, category.successRate);
      this.categoryEscalated.set(label, category.escalated ? 1 : 0);
      this.categoryObservations.set(label, category.observations);
    }
  }
}

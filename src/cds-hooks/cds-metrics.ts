/** Prometheus counters of the CDS Hooks service, on the service's registry (labels: outcomes and codes, never ids). */
import { Counter, type Registry } from 'prom-client';
import { OVERRIDE_REASONS } from './card-source.ts';

export interface CdsMetrics {
  /** Hook calls by outcome: cards, no-card, unauthenticated, invalid, precondition-failed, error. */
  requests: Counter<'outcome'>;
  /** Cards returned, by indicator. */
  cards: Counter<'indicator'>;
  /** Feedback by outcome (accepted / overridden), the card's indicator (or unknown-card) and the override reason. */
  feedback: Counter<'outcome' | 'indicator' | 'reason'>;
}

const KNOWN_REASONS = new Set<string>(OVERRIDE_REASONS.map((r) => r.code));

/** The reason label: one of the service's own codes, `other`, or `none`; a client's free codes would grow the series. */
export function reasonLabel(code: string | undefined): string {
  if (code === undefined) return 'none';
  return KNOWN_REASONS.has(code) ? code : 'other';
}

export function createCdsMetrics(registry: Registry): CdsMetrics {
  return {
    requests: new Counter({
      name: 'irecist_cds_hooks_requests_total',
      help: 'CDS Hooks service calls, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    cards: new Counter({
      name: 'irecist_cds_hooks_cards_total',
      help: 'CDS Hooks cards returned, by indicator',
      labelNames: ['indicator'],
      registers: [registry],
    }),
    feedback: new Counter({
      name: 'irecist_cds_hooks_feedback_total',
      help: 'CDS Hooks card feedback, by outcome, card indicator and override reason',
      labelNames: ['outcome', 'indicator', 'reason'],
      registers: [registry],
    }),
  };
}

import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface Metrics {
  /** The app's own registry (not prom-client's global one), so several apps can live in one process. */
  registry: Registry;
  httpRequestDuration: Histogram<'route' | 'method' | 'status'>;
}

/** Modules add their own counters with `new Counter({ ..., registers: [metrics.registry] })`. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request received to response sent, by route pattern',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return { registry, httpRequestDuration };
}

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ClientKind } from '../../domain/clients.js';
import type { ErrorCode } from '../../domain/errors.js';

const CLIENT_KINDS: readonly ClientKind[] = ['teacher_app', 'student_web', 'manager_web'];

/**
 * The service's Prometheus metrics, in a registry of its own (so several services in one test
 * process never collide), with Node's default process metrics. Other adapters register their
 * counters on `registry` too, and `/metrics` serves all of them.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly connectedSockets: Gauge<'client'>;
  private readonly events: Counter<'event' | 'outcome'>;
  private readonly ackLatency: Histogram<'event'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.connectedSockets = new Gauge({
      name: 'classroom_connected_sockets',
      help: 'Sockets admitted on this node, by client kind.',
      labelNames: ['client'],
      registers,
    });
    this.events = new Counter({
      name: 'classroom_events_total',
      help: 'Client events handled, by event name and outcome (ok or the error code).',
      labelNames: ['event', 'outcome'],
      registers,
    });
    this.ackLatency = new Histogram({
      name: 'classroom_ack_latency_seconds',
      help: 'Time from receiving a client event to its acknowledgement.',
      labelNames: ['event'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    // Every kind shows from the first scrape, at 0, rather than appearing on its first connect.
    for (const client of CLIENT_KINDS) this.connectedSockets.set({ client }, 0);
  }

  connected(kind: ClientKind): void {
    this.connectedSockets.inc({ client: kind });
  }

  disconnected(kind: ClientKind): void {
    this.connectedSockets.dec({ client: kind });
  }

  /** Event names come from a closed set (unknown ones as `unknown`), so labels stay bounded. */
  handled(event: string, outcome: 'ok' | ErrorCode, seconds: number): void {
    this.events.inc({ event, outcome });
    this.ackLatency.observe({ event }, seconds);
  }

  /** The Prometheus text exposition of every metric in the registry. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

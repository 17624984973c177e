import type { Analytics, AnalyticsEvent } from '../../application/ports/analytics.js';
import { appendBounded } from './bounded.js';

/**
 * Analytics of the embedded mode (no `MIXPANEL_TOKEN`) and of tests: events are kept in memory,
 * the most recent `capacity` of them, for inspection.
 */
export class InMemoryAnalytics implements Analytics {
  readonly events: AnalyticsEvent[] = [];

  constructor(private readonly capacity = 10_000) {}

  async track(event: AnalyticsEvent): Promise<void> {
    appendBounded(this.events, event, this.capacity);
  }
}

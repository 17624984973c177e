import { type HistogramData, LatencyHistogram, type LatencySummary } from './latency-histogram.js';

/** What one kind of request (an event name, or `connect`) did over a run. */
export interface RequestSummary {
  readonly sent: number;
  readonly ok: number;
  /** Failures by code: the server's error code, or the driver's `ack_timeout` / `connect_timeout`. */
  readonly errors: Readonly<Record<string, number>>;
  /** Latency of every answered request, ok or not. */
  readonly latency: LatencySummary;
}

export interface RequestStatsData {
  readonly [name: string]: {
    readonly ok: number;
    readonly errors: Readonly<Record<string, number>>;
    readonly latency: HistogramData;
  };
}

interface Entry {
  ok: number;
  errors: Map<string, number>;
  latency: LatencyHistogram;
}

/** Outcomes and latencies of requests by name; mergeable across client processes. */
export class RequestStats {
  private readonly entries = new Map<string, Entry>();

  ok(name: string, latencyMs: number): void {
    const entry = this.entry(name);
    entry.ok += 1;
    entry.latency.record(latencyMs);
  }

  /** `latencyMs` is undefined when nothing answered (a timeout): no latency to record. */
  failed(name: string, code: string, latencyMs?: number): void {
    const entry = this.entry(name);
    entry.errors.set(code, (entry.errors.get(code) ?? 0) + 1);
    if (latencyMs !== undefined) entry.latency.record(latencyMs);
  }

  /** Successful answers of `name` so far. */
  okCount(name: string): number {
    return this.entries.get(name)?.ok ?? 0;
  }

  merge(data: RequestStatsData): void {
    for (const [name, { ok, errors, latency }] of Object.entries(data)) {
      const entry = this.entry(name);
      entry.ok += ok;
      for (const [code, count] of Object.entries(errors)) {
        entry.errors.set(code, (entry.errors.get(code) ?? 0) + count);
      }
      entry.latency.merge(latency);
    }
  }

  toData(): RequestStatsData {
    return Object.fromEntries(
      [...this.entries].map(([name, { ok, errors, latency }]) => [
        name,
        { ok, errors: Object.fromEntries(errors), latency: latency.toData() },
      ]),
    );
  }

  summary(): Record<string, RequestSummary> {
    return Object.fromEntries(
      [...this.entries]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, { ok, errors, latency }]) => {
          const failed = [...errors.values()].reduce((sum, count) => sum + count, 0);
          return [
            name,
            {
              sent: ok + failed,
              ok,
              errors: Object.fromEntries(errors),
              latency: latency.summary(),
            },
          ];
        }),
    );
  }

  private entry(name: string): Entry {
    let entry = this.entries.get(name);
    if (entry === undefined) {
      entry = { ok: 0, errors: new Map(), latency: new LatencyHistogram() };
      this.entries.set(name, entry);
    }
    return entry;
  }
}

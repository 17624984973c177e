import { get } from 'node:http';

/** One Prometheus series (name and labels as exposed) and its value. */
export type Samples = ReadonlyMap<string, number>;

export interface SeriesChange {
  readonly series: string;
  readonly before: number;
  readonly after: number;
  readonly delta: number;
}

/** The service's own series; the rest of `/metrics` is Node's process metrics. */
export const SERVICE_PREFIX = 'classroom_';

/** Reads `url`'s `/metrics` (an http:// node) and keeps the series whose names start with `prefix`. */
export async function scrapeMetrics(url: string, prefix = SERVICE_PREFIX): Promise<Samples> {
  const text = await new Promise<string>((resolve, reject) => {
    // A connection of its own per scrape: a pooled one can be closed by the node's keep-alive
    // timeout just as the request goes out, and the scrape then fails with ECONNRESET (seen when
    // the node was busy writing a heap snapshot as the timeout fell due).
    const request = get(`${url}/metrics`, { agent: false }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`GET ${url}/metrics answered ${response.statusCode}`));
        return;
      }
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve(body));
      response.on('error', reject);
    });
    request.on('error', (error) => {
      reject(new Error(`cannot read ${url}/metrics (is the node running?): ${String(error)}`));
    });
  });
  return parseSamples(text, prefix);
}

/** The Prometheus text format: `name{labels} value [timestamp]`, comments start with `#`. */
export function parseSamples(text: string, prefix: string): Samples {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const match = /^(\S+(?:\{.*\})?)\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) {
      samples.set(match[1], Number(match[2]));
    }
  }
  return samples;
}

/** The series whose value moved between the two scrapes; a new series starts from 0. */
export function changedSeries(before: Samples, after: Samples): SeriesChange[] {
  const changes: SeriesChange[] = [];
  for (const [series, value] of after) {
    const previous = before.get(series) ?? 0;
    if (value !== previous) {
      changes.push({ series, before: previous, after: value, delta: value - previous });
    }
  }
  return changes.sort((a, b) => a.series.localeCompare(b.series));
}

/**
 * `classroom_events_total{event="join_lesson",outcome="ok"}` → `join_lesson ok`, the key the
 * driver counts its own acknowledgements under; undefined for any other series.
 */
export function eventOutcomeOf(series: string): string | undefined {
  if (!series.startsWith('classroom_events_total{')) return undefined;
  const event = /event="([^"]*)"/.exec(series)?.[1];
  const outcome = /outcome="([^"]*)"/.exec(series)?.[1];
  return event === undefined || outcome === undefined ? undefined : `${event} ${outcome}`;
}

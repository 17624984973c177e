import mixpanel from 'mixpanel';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Analytics, AnalyticsEvent } from '../../application/ports/analytics.js';
import { positiveInteger } from '../support/positive-integer.js';

/** `track_batch` posts at most this many events per request; Mixpanel's /track takes no more. */
const MAX_BATCH_SIZE = 50;

type DropReason = 'queue_full' | 'retries_exhausted' | 'closed';
const DROP_REASONS: readonly DropReason[] = ['queue_full', 'retries_exhausted', 'closed'];

export interface MixpanelAnalyticsOptions {
  readonly token: string;
  /** Mixpanel's API host, `host` or `host:port`; default `api.mixpanel.com`. */
  readonly host?: string;
  readonly protocol?: 'http' | 'https';
  /** Prefix before `/track`, for a relay in front of Mixpanel; default empty. */
  readonly path?: string;
  /** Events per request, 1–50; default 50. */
  readonly batchSize?: number;
  /** Longest time a lone event waits for its batch to fill; default 1 000 ms. */
  readonly flushIntervalMs?: number;
  /** Events waiting to be sent (the batch in flight excluded); more are dropped. Default 10 000. */
  readonly maxQueue?: number;
  /** Requests made for one batch before it is dropped; default 5. */
  readonly maxAttempts?: number;
  /** Wait before the first retry, doubled before each next one; default 500 ms. */
  readonly backoffMs?: number;
  /** A request without an answer by then counts as failed; default 10 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Longest time `close()` spends delivering what is left; default 5 000 ms. */
  readonly closeTimeoutMs?: number;
  readonly logger: Logger;
  /** Where the analytics counters are registered; none when absent. */
  readonly registry?: Registry;
}

/**
 * Sends `reconnect` and `disconnect` to Mixpanel (PROTOCOL §9) in batches through `track_batch`.
 *
 * `track` only enqueues: it never waits for the network and never rejects. One batch is in flight
 * at a time, so while Mixpanel fails, the retrying batch holds back the others and the bounded queue
 * sheds the excess instead of piling up requests. A retried batch carries the same `$insert_id`s,
 * so Mixpanel counts each event once however many attempts reach it.
 */
export class MixpanelAnalytics implements Analytics {
  readonly #client: mixpanel.Mixpanel;
  readonly #logger: Logger;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #maxQueue: number;
  readonly #maxAttempts: number;
  readonly #backoffMs: number;
  readonly #requestTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #sent: Counter;
  readonly #dropped: Counter<'reason'>;
  readonly #errors: Counter;

  readonly #queue: mixpanel.Event[] = [];
  /** Cuts short a request or a backoff when `close()` runs out of time. */
  readonly #abandon = new AbortController();
  #flushTimer: NodeJS.Timeout | undefined;
  /** Set by the flush timer and by `close()`: send a partial batch rather than wait for it to fill. */
  #flushRequested = false;
  #closing = false;
  /** Whether the queue has been dropping events since it last had room; logged once per episode. */
  #shedding = false;
  #sending: Promise<void> | undefined;

  constructor(options: MixpanelAnalyticsOptions) {
    this.#batchSize = positiveInteger('batchSize', options.batchSize ?? MAX_BATCH_SIZE);
    if (this.#batchSize > MAX_BATCH_SIZE) {
      throw new RangeError(`batchSize must be at most ${MAX_BATCH_SIZE}, got ${this.#batchSize}`);
    }
    this.#flushIntervalMs = positiveInteger('flushIntervalMs', options.flushIntervalMs ?? 1_000);
    this.#maxQueue = positiveInteger('maxQueue', options.maxQueue ?? 10_000);
    this.#maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? 5);
    this.#backoffMs = positiveInteger('backoffMs', options.backoffMs ?? 500);
    this.#requestTimeoutMs = positiveInteger(
      'requestTimeoutMs',
      options.requestTimeoutMs ?? 10_000,
    );
    this.#closeTimeoutMs = positiveInteger('closeTimeoutMs', options.closeTimeoutMs ?? 5_000);
    this.#logger = options.logger;

    this.#client = mixpanel.init(options.token, {
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
      ...(options.path === undefined ? {} : { path: options.path }),
      // The package logs only in debug mode or on deprecated options; keep it off the console.
      logger: options.logger,
    });
    // The package reads these once, at init, and ignores NO_PROXY: requests to a loopback relay
    // would go to the proxy, which is baffling unless said.
    const proxy = process.env.HTTPS_PROXY || process.env.HTTP_PROXY;
    if (proxy) {
      this.#logger.warn(
        { proxy },
        'Mixpanel requests go through the HTTP(S)_PROXY of the environment',
      );
    }

    const registers = options.registry === undefined ? [] : [options.registry];
    this.#sent = new Counter({
      name: 'classroom_analytics_events_sent_total',
      help: 'Analytics events Mixpanel accepted.',
      registers,
    });
    this.#dropped = new Counter({
      name: 'classroom_analytics_events_dropped_total',
      help: 'Analytics events given up on, by reason.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of DROP_REASONS) this.#dropped.inc({ reason }, 0);
    this.#errors = new Counter({
      name: 'classroom_analytics_errors_total',
      help: 'Mixpanel requests that failed (each attempt counts).',
      registers,
    });
  }

  async track(event: AnalyticsEvent): Promise<void> {
    if (this.#closing) {
      this.#drop(1, 'closed');
      return;
    }
    if (this.#queue.length >= this.#maxQueue) {
      if (!this.#shedding) {
        this.#shedding = true;
        this.#logger.warn({ maxQueue: this.#maxQueue }, 'analytics queue full, dropping events');
      }
      this.#drop(1, 'queue_full');
      return;
    }
    this.#queue.push(toMixpanelEvent(event));
    if (this.#queue.length >= this.#batchSize) {
      this.#pump();
    } else if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined;
        this.#flushRequested = true;
        this.#pump();
      }, this.#flushIntervalMs);
      // An idle service must be able to exit; `close()` is what guarantees delivery.
      this.#flushTimer.unref();
    }
  }

  /**
   * Sends everything queued, retrying as usual, and waits for it for at most `closeTimeoutMs`;
   * whatever is still unconfirmed then is dropped and counted. Later `track` calls are dropped.
   */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
      this.#pump();
    }
    const sending = this.#sending;
    if (sending !== undefined) {
      const deadline = pause(this.#closeTimeoutMs, this.#abandon.signal);
      await Promise.race([sending, deadline]);
      this.#abandon.abort();
      await sending;
    }
    this.#drop(this.#queue.splice(0).length, 'closed');
  }

  #pump(): void {
    if (this.#sending === undefined && this.#hasBatchToSend()) this.#sending = this.#sendAll();
  }

  #hasBatchToSend(): boolean {
    if (this.#abandon.signal.aborted || this.#queue.length === 0) return false;
    return this.#queue.length >= this.#batchSize || this.#flushRequested || this.#closing;
  }

  async #sendAll(): Promise<void> {
    try {
      while (this.#hasBatchToSend()) {
        const batch = this.#queue.splice(0, this.#batchSize);
        this.#shedding = false;
        await this.#deliver(batch);
      }
    } finally {
      // Runs in the same turn as the last check above, so no `track` can slip in between and find
      // a batch ready while `#sending` still says one is in progress.
      this.#flushRequested = false;
      this.#sending = undefined;
    }
  }

  async #deliver(batch: mixpanel.Event[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const error = await this.#post(batch);
      if (error === undefined) {
        this.#sent.inc(batch.length);
        return;
      }
      if (this.#abandon.signal.aborted) {
        this.#drop(batch.length, 'closed');
        return;
      }
      this.#errors.inc();
      if (attempt >= this.#maxAttempts) {
        this.#logger.warn(
          { err: error, events: batch.length, attempts: attempt },
          'Mixpanel batch dropped after its last attempt',
        );
        this.#drop(batch.length, 'retries_exhausted');
        return;
      }
      const backoffMs = this.#backoffMs * 2 ** (attempt - 1);
      this.#logger.debug({ err: error, attempt, backoffMs }, 'Mixpanel batch failed, retrying');
      await pause(backoffMs, this.#abandon.signal);
    }
  }

  /** One request for `batch`; resolves to its error, or undefined when Mixpanel accepted it. */
  #post(batch: mixpanel.Event[]): Promise<unknown> {
    const signal = this.#abandon.signal;
    return new Promise((resolve) => {
      const finish = (error: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(error);
      };
      const onAbort = () => finish(new Error('abandoned at close'));
      const timer = setTimeout(
        () => finish(new Error(`Mixpanel did not answer within ${this.#requestTimeoutMs} ms`)),
        this.#requestTimeoutMs,
      );
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        // The package reports failures only through this callback, never by throwing, except
        // for a misconfiguration it detects while building the request.
        this.#client.track_batch(batch, { max_batch_size: this.#batchSize }, (errors) =>
          finish(errors?.[0]),
        );
      } catch (error) {
        finish(error);
      }
    });
  }

  #drop(count: number, reason: DropReason): void {
    if (count > 0) this.#dropped.inc({ reason }, count);
  }
}

/**
 * Mixpanel's property names (PROTOCOL §9). `time` is in milliseconds, which Mixpanel accepts
 * alongside seconds and which the `mixpanel` package itself sends for a `Date`.
 */
function toMixpanelEvent(event: AnalyticsEvent): mixpanel.Event {
  return {
    event: event.name,
    properties: {
      distinct_id: event.distinctId,
      lesson_id: event.lessonId,
      org_id: event.orgId,
      role: event.role,
      client: event.client,
      time: event.timeMs,
      $insert_id: event.insertId,
    },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

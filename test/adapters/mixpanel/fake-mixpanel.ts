import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** How the fake answers one request: like Mixpanel, with a 500, by cutting the connection, or never. */
export type Reply = 'accept' | 'fail' | 'drop' | 'hang';

export interface ReceivedEvent {
  readonly event: string;
  readonly properties: Record<string, unknown>;
}

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly events: ReceivedEvent[];
  /** `performance.now()` when the body had fully arrived. */
  readonly atMs: number;
}

/**
 * A stand-in for Mixpanel's `/track` on 127.0.0.1 that records every batch it is sent, decoded
 * the way the endpoint receives it: a form body whose `data` field is base64 of a JSON array.
 */
export class FakeMixpanel {
  readonly requests: ReceivedRequest[] = [];
  readonly #server = createServer((req, res) => void this.#receive(req, res));
  readonly #scripted: Reply[] = [];
  #then: Reply = 'accept';
  #waiters: { count: number; resolve: () => void }[] = [];

  /** `host:port`, as the adapter's `host` option takes it. */
  get host(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `127.0.0.1:${port}`;
  }

  get events(): ReceivedEvent[] {
    return this.requests.flatMap((request) => request.events);
  }

  /** The `$insert_id` of every event received, retries included, in arrival order. */
  get insertIds(): unknown[] {
    return this.events.map((event) => event.properties.$insert_id);
  }

  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return this;
  }

  /** Answers the next requests with `replies` in order, then every later one with `then`. */
  reply(replies: Reply[], then: Reply = 'accept'): void {
    this.#scripted.push(...replies);
    this.#then = then;
  }

  /** Resolves once `count` requests have arrived in total. */
  waitForRequests(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
  }

  async #receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      events: decodeTrackBody(req.headers['content-type'], Buffer.concat(chunks).toString()),
      atMs: performance.now(),
    });
    const ready = this.#waiters.filter((waiter) => this.requests.length >= waiter.count);
    this.#waiters = this.#waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();

    const reply = this.#scripted.shift() ?? this.#then;
    if (reply === 'accept') res.end('1');
    else if (reply === 'fail') res.writeHead(500).end('Internal Server Error');
    else if (reply === 'drop') req.socket.destroy();
  }
}

/**
 * The package writes `data=` followed by raw base64, not percent-encoded, so `+` must stay a plus
 * rather than become a space as a strict form decoder would make it.
 */
function decodeTrackBody(contentType: string | undefined, body: string): ReceivedEvent[] {
  if (contentType !== 'application/x-www-form-urlencoded' || !body.startsWith('data=')) {
    throw new Error(`not a /track batch body: ${contentType} ${body.slice(0, 40)}`);
  }
  const json = Buffer.from(decodeURIComponent(body.slice('data='.length)), 'base64').toString();
  return JSON.parse(json) as ReceivedEvent[];
}

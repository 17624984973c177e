import type { MikroORM } from '@mikro-orm/postgresql';
import { QUERY_TIMEOUT_MS } from './orm.js';
import { runSql } from './sql.js';

/**
 * What a statement applied at its deadline still needs before the client gives up on it: the
 * commit, the answer's way back, and the server clock's drift since it was last measured.
 */
const MARGIN_MS = 1_000;
/** How long a measurement of the server's clock is trusted before it is taken again. */
const REMEASURE_MS = 60_000;

const SERVER_CLOCK = `select (extract(epoch from clock_timestamp()) * 1000)::float8 as "nowMs"`;

export interface WriteFenceOptions {
  /** From sending a statement to its deadline; default the client-side query timeout less 1 s. */
  readonly budgetMs?: number;
}

/**
 * Deadlines for writes, on the database server's clock (PROTOCOL §6a.1: a refused request
 * changes nothing, later either). A write sends `deadline()` to `classroom_fence`, which refuses
 * the whole statement once the server's `clock_timestamp()` has reached it; the deadline comes
 * before the moment the client stops waiting (`query_timeout`), so a statement that a stalled
 * server runs after the client reported the write as failed applies nothing.
 *
 * The server's clock is measured with one query on first use, then again in the background every
 * minute; the service's own clock is the monotonic `performance.now()`, so a step of the node's
 * wall clock cannot move a deadline. Until the first measurement has answered, `deadline()` waits
 * for it (and rejects with `DependencyUnavailableError` if the database cannot be reached).
 */
export class WriteFence {
  readonly #budgetMs: number;
  /** The server's clock (Unix ms) minus `performance.now()`, as last measured. */
  #offsetMs: number | undefined;
  #measuredAt = 0;
  #measuring: Promise<number> | undefined;

  constructor(
    private readonly orm: MikroORM,
    options: WriteFenceOptions = {},
  ) {
    this.#budgetMs = options.budgetMs ?? QUERY_TIMEOUT_MS - MARGIN_MS;
  }

  /** The deadline for a statement sent now, on the server's clock. */
  async deadline(): Promise<Date> {
    const offsetMs = this.#offsetMs ?? (await this.#measure());
    if (performance.now() - this.#measuredAt > REMEASURE_MS && this.#measuring === undefined) {
      // Meanwhile the previous measurement serves; should this one fail, the next write retries.
      this.#measure().catch(() => undefined);
    }
    return new Date(performance.now() + offsetMs + this.#budgetMs);
  }

  /** One measurement at a time; concurrent first writes share it. */
  #measure(): Promise<number> {
    this.#measuring ??= this.#readServerClock().finally(() => {
      this.#measuring = undefined;
    });
    return this.#measuring;
  }

  /**
   * The server read its clock somewhere between our sending and our receiving the answer. Taking
   * the latest of those moments makes the server's clock look as early as it can be, so that an
   * error in the measurement only ever moves deadlines earlier.
   */
  async #readServerClock(): Promise<number> {
    const { rows } = await runSql<{ nowMs: number }>(this.orm, SERVER_CLOCK, []);
    const receivedAt = performance.now();
    // A select without a table answers exactly one row.
    const [{ nowMs }] = rows as [{ nowMs: number }];
    this.#offsetMs = nowMs - receivedAt;
    this.#measuredAt = receivedAt;
    return this.#offsetMs;
  }
}

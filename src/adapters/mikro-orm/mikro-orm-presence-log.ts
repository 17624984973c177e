import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { DependencyUnavailableError } from '../../application/errors.js';
import type { PresenceHistoryQuery, PresenceLog } from '../../application/ports/presence-log.js';
import type { Id } from '../../domain/ids.js';
import type { PresenceEventKind, PresenceRecord } from '../../domain/presence.js';
import { positiveInteger } from '../support/positive-integer.js';
import { StatementBatcher } from '../support/statement-batcher.js';
import { runSql } from './sql.js';
import { WriteFence } from './write-fence.js';

/** Most records one insert carries: bounds the statement's size. */
const MAX_BATCH_SIZE = 500;
/** Rows one pruning statement deletes, so that each stays well inside the statement timeout. */
const PRUNE_CHUNK = 10_000;
/** The longest wait between two attempts while the database stays away. */
const MAX_RETRY_DELAY_MS = 30_000;

type DropReason = 'queue_full' | 'refused' | 'closed';
const DROP_REASONS: readonly DropReason[] = ['queue_full', 'refused', 'closed'];

/**
 * One insert for a whole batch. The batch travels as one JSON parameter because `lesson_ids` is an
 * array per row, which `unnest` of parallel arrays cannot carry; JSON arrays become `text[]`.
 * Fenced (see `WriteFence`), so that a batch the client gave up on and will send again is never
 * also written by a stalled server later: a record is written once or not at all.
 */
const INSERT_RECORDS = `
  insert into "presence_event"
    ("org_id", "user_id", "at", "kind", "reason", "by", "lesson_ids", "node")
  select "org_id", "user_id", "at", "kind", "reason", "by", "lesson_ids", "node"
  from jsonb_to_recordset(?::jsonb) as record(
    "org_id" text, "user_id" text, "at" timestamptz, "kind" text, "reason" text,
    "by" text, "lesson_ids" text[], "node" text)
  where "classroom_fence"(?)`;

/** One range of the (org, user, at desc) index; equal times newest written first. */
const HISTORY = `
  select (extract(epoch from "at") * 1000)::float8 as "atMs",
    "kind", "reason", "by", "lesson_ids", "node"
  from "presence_event"
  where "org_id" = ? and "user_id" = ? and "at" < coalesce(?::timestamptz, 'infinity')
  order by "at" desc, "id" desc
  limit ?`;

const PRUNE = `
  delete from "presence_event" where "id" in (
    select "id" from "presence_event" where "at" < ? limit ${PRUNE_CHUNK})`;

interface HistoryRow {
  readonly atMs: number;
  readonly kind: PresenceEventKind;
  readonly reason: string;
  readonly by: Id | null;
  readonly lesson_ids: Id[] | null;
  readonly node: string;
}

export interface MikroOrmPresenceLogOptions {
  /**
   * Records accepted and not yet written (waiting for a batch, in flight, or waiting to be
   * retried); beyond it, `record` drops and counts. Default 10 000.
   */
  readonly maxQueue?: number;
  /** Wait before retrying after a batch found the database away; doubled up to 30 s. Default 1 s. */
  readonly retryDelayMs?: number;
  readonly logger: Logger;
  /** Where the presence log's counters are registered; none when absent. */
  readonly registry?: Registry;
  /** May be shared with the service's other writers to the same database. */
  readonly fence?: WriteFence;
}

/**
 * The presence history in PostgreSQL (`presence_event`).
 *
 * `record` never waits for the database and never rejects: it enqueues, and the records travel by
 * group commit, one multi-row insert per batch with at most one batch in flight (`StatementBatcher`),
 * so that a burst of disconnects costs a few statements. When a batch finds the database away, its
 * records and every later one wait for a retry timer (1 s, doubling to 30 s, back to 1 s after a
 * write succeeds) and go again together. Whatever is waiting counts against `maxQueue`; beyond it
 * new records are dropped and counted in `classroom_presence_log_dropped_total{reason="queue_full"}`.
 * A batch the database refuses (a bug, never an outage) is dropped whole, logged and counted as
 * `refused`, so that it cannot hold back the records behind it. Written records are counted in
 * `classroom_presence_log_written_total`, failed inserts (each attempt) in
 * `classroom_presence_log_failed_batches_total`.
 *
 * `history` and `prune` read and delete directly and throw `DependencyUnavailableError` when the
 * database cannot be reached. `flush` sends what is waiting now; `close` flushes, then drops and
 * counts (`closed`) whatever could not be written and every later record.
 */
export class MikroOrmPresenceLog implements PresenceLog {
  readonly #maxQueue: number;
  readonly #initialRetryDelayMs: number;
  readonly #logger: Logger;
  readonly #written: Counter;
  readonly #dropped: Counter<'reason'>;
  readonly #failedBatches: Counter;
  readonly #writes: StatementBatcher<PresenceRecord, undefined>;

  /** Records accepted and not yet written or dropped: the quantity `maxQueue` bounds. */
  #pending = 0;
  /** Records waiting for the retry timer, in the order they came. */
  #waiting: PresenceRecord[] = [];
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelayMs: number;
  /** Each record handed to the batcher, until its batch has settled. */
  readonly #submitted = new Set<Promise<void>>();
  /** Whether the queue has been dropping records since it last had room; logged once an episode. */
  #shedding = false;
  /** A refused batch rejects each of its records with the same error; it is logged once. */
  #lastRefusal: unknown;
  #closed = false;

  constructor(
    private readonly orm: MikroORM,
    options: MikroOrmPresenceLogOptions,
  ) {
    this.#maxQueue = positiveInteger('maxQueue', options.maxQueue ?? 10_000);
    this.#initialRetryDelayMs = positiveInteger('retryDelayMs', options.retryDelayMs ?? 1_000);
    this.#retryDelayMs = this.#initialRetryDelayMs;
    this.#logger = options.logger;
    const fence = options.fence ?? new WriteFence(orm);
    this.#writes = new StatementBatcher({
      maxBatchSize: MAX_BATCH_SIZE,
      serve: async (records) => {
        try {
          await runSql(this.orm, INSERT_RECORDS, [
            JSON.stringify(records.map(toRow)),
            await fence.deadline(),
          ]);
        } catch (error) {
          this.#failedBatches.inc();
          throw error;
        }
        return records.map(() => undefined);
      },
    });

    const registers = options.registry === undefined ? [] : [options.registry];
    this.#written = new Counter({
      name: 'classroom_presence_log_written_total',
      help: 'Presence history records written to the database.',
      registers,
    });
    this.#dropped = new Counter({
      name: 'classroom_presence_log_dropped_total',
      help: 'Presence history records given up on, by reason.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of DROP_REASONS) this.#dropped.inc({ reason }, 0);
    this.#failedBatches = new Counter({
      name: 'classroom_presence_log_failed_batches_total',
      help: 'Inserts of presence history records that failed (each attempt counts).',
      registers,
    });
  }

  async record(entry: PresenceRecord): Promise<void> {
    if (this.#closed) {
      this.#dropped.inc({ reason: 'closed' });
      return;
    }
    if (this.#pending >= this.#maxQueue) {
      if (!this.#shedding) {
        this.#shedding = true;
        this.#logger.warn(
          { maxQueue: this.#maxQueue },
          'presence log queue full, dropping records',
        );
      }
      this.#dropped.inc({ reason: 'queue_full' });
      return;
    }
    this.#shedding = false;
    this.#pending += 1;
    // While a retry is due the database is known to be away: wait with the others.
    if (this.#retryTimer === undefined) this.#submit(entry);
    else this.#waiting.push(entry);
  }

  async history(query: PresenceHistoryQuery): Promise<PresenceRecord[]> {
    const { orgId, userId, limit, beforeMs } = query;
    const before = beforeMs === undefined ? null : new Date(beforeMs);
    const { rows } = await runSql<HistoryRow>(this.orm, HISTORY, [orgId, userId, before, limit]);
    return rows.map((row) => ({
      orgId,
      userId,
      atMs: row.atMs,
      kind: row.kind,
      reason: row.reason,
      ...(row.by === null ? {} : { by: row.by }),
      ...(row.lesson_ids === null ? {} : { lessonIds: row.lesson_ids }),
      node: row.node,
    }));
  }

  /** Chunk after chunk; a failure part-way leaves the older records already deleted deleted. */
  async prune(beforeMs: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const { rowCount } = await runSql(this.orm, PRUNE, [new Date(beforeMs)]);
      deleted += rowCount;
      if (rowCount < PRUNE_CHUNK) return deleted;
    }
  }

  /** Sends every record waiting now, without waiting for a retry, and waits for their batches. */
  async flush(): Promise<void> {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    for (const entry of this.#waiting.splice(0)) this.#submit(entry);
    await Promise.all([...this.#submitted]);
  }

  /**
   * For shutdown, before the ORM closes: flushes once, and what that cannot write is dropped
   * instead of retried, as is every later record.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #submit(entry: PresenceRecord): void {
    const settled = this.#writes.submit(entry).then(
      () => {
        this.#pending -= 1;
        this.#written.inc();
        this.#retryDelayMs = this.#initialRetryDelayMs;
      },
      (error: unknown) => this.#failed(entry, error),
    );
    this.#submitted.add(settled);
    settled.finally(() => this.#submitted.delete(settled));
  }

  /** Every record of a failed batch comes here with the batch's one error. */
  #failed(entry: PresenceRecord, error: unknown): void {
    if (this.#closed) {
      this.#giveUp('closed');
    } else if (error instanceof DependencyUnavailableError) {
      this.#waiting.push(entry);
      this.#scheduleRetry();
    } else {
      if (error !== this.#lastRefusal) {
        this.#lastRefusal = error;
        this.#logger.error({ err: error }, 'the database refused a batch of presence records');
      }
      this.#giveUp('refused');
    }
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      for (const entry of this.#waiting.splice(0)) this.#submit(entry);
    }, this.#retryDelayMs);
    // An idle service must be able to exit; `close()` is what settles the records.
    this.#retryTimer.unref();
    this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, MAX_RETRY_DELAY_MS);
  }

  #giveUp(reason: DropReason): void {
    this.#pending -= 1;
    this.#dropped.inc({ reason });
  }
}

/** The row as `INSERT_RECORDS` reads it; absent fields become SQL nulls. */
function toRow(entry: PresenceRecord) {
  return {
    org_id: entry.orgId,
    user_id: entry.userId,
    at: new Date(entry.atMs).toISOString(),
    kind: entry.kind,
    reason: entry.reason,
    by: entry.by ?? null,
    lesson_ids: entry.lessonIds ?? null,
    node: entry.node,
  };
}

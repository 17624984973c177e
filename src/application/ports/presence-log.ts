import type { Id } from '../../domain/ids.js';
import type { PresenceRecord } from '../../domain/presence.js';

export interface PresenceHistoryQuery {
  readonly orgId: Id;
  readonly userId: Id;
  /** 1–200. */
  readonly limit: number;
  /** Only records strictly older than this (Unix ms). */
  readonly beforeMs?: number;
}

/**
 * The teachers' presence history (PROTOCOL §5a, table `presence_event`): why each went online or
 * offline. Recording never delays or fails a socket event: `record` only enqueues into a bounded
 * queue that is written in batches; when the queue is full (the database is away for long) a
 * record is dropped and counted. In memory for the embedded mode and the simulator.
 */
export interface PresenceLog {
  /** Enqueues one record; resolves at once and never rejects. */
  record(entry: PresenceRecord): Promise<void>;

  /**
   * The org's records of one user, newest first (of records with the same time, the later
   * recorded first). Throws `DependencyUnavailableError`.
   */
  history(query: PresenceHistoryQuery): Promise<PresenceRecord[]>;

  /** Deletes records older than `beforeMs`; resolves to how many. Throws `DependencyUnavailableError`. */
  prune(beforeMs: number): Promise<number>;

  /**
   * Writes what is queued (for shutdown and tests) and resolves once that was tried; never
   * rejects. What could not be written stays queued.
   */
  flush(): Promise<void>;
}

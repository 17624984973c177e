import { DependencyUnavailableError } from '../../application/errors.js';
import type { PresenceHistoryQuery, PresenceLog } from '../../application/ports/presence-log.js';
import { teacherKey } from '../../domain/clients.js';
import type { PresenceRecord } from '../../domain/presence.js';
import { positiveInteger } from '../support/positive-integer.js';

export interface InMemoryPresenceLogOptions {
  /** Records kept; beyond, the oldest recorded are forgotten. Default 100 000. */
  readonly capacity?: number;
  /** Records waiting while unavailable; beyond, `record` drops and counts. Default 10 000. */
  readonly maxQueue?: number;
}

/**
 * The presence history of the embedded mode and the simulator, held to the same contract as
 * PostgreSQL's (test/contracts/presence-log.contract.ts). Memory is bounded twice: at most
 * `capacity` records are kept (the oldest recorded go first; retention by age is `prune`'s), and
 * at most `maxQueue` wait while the log is unavailable.
 *
 * Faults for the simulator: `setAvailable(false)` plays a database that is away. `record` still
 * resolves at once: the record waits in the queue, or is dropped and counted in `droppedCount`
 * when the queue is full. `history` and `prune` reject with `DependencyUnavailableError`. Waiting
 * records are written, in order, by the first `record` or `flush` that finds the log available.
 */
export class InMemoryPresenceLog implements PresenceLog {
  readonly #capacity: number;
  readonly #maxQueue: number;
  #available = true;
  #dropped = 0;
  /** Every record kept, in the order recorded: the oldest is the first to forget. */
  #kept: PresenceRecord[] = [];
  /** The same records by org and user, in the order recorded. */
  readonly #byUser = new Map<string, PresenceRecord[]>();
  readonly #queue: PresenceRecord[] = [];

  constructor(options: InMemoryPresenceLogOptions = {}) {
    this.#capacity = positiveInteger('capacity', options.capacity ?? 100_000);
    this.#maxQueue = positiveInteger('maxQueue', options.maxQueue ?? 10_000);
  }

  setAvailable(up: boolean): void {
    this.#available = up;
  }

  /** Records dropped because the queue was full. */
  get droppedCount(): number {
    return this.#dropped;
  }

  async record(entry: PresenceRecord): Promise<void> {
    if (!this.#available) {
      if (this.#queue.length < this.#maxQueue) this.#queue.push(entry);
      else this.#dropped += 1;
      return;
    }
    this.#writeQueued();
    this.#keep(entry);
  }

  /** Newest first; on equal times the later recorded first, as PostgreSQL orders by row id. */
  async history(query: PresenceHistoryQuery): Promise<PresenceRecord[]> {
    this.#ensureAvailable();
    const { orgId, userId, limit, beforeMs = Number.POSITIVE_INFINITY } = query;
    return (this.#byUser.get(teacherKey({ orgId, userId })) ?? [])
      .filter((entry) => entry.atMs < beforeMs)
      .reverse()
      .sort((a, b) => b.atMs - a.atMs)
      .slice(0, limit);
  }

  async prune(beforeMs: number): Promise<number> {
    this.#ensureAvailable();
    const before = this.#kept.length;
    this.#kept = this.#kept.filter((entry) => entry.atMs >= beforeMs);
    for (const [key, entries] of this.#byUser) {
      const kept = entries.filter((entry) => entry.atMs >= beforeMs);
      if (kept.length === 0) this.#byUser.delete(key);
      else this.#byUser.set(key, kept);
    }
    return before - this.#kept.length;
  }

  async flush(): Promise<void> {
    if (this.#available) this.#writeQueued();
  }

  #writeQueued(): void {
    for (const entry of this.#queue.splice(0)) this.#keep(entry);
  }

  #keep(entry: PresenceRecord): void {
    const key = teacherKey(entry);
    const ofUser = this.#byUser.get(key) ?? [];
    ofUser.push(entry);
    this.#byUser.set(key, ofUser);
    this.#kept.push(entry);
    const excess = this.#kept.length - this.#capacity;
    // The oldest record kept is also the first of its user's.
    for (const oldest of this.#kept.splice(0, Math.max(excess, 0))) {
      const oldestKey = teacherKey(oldest);
      const ofOldestUser = this.#byUser.get(oldestKey);
      ofOldestUser?.shift();
      if (ofOldestUser?.length === 0) this.#byUser.delete(oldestKey);
    }
  }

  #ensureAvailable(): void {
    if (!this.#available) throw new DependencyUnavailableError('database');
  }
}

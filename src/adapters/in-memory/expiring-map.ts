import type { Clock } from '../../application/ports/clock.js';
import { SortedSet } from './sorted-set.js';

/**
 * Values that lapse on a clock: an entry is gone once `clock.nowMs()` reaches its expiry. Lapsed
 * entries are removed by `purge()`, which the store runs before every operation, and each removal
 * is reported to `onExpired` (deletions are not). Expiry times live in a sorted set, so a purge
 * costs O(log n) per lapsed entry however many entries are alive.
 */
export class ExpiringMap<V> {
  private readonly values = new Map<string, V>();
  private readonly expiries = new SortedSet();

  constructor(
    private readonly clock: Clock,
    private readonly onExpired: (key: string, value: V) => void = () => {},
  ) {}

  purge(): void {
    for (const key of this.expiries.popUpTo(this.clock.nowMs())) {
      const value = this.values.get(key);
      this.values.delete(key);
      if (value !== undefined) this.onExpired(key, value);
    }
  }

  get(key: string): V | undefined {
    return this.values.get(key);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  /** Stores a value, keeping the entry's expiry (none for a new entry). */
  put(key: string, value: V): void {
    this.values.set(key, value);
  }

  delete(key: string): void {
    this.values.delete(key);
    this.expiries.delete(key);
  }

  /** The entry lapses `ttlMs` from now; a no-op on a missing entry, a deletion when not positive. */
  expire(key: string, ttlMs: number): void {
    if (!this.values.has(key)) return;
    if (ttlMs <= 0) this.delete(key);
    else this.expiries.set(key, this.clock.nowMs() + ttlMs);
  }

  /** The entry no longer lapses. */
  persist(key: string): void {
    this.expiries.delete(key);
  }

  /** Milliseconds left, or null for an entry that never lapses (or a missing one). */
  remainingMs(key: string): number | null {
    const expiresAtMs = this.expiries.score(key);
    return expiresAtMs === undefined ? null : expiresAtMs - this.clock.nowMs();
  }

  entries(): IterableIterator<[string, V]> {
    return this.values.entries();
  }

  clear(): void {
    this.values.clear();
    this.expiries.clear();
  }
}

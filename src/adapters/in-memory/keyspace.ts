import type { Clock } from '../../application/ports/clock.js';
import { SortedSet } from './sorted-set.js';

/**
 * Named values with Redis TTL semantics driven by a clock: a key is gone once `clock.nowMs()`
 * reaches its expiry. Expired keys are removed by `purge()`, which callers run before every
 * operation, and each removal is reported to `onExpired` like a Redis `expired` notification
 * (deletions are not reported). Expiry times live in a sorted set, so a purge costs O(log n) per
 * expired key however many keys are alive.
 */
export class Keyspace<V> {
  private readonly values = new Map<string, V>();
  private readonly expiries = new SortedSet();

  constructor(
    private readonly clock: Clock,
    private readonly onExpired: (key: string, value: V) => void,
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

  /** Stores a value and keeps the key's TTL, like HSET on an existing hash. */
  put(key: string, value: V): void {
    this.values.set(key, value);
  }

  delete(key: string): void {
    this.values.delete(key);
    this.expiries.delete(key);
  }

  /** EXPIRE: no-op on a missing key; a non-positive TTL deletes the key, as in Redis. */
  expire(key: string, ttlS: number): void {
    if (!this.values.has(key)) return;
    if (ttlS <= 0) this.delete(key);
    else this.expiries.set(key, this.clock.nowMs() + ttlS * 1000);
  }

  /** PERSIST: the key no longer expires. */
  persist(key: string): void {
    this.expiries.delete(key);
  }

  /** PTTL: milliseconds left, or null for a key without TTL (or a missing one). */
  pttlMs(key: string): number | null {
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

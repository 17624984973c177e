import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceLog } from '../../src/application/ports/presence-log.js';
import type { PresenceRecord } from '../../src/domain/presence.js';

/**
 * What every PresenceLog must do (PROTOCOL §5a, §8 `presence_event`), run against the in-memory
 * log and PostgreSQL. Records become readable once `flush` has resolved.
 */
export interface PresenceLogHarness {
  readonly log: PresenceLog;
  close(): Promise<void>;
}

const T0_MS = Date.UTC(2026, 0, 5, 9);
const ORG = 'org-a';
const ADA = 't-ada';

const entry = (atMs: number, overrides: Partial<PresenceRecord> = {}): PresenceRecord => ({
  orgId: ORG,
  userId: ADA,
  atMs,
  kind: 'disconnect',
  reason: 'transport close',
  node: 'node-1',
  ...overrides,
});

export function describePresenceLogContract(
  name: string,
  make: () => Promise<PresenceLogHarness>,
): void {
  describe(`PresenceLog contract: ${name}`, () => {
    let h: PresenceLogHarness;

    const recordAll = async (entries: readonly PresenceRecord[]) => {
      for (const each of entries) await h.log.record(each);
      await h.log.flush();
    };
    const historyOf = (userId = ADA, more: { limit?: number; beforeMs?: number } = {}) =>
      h.log.history({ orgId: ORG, userId, limit: 200, ...more });

    beforeEach(async () => {
      h = await make();
    });

    afterEach(async () => {
      await h.close();
    });

    it('gives every kind of record back as it was recorded, newest first', async () => {
      const session = [
        entry(T0_MS, { kind: 'connect', reason: 'new_session' }),
        entry(T0_MS + 1_000, { kind: 'disconnect', reason: 'ping timeout', node: 'node-2' }),
        entry(T0_MS + 2_000, { kind: 'connect', reason: 'reconnect' }),
        entry(T0_MS + 3_000, { kind: 'logout', reason: 'force_logout', by: 'm-linus' }),
        entry(T0_MS + 4_000, { kind: 'disconnect', reason: 'io server disconnect' }),
        entry(T0_MS + 34_000, {
          kind: 'session_end',
          reason: 'grace_expired',
          lessonIds: ['l-1', 'l-2'],
        }),
        entry(T0_MS + 99_123, { kind: 'session_end', reason: 'grace_expired', lessonIds: [] }),
      ];
      await recordAll(session);
      expect(await historyOf()).toEqual([...session].reverse());
    });

    it('orders by the time of the change, whatever order the records came in', async () => {
      await recordAll([entry(T0_MS + 2), entry(T0_MS), entry(T0_MS + 1)]);
      expect((await historyOf()).map((found) => found.atMs)).toEqual([T0_MS + 2, T0_MS + 1, T0_MS]);
    });

    it('puts the later recorded first among records of the same moment', async () => {
      await recordAll([entry(T0_MS, { reason: 'first' }), entry(T0_MS, { reason: 'second' })]);
      expect((await historyOf()).map((found) => found.reason)).toEqual(['second', 'first']);
    });

    it('answers at most limit records, the newest, and pages on with before (strictly older)', async () => {
      await recordAll([0, 1, 2, 3, 4].map((second) => entry(T0_MS + second * 1_000)));
      const firstPage = await historyOf(ADA, { limit: 2 });
      expect(firstPage.map((found) => found.atMs)).toEqual([T0_MS + 4_000, T0_MS + 3_000]);
      const secondPage = await historyOf(ADA, { limit: 2, beforeMs: T0_MS + 3_000 });
      expect(secondPage.map((found) => found.atMs)).toEqual([T0_MS + 2_000, T0_MS + 1_000]);
      const lastPage = await historyOf(ADA, { limit: 2, beforeMs: T0_MS + 1_000 });
      expect(lastPage.map((found) => found.atMs)).toEqual([T0_MS]);
      expect(await historyOf(ADA, { beforeMs: T0_MS })).toEqual([]);
    });

    it('keeps each user’s history apart, also from a user with the same id in another org', async () => {
      await recordAll([
        entry(T0_MS, { reason: 'ada of org-a' }),
        entry(T0_MS, { orgId: 'org-b', reason: 'ada of org-b' }),
        entry(T0_MS, { userId: 't-grace', reason: 'grace' }),
      ]);
      expect((await historyOf()).map((found) => found.reason)).toEqual(['ada of org-a']);
      expect(await historyOf('t-nobody')).toEqual([]);
    });

    it('prunes the records older than the given time, in every org, and says how many', async () => {
      const cutoffMs = T0_MS + 1_000;
      await recordAll([
        entry(T0_MS),
        entry(T0_MS, { orgId: 'org-b' }),
        entry(cutoffMs),
        entry(cutoffMs + 1),
      ]);
      expect(await h.log.prune(cutoffMs)).toBe(2);
      expect((await historyOf()).map((found) => found.atMs)).toEqual([cutoffMs + 1, cutoffMs]);
      expect(await h.log.history({ orgId: 'org-b', userId: ADA, limit: 200 })).toEqual([]);
      expect(await h.log.prune(cutoffMs)).toBe(0);
    });

    it('flushes with nothing to write, and records go on being kept after a flush', async () => {
      await h.log.flush();
      await recordAll([entry(T0_MS)]);
      await recordAll([entry(T0_MS + 1)]);
      expect(await historyOf()).toHaveLength(2);
    });
  });
}

import { describe, expect, it } from 'vitest';
import { InMemoryPresenceLog } from '../../../src/adapters/in-memory/in-memory-presence-log.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import type { PresenceRecord } from '../../../src/domain/presence.js';
import { describePresenceLogContract } from '../../contracts/presence-log.contract.js';

describePresenceLogContract('in-memory', async () => ({
  log: new InMemoryPresenceLog(),
  close: async () => {},
}));

const entry = (atMs: number, userId = 't-ada'): PresenceRecord => ({
  orgId: 'org-a',
  userId,
  atMs,
  kind: 'disconnect',
  reason: 'transport close',
  node: 'node-1',
});
const historyOf = (log: InMemoryPresenceLog, userId = 't-ada') =>
  log.history({ orgId: 'org-a', userId, limit: 200 });
const timesOf = async (log: InMemoryPresenceLog, userId?: string) =>
  (await historyOf(log, userId)).map((found) => found.atMs);

describe('InMemoryPresenceLog', () => {
  it('forgets the oldest recorded beyond its capacity, whoever they belong to', async () => {
    const log = new InMemoryPresenceLog({ capacity: 3 });
    for (const [atMs, user] of [
      [1, 't-ada'],
      [2, 't-grace'],
      [3, 't-ada'],
      [4, 't-ada'],
    ] as const) {
      await log.record(entry(atMs, user));
    }
    expect(await timesOf(log)).toEqual([4, 3]);
    expect(await timesOf(log, 't-grace')).toEqual([2]);
    await log.record(entry(5, 't-ada'));
    expect(await timesOf(log, 't-grace')).toEqual([]);
  });

  it('while unavailable, queues what it can, drops and counts the rest, and refuses to read', async () => {
    const log = new InMemoryPresenceLog({ maxQueue: 2 });
    await log.record(entry(1));
    log.setAvailable(false);
    for (const atMs of [2, 3, 4, 5]) await log.record(entry(atMs));
    expect(log.droppedCount).toBe(2);
    await expect(historyOf(log)).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(log.prune(10)).rejects.toBeInstanceOf(DependencyUnavailableError);
    await log.flush();

    log.setAvailable(true);
    await log.flush();
    expect(await timesOf(log)).toEqual([3, 2, 1]);
  });

  it('writes what waited, in order, before the first record made once available again', async () => {
    const log = new InMemoryPresenceLog();
    log.setAvailable(false);
    await log.record(entry(1, 't-grace'));
    await log.record(entry(1, 't-grace'));
    log.setAvailable(true);
    await log.record({ ...entry(1, 't-grace'), reason: 'last' });
    expect((await historyOf(log, 't-grace')).map((found) => found.reason)).toEqual([
      'last',
      'transport close',
      'transport close',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { teachersOfAliveKey } from '../../../src/adapters/redis/redis-session-expiry-feed.js';

describe('teachersOfAliveKey', () => {
  it('names the teacher of an alive hash', () => {
    expect(teachersOfAliveKey('alive:org_o-1_user_t-1', '')).toEqual([
      { orgId: 'o-1', userId: 't-1' },
    ]);
  });

  it('reads the key after the service prefix', () => {
    expect(teachersOfAliveKey('env-a:alive:org_7_user_42', 'env-a:')).toEqual([
      { orgId: '7', userId: '42' },
    ]);
  });

  it('offers every valid split when an id itself contains _user_', () => {
    expect(teachersOfAliveKey('alive:org_a_user_b_user_c', '')).toEqual([
      { orgId: 'a', userId: 'b_user_c' },
      { orgId: 'a_user_b', userId: 'c' },
    ]);
  });

  it('leaves out splits that are not two valid ids', () => {
    expect(teachersOfAliveKey('alive:org__user_t', '')).toEqual([]);
    expect(teachersOfAliveKey('alive:org_o_user_', '')).toEqual([]);
    expect(teachersOfAliveKey(`alive:org_o_user_${'x'.repeat(65)}`, '')).toEqual([]);
  });

  it.each([
    ['a cooldown key', 'cooldown:org_o_user_t', ''],
    ['a lesson hash', 'lesson_seat_L', ''],
    ['an alive key of another prefix', 'other:alive:org_o_user_t', 'mine:'],
    ['an alive key without the prefix', 'alive:org_o_user_t', 'mine:'],
    ['a directory entry named like an alive key', 'alive:org_o', ''],
  ])('ignores %s', (_what, key, prefix) => {
    expect(teachersOfAliveKey(key, prefix)).toEqual([]);
  });
});

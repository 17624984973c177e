import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CooldownRow } from '../../src/adapters/in-memory/in-memory-cooldown-ledger.js';
import type { CooldownLedger } from '../../src/application/ports/cooldown-ledger.js';

/**
 * What every CooldownLedger must do (PROTOCOL §6a.3, §8 `teacher_cooldown`), run against the
 * in-memory ledger and PostgreSQL. `rows` reads every row back, in any order, expired ones too.
 */
export interface CooldownLedgerHarness {
  readonly ledger: CooldownLedger;
  rows(): Promise<CooldownRow[]>;
  close(): Promise<void>;
}

const NOW_MS = Date.UTC(2026, 0, 5, 9);
const COOLDOWN_MS = 60_000;
const ada = { orgId: 'org-a', userId: 't-ada' };
const adaOfOrgB = { orgId: 'org-b', userId: 't-ada' };
const grace = { orgId: 'org-a', userId: 't-grace' };

const byTeacher = <T extends { teacher: { orgId: string; userId: string } }>(rows: T[]) =>
  [...rows].sort((a, b) =>
    `${a.teacher.orgId}:${a.teacher.userId}` < `${b.teacher.orgId}:${b.teacher.userId}` ? -1 : 1,
  );

export function describeCooldownLedgerContract(
  name: string,
  make: () => Promise<CooldownLedgerHarness>,
): void {
  describe(`CooldownLedger contract: ${name}`, () => {
    let h: CooldownLedgerHarness;

    beforeEach(async () => {
      h = await make();
    });

    afterEach(async () => {
      await h.close();
    });

    it('lists a cooldown while it runs and no longer from its end on', async () => {
      const untilMs = NOW_MS + COOLDOWN_MS;
      await h.ledger.record({ teacher: ada, untilMs, by: 'm-1' });
      expect(await h.ledger.active(NOW_MS)).toEqual([{ teacher: ada, untilMs }]);
      expect(await h.ledger.active(untilMs - 1)).toEqual([{ teacher: ada, untilMs }]);
      expect(await h.ledger.active(untilMs)).toEqual([]);
    });

    it('tells when one teacher’s running cooldown ends, by org and user, and null from its end on', async () => {
      const untilMs = NOW_MS + COOLDOWN_MS;
      await h.ledger.record({ teacher: ada, untilMs, by: 'm-1' });
      await h.ledger.record({ teacher: grace, untilMs: NOW_MS - 1, by: 'm-1' });
      expect(await h.ledger.runningUntil(ada, NOW_MS)).toBe(untilMs);
      expect(await h.ledger.runningUntil(ada, untilMs - 1)).toBe(untilMs);
      expect(await h.ledger.runningUntil(ada, untilMs)).toBeNull();
      expect(await h.ledger.runningUntil(adaOfOrgB, NOW_MS)).toBeNull();
      expect(await h.ledger.runningUntil(grace, NOW_MS)).toBeNull();
    });

    it('keeps one row per teacher: a later record replaces the cooldown and who started it', async () => {
      await h.ledger.record({ teacher: ada, untilMs: NOW_MS + COOLDOWN_MS, by: 'm-1' });
      await h.ledger.record({ teacher: ada, untilMs: NOW_MS + 2 * COOLDOWN_MS, by: 'm-2' });
      expect(await h.rows()).toEqual([
        { teacher: ada, untilMs: NOW_MS + 2 * COOLDOWN_MS, by: 'm-2' },
      ]);
    });

    it('keeps teachers apart by org even when their user ids are the same', async () => {
      await h.ledger.record({ teacher: ada, untilMs: NOW_MS + COOLDOWN_MS, by: 'm-1' });
      await h.ledger.record({ teacher: adaOfOrgB, untilMs: NOW_MS + 2 * COOLDOWN_MS, by: 'm-9' });
      await h.ledger.record({ teacher: grace, untilMs: NOW_MS - 1, by: 'm-1' });
      expect(byTeacher(await h.ledger.active(NOW_MS))).toEqual([
        { teacher: ada, untilMs: NOW_MS + COOLDOWN_MS },
        { teacher: adaOfOrgB, untilMs: NOW_MS + 2 * COOLDOWN_MS },
      ]);
    });

    it('takes a record back by its end time only, leaving a newer cooldown in place', async () => {
      const first = NOW_MS + COOLDOWN_MS;
      const second = NOW_MS + 2 * COOLDOWN_MS;
      await h.ledger.record({ teacher: ada, untilMs: first, by: 'm-1' });
      await h.ledger.record({ teacher: ada, untilMs: second, by: 'm-2' });
      await h.ledger.cancel({ teacher: ada, untilMs: first });
      expect(await h.ledger.active(NOW_MS)).toEqual([{ teacher: ada, untilMs: second }]);
      await h.ledger.cancel({ teacher: adaOfOrgB, untilMs: second });
      expect(await h.ledger.active(NOW_MS)).toEqual([{ teacher: ada, untilMs: second }]);
      await h.ledger.cancel({ teacher: ada, untilMs: second });
      expect(await h.rows()).toEqual([]);
    });

    it('cancels nothing, without complaint, for a teacher with no cooldown', async () => {
      await h.ledger.cancel({ teacher: grace, untilMs: NOW_MS });
      expect(await h.rows()).toEqual([]);
    });
  });
}

import { describe, expect, it } from 'vitest';
import { InMemoryCooldownLedger } from '../../../src/adapters/in-memory/in-memory-cooldown-ledger.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import { describeCooldownLedgerContract } from '../../contracts/cooldown-ledger.contract.js';

describeCooldownLedgerContract('in-memory', async () => {
  const ledger = new InMemoryCooldownLedger();
  return { ledger, rows: async () => ledger.snapshot(), close: async () => {} };
});

describe('InMemoryCooldownLedger', () => {
  it('rejects every call while unavailable, having changed nothing', async () => {
    const ledger = new InMemoryCooldownLedger();
    const teacher = { orgId: 'org-a', userId: 't-ada' };
    await ledger.record({ teacher, untilMs: 2_000, by: 'm-1' });
    ledger.setAvailable(false);
    const calls = [
      () => ledger.record({ teacher, untilMs: 3_000, by: 'm-2' }),
      () => ledger.cancel({ teacher, untilMs: 2_000 }),
      () => ledger.runningUntil(teacher, 1_000),
      () => ledger.active(1_000),
    ];
    for (const call of calls) {
      await expect(call()).rejects.toBeInstanceOf(DependencyUnavailableError);
    }
    ledger.setAvailable(true);
    expect(ledger.snapshot()).toEqual([{ teacher, untilMs: 2_000, by: 'm-1' }]);
  });
});

import { describe, expect, it } from 'vitest';
import { DeliveryLedger, mergeDeliveryReports } from '../../sim/load/delivery-ledger.js';

describe('DeliveryLedger', () => {
  it('matches an event received before it was expected', async () => {
    const ledger = new DeliveryLedger();
    ledger.receive('teacher t1', 'set_student_name', { seat_id: '1', student_id: 's1' });
    ledger.expect('teacher t1', 'set_student_name', { student_id: 's1', seat_id: '1' });
    expect(await ledger.settled(['teacher t1'], 0)).toBe(true);
    expect(ledger.report()).toMatchObject({ expected: 1, received: 1, lost: 0, duplicated: 0 });
  });

  it('counts lost, duplicated and unexpected events by event name', () => {
    const ledger = new DeliveryLedger();
    ledger.expect('manager m1', 'teacher_connect', { user_id: 't1' });
    ledger.expect('manager m1', 'teacher_connect', { user_id: 't2' });
    ledger.receive('manager m1', 'teacher_connect', { user_id: 't2' });
    ledger.receive('manager m1', 'teacher_connect', { user_id: 't2' });
    ledger.receive('manager m1', 'lesson_ended', { lesson_id: 'l1' });
    const report = ledger.report();
    expect(report).toMatchObject({
      expected: 2,
      received: 3,
      lost: 1,
      duplicated: 1,
      unexpected: 1,
    });
    expect(report.byEvent.teacher_connect).toEqual({
      expected: 2,
      received: 2,
      lost: 1,
      duplicated: 1,
      unexpected: 0,
    });
  });

  it('resolves settled when the last expected event arrives, and false on timeout otherwise', async () => {
    const ledger = new DeliveryLedger();
    ledger.expect('manager m1', 'logout', { user_id: 't1' });
    ledger.expect('manager m2', 'logout', { user_id: 't1' });
    const both = ledger.settled(['manager m1', 'manager m2'], 5_000);
    ledger.receive('manager m1', 'logout', { user_id: 't1' });
    ledger.receive('manager m2', 'logout', { user_id: 't1' });
    expect(await both).toBe(true);
    ledger.expect('manager m1', 'logout', { user_id: 't2' });
    expect(await ledger.settled(['manager m1'], 10)).toBe(false);
  });

  it('adds reports of several ledgers together', () => {
    const one = new DeliveryLedger();
    one.expect('teacher t1', 'set_student_name', { n: 1 });
    const two = new DeliveryLedger();
    two.receive('teacher t2', 'set_student_name', { n: 2 });
    expect(mergeDeliveryReports([one.report(), two.report()])).toEqual({
      expected: 1,
      received: 1,
      lost: 1,
      duplicated: 0,
      unexpected: 1,
      byEvent: {
        set_student_name: { expected: 1, received: 1, lost: 1, duplicated: 0, unexpected: 1 },
      },
    });
  });
});

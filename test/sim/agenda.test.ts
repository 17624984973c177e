import { describe, expect, it } from 'vitest';
import { Agenda } from '../../sim/agenda.js';

/** The kinds of every step, in the order the agenda hands them out. */
function drain(agenda: Agenda): string[] {
  const order: string[] = [];
  for (let step = agenda.next(); step !== undefined; step = agenda.next()) order.push(step.kind);
  return order;
}

describe('Agenda', () => {
  it('hands out steps by time, and steps of the same moment in the order they were scheduled', () => {
    const agenda = new Agenda();
    agenda.schedule(30, 'late', () => {});
    agenda.schedule(10, 'first', () => {});
    agenda.schedule(20, 'tie-a', () => {});
    agenda.schedule(20, 'tie-b', () => {});
    agenda.schedule(20, 'tie-c', () => {});
    expect(agenda.size).toBe(5);
    expect(drain(agenda)).toEqual(['first', 'tie-a', 'tie-b', 'tie-c', 'late']);
    expect(agenda.size).toBe(0);
  });

  it('takes steps scheduled while it is being drained, in their place', () => {
    const agenda = new Agenda();
    const order: string[] = [];
    agenda.schedule(10, 'a', () => {
      agenda.schedule(10, 'a-now', () => {});
      agenda.schedule(15, 'a-later', () => {});
    });
    agenda.schedule(20, 'b', () => {});
    for (let step = agenda.next(); step !== undefined; step = agenda.next()) {
      order.push(step.kind);
      void step.run();
    }
    expect(order).toEqual(['a', 'a-now', 'a-later', 'b']);
  });

  it('keeps the order of ten thousand ties', () => {
    const agenda = new Agenda();
    for (let n = 0; n < 10_000; n++) agenda.schedule(5, String(n), () => {});
    expect(drain(agenda)).toEqual(Array.from({ length: 10_000 }, (_, n) => String(n)));
  });
});

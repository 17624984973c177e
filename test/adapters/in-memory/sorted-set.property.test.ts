import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedSet } from '../../../src/adapters/in-memory/sorted-set.js';

type Operation =
  | { readonly kind: 'set'; readonly member: string; readonly score: number }
  | { readonly kind: 'delete'; readonly member: string }
  | { readonly kind: 'range'; readonly maxScore: number; readonly limit: number }
  | { readonly kind: 'popUpTo'; readonly maxScore: number }
  | { readonly kind: 'first' };

// Few members and scores, so that overwrites, ties and stale heap entries are common.
const member = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const score = fc.integer({ min: 0, max: 6 });
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), member, score }),
  fc.record({ kind: fc.constant('delete' as const), member }),
  fc.record({ kind: fc.constant('range' as const), maxScore: score, limit: fc.nat(4) }),
  fc.record({ kind: fc.constant('popUpTo' as const), maxScore: score }),
  fc.record({ kind: fc.constant('first' as const) }),
);

/** The model: a plain map, sorted on every read as ZRANGEBYSCORE orders it. */
function ordered(model: Map<string, number>, maxScore: number): string[] {
  return [...model]
    .filter(([, value]) => value <= maxScore)
    .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : 1))
    .map(([name]) => name);
}

describe('SortedSet', () => {
  it('answers like a plain map sorted by score then member, whatever the operations', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 200 }), (operations) => {
        const set = new SortedSet();
        const model = new Map<string, number>();
        for (const op of operations) {
          if (op.kind === 'set') {
            set.set(op.member, op.score);
            model.set(op.member, op.score);
          } else if (op.kind === 'delete') {
            set.delete(op.member);
            model.delete(op.member);
          } else if (op.kind === 'range') {
            expect(set.range(op.maxScore, op.limit)).toEqual(
              ordered(model, op.maxScore).slice(0, op.limit),
            );
          } else if (op.kind === 'popUpTo') {
            const expected = ordered(model, op.maxScore);
            expect(set.popUpTo(op.maxScore)).toEqual(expected);
            for (const name of expected) model.delete(name);
          } else {
            const [lowest] = ordered(model, Number.POSITIVE_INFINITY);
            expect(set.first()).toEqual(
              lowest === undefined ? undefined : { member: lowest, score: model.get(lowest) },
            );
          }
          expect(set.size).toBe(model.size);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('stays within a constant factor of its live members however often they move', () => {
    const set = new SortedSet();
    for (let round = 0; round < 10_000; round++) set.set(`m-${round % 10}`, round);
    const heapLength = (set as unknown as { heap: unknown[] }).heap.length;
    expect(heapLength).toBeLessThanOrEqual(2 * 10 + 64);
  });
});

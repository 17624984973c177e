import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DueHeap } from '../../../src/application/node/due-heap.js';

describe('DueHeap', () => {
  it('gives back whatever it was given, earliest first', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1_000 })), (times) => {
        const heap = new DueHeap();
        for (const [index, atMs] of times.entries()) heap.push({ atMs, sid: `s${index}` });
        const out: number[] = [];
        for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push(item.atMs);
        expect(out).toEqual([...times].sort((a, b) => a - b));
        expect(heap.size).toBe(0);
      }),
    );
  });

  it('shows the earliest without taking it', () => {
    const heap = new DueHeap();
    heap.push({ atMs: 5, sid: 'late' });
    heap.push({ atMs: 1, sid: 'early' });
    expect(heap.peek()).toEqual({ atMs: 1, sid: 'early' });
    expect(heap.size).toBe(2);
  });
});

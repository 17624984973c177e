import { describe, expect, it } from 'vitest';
import { epochAt, retryAfterSeconds } from '../../src/domain/session.js';

describe('the teacher session lifecycle', () => {
  it('numbers sessions by their connect second', () => {
    const first = epochAt(Date.UTC(2026, 0, 5, 8, 0, 0, 999));
    const sameSecond = epochAt(Date.UTC(2026, 0, 5, 8, 0, 0, 1));
    const later = epochAt(Date.UTC(2026, 0, 5, 8, 0, 1));
    expect(first).toBe(sameSecond);
    expect(later).toBe(first + 1);
  });

  it('rounds a wait up to whole seconds, never below one', () => {
    expect(retryAfterSeconds(299_001)).toBe(300);
    expect(retryAfterSeconds(300_000)).toBe(300);
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(0)).toBe(1);
  });
});

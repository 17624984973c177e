import { describe, expect, it } from 'vitest';
import {
  epochAt,
  isNewerSession,
  retryAfterSeconds,
  sessionPhase,
} from '../../src/domain/session.js';

describe('the teacher session lifecycle', () => {
  it('reads connected, grace and ended from the alive hash', () => {
    expect(sessionPhase('connect')).toBe('connected');
    expect(sessionPhase('disconnect')).toBe('grace');
    expect(sessionPhase(undefined)).toBe('ended');
    expect(sessionPhase('something else')).toBe('ended');
  });

  it('numbers sessions by their connect second, and only a later one is newer', () => {
    const first = epochAt(Date.UTC(2026, 0, 5, 8, 0, 0, 999));
    const sameSecond = epochAt(Date.UTC(2026, 0, 5, 8, 0, 0, 1));
    const later = epochAt(Date.UTC(2026, 0, 5, 8, 0, 1));
    expect(first).toBe(sameSecond);
    expect(isNewerSession(later, first)).toBe(true);
    expect(isNewerSession(sameSecond, first)).toBe(false);
    expect(isNewerSession(first, later)).toBe(false);
  });

  it('rounds a wait up to whole seconds, never below one', () => {
    expect(retryAfterSeconds(299_001)).toBe(300);
    expect(retryAfterSeconds(300_000)).toBe(300);
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(0)).toBe(1);
  });
});

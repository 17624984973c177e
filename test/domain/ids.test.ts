import { describe, expect, it } from 'vitest';
import { parseDisplayName, parseId, parseSeatId } from '../../src/domain/ids.js';

describe('ids', () => {
  it('accepts 1–64 characters of [A-Za-z0-9_-] and integers as their decimal string', () => {
    expect(parseId('lesson-7_B')).toBe('lesson-7_B');
    expect(parseId('x'.repeat(64))).toBe('x'.repeat(64));
    expect(parseId(7)).toBe('7');
    expect(parseId(-3)).toBe('-3');
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(65)],
    ['a colon, which would let room names collide', 'org:7'],
    ['a space', 'a b'],
    ['a fraction', 1.5],
    ['an unsafe integer', 2 ** 60],
    ['null', null],
    ['an object', { id: 1 }],
  ])('refuses %s', (_why, value) => {
    expect(parseId(value)).toBeNull();
  });

  it('reads seat ids as positive numbers, from strings or integers', () => {
    expect(parseSeatId('12')).toBe('12');
    expect(parseSeatId(12)).toBe('12');
    for (const bad of ['0', '012', '-1', '1.5', '', 0, -2, 1.5, '1234567']) {
      expect(parseSeatId(bad)).toBeNull();
    }
  });

  it('trims display names and refuses empty, overlong or control-character names', () => {
    expect(parseDisplayName('  Ada Lovelace ')).toBe('Ada Lovelace');
    expect(parseDisplayName('😀'.repeat(50))).toBe('😀'.repeat(50));
    for (const bad of ['', '   ', 'x'.repeat(51), 'tab\there', 'bell\u0007', 42, null]) {
      expect(parseDisplayName(bad)).toBeNull();
    }
  });
});

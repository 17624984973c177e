import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FAULTS,
  formatDuration,
  parseDuration,
  parseFaults,
  replayCommand,
} from '../../sim/options.js';

describe('simulator options', () => {
  it('reads durations in hours, minutes, seconds and milliseconds, and bare seconds', () => {
    expect(parseDuration('8h')).toBe(28_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('45s')).toBe(45_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('90')).toBe(90_000);
  });

  it.each(['', 'h', '8x', '8 h', '-1h', '1.5h', '8hh', 'h8'])('refuses the duration %j', (text) => {
    expect(parseDuration(text)).toBeNull();
  });

  it('writes every duration back in a form it reads again', () => {
    fc.assert(
      fc.property(fc.nat(7 * 24 * 3_600_000), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
    expect(formatDuration(5_400_000)).toBe('1h30m');
  });

  it('reads fault lists, all and none, and names an unknown fault', () => {
    expect(parseFaults('expiry-dup, node-crash')).toEqual(new Set(['expiry-dup', 'node-crash']));
    expect(parseFaults('all')).toEqual(new Set(FAULTS));
    expect(parseFaults('none')).toEqual(new Set());
    expect(parseFaults('')).toEqual(new Set());
    expect(() => parseFaults('expiry-dup,meteor')).toThrow('unknown fault "meteor"');
  });

  it('prints a replay command that names every option, faults in a fixed order', () => {
    const options = {
      seed: 9,
      orgs: 2,
      teachers: 4,
      students: 30,
      durationMs: 5_400_000,
      nodes: 2,
    };
    expect(
      replayCommand({ ...options, faults: new Set(['node-crash', 'expiry-dup'] as const) }),
    ).toBe(
      'npx classroom-sim run --seed 9 --orgs 2 --teachers 4 --students 30 --duration 1h30m --nodes 2 --faults expiry-dup,node-crash',
    );
    expect(replayCommand({ ...options, faults: parseFaults('all') })).toMatch(/--faults all$/);
    expect(replayCommand({ ...options, faults: new Set() })).toMatch(/--faults none$/);
  });
});

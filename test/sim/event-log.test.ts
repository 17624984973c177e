import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EventLog, stamp } from '../../sim/event-log.js';

describe('EventLog', () => {
  it('hashes every line written, in order, as sha256 of the lines each ended by a newline', () => {
    const log = new EventLog();
    for (const line of ['a', 'b', 'c']) log.write(line);
    expect(log.digest()).toBe(createHash('sha256').update('a\nb\nc\n').digest('hex'));
    expect(log.lines).toBe(3);
  });

  it('tells two logs apart by a single line', () => {
    const one = new EventLog();
    const other = new EventLog();
    for (const line of ['join', 'seat 3']) one.write(line);
    for (const line of ['join', 'seat 4']) other.write(line);
    expect(one.digest()).not.toBe(other.digest());
  });

  it('keeps only the last lines, oldest first, and can be written after a digest', () => {
    const log = new EventLog(3);
    for (let line = 1; line <= 7; line++) {
      log.write(`line ${line}`);
      if (line === 2) expect(log.tail()).toEqual(['line 1', 'line 2']);
      log.digest();
    }
    expect(log.tail()).toEqual(['line 5', 'line 6', 'line 7']);
  });

  it('stamps times since the start of a run', () => {
    expect(stamp(0)).toBe('+00:00:00.000');
    expect(stamp(3_723_004)).toBe('+01:02:03.004');
    expect(stamp(30 * 3_600_000)).toBe('+30:00:00.000');
  });
});

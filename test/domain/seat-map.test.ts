import { describe, expect, it } from 'vitest';
import { claimSeat, initialSeatMap, seatMapFromRecords } from '../../src/domain/seat-map.js';

describe('seat map rules', () => {
  it('starts with seats 1..n free', () => {
    expect(initialSeatMap(3)).toEqual({ '1': '', '2': '', '3': '' });
    expect(initialSeatMap(0)).toEqual({});
  });

  it('gives a free seat to a student', () => {
    expect(claimSeat({ '1': '', '2': '' }, '2', 's-1')).toEqual({
      ok: true,
      value: { seats: { '1': '', '2': 's-1' }, releasedSeatId: null },
    });
  });

  it('moves a student, freeing the seat they left', () => {
    expect(claimSeat({ '1': 's-1', '2': '' }, '2', 's-1')).toEqual({
      ok: true,
      value: { seats: { '1': '', '2': 's-1' }, releasedSeatId: '1' },
    });
  });

  it('lets a student claim their own seat again without change', () => {
    expect(claimSeat({ '1': 's-1' }, '1', 's-1')).toEqual({
      ok: true,
      value: { seats: { '1': 's-1' }, releasedSeatId: null },
    });
  });

  it('refuses a seat held by another student or outside the map, changing nothing', () => {
    const seats = { '1': 's-2', '2': 's-1' };
    expect(claimSeat(seats, '1', 's-1')).toEqual({ ok: false, error: 'seat_taken' });
    expect(claimSeat(seats, '3', 's-1')).toEqual({ ok: false, error: 'seat_not_found' });
    expect(seats).toEqual({ '1': 's-2', '2': 's-1' });
  });
});

describe('a seat map rebuilt from recorded seats', () => {
  it('seats each recorded student and leaves the other seats free', () => {
    const recorded = new Map([
      ['2', 's-1'],
      ['4', 's-2'],
    ]);
    expect(seatMapFromRecords(4, recorded)).toEqual({ '1': '', '2': 's-1', '3': '', '4': 's-2' });
  });

  it('leaves out recorded seats that the lesson does not have', () => {
    const recorded = new Map([
      ['0', 's-0'],
      ['3', 's-3'],
      ['31', 's-31'],
      ['02', 's-2'],
      ['window', 's-w'],
    ]);
    expect(seatMapFromRecords(3, recorded)).toEqual({ '1': '', '2': '', '3': 's-3' });
  });

  it('keeps a student recorded in two seats in the lower one only', () => {
    const recorded = new Map([
      ['5', 's-1'],
      ['2', 's-1'],
      ['3', 's-2'],
    ]);
    expect(seatMapFromRecords(5, recorded)).toEqual({
      '1': '',
      '2': 's-1',
      '3': 's-2',
      '4': '',
      '5': '',
    });
  });

  it('lets a rebuilt map go on as any other: the student can move, a free seat can be taken', () => {
    const seats = seatMapFromRecords(3, new Map([['1', 's-1']]));
    expect(claimSeat(seats, '1', 's-2')).toEqual({ ok: false, error: 'seat_taken' });
    expect(claimSeat(seats, '3', 's-1')).toEqual({
      ok: true,
      value: { seats: { '1': '', '2': '', '3': 's-1' }, releasedSeatId: '1' },
    });
  });
});

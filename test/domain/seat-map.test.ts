import { describe, expect, it } from 'vitest';
import { claimSeat, initialSeatMap } from '../../src/domain/seat-map.js';

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

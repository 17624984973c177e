import type { Id } from './ids.js';
import { fail, ok, type Result } from './result.js';

/** Seat number ("1".."n") → the student sitting there, or "" when free. */
export type SeatMap = Record<string, string>;

export function initialSeatMap(seatCount: number): SeatMap {
  const seats: SeatMap = {};
  for (let seat = 1; seat <= seatCount; seat++) seats[String(seat)] = '';
  return seats;
}

/**
 * The seat map a lesson starts from when its map was lost (PROTOCOL §6a.3): seats 1..`seatCount`,
 * each held by the student `recorded` names for it (seat → student, as attendance recorded it).
 * Recorded seats outside the range are left out, and a student recorded in several seats keeps
 * the lowest-numbered of them, so that the map holds a student at most once, as `claimSeat` does.
 */
export function seatMapFromRecords(seatCount: number, recorded: ReadonlyMap<string, Id>): SeatMap {
  const seats = initialSeatMap(seatCount);
  const seated = new Set<Id>();
  for (let seat = 1; seat <= seatCount; seat++) {
    const student = recorded.get(String(seat));
    if (student === undefined || student === '' || seated.has(student)) continue;
    seats[String(seat)] = student;
    seated.add(student);
  }
  return seats;
}

export interface SeatClaim {
  readonly seats: SeatMap;
  /** The seat the student left to take this one, if any. */
  readonly releasedSeatId: string | null;
}

/**
 * A student takes a seat: a free seat or their own becomes theirs and any other seat they held
 * is freed, so one student holds at most one seat and a seat at most one student.
 * The Redis adapter's Lua script applies exactly this rule.
 */
export function claimSeat(
  seats: SeatMap,
  seatId: string,
  studentId: Id,
): Result<SeatClaim, 'seat_not_found' | 'seat_taken'> {
  const holder = seats[seatId];
  if (holder === undefined) return fail('seat_not_found');
  if (holder !== '' && holder !== studentId) return fail('seat_taken');
  const next: SeatMap = { ...seats };
  let releasedSeatId: string | null = null;
  for (const [seat, occupant] of Object.entries(next)) {
    if (occupant === studentId && seat !== seatId) {
      next[seat] = '';
      releasedSeatId = seat;
    }
  }
  next[seatId] = studentId;
  return ok({ seats: next, releasedSeatId });
}

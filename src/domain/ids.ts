/**
 * Identifiers (user, org, lesson, student): 1–64 characters of [A-Za-z0-9_-]. A JSON integer is
 * accepted and becomes its decimal string, so `7` and `"7"` name the same lesson. Because ids
 * can never contain `:`, names built as `kind:id` cannot collide across kinds.
 */
export type Id = string;

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function parseId(value: unknown): Id | null {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? String(value) : null;
  }
  return typeof value === 'string' && ID_PATTERN.test(value) ? value : null;
}

/** A seat number as a string: "1".."n". Integers are accepted; the seat map decides existence. */
export function parseSeatId(value: unknown): string | null {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value > 0 ? String(value) : null;
  }
  return typeof value === 'string' && /^[1-9][0-9]{0,5}$/.test(value) ? value : null;
}

const CONTROL_CHARACTERS = /\p{Cc}/u;

/** A student's display name: trimmed, 1–50 characters (code points), no control characters. */
export function parseDisplayName(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  const length = [...trimmed].length;
  if (length < 1 || length > 50 || CONTROL_CHARACTERS.test(trimmed)) return null;
  return trimmed;
}

import { z } from 'zod';
import { isRole } from '../../domain/clients.js';
import { type DomainError, domainError } from '../../domain/errors.js';
import { parseDisplayName, parseId, parseSeatId } from '../../domain/ids.js';
import { fail, ok, type Result } from '../../domain/result.js';

/** The largest accepted event payload, as JSON (PROTOCOL §3 "over the size limit"). */
export const MAX_PAYLOAD_BYTES = 8 * 1024;

/** A field read by one of the domain's parsers, which also turn JSON integers into strings. */
function field<T>(parse: (value: unknown) => T | null, expected: string) {
  return z.unknown().transform((value, context) => {
    const parsed = parse(value);
    if (parsed === null) {
      context.addIssue({ code: 'custom', message: `must be ${expected}` });
      return z.NEVER;
    }
    return parsed;
  });
}

const id = field(parseId, 'an id of 1-64 letters, digits, "_" or "-"');
const role = field((value) => (isRole(value) ? value : null), 'teacher, student or admin');
const seatId = field(parseSeatId, 'a seat number');
const displayName = field(parseDisplayName, 'a name of 1-50 characters without control characters');

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * A plain object no larger than the limit, read through `shape`. The result is a fresh object
 * holding only the shape's keys, so `__proto__`, `constructor` and extra keys never get past it.
 */
function payload<Shape extends z.ZodRawShape>(shape: Shape) {
  return z
    .unknown()
    .transform((value, context) => {
      if (!isPlainObject(value)) {
        context.addIssue({ code: 'custom', message: 'the payload must be an object' });
        return z.NEVER;
      }
      if (Buffer.byteLength(JSON.stringify(value)) > MAX_PAYLOAD_BYTES) {
        context.addIssue({
          code: 'custom',
          message: `the payload must be at most ${MAX_PAYLOAD_BYTES} bytes`,
        });
        return z.NEVER;
      }
      return value;
    })
    .pipe(z.object(shape));
}

/** One schema per client→server event of PROTOCOL §5 (`log_out` shares `logout`'s). */
export const EVENT_SCHEMAS = {
  join_lesson: payload({ user_id: id, lesson_id: id, role }),
  logout: payload({ user_id: id, org_id: id }),
  force_logout: payload({ user_id: id, org_id: id }),
  set_student_name: payload({
    lesson_id: id,
    display_name: displayName,
    seat_id: seatId,
    student_id: id,
  }),
} as const;

/** Validates a payload; the first problem becomes the `invalid_payload` message. */
export function parsePayload<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
): Result<z.output<Schema>, DomainError<'invalid_payload'>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  const [issue] = parsed.error.issues;
  const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')} `;
  return fail(domainError('invalid_payload', `Invalid payload: ${where}${issue?.message ?? ''}.`));
}

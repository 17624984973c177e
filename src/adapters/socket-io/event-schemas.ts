import { z } from 'zod';
import type { ClientRequest } from '../../application/node/classroom-node.js';
import { isRole } from '../../domain/clients.js';
import { type DomainError, domainError } from '../../domain/errors.js';
import { parseDisplayName, parseId, parseSeatId } from '../../domain/ids.js';
import { fail, ok, type Result } from '../../domain/result.js';

/** `get_presence_history`'s page size: 50 unless asked, at most 200 (PROTOCOL §5a). */
const DEFAULT_HISTORY_LIMIT = 50;
const MAX_HISTORY_LIMIT = 200;

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
  refresh_token: payload({ auth: z.string().min(1, 'must be an access token') }),
  get_presence: payload({}),
  get_presence_history: payload({
    user_id: id,
    limit: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(MAX_HISTORY_LIMIT, `must be at most ${MAX_HISTORY_LIMIT}`)
      .default(DEFAULT_HISTORY_LIMIT),
    before: z.number().int('must be a time in ms').nonnegative().optional(),
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

type RequestReader = (payload: unknown) => Result<ClientRequest, DomainError<'invalid_payload'>>;

/** Validates with `schema`, then builds the node's request field by field from what passed. */
function reader<Schema extends z.ZodType>(
  schema: Schema,
  build: (payload: z.output<Schema>) => ClientRequest,
): RequestReader {
  return (payload) => {
    const parsed = parsePayload(schema, payload);
    return parsed.ok ? ok(build(parsed.value)) : parsed;
  };
}

const readLogout = reader(EVENT_SCHEMAS.logout, (payload) => ({
  name: 'logout',
  userId: payload.user_id,
  orgId: payload.org_id,
}));

/**
 * The client→server events by the name a client sends, each turned into the node's request. Only
 * the fields a schema knows reach the node, so nothing else a client sent reaches the application.
 */
const READERS: ReadonlyMap<string, RequestReader> = new Map([
  [
    'join_lesson',
    reader(EVENT_SCHEMAS.join_lesson, (payload) => ({
      name: 'join_lesson',
      userId: payload.user_id,
      lessonId: payload.lesson_id,
      role: payload.role,
    })),
  ],
  ['logout', readLogout],
  ['log_out', readLogout],
  [
    'force_logout',
    reader(EVENT_SCHEMAS.force_logout, (payload) => ({
      name: 'force_logout',
      userId: payload.user_id,
      orgId: payload.org_id,
    })),
  ],
  [
    'set_student_name',
    reader(EVENT_SCHEMAS.set_student_name, (payload) => ({
      name: 'set_student_name',
      lessonId: payload.lesson_id,
      studentId: payload.student_id,
      displayName: payload.display_name,
      seatId: payload.seat_id,
    })),
  ],
  ['get_presence', reader(EVENT_SCHEMAS.get_presence, () => ({ name: 'get_presence' }))],
  [
    'get_presence_history',
    reader(EVENT_SCHEMAS.get_presence_history, (payload) => ({
      name: 'get_presence_history',
      userId: payload.user_id,
      limit: payload.limit,
      ...(payload.before === undefined ? {} : { beforeMs: payload.before }),
    })),
  ],
  [
    'refresh_token',
    reader(EVENT_SCHEMAS.refresh_token, (payload) => ({
      name: 'refresh_token',
      token: payload.auth,
    })),
  ],
]);

/** The request an event carries, or null for an event the contract does not know. */
export function readRequest(
  event: unknown,
  payload: unknown,
): Result<ClientRequest, DomainError<'invalid_payload'>> | null {
  const read = typeof event === 'string' ? READERS.get(event) : undefined;
  return read === undefined ? null : read(payload);
}

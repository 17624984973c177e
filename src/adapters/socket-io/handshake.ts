import type { Handshake } from '../../application/use-cases/connect-client.js';
import { type DomainError, domainError } from '../../domain/errors.js';
import { fail, ok, type Result } from '../../domain/result.js';

/** Handshake fields and the wire names that carry them; `token` is a synonym of `auth`. */
const FIELDS: ReadonlyArray<readonly [keyof Handshake, readonly string[]]> = [
  ['role', ['role']],
  ['orgId', ['org_id']],
  ['productType', ['product_type']],
  ['token', ['auth', 'token']],
];

function ownValue(source: unknown, name: string): unknown {
  if (typeof source !== 'object' || source === null || !Object.hasOwn(source, name)) {
    return undefined;
  }
  return (source as Record<string, unknown>)[name];
}

/** A query parameter: its value, an array when repeated, undefined when absent. */
function queryValue(query: URLSearchParams, name: string): unknown {
  const values = query.getAll(name);
  return values.length > 1 ? values : values[0];
}

/**
 * The query string of the handshake request as sent. Engine.IO keeps only the last of repeated
 * parameters; reading them all lets a repeated one be refused instead of silently picked.
 */
export function queryOf(requestUrl: string | undefined): URLSearchParams {
  const start = requestUrl?.indexOf('?') ?? -1;
  return new URLSearchParams(start < 0 ? '' : requestUrl?.slice(start));
}

/** A single string; a JSON integer (an `org_id` in the auth object) becomes its decimal string. */
function asText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return null;
}

/**
 * Reads the handshake from the Socket.IO `auth` object, falling back to the query string
 * (seed-compatible). A field of another type — an array from a repeated query parameter, an
 * object — is refused as `invalid_handshake`, the first check of PROTOCOL §2.
 */
export function readHandshake(source: {
  readonly auth: unknown;
  readonly query: URLSearchParams;
}): Result<Handshake, DomainError<'invalid_handshake'>> {
  const handshake: Record<string, string> = {};
  for (const [key, names] of FIELDS) {
    const value = [
      ...names.map((name) => ownValue(source.auth, name)),
      ...names.map((name) => queryValue(source.query, name)),
    ].find((candidate) => candidate !== undefined);
    if (value === undefined) continue;
    const text = asText(value);
    if (text === null) {
      return fail(domainError('invalid_handshake', `${names[0]} must be a single string.`));
    }
    handshake[key] = text;
  }
  return ok(handshake);
}

/**
 * The wire error codes. Event acknowledgements use `EventErrorCode`; handshake refusals
 * (`connect_error`) use `HandshakeErrorCode`. docs/protocol.md lists the same codes and a test
 * keeps the two in step.
 */
export const EVENT_ERROR_CODES = [
  'invalid_payload',
  'unauthorized',
  'forbidden',
  'lesson_not_found',
  'lesson_ended',
  'not_in_lesson',
  'seat_not_found',
  'seat_taken',
  'rate_limited',
  'unavailable',
  'internal',
] as const;

export const HANDSHAKE_ERROR_CODES = [
  'unauthorized',
  'invalid_handshake',
  'forbidden',
  'cooldown',
  'unavailable',
  'rate_limited',
] as const;

export type EventErrorCode = (typeof EVENT_ERROR_CODES)[number];
export type HandshakeErrorCode = (typeof HANDSHAKE_ERROR_CODES)[number];
export type ErrorCode = EventErrorCode | HandshakeErrorCode;

/** An expected failure: a code from the contract and a sentence for a human. */
export interface DomainError<C extends ErrorCode = ErrorCode> {
  readonly code: C;
  readonly message: string;
  /**
   * Only for the handshake refusals `cooldown` and `rate_limited`: whole seconds until a new
   * connection can be accepted, at least 1.
   */
  readonly retryAfterS?: number;
}

export const domainError = <C extends ErrorCode>(code: C, message: string): DomainError<C> => ({
  code,
  message,
});

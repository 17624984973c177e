import type { DomainError, ErrorCode } from '../../domain/errors.js';

/**
 * `err.data` of every handshake refusal (PROTOCOL §2). It repeats the code of `err.message`,
 * because Socket.IO 2.x clients and some native clients are handed `err.data` alone.
 */
export interface RefusalData {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retry_after_s?: number;
}

/** A handshake refusal, as a Socket.IO middleware passes it to `next`. */
export class Refusal extends Error {
  readonly code: ErrorCode;
  readonly data: RefusalData;

  constructor(error: DomainError) {
    super(error.code);
    this.code = error.code;
    this.data = refusalData(error);
  }
}

export const refusal = (error: DomainError): Refusal => new Refusal(error);

function refusalData(error: DomainError): RefusalData {
  const data = { code: error.code, message: error.message };
  return error.retryAfterS === undefined ? data : { ...data, retry_after_s: error.retryAfterS };
}

/**
 * The CONNECT_ERROR packet (Socket.IO protocol, type 4) that refuses a connection to `namespace`,
 * shaped as Socket.IO shapes a middleware's refusal: `{ message, data }`, and for Engine.IO 3
 * (Socket.IO 2.x) clients `data` alone. For refusals made before Socket.IO reads the CONNECT.
 */
export function connectErrorPacket(
  namespace: string,
  error: DomainError,
  protocol: number,
): string {
  const data = refusalData(error);
  const payload = protocol === 3 ? data : { message: error.code, data };
  return `4${namespace === '/' ? '' : `${namespace},`}${JSON.stringify(payload)}`;
}

import type { Role } from '../../domain/clients.js';
import type { DomainError } from '../../domain/errors.js';
import type { Id } from '../../domain/ids.js';
import type { Result } from '../../domain/result.js';

/** The claims the service uses from an access token: `sub`, `org_id`, `role` and `exp`. */
export interface TokenClaims {
  readonly userId: Id;
  readonly orgId: Id;
  readonly role: Role;
  /** `exp`: when the token, and a socket's identity with it, runs out (Unix seconds). */
  readonly expiresAtS: number;
}

export interface TokenVerifier {
  /**
   * Checks signature, algorithm, `exp` (required, in the future on the node's clock) and, when
   * configured, issuer and audience. Every reason to refuse is `unauthorized`; it never throws
   * for a bad token.
   */
  verify(token: string): Promise<Result<TokenClaims, DomainError<'unauthorized'>>>;
}

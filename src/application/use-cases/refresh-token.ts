import { type DomainError, domainError } from '../../domain/errors.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { SocketOf } from '../ports/presence-store.js';
import type { TokenVerifier } from '../ports/token-verifier.js';

export interface RefreshTokenCommand {
  readonly socket: SocketOf;
  readonly token: string;
}

/**
 * A socket hands over a fresh access token before its own runs out (PROTOCOL §2a). The token must
 * verify (`unauthorized`) and name the same user, org and role as the socket's (`forbidden`): a
 * refresh extends an identity, never changes it. Ack data `{ exp }`. It changes no presence and
 * emits nothing; the caller moves the socket's expiry.
 */
export class RefreshToken {
  constructor(private readonly deps: { readonly tokens: TokenVerifier }) {}

  async execute({
    socket,
    token,
  }: RefreshTokenCommand): Promise<
    Result<{ exp: number }, DomainError<'unauthorized' | 'forbidden'>>
  > {
    const verified = await this.deps.tokens.verify(token);
    if (!verified.ok) return verified;
    const { userId, orgId, role, expiresAtS } = verified.value;
    const { identity } = socket;
    if (userId !== identity.userId || orgId !== identity.orgId || role !== identity.role) {
      return fail(domainError('forbidden', 'The new token is for another user, org or role.'));
    }
    return ok({ exp: expiresAtS });
  }
}

import { type DomainError, domainError } from '../domain/errors.js';
import { fail, type Result } from '../domain/result.js';
import { DependencyUnavailableError } from './errors.js';

/**
 * Runs a use case body and turns an unreachable dependency into the expected `unavailable`
 * failure. Anything else is a bug and keeps propagating, to be answered `internal` at the edge.
 */
export async function answerUnavailable<T, E extends DomainError>(
  body: () => Promise<Result<T, E>>,
): Promise<Result<T, E | DomainError<'unavailable'>>> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof DependencyUnavailableError) {
      return fail(
        domainError('unavailable', 'A backing service is unavailable; try again shortly.'),
      );
    }
    throw error;
  }
}

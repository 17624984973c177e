/**
 * Thrown by adapters when a dependency (Redis, the database) cannot be reached or timed out. The
 * operation that threw changed nothing; use cases answer `unavailable` and the client may retry.
 */
export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError';
  constructor(
    readonly dependency: 'presence' | 'database',
    options?: { cause?: unknown },
  ) {
    super(`${dependency} is unavailable`, options);
  }
}

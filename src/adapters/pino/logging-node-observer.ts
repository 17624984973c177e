import type { Logger } from 'pino';
import { DependencyUnavailableError } from '../../application/errors.js';
import type { NodeObserver } from '../../application/node/classroom-node.js';

/**
 * The node's failures in the log, once each: a dependency that is away is a warning (the request
 * was answered `unavailable`, a background task will run again), anything else an error.
 */
export function loggingNodeObserver(logger: Logger): NodeObserver {
  return {
    failed(what, error, about) {
      const fields = { err: error, task: what, ...about };
      if (error instanceof DependencyUnavailableError) {
        logger.warn(fields, `${what}: a dependency is unavailable`);
      } else {
        logger.error(fields, `${what} failed`);
      }
    },
  };
}

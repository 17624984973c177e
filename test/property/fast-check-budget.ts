import type fc from 'fast-check';

/**
 * fast-check settings for the property suites: a fixed budget so that each file stays fast, and
 * FC_SEED (printed by fast-check with any counterexample) to replay a failure exactly.
 */
export function budget<T>(numRuns: number): fc.Parameters<T> {
  const seed = process.env.FC_SEED;
  return { numRuns, ...(seed === undefined || seed === '' ? {} : { seed: Number(seed) }) };
}

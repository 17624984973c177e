import { describe, expect, it } from 'vitest';
import { StatementBatcher } from '../../../src/adapters/support/statement-batcher.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A statement the test answers or fails by hand, recording the inputs of every batch sent. */
function handServedStatement() {
  const batches: number[][] = [];
  const answers: Array<{ resolve(): void; reject(error: unknown): void }> = [];
  let sent = deferred<void>();
  const serve = (inputs: readonly number[]) => {
    batches.push([...inputs]);
    const answer = deferred<readonly string[]>();
    answers.push({
      resolve: () => answer.resolve(inputs.map((input) => `answer ${input}`)),
      reject: answer.reject,
    });
    sent.resolve();
    return answer.promise;
  };
  return {
    serve,
    batches,
    /** Resolves once the next batch has been sent (at once if it was sent since the last call). */
    async nextBatchSent(): Promise<void> {
      await sent.promise;
      sent = deferred<void>();
    },
    answer: (batch: number) => answers[batch]?.resolve(),
    fail: (batch: number, error: unknown) => answers[batch]?.reject(error),
  };
}

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

describe('StatementBatcher', () => {
  it('serves the calls made in one macrotask with one batch, each with its own answer', async () => {
    const statement = handServedStatement();
    const batcher = new StatementBatcher({ maxBatchSize: 10, serve: statement.serve });
    const calls = [3, 1, 2].map((input) => batcher.submit(input));
    await statement.nextBatchSent();
    statement.answer(0);
    expect(await Promise.all(calls)).toEqual(['answer 3', 'answer 1', 'answer 2']);
    expect(statement.batches).toEqual([[3, 1, 2]]);
  });

  it('gathers the calls made while a batch is in flight into the next one, sent after it', async () => {
    const statement = handServedStatement();
    const batcher = new StatementBatcher({ maxBatchSize: 10, serve: statement.serve });
    const first = batcher.submit(1);
    await statement.nextBatchSent();
    const later = [2, 3].map((input) => batcher.submit(input));
    // However long the first batch takes, the later calls are not sent beside it.
    await new Promise((resolve) => setImmediate(resolve));
    expect(statement.batches).toEqual([[1]]);
    statement.answer(0);
    expect(await first).toBe('answer 1');
    await statement.nextBatchSent();
    expect(statement.batches).toEqual([[1], [2, 3]]);
    statement.answer(1);
    expect(await Promise.all(later)).toEqual(['answer 2', 'answer 3']);
  });

  it('sends at most maxBatchSize calls at a time, one batch after the other', async () => {
    const statement = handServedStatement();
    const batcher = new StatementBatcher({ maxBatchSize: 2, serve: statement.serve });
    const calls = [1, 2, 3, 4, 5].map((input) => batcher.submit(input));
    for (const batch of [0, 1, 2]) {
      await statement.nextBatchSent();
      expect(statement.batches).toHaveLength(batch + 1);
      statement.answer(batch);
    }
    expect(await Promise.all(calls)).toHaveLength(5);
    expect(statement.batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('rejects every call of a failed batch with its error and still sends the calls behind it', async () => {
    const statement = handServedStatement();
    const batcher = new StatementBatcher({ maxBatchSize: 10, serve: statement.serve });
    const failing = [1, 2].map((input) => outcome(batcher.submit(input)));
    await statement.nextBatchSent();
    const behind = batcher.submit(3);
    const refusal = new Error('a constraint refused the batch');
    statement.fail(0, refusal);
    expect(await Promise.all(failing)).toEqual([{ error: refusal }, { error: refusal }]);
    await statement.nextBatchSent();
    statement.answer(1);
    expect(await behind).toBe('answer 3');
  });

  it('fails the calls waiting behind a batch that found the database unavailable without sending them', async () => {
    const statement = handServedStatement();
    const batcher = new StatementBatcher({ maxBatchSize: 10, serve: statement.serve });
    const first = outcome(batcher.submit(1));
    await statement.nextBatchSent();
    const behind = [2, 3].map((input) => outcome(batcher.submit(input)));
    const unavailable = new DependencyUnavailableError('database');
    statement.fail(0, unavailable);
    expect(await Promise.all([first, ...behind])).toEqual([
      { error: unavailable },
      { error: unavailable },
      { error: unavailable },
    ]);
    expect(statement.batches).toEqual([[1]]);

    const afterwards = batcher.submit(4);
    await statement.nextBatchSent();
    statement.answer(1);
    expect(await afterwards).toBe('answer 4');
  });

  it('refuses a batch size that is not a positive integer', () => {
    const serve = async () => [];
    expect(() => new StatementBatcher({ maxBatchSize: 0, serve })).toThrow(RangeError);
    expect(() => new StatementBatcher({ maxBatchSize: 2.5, serve })).toThrow(RangeError);
  });
});

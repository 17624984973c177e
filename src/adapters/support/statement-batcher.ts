import { DependencyUnavailableError } from '../../application/errors.js';

interface Waiting<Input, Output> {
  readonly input: Input;
  resolve(output: Output): void;
  reject(error: unknown): void;
}

export interface StatementBatcherOptions<Input, Output> {
  /** Most calls served by one statement. */
  readonly maxBatchSize: number;
  /**
   * Serves a batch with one statement: returns one output per input, in the inputs' order, or
   * throws, which rejects every call of the batch with that same error.
   */
  readonly serve: (inputs: readonly Input[]) => Promise<readonly Output[]>;
}

/**
 * Gathers concurrent calls so that one statement (an SQL statement, a Redis script call) serves
 * many of them: with a hundred requests in flight, a statement per request is a ceiling the
 * database reaches long before the service does.
 *
 * Calls made while the batcher is idle wait for the end of the current macrotask (`setImmediate`),
 * so that everything the event loop received in one go travels together; calls made while a batch
 * is in flight wait for it to finish and then go together, at most `maxBatchSize` at a time. At
 * most one batch is in flight. A call is never served by a batch that was already sent when the
 * call was made: every answer comes from a statement issued after its call.
 *
 * When a batch finds its dependency unavailable (`DependencyUnavailableError`), the calls waiting
 * behind it are rejected with the same error instead of being sent: they have already waited as
 * long as the dependency took to fail, and sending them would make them wait as long again before
 * failing the same way. Any other failure belongs to its batch alone; the calls behind it are sent
 * as usual.
 */
export class StatementBatcher<Input, Output> {
  private waiting: Array<Waiting<Input, Output>> = [];
  private busy = false;

  constructor(private readonly options: StatementBatcherOptions<Input, Output>) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be a positive integer, not ${options.maxBatchSize}`);
    }
  }

  submit(input: Input): Promise<Output> {
    return new Promise<Output>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (!this.busy) {
        this.busy = true;
        setImmediate(() => this.sendNext());
      }
    });
  }

  /** Sends the next batch; `busy` stays true from the moment one is scheduled until none waits. */
  private sendNext(): void {
    const batch = this.waiting.splice(0, this.options.maxBatchSize);
    this.serveBatch(batch).then(() => {
      if (this.waiting.length > 0) setImmediate(() => this.sendNext());
      else this.busy = false;
    });
  }

  private async serveBatch(batch: ReadonlyArray<Waiting<Input, Output>>): Promise<void> {
    let outputs: readonly Output[];
    try {
      outputs = await this.options.serve(batch.map((call) => call.input));
    } catch (error) {
      for (const call of batch) call.reject(error);
      if (error instanceof DependencyUnavailableError) {
        for (const call of this.waiting.splice(0)) call.reject(error);
      }
      return;
    }
    for (const [index, call] of batch.entries()) call.resolve(outputs[index] as Output);
  }
}

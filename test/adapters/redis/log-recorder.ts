import { type Logger, pino } from 'pino';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A pino logger whose lines a test can read, and wait for, instead of sleeping. */
export class LogRecorder {
  readonly lines: LogLine[] = [];
  readonly logger: Logger;
  private waiters: { predicate: (line: LogLine) => boolean; resolve: () => void }[] = [];

  constructor() {
    this.logger = pino(
      { level: 'info' },
      {
        write: (text: string) => {
          const line = JSON.parse(text) as LogLine;
          this.lines.push(line);
          this.waiters = this.waiters.filter((waiter) => {
            if (!waiter.predicate(line)) return true;
            waiter.resolve();
            return false;
          });
        },
      },
    );
  }

  /** Lines whose message contains `text`. */
  matching(text: string): LogLine[] {
    return this.lines.filter((line) => line.msg.includes(text));
  }

  /** Resolves when the `count`-th line containing `text` has been logged. */
  waitFor(text: string, count = 1): Promise<void> {
    if (this.matching(text).length >= count) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({
        predicate: () => this.matching(text).length >= count,
        resolve,
      });
    });
  }
}

import { createHash, type Hash } from 'node:crypto';

/** A time since the start of a run as `+hh:mm:ss.mmm`. */
export function stamp(sinceStartMs: number): string {
  const ms = Math.max(0, Math.floor(sinceStartMs));
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor(ms / 60_000) % 60;
  const seconds = Math.floor(ms / 1000) % 60;
  return `+${pad(hours)}:${pad(minutes)}:${pad(seconds)}.${pad(ms % 1000, 3)}`;
}

/**
 * Everything a run did, one line per action, outcome and delivery. The whole log is folded into a
 * sha256 as it is written (two runs are the same run when their hashes are equal) and only the
 * last `keep` lines are held, as the trace printed with a violation.
 */
export class EventLog {
  private readonly hash: Hash = createHash('sha256');
  private readonly recent: string[] = [];
  private next = 0;
  private written = 0;

  constructor(private readonly keep = 20) {}

  get lines(): number {
    return this.written;
  }

  write(line: string): void {
    this.hash.update(line);
    this.hash.update('\n');
    this.written += 1;
    if (this.recent.length < this.keep) this.recent.push(line);
    else this.recent[this.next] = line;
    this.next = (this.next + 1) % this.keep;
  }

  /** The last lines written, oldest first. */
  tail(): string[] {
    if (this.recent.length < this.keep) return [...this.recent];
    return [...this.recent.slice(this.next), ...this.recent.slice(0, this.next)];
  }

  /** The hash of every line so far; the log can go on being written afterwards. */
  digest(): string {
    return this.hash.copy().digest('hex');
  }
}

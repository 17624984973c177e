import { SortedSet } from '../src/adapters/in-memory/sorted-set.js';

/** Something that happens at one moment of virtual time: a client action, a node's timer, a fault. */
export interface Step {
  /** What kind of event this is, for the summary: `join_lesson`, `sweep`, `node_crash`, … */
  readonly kind: string;
  readonly atMs: number;
  run(): Promise<void> | void;
}

/** Wide enough for any run: sequence numbers sort as text in the order they were given. */
const SEQUENCE_DIGITS = 15;

/**
 * The simulator's timeline: steps in order of time, and steps at the same moment in the order
 * they were scheduled, so a seed fixes the interleaving completely.
 */
export class Agenda {
  private readonly order = new SortedSet();
  private readonly steps = new Map<string, Step>();
  private scheduled = 0;

  get size(): number {
    return this.steps.size;
  }

  /** Adds a step; the returned key cancels it. */
  schedule(atMs: number, kind: string, run: Step['run']): string {
    this.scheduled += 1;
    const key = String(this.scheduled).padStart(SEQUENCE_DIGITS, '0');
    this.steps.set(key, { kind, atMs, run });
    this.order.set(key, atMs);
    return key;
  }

  /** Removes a step that has not run yet; a step that ran or was cancelled is ignored. */
  cancel(key: string): void {
    this.steps.delete(key);
    this.order.delete(key);
  }

  /** When the earliest step is due, or undefined when nothing is left. */
  nextAtMs(): number | undefined {
    return this.order.first()?.score;
  }

  /** Removes and returns the earliest step, or undefined when nothing is left. */
  next(): Step | undefined {
    const first = this.order.first();
    if (first === undefined) return undefined;
    this.order.delete(first.member);
    const step = this.steps.get(first.member);
    this.steps.delete(first.member);
    return step;
  }
}

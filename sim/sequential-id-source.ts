import type { IdSource } from '../src/application/ports/id-source.js';

/** Deterministic ids (`id-1`, `id-2`, …) so that a simulator run replays exactly. */
export class SequentialIdSource implements IdSource {
  private count = 0;

  constructor(private readonly prefix = 'id') {}

  next(): string {
    this.count += 1;
    return `${this.prefix}-${this.count}`;
  }
}

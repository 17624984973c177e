import { randomUUID } from 'node:crypto';
import type { IdSource } from '../../application/ports/id-source.js';

export class RandomIdSource implements IdSource {
  next(): string {
    return randomUUID();
  }
}

/**
 * A seeded pseudo-random number generator (sfc32, seeded through splitmix32): the only source of
 * randomness in the simulator, so that one seed always replays the same run. Not for anything
 * secret.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Any integer seed; equal seeds give equal sequences on every platform. */
  constructor(seed: number) {
    let state = seed >>> 0;
    const splitmix = () => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
    // The first outputs of sfc32 still show the seed; discard them.
    for (let round = 0; round < 12; round++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [0, n), for 1 <= n <= 2^32. */
  below(n: number): number {
    if (!(n >= 1 && n <= 4294967296 && Number.isInteger(n))) {
      throw new RangeError(`below(n) needs an integer n from 1 to 2^32, got ${n}`);
    }
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() from an empty list');
    return items[this.below(items.length)] as T;
  }

  /** Exponentially distributed wait with the given mean: the gap between independent events. */
  exponential(meanMs: number): number {
    return Math.round(-Math.log(1 - this.float()) * meanMs);
  }

  /** An independent generator, so that one actor's draws never shift another's. */
  fork(): Prng {
    return new Prng(this.uint32());
  }
}

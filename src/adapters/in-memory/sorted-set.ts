interface HeapEntry {
  readonly score: number;
  readonly member: string;
  /** Which write made this entry; an entry whose member was rewritten or removed since is stale. */
  readonly version: number;
}

/** Lowest score first, ties by member as Redis orders a sorted set. */
const before = (a: HeapEntry, b: HeapEntry): boolean =>
  a.score < b.score || (a.score === b.score && a.member < b.member);

/**
 * A Redis-like sorted set: member → score, read lowest first. Writes are O(log n): the heap is
 * never searched, an overwritten or removed member just leaves a stale entry behind that is
 * dropped when it surfaces, and the heap is rebuilt once stale entries outnumber live ones, so
 * memory stays within a constant factor of the live members.
 */
export class SortedSet {
  private readonly live = new Map<string, { score: number; version: number }>();
  private heap: HeapEntry[] = [];
  private writes = 0;

  get size(): number {
    return this.live.size;
  }

  score(member: string): number | undefined {
    return this.live.get(member)?.score;
  }

  set(member: string, score: number): void {
    this.writes += 1;
    this.live.set(member, { score, version: this.writes });
    this.push({ score, member, version: this.writes });
    this.compactIfSparse();
  }

  delete(member: string): void {
    if (this.live.delete(member)) this.compactIfSparse();
  }

  clear(): void {
    this.live.clear();
    this.heap = [];
  }

  /** The lowest member and its score (ZRANGE 0 0 WITHSCORES). */
  first(): { readonly member: string; readonly score: number } | undefined {
    this.dropStaleTop();
    const top = this.heap[0];
    return top === undefined ? undefined : { member: top.member, score: top.score };
  }

  /** Up to `limit` members scoring at most `maxScore`, lowest first, left in the set. */
  range(maxScore: number, limit: number): string[] {
    const taken = this.takeUpTo(maxScore, limit);
    for (const entry of taken) this.push(entry);
    return taken.map((entry) => entry.member);
  }

  /** Removes and returns every member scoring at most `maxScore`, lowest first. */
  popUpTo(maxScore: number): string[] {
    const taken = this.takeUpTo(maxScore, Number.POSITIVE_INFINITY);
    for (const { member } of taken) this.live.delete(member);
    return taken.map((entry) => entry.member);
  }

  private takeUpTo(maxScore: number, limit: number): HeapEntry[] {
    const taken: HeapEntry[] = [];
    while (taken.length < limit) {
      this.dropStaleTop();
      const top = this.heap[0];
      if (top === undefined || top.score > maxScore) break;
      taken.push(this.pop());
    }
    return taken;
  }

  private isLive(entry: HeapEntry): boolean {
    return this.live.get(entry.member)?.version === entry.version;
  }

  private dropStaleTop(): void {
    while (this.heap.length > 0 && !this.isLive(this.heap[0] as HeapEntry)) this.pop();
  }

  private compactIfSparse(): void {
    if (this.heap.length <= 2 * this.live.size + 64) return;
    // A sorted array is a valid binary heap.
    this.heap = [...this.live].map(([member, { score, version }]) => ({ score, member, version }));
    this.heap.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  }

  private push(entry: HeapEntry): void {
    const heap = this.heap;
    heap.push(entry);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(entry, heap[parent] as HeapEntry)) break;
      heap[index] = heap[parent] as HeapEntry;
      index = parent;
    }
    heap[index] = entry;
  }

  private pop(): HeapEntry {
    const heap = this.heap;
    const top = heap[0] as HeapEntry;
    const last = heap.pop() as HeapEntry;
    if (heap.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && before(heap[right] as HeapEntry, heap[left] as HeapEntry)
          ? right
          : left;
      if (!before(heap[child] as HeapEntry, last)) break;
      heap[index] = heap[child] as HeapEntry;
      index = child;
    }
    heap[index] = last;
    return top;
  }
}
